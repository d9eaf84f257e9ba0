/* bench_compliance.c -- the in-memory cost of one cylinder scan's decisions
 * (dispatch/app/delivery.c): finding what a vehicle carries by walking the enterprise's cylinders
 * in the registry (the same filtered, paged registry_list_cylinders walk delivery.c makes, up to
 * three times per scan; the first design), against the registry's group of the vehicle's cylinders
 * (what delivery.c uses), and the pure hand-over check. Enterprises of 1,000, 10,000 and 100,000
 * cylinders, 30 of them aboard the vehicle; median of 201 lookups each, one core.
 *
 * Last line: bench-compliance walk_us_100k=<x> group_us_100k=<y> ratio=<x/y> check_ns=<w>
 */
#include "bench_util.h"
#include "core/delivery_rules.h"
#include "core/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WALKS 201

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static bool aboard_v1(const void *e, void *arg)
{
    const struct lpg_cylinder *c = e;
    (void)arg;
    return (c->status == LPG_CYL_LOADED || c->status == LPG_CYL_COLLECTED_EMPTY) &&
           strcmp(c->vehicle_id, "V1") == 0;
}

/* What delivery.c's cylinders_where does: pages of 256 matches until a short page. */
static size_t walk(const struct registry *reg)
{
    const struct lpg_cylinder *page[256];
    char after[LPG_ID_MAX + 1] = "";
    size_t total = 0, n;
    do {
        n = registry_list_cylinders(reg, "E1", after, 256, aboard_v1, NULL, page);
        total += n;
        if (n)
            snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    } while (n == 256);
    return total;
}

static double median_us(double *t)
{
    qsort(t, WALKS, sizeof(t[0]), bench_cmp_double);
    return t[WALKS / 2];
}

static double group_us; /* of the last median_walk_us call */

static double median_walk_us(size_t n_cylinders)
{
    struct registry *reg = registry_new();
    /* Another enterprise's cylinders around it, as in a shared deployment. */
    for (size_t e = 0; e < 2; e++)
        for (size_t i = 0; i < n_cylinders; i++) {
            struct lpg_cylinder *c = calloc(1, sizeof(*c));
            snprintf(c->id, sizeof(c->id), "%s-%07zu", e ? "X" : "HLR", i);
            strcpy(c->enterprise_id, e ? "E2" : "E1");
            strcpy(c->spec, "YSP-35.5");
            c->status = i < 30 ? LPG_CYL_LOADED : LPG_CYL_IN_STOCK;
            strcpy(c->vehicle_id, i >= 30 ? "" : e ? "V2" : "V1");
            if (registry_put_cylinder(reg, c) != 0) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
        }
    double t[WALKS];
    size_t found = 0;
    for (int k = 0; k < WALKS; k++) {
        double t0 = now_us();
        found = walk(reg);
        t[k] = now_us() - t0;
    }
    if (found != 30) {
        fprintf(stderr, "walk found %zu cylinders aboard, expected 30\n", found);
        exit(1);
    }
    double walk_med = median_us(t);
    const struct lpg_cylinder *aboard[64];
    for (int k = 0; k < WALKS; k++) {
        double t0 = now_us();
        found = registry_cylinders_on_vehicle(reg, "V1", aboard, 64);
        t[k] = now_us() - t0;
    }
    if (found != 30) {
        fprintf(stderr, "the group holds %zu cylinders, expected 30\n", found);
        exit(1);
    }
    group_us = median_us(t);
    printf("  %7zu cylinders: walk median %.1f us, group median %.3f us\n", n_cylinders, walk_med,
           group_us);
    registry_free(reg);
    return walk_med;
}

static double check_ns(void)
{
    struct delivery_policy p;
    delivery_policy_default(&p);
    struct lpg_order o = {.id = "O1",
                          .enterprise_id = "E1",
                          .staff_id = "S1",
                          .vehicle_id = "V1",
                          .state = LPG_ORDER_LOADED};
    struct lpg_staff s = {.id = "S1", .enterprise_id = "E1", .vehicle_id = "V1"};
    struct lpg_vehicle v = {.id = "V1", .enterprise_id = "E1", .staff_id = "S1", .capacity = 30};
    struct lpg_customer cu = {.id = "C1", .enterprise_id = "E1", .location = {119.7, 49.2}};
    struct lpg_cylinder c = {.id = "CY1",
                             .enterprise_id = "E1",
                             .spec = "YSP-35.5",
                             .status = LPG_CYL_LOADED,
                             .vehicle_id = "V1",
                             .order_id = "O1"};
    int32_t today;
    lpg_day_parse("2026-12-03", &today);
    lpg_day_parse("2024-01-01", &c.manufactured_day);
    c.last_inspection_day = c.next_inspection_day = LPG_DAY_NONE;
    struct vehicle_fix fix = {true, {119.7, 49.2002}, 1000, 0};
    char why[320];
    const int n = 1000000;
    size_t refused = 0;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        fix.time_ms = 1000 + (i & 1); /* defeat hoisting */
        refused +=
            handover_check(&o, &s, &v, &cu, &c, &fix, 2000, today, &p, why, sizeof(why)) != NULL;
    }
    double ns = (now_us() - t0) * 1000.0 / n;
    if (refused) {
        fprintf(stderr, "the benchmark's hand-over was refused: %s\n", why);
        exit(1);
    }
    return ns;
}

int main(void)
{
    printf("bench-compliance: the vehicle's load found by walking the enterprise's cylinders\n");
    median_walk_us(1000);
    median_walk_us(10000);
    double w100 = median_walk_us(100000), g100 = group_us;
    double c = check_ns();
    printf("  handover_check: %.0f ns per call\n", c);
    printf("bench-compliance walk_us_100k=%.1f group_us_100k=%.3f ratio=%.0f check_ns=%.0f\n", w100,
           g100, g100 > 0 ? w100 / g100 : 0.0, c);
    return 0;
}
