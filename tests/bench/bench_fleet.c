/* bench_fleet.c -- GET /v1/fleet's work for 1,000 vehicles (issue 13 item 2: "/v1/fleet with
 * 1,000 vehicles answering in under 20 ms"), in process: the board of one enterprise built by
 * fleet_list (app/fleet.c) from the registry and serialised as the HTTP handler sends it.
 *
 * The world: enterprise E1 with 1,000 people and their vehicles (70% with a position, a trip
 * under way on a third of them, 5% of the people on a mandatory rest), 300 open orders on them
 * and 50,000 finished ones (the history the current-order walk passes over), and enterprise E2
 * with as many again (what scoping skips). Ingest's vehicle table is not built (no event loop
 * or store here): every vehicle takes the registry's cached position, and the O(1) lookup of
 * ingest_vehicle_live is all the board misses. Not timed: the HTTP framing and the socket.
 *
 * Last line: "bench-fleet vehicles=1000 median_ms=... p99_ms=...". Exit 1 when the page is
 * not the 1,000 vehicles of E1.
 */
#include "app/fleet.h"
#include "bench_util.h"
#include "core/registry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_VEHICLES 1000
#define N_OPEN     300
#define N_DONE     50000
#define RUNS       200

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench-fleet: %s failed\n", what);
        exit(1);
    }
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "bench-fleet: out of memory\n");
        exit(1);
    }
    return p;
}

static double ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void enterprise(struct registry *reg, const char *eid, int64_t now_ms)
{
    struct lpg_enterprise *e = xcalloc(1, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", eid);
    must(registry_put_enterprise(reg, e), "put enterprise");
    for (int i = 0; i < N_VEHICLES; i++) {
        struct lpg_staff *s = xcalloc(1, sizeof(*s));
        struct lpg_vehicle *v = xcalloc(1, sizeof(*v));
        snprintf(s->id, sizeof(s->id), "%s-S%04d", eid, i);
        snprintf(s->enterprise_id, sizeof(s->enterprise_id), "%s", eid);
        s->role = LPG_ROLE_DELIVERY;
        if (i % 20 == 0)
            s->rest_until_ms = now_ms + 1200000;
        snprintf(v->id, sizeof(v->id), "%s-V%04d", eid, i);
        snprintf(s->vehicle_id, sizeof(s->vehicle_id), "%s", v->id);
        snprintf(v->enterprise_id, sizeof(v->enterprise_id), "%s", eid);
        snprintf(v->plate, sizeof(v->plate), "蒙E%05d", i);
        snprintf(v->staff_id, sizeof(v->staff_id), "%s", s->id);
        v->capacity = 40;
        if (i % 10 < 7) {
            v->has_position = true;
            v->position = (struct geo_point){119.7 + i * 1e-4, 49.2 + i * 1e-4};
            v->position_ms = now_ms - (i % 300) * 1000;
            v->position_speed_cm_s = (i % 4) * 500;
        }
        if (i % 3 == 0) {
            v->trip_started_ms = now_ms - 3600000;
            v->trip_loaded = 30;
            v->trip_handed_over = i % 30;
        }
        must(registry_put_staff(reg, s), "put staff");
        must(registry_put_vehicle(reg, v), "put vehicle");
    }
    for (int i = 0; i < N_OPEN + N_DONE; i++) {
        struct lpg_order *o = xcalloc(1, sizeof(*o));
        int si = (i * 7) % N_VEHICLES;
        snprintf(o->id, sizeof(o->id), "%s-O%06d", eid, i);
        snprintf(o->enterprise_id, sizeof(o->enterprise_id), "%s", eid);
        snprintf(o->customer_id, sizeof(o->customer_id), "C1");
        o->state =
            i < N_OPEN ? (enum lpg_order_state)(LPG_ORDER_ASSIGNED + i % 5) : LPG_ORDER_DELIVERED;
        snprintf(o->staff_id, sizeof(o->staff_id), "%s-S%04d", eid, si);
        snprintf(o->vehicle_id, sizeof(o->vehicle_id), "%s-V%04d", eid, si);
        o->n_items = 1;
        snprintf(o->items[0].spec, sizeof(o->items[0].spec), "YSP-35.5");
        o->items[0].count = 1;
        o->created_ms = now_ms - 86400000 + i;
        must(registry_put_order(reg, o), "put order");
    }
}

int main(void)
{
    struct service d;
    memset(&d, 0, sizeof(d));
    d.registry = registry_new();
    if (d.registry == NULL)
        return 1;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    enterprise(d.registry, "E1", now_ms);
    enterprise(d.registry, "E2", now_ms);
    struct fleet_query q = {.enterprise_id = "E1", .limit = N_VEHICLES, .online = -1};
    static double took[RUNS];
    size_t items = 0, with_order = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = ms_now();
        json_t *page = fleet_list(&d, &q, now_ms);
        char *text = page ? json_dumps(page, JSON_COMPACT) : NULL;
        took[r] = ms_now() - t0;
        if (text == NULL) {
            fprintf(stderr, "bench-fleet: no page\n");
            return 1;
        }
        if (r == 0) {
            json_t *arr = json_object_get(page, "items");
            items = json_array_size(arr);
            for (size_t i = 0; i < items; i++)
                with_order += json_is_object(json_object_get(json_array_get(arr, i), "order"));
        }
        free(text);
        json_decref(page);
    }
    qsort(took, RUNS, sizeof(took[0]), bench_cmp_double);
    printf("bench-fleet: %zu items, %zu with a current order; %d runs over %d vehicles, %d "
           "orders in the enterprise\n",
           items, with_order, RUNS, N_VEHICLES, N_OPEN + N_DONE);
    printf("bench-fleet vehicles=%d median_ms=%.2f p99_ms=%.2f\n", N_VEHICLES, took[RUNS / 2],
           took[RUNS * 99 / 100]);
    registry_free(d.registry);
    return items == N_VEHICLES && with_order > 0 ? 0 : 1;
}
