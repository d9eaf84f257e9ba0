/* test_depot_track.c -- the depot and the stops read from a REAL recorded track (issue 13 item
 * 4 and the track part of item 1), through the handset protocol and real Redis: dg100.gpx
 * (tests/data/tracks/README.md: Ontario, 2020-02-14; its second drive, 34.1 min, starts after a
 * stop of 54.6 + 14.2 min and ends in a stop of 44.2 min). The station is put at the start of
 * that drive, V1's customer at the stop that ends it.
 *
 *   - V1 loads at the station, drives away: its order loaded -> en_route at the first fix
 *     outside the station; stops (the tracking stop rule) at the customer: en_route -> arrived
 *     at the stop's start; both with those times in GET /v1/orders/{id}/history; the departure
 *     is in the trips read ("depot", with the cylinders aboard); no unplanned_stop at the
 *     customer.
 *   - V2 drives the same track with a full cylinder for a customer far away: the 44 min stop is
 *     an unplanned_stop (start, then its end when the vehicle moves again).
 *
 * The track is replayed with its times shifted so that its first fix is 50 min old when the
 * cylinders are loaded (handover_max_fix_age and fix_max_future are raised to 1 h for that).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "geo_sphere.h"
#include "harness.h"
#include "track_load.h"
#include "wire_client.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define STATION_RADIUS_M 150
#define REPLAY_BATCH     100

static struct harness_stack stack;
static char admin[64];
static int h1 = -1, h2 = -1;
static uint64_t req = 100, seq1, seq2;
static struct track trk;
static size_t i_start, i_stop; /* the drive's first fix; the first fix after its end stop */
static int64_t shift_ms;       /* added to the recording's times */

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    static char resp[262144];
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    if (out)
        *out = json_loads(resp, 0, NULL);
    return status;
}

static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void post_ok(const char *path, const char *body)
{
    json_t *j = NULL;
    int st = api(&j, "POST", path, body);
    if (st != 201 && st != 200) {
        char *t = j ? json_dumps(j, 0) : NULL;
        fail_msg("POST %s -> %d %s", path, st, t ? t : "");
    }
    json_decref(j);
}

static json_t *get(const char *path)
{
    json_t *j = NULL;
    assert_int_equal(api(&j, "GET", path, NULL), 200);
    assert_non_null(j);
    return j;
}

/* A square of +-d degrees around p, as GeoJSON. */
static void square(char *out, size_t cap, struct geo_point p, double d)
{
    snprintf(out, cap,
             "{\"type\":\"Polygon\",\"coordinates\":[[[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],"
             "[%.7f,%.7f],[%.7f,%.7f]]]}",
             p.lon - d, p.lat - d, p.lon + d, p.lat - d, p.lon + d, p.lat + d, p.lon - d, p.lat + d,
             p.lon - d, p.lat - d);
}

static Lpg__V1__Envelope *reply_to(int fd, uint64_t r)
{
    for (int i = 0; i < 50; i++) {
        Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        if ((env->body_case == LPG__V1__ENVELOPE__BODY_ACK && env->ack->ack_seq == r) ||
            (env->body_case == LPG__V1__ENVELOPE__BODY_ERROR && env->error->ack_seq == r))
            return env;
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    fail_msg("no reply to request %llu", (unsigned long long)r);
    return NULL;
}

static void expect_ack(int fd, Lpg__V1__Envelope *env)
{
    env->has_request_id = 1;
    env->request_id = ++req;
    assert_int_equal(wire_send(fd, env), 0);
    Lpg__V1__Envelope *r = reply_to(fd, env->request_id);
    if (r->body_case != LPG__V1__ENVELOPE__BODY_ACK)
        fail_msg("expected Ack, got error %s: %s", r->error->refusal ? r->error->refusal : "-",
                 r->error->message);
    lpg__v1__envelope__free_unpacked(r, NULL);
}

static void accept_order(int fd, const char *order)
{
    Lpg__V1__OrderAccept m = LPG__V1__ORDER_ACCEPT__INIT;
    m.order_id = (char *)order;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ORDER_ACCEPT;
    env.order_accept = &m;
    expect_ack(fd, &env);
}

static void load(int fd, const char *order, const char *code)
{
    Lpg__V1__CylinderScan m = LPG__V1__CYLINDER_SCAN__INIT;
    m.has_action = 1;
    m.action = LPG__V1__CYLINDER_SCAN__ACTION__LOAD;
    m.order_id = (char *)order;
    m.cylinder_code = (char *)code;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_CYLINDER_SCAN;
    env.cylinder_scan = &m;
    expect_ack(fd, &env);
}

/* Sends the recording's fixes [from, to) as handset fd's, times shifted, in batches. */
static void replay(int fd, uint64_t *seq, size_t from, size_t to)
{
    Lpg__V1__Fix f[REPLAY_BATCH];
    while (from < to) {
        size_t n = 0;
        for (; n < REPLAY_BATCH && from < to; n++, from++) {
            const struct lpg_fix *x = &trk.fixes[from];
            double kmh = x->has_speed ? x->speed_kmh : 0.0;
            wire_fix_3d(&f[n], ++*seq, (uint64_t)(x->time_ms + shift_ms),
                        (int32_t)lround(x->pos.lat * 1e7), (int32_t)lround(x->pos.lon * 1e7),
                        (uint32_t)lround(kmh / 0.036));
        }
        assert_true(wire_send_positions(fd, ++req, f, n, 10000) == (long long)*seq);
    }
}

/* The order's state, waited for: the track's transitions are applied after the batch that
 * decided them is acknowledged (a write of their own), so the test polls until they show. */
static void wait_state(const char *order, const char *want)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", order);
    for (int i = 0; i < 500; i++) {
        json_t *j = get(path);
        bool ok = str(j, "state") && strcmp(str(j, "state"), want) == 0;
        json_decref(j);
        if (ok)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("order %s never became %s", order, want);
}

/* The history entry of order `order` that moved it to `to`: its time, and its actor. */
static int64_t history_at(const char *order, const char *to, const char *actor)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/history", order);
    json_t *h = get(path);
    size_t i;
    json_t *e;
    int64_t at = -1;
    json_array_foreach(json_object_get(h, "items"), i, e)
    {
        if (strcmp(str(e, "to"), to) == 0) {
            assert_string_equal(str(e, "actor"), actor);
            at = track_parse_time_ms(str(e, "at"));
        }
    }
    json_decref(h);
    if (at < 0)
        fail_msg("order %s has no history entry to %s", order, to);
    return at;
}

static size_t alerts_of(const char *vehicle, const char *kind)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/alerts?vehicle_id=%s&rule=unplanned_stop&limit=100", vehicle);
    json_t *j = get(path);
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(json_object_get(j, "items"), i, a) n += strcmp(str(a, "kind"), kind) == 0;
    json_decref(j);
    return n;
}

static void staff(int i, const char *zone)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"id\":\"S%d\",\"enterprise_id\":\"E1\",\"name\":\"Driver %d\",\"role\":"
             "\"delivery\",\"qualification_no\":\"Q%d\",\"qualification_expiry\":\"2099-01-01\","
             "\"training_no\":\"T%d\",\"training_expiry\":\"2099-01-01\",\"zone_id\":\"%s\","
             "\"vehicle_id\":\"V%d\",\"on_duty\":true}",
             i, i, i, i, zone, i);
    post_ok("/v1/staff", body);
}

static int setup(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/dg100.gpx", TRACKS_DIR);
    if (track_load_gpx(path, &trk) != 0)
        return -1;
    /* The first day's gaps longer than 10 min: 54.6 and 14.2 min (the first stop), then
     * 44.2 min (the second). The drive between them is the one replayed. */
    size_t gaps[3], n_gaps = 0;
    for (size_t i = 1; i < trk.n && n_gaps < 3; i++)
        if (trk.fixes[i].time_ms - trk.fixes[i - 1].time_ms > 10 * 60000)
            gaps[n_gaps++] = i;
    if (n_gaps != 3 || gaps[1] != gaps[0] + 1)
        return -1;
    i_start = gaps[1];
    i_stop = gaps[2];
    const char *extra[] = {"--handover-max-fix-age=3600", "--fix-max-future=3600", NULL};
    if (harness_stack_start(&stack, "depot", extra) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    struct geo_point st = trk.fixes[i_start].pos, cu = trk.fixes[i_stop].pos;
    struct geo_point far = {st.lon, st.lat + 0.3};
    char shape[512], body[1024];
    square(shape, sizeof(shape), st, 1.0); /* the whole drive lies within a degree */
    snprintf(body, sizeof(body), "{\"id\":\"E1\",\"name\":\"Ontario Gas\",\"area\":%s}", shape);
    post_ok("/v1/enterprises", body);
    square(shape, sizeof(shape), cu, 0.01);
    snprintf(body, sizeof(body),
             "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"Stop\",\"shape\":%s}", shape);
    post_ok("/v1/zones", body);
    square(shape, sizeof(shape), far, 0.01);
    snprintf(body, sizeof(body),
             "{\"id\":\"Z2\",\"enterprise_id\":\"E1\",\"name\":\"Far\",\"shape\":%s}", shape);
    post_ok("/v1/zones", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"ST1\",\"enterprise_id\":\"E1\",\"name\":\"Depot\",\"center\":"
             "{\"lon\":%.7f,\"lat\":%.7f},\"radius_m\":%d}",
             st.lon, st.lat, STATION_RADIUS_M);
    post_ok("/v1/stations", body);
    for (int i = 1; i <= 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"V%d\",\"enterprise_id\":\"E1\",\"plate\":\"ON-%d\",\"kind\":\"van\","
                 "\"permit_no\":\"P%d\",\"permit_expiry\":\"2099-01-01\",\"capacity\":30,"
                 "\"station_id\":\"ST1\"}",
                 i, i, i);
        post_ok("/v1/vehicles", body);
    }
    staff(1, "Z1");
    staff(2, "Z2");
    const struct geo_point at[] = {cu, far};
    for (int i = 1; i <= 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"C%d\",\"enterprise_id\":\"E1\",\"name\":\"Customer %d\",\"kind\":"
                 "\"household\",\"location\":{\"lon\":%.7f,\"lat\":%.7f},\"address\":\"%d Road\","
                 "\"contract_no\":\"SC%d\",\"contract_from\":\"2020-01-01\",\"contract_to\":"
                 "\"2099-01-01\"}",
                 i, i, at[i - 1].lon, at[i - 1].lat, i, i);
        post_ok("/v1/customers", body);
        snprintf(body, sizeof(body),
                 "{\"id\":\"CY%d\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-35.5\",\"manufacturer\":"
                 "\"M\",\"serial\":\"S%d\",\"manufactured\":\"2024-01-01\",\"next_inspection\":"
                 "\"2099-01-01\"}",
                 i, i);
        post_ok("/v1/cylinders", body);
    }
    char secret[2][64];
    for (int i = 0; i < 2; i++) {
        json_t *j = NULL;
        snprintf(body, sizeof(body), "{\"device_id\":\"H%d\",\"staff_id\":\"S%d\"}", i + 1, i + 1);
        if (api(&j, "POST", "/v1/devices", body) != 201)
            return -1;
        snprintf(secret[i], sizeof(secret[i]), "%s", str(j, "secret"));
        json_decref(j);
    }
    h1 = wire_login(stack.d.handset_port, "H1", secret[0]);
    h2 = wire_login(stack.d.handset_port, "H2", secret[1]);
    shift_ms = now_ms() - 50 * 60000 - trk.fixes[i_start].time_ms;
    return h1 >= 0 && h2 >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (h1 >= 0)
        close(h1);
    if (h2 >= 0)
        close(h2);
    track_free(&trk);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void order(const char *id, const char *customer, const char *staff_id)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"customer_id\":\"%s\",\"enterprise_id\":\"E1\",\"items\":"
             "[{\"spec\":\"YSP-35.5\",\"count\":1}]}",
             id, customer);
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders", body), 201);
    assert_string_equal(str(j, "staff_id"), staff_id);
    json_decref(j);
}

static void test_en_route_and_arrived_from_the_track(void **state)
{
    (void)state;
    order("O1", "C1", "S1");
    accept_order(h1, "O1");
    replay(h1, &seq1, i_start, i_start + 1); /* in the yard */
    load(h1, "O1", "CY1");
    wait_state("O1", "loaded");
    /* The drive, the stop at the customer, and the move away from it. */
    replay(h1, &seq1, i_start + 1, i_stop + 20);
    wait_state("O1", "arrived");
    /* En route at the first fix outside the station; arrived at the stop's start (the last
     * moving fix before it). */
    size_t left = i_start + 1;
    while (geo_distance_m(trk.fixes[left].pos, trk.fixes[i_start].pos) <= STATION_RADIUS_M)
        left++;
    assert_int_equal(history_at("O1", "en_route", "system"), trk.fixes[left].time_ms + shift_ms);
    assert_int_equal(history_at("O1", "arrived", "system"),
                     trk.fixes[i_stop - 1].time_ms + shift_ms);
    /* The stop at its own customer is planned. */
    assert_int_equal(alerts_of("V1", "violation_start"), 0);
    /* The departure with the trips, the cylinder aboard. */
    char path[256], from[40], to[40];
    time_t f = (time_t)((trk.fixes[i_start].time_ms + shift_ms) / 1000 - 60);
    time_t t = (time_t)((trk.fixes[i_stop + 20].time_ms + shift_ms) / 1000 + 60);
    strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&f));
    strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(path, sizeof(path), "/v1/vehicles/V1/trips?from=%s&to=%s", from, to);
    json_t *trips = get(path);
    json_t *depot = json_object_get(trips, "depot");
    assert_int_equal(json_array_size(depot), 1);
    json_t *d0 = json_array_get(depot, 0);
    assert_string_equal(str(d0, "event"), "departure");
    assert_string_equal(str(d0, "station_id"), "ST1");
    assert_int_equal(json_integer_value(json_object_get(d0, "full")), 1);
    assert_int_equal(track_parse_time_ms(str(d0, "at")), trk.fixes[left].time_ms + shift_ms);
    json_decref(trips);
}

static void test_unplanned_stop_away_from_the_customer(void **state)
{
    (void)state;
    order("O2", "C2", "S2");
    accept_order(h2, "O2");
    replay(h2, &seq2, i_start, i_start + 1);
    load(h2, "O2", "CY2");
    wait_state("O2", "loaded");
    replay(h2, &seq2, i_start + 1, i_stop);
    wait_state("O2", "en_route");
    assert_int_equal(alerts_of("V2", "violation_start"), 0);
    /* 44 min stopped far from C2 and from the station, a full cylinder aboard. */
    replay(h2, &seq2, i_stop, i_stop + 1);
    assert_int_equal(alerts_of("V2", "violation_start"), 1);
    assert_int_equal(alerts_of("V2", "violation_end"), 0);
    /* It moves again: the episode ends, once. */
    replay(h2, &seq2, i_stop + 1, i_stop + 20);
    assert_int_equal(alerts_of("V2", "violation_start"), 1);
    assert_int_equal(alerts_of("V2", "violation_end"), 1);
    json_t *o = get("/v1/orders/O2");
    assert_string_equal(str(o, "state"), "en_route");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_en_route_and_arrived_from_the_track),
        cmocka_unit_test(test_unplanned_stop_away_from_the_customer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
