/* test_v1_summary.c -- GET /v1/vehicles/{id}/trips, /v1/vehicles/{id}/summary and
 * /v1/enterprises/{id}/summary against real Redis and dispatchd. A drive with known figures is
 * stored through the handset protocol (1 Hz fixes along the meridian 119.75E, so distances are
 * differences of path positions):
 *   pre   2026-11-20T15:50:00Z .. 15:59:59Z (local 23:50..23:59:59 of the 20th in UTC+8),
 *         36 km/h, path -7000 .. -1010 m: 599 s of driving, 5990 m
 *   then from T0 = 2026-11-20T23:00:00Z (local 07:00 on the 21st; the drive crosses the UTC
 *   day boundary at t = 3600 s, so the local day reads two UTC day keys), t in s from T0:
 *   A  0..600       36 km/h, path 0 .. 6000
 *   B  601..2100    standing at 6000: a 25 min stop (600 .. 2102 once the 50 m departure rule
 *                   has seen the vehicle leave)
 *   C  2101..2400   72 km/h, path 6020 .. 12000: over the 60 km/h road limit for 5 min, so an
 *                   overspeed alert is raised by ingest
 *   D  2401..2520   a 2 min halt at 12000 (not a stop), then 54 km/h to 16500 at 2820
 *   E  4620         a 30 min data gap, parked 100 m on (a stop, 2820 .. 4683), standing to
 *                   4680, then 54 km/h to 21100 at 4980
 *   F  5280         a 5 min gap while moving (1000 m on: driving, credited 180 s), then
 *                   36 km/h to 23300 at 5400
 * Expected trips (the same figures as tests/dispatch/test_motion.c's scenario): 0..600 6000 m,
 * 2102..2820 10500 m, 4683..5400 6700 m; stops 600..2102 and 2820..4683. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0        1795215600000LL /* 2026-11-20T23:00:00Z */
#define T_PRE     1795189800000LL /* 2026-11-20T15:50:00Z */
#define LAT0      49.21
#define LON_E7    1197500000
#define R_M       6371008.8 /* GEO_EARTH_RADIUS_M */
#define PI        3.14159265358979323846
#define MAX_FIXES 4000
/* No libm here: the few helpers it would give. */
#define ABS(x) ((x) < 0 ? -(x) : (x))

static long long round_ll(double x)
{
    return (long long)(x >= 0 ? x + 0.5 : x - 0.5);
}

static struct harness_stack stack;
static char secret[64];
static char tok_admin[64], tok_aud[64], tok_disp0[64], tok_disp1[64];

struct wfix {
    int64_t t_ms;
    double s_m;
    double v_ms;
};
static struct wfix fixes[MAX_FIXES];
static size_t n_fixes;

static void add(int64_t t_ms, double s_m, double v_ms)
{
    assert_true(n_fixes < MAX_FIXES);
    fixes[n_fixes++] = (struct wfix){t_ms, s_m, v_ms};
}

static void build_drive(void)
{
    n_fixes = 0;
    for (int64_t k = 0; k < 600; k++)
        add(T_PRE + k * 1000, -7000 + 10.0 * (double)k, 10);
#define AT(t) (T0 + (int64_t)(t)*1000)
    for (int64_t t = 0; t <= 600; t++)
        add(AT(t), 10.0 * (double)t, 10);
    for (int64_t t = 601; t <= 2100; t++)
        add(AT(t), 6000, 0);
    for (int64_t t = 2101; t <= 2400; t++)
        add(AT(t), 6000 + 20.0 * (double)(t - 2100), 20);
    for (int64_t t = 2401; t <= 2520; t++)
        add(AT(t), 12000, 0);
    for (int64_t t = 2521; t <= 2820; t++)
        add(AT(t), 12000 + 15.0 * (double)(t - 2520), 15);
    add(AT(4620), 16600, 0);
    for (int64_t t = 4621; t <= 4680; t++)
        add(AT(t), 16600, 0);
    for (int64_t t = 4681; t <= 4980; t++)
        add(AT(t), 16600 + 15.0 * (double)(t - 4680), 15);
    add(AT(5280), 22100, 10);
    for (int64_t t = 5281; t <= 5400; t++)
        add(AT(t), 22100 + 10.0 * (double)(t - 5280), 10);
#undef AT
}

static int32_t lat_e7(double s_m)
{
    return (int32_t)round_ll((LAT0 + s_m / R_M * 180.0 / PI) * 1e7);
}

/* Sends fixes [first, last) as one batch; waits for its Ack (alerts may come first). */
static void send_batch(int fd, uint64_t req, size_t first, size_t last)
{
    size_t n = last - first;
    Lpg__V1__Fix *f = calloc(n, sizeof(*f));
    Lpg__V1__Fix **ptrs = calloc(n, sizeof(*ptrs));
    assert_non_null(f);
    assert_non_null(ptrs);
    for (size_t i = 0; i < n; i++) {
        const struct wfix *w = &fixes[first + i];
        lpg__v1__fix__init(&f[i]);
        f[i].has_seq = f[i].has_time_ms = f[i].has_lat_e7 = f[i].has_lon_e7 = 1;
        f[i].seq = first + i + 1;
        f[i].time_ms = (uint64_t)w->t_ms;
        f[i].lat_e7 = lat_e7(w->s_m);
        f[i].lon_e7 = LON_E7;
        f[i].has_speed_cm_s = 1;
        f[i].speed_cm_s = (uint32_t)round_ll(w->v_ms * 100);
        f[i].has_mode = 1;
        f[i].mode = LPG__V1__FIX__MODE__FIX_3D;
        ptrs[i] = &f[i];
    }
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = n;
    b.fixes = ptrs;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = req;
    env.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    env.position_batch = &b;
    assert_int_equal(wire_send(fd, &env), 0);
    free(f);
    free(ptrs);
    for (int i = 0; i < 50; i++) {
        Lpg__V1__Envelope *reply = wire_recv(fd, 10000);
        assert_non_null(reply);
        int done = reply->body_case == LPG__V1__ENVELOPE__BODY_ACK;
        if (done)
            assert_int_equal(reply->ack->position_seq, last);
        else
            assert_int_equal(reply->body_case, LPG__V1__ENVELOPE__BODY_ALERT);
        lpg__v1__envelope__free_unpacked(reply, NULL);
        if (done)
            return;
    }
    fail_msg("no Ack");
}

static int post(const char *tok, const char *path, const char *body, char *resp, size_t cap)
{
    char auth[128] = "";
    int status = 0;
    if (tok)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    if (harness_http_req(stack.d.http_port, "POST", path, tok ? auth : NULL, body, &status, resp,
                         cap) != 0)
        return -1;
    return status;
}

static char resp_buf[1 << 20];

/* GET as tok (NULL: none); the parsed body in *out (NULL when not JSON). Returns the status. */
static int get(const char *tok, const char *path, json_t **out)
{
    char auth[128] = "";
    int status = 0;
    if (tok)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", path, tok ? auth : NULL, NULL,
                                      &status, resp_buf, sizeof(resp_buf)),
                     0);
    if (out)
        *out = json_loads(resp_buf, 0, NULL);
    return status;
}

static int user_token(const char *name, const char *role, const char *ent, char tok[64])
{
    char body[512], resp[4096];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"role\":\"%s\",%s%s%s\"password\":\"summary-test-pw-1\"}", name,
             role, ent ? "\"enterprise_id\":\"" : "", ent ? ent : "", ent ? "\"," : "");
    if (post(tok_admin, "/v1/users", body, resp, sizeof(resp)) != 201) {
        fprintf(stderr, "user %s: %s\n", name, resp);
        return -1;
    }
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"summary-test-pw-1\"}", name);
    if (post(NULL, "/v1/sessions", body, resp, sizeof(resp)) != 201 ||
        harness_json_str(resp, "token", tok, 64) != 0) {
        fprintf(stderr, "login %s: %s\n", name, resp);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    char resp[4096];
    if (harness_stack_start(&stack, "summary", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok_admin) != 0)
        return -1;
    if (post(tok_admin, "/v1/vehicles",
             "{\"id\":\"V1\",\"enterprise_id\":\"E0\",\"plate\":\"P1\",\"kind\":\"van\","
             "\"capacity\":10,\"staff_id\":\"S-H1\"}",
             resp, sizeof(resp)) != 201 ||
        post(tok_admin, "/v1/vehicles",
             "{\"id\":\"V2\",\"enterprise_id\":\"E0\",\"plate\":\"P2\",\"kind\":\"van\","
             "\"capacity\":10}",
             resp, sizeof(resp)) != 201 ||
        post(tok_admin, "/v1/enterprises",
             "{\"id\":\"E1\",\"name\":\"Other Gas\",\"area\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
             "[119.6,49.15]]]}}",
             resp, sizeof(resp)) != 201) {
        fprintf(stderr, "setup: %s\n", resp);
        return -1;
    }
    if (user_token("aud", "auditor", NULL, tok_aud) != 0 ||
        user_token("disp0", "dispatcher", "E0", tok_disp0) != 0 ||
        user_token("disp1", "dispatcher", "E1", tok_disp1) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void test_store_drive(void **state)
{
    (void)state;
    build_drive();
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "H1", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    uint64_t req = 2;
    for (size_t first = 0; first < n_fixes; first += 500)
        send_batch(fd, req++, first, first + 500 < n_fixes ? first + 500 : n_fixes);
    close(fd);
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

static void check_trip(json_t *it, const char *start, const char *end, double dist,
                       double driving_s, double vmax)
{
    assert_string_equal(str(it, "type"), "trip");
    assert_string_equal(str(it, "start"), start);
    assert_string_equal(str(it, "end"), end);
    assert_true(ABS(num(it, "distance_m") - dist) <= 0.5);
    assert_true(ABS(num(it, "driving_s") - driving_s) < 0.01); /* gap credit: stored positions */
    assert_true(ABS(num(it, "max_speed_kmh") - vmax) < 1e-9);
}

static void check_stop(json_t *it, const char *start, const char *end, double at_m)
{
    assert_string_equal(str(it, "type"), "stop");
    assert_string_equal(str(it, "start"), start);
    assert_string_equal(str(it, "end"), end);
    json_t *pos = json_object_get(it, "position");
    assert_true(ABS(num(pos, "lat") - (double)lat_e7(at_m) / 1e7) < 1e-7);
}

static void test_trips(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(
        get(tok_aud, "/v1/vehicles/V1/trips?from=2026-11-20T22:00:00Z&to=2026-11-21T02:00:00Z", &j),
        200);
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 5);
    /* 0..600: 6000 m, 600 s, 36 km/h (the 7 h gap before it is cut off by `from`). */
    check_trip(json_array_get(items, 0), "2026-11-20T23:00:00.000Z", "2026-11-20T23:10:00.000Z",
               6000, 600, 36);
    check_stop(json_array_get(items, 1), "2026-11-20T23:10:00.000Z", "2026-11-20T23:35:02.000Z",
               6000);
    /* 2102..2820 with the 2 min halt inside: 10500 m; 298 + 297 s of driving; 72 km/h. */
    check_trip(json_array_get(items, 2), "2026-11-20T23:35:02.000Z", "2026-11-20T23:47:00.000Z",
               10500, 595, 72);
    /* The parked 30 min gap across the UTC midnight: 2820..4683 at 16600. */
    check_stop(json_array_get(items, 3), "2026-11-20T23:47:00.000Z", "2026-11-21T00:18:03.000Z",
               16600);
    /* 4683..5400: 6700 m, 297 + 180 (gap credit) + 120 s. */
    check_trip(json_array_get(items, 4), "2026-11-21T00:18:03.000Z", "2026-11-21T00:30:00.000Z",
               6700, 597, 54);
    assert_true(json_is_true(json_object_get(json_array_get(items, 4), "open_end")));
    assert_int_equal((int)num(j, "trips"), 3);
    assert_int_equal((int)num(j, "stops"), 2);
    assert_true(ABS(num(j, "distance_m") - 23200) <= 0.5);
    assert_int_equal((int)num(j, "fixes"), (int)n_fixes - 600);
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);

    /* min_stop_s=1800: only the 31 min parked gap is a stop. */
    assert_int_equal(get(tok_aud,
                         "/v1/vehicles/V1/trips?from=2026-11-20T22:00:00Z&to=2026-11-21T02:00:00Z"
                         "&min_stop_s=1800",
                         &j),
                     200);
    assert_int_equal((int)num(j, "stops"), 1);
    assert_int_equal((int)num(j, "trips"), 2);
    json_decref(j);

    /* Access and validation. */
    const char *p = "/v1/vehicles/V1/trips?from=2026-11-20T22:00:00Z&to=2026-11-21T02:00:00Z";
    assert_int_equal(get(tok_disp0, p, NULL), 200);
    assert_int_equal(get(tok_disp1, p, NULL), 404);
    assert_int_equal(get(NULL, p, NULL), 401);
    assert_int_equal(get(tok_aud,
                         "/v1/vehicles/NOPE/trips?from=2026-11-20T22:00:00Z&to="
                         "2026-11-21T02:00:00Z",
                         NULL),
                     404);
    assert_int_equal(get(tok_aud, "/v1/vehicles/V1/trips?from=2026-11-20T22:00:00Z", NULL), 400);
    assert_int_equal(get(tok_aud,
                         "/v1/vehicles/V1/trips?from=2026-10-01T00:00:00Z&to=2026-11-21T00:00:00Z",
                         NULL),
                     400);
    assert_int_equal(
        get(tok_aud,
            "/v1/vehicles/V1/trips?from=2026-11-20T22:00:00Z&to=2026-11-21T02:00:00Z&min_stop_s=5",
            NULL),
        400);
}

static void test_vehicle_summary(void **state)
{
    (void)state;
    json_t *j = NULL;
    /* Local 2026-11-21 in UTC+8 = [2026-11-20T16:00Z, 2026-11-21T16:00Z): both UTC day keys,
     * none of the pre-drive (local 23:50..23:59:59 of the 20th). */
    assert_int_equal(get(tok_aud, "/v1/vehicles/V1/summary?date=2026-11-21", &j), 200);
    assert_non_null(j);
    assert_string_equal(str(j, "from"), "2026-11-20T16:00:00.000Z");
    assert_string_equal(str(j, "to"), "2026-11-21T16:00:00.000Z");
    assert_int_equal((int)num(j, "utc_offset_min"), 480);
    assert_int_equal((int)num(j, "fixes"), (int)n_fixes - 600);
    assert_true(ABS(num(j, "distance_m") - 23200) <= 0.5);
    assert_true(ABS(num(j, "driving_s") - (600 + 595 + 597)) < 0.01);
    assert_true(ABS(num(j, "max_speed_kmh") - 72) < 1e-9);
    assert_int_equal((int)num(j, "trips"), 3);
    assert_int_equal((int)num(j, "stops"), 2);
    /* Five minutes at 72 km/h: one overspeed episode (start and end records). */
    json_t *v = json_object_get(j, "violations");
    json_t *os = json_object_get(json_object_get(v, "by_rule"), "overspeed");
    assert_int_equal((int)num(os, "violation_start"), 1);
    assert_int_equal((int)num(os, "violation_end"), 1);
    assert_int_equal((int)num(v, "count"), 1);
    json_t *fat = json_object_get(json_object_get(v, "by_rule"), "fatigue");
    assert_int_equal((int)num(fat, "violation_start"), 0);
    /* Every alert of the vehicle is in that day: the summary counts all of them. */
    json_t *al = NULL;
    assert_int_equal(get(tok_aud, "/v1/alerts?vehicle_id=V1", &al), 200);
    assert_int_equal((int)num(v, "alerts"), (int)json_array_size(json_object_get(al, "items")));
    json_decref(al);
    json_decref(j);

    /* Local 2026-11-20: only the pre-drive, 5990 m in 599 s, no violation. */
    assert_int_equal(get(tok_aud, "/v1/vehicles/V1/summary?date=2026-11-20", &j), 200);
    assert_int_equal((int)num(j, "fixes"), 600);
    assert_true(ABS(num(j, "distance_m") - 5990) <= 0.5);
    assert_true(ABS(num(j, "driving_s") - 599) < 1e-9);
    assert_int_equal((int)num(json_object_get(j, "violations"), "alerts"), 0);
    json_decref(j);

    /* A day without fixes. */
    assert_int_equal(get(tok_disp0, "/v1/vehicles/V1/summary?date=2026-11-22", &j), 200);
    assert_int_equal((int)num(j, "fixes"), 0);
    assert_true(json_is_null(json_object_get(j, "max_speed_kmh")));
    json_decref(j);

    assert_int_equal(get(tok_disp1, "/v1/vehicles/V1/summary?date=2026-11-21", NULL), 404);
    assert_int_equal(get(tok_aud, "/v1/vehicles/V1/summary?date=2026-13-01", NULL), 400);
    assert_int_equal(get(tok_aud, "/v1/vehicles/V1/summary", NULL), 400);
}

static void test_enterprise_summary(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(get(tok_aud, "/v1/enterprises/E0/summary?date=2026-11-21", &j), 200);
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *v1 = json_array_get(items, 0), *v2 = json_array_get(items, 1);
    assert_string_equal(str(v1, "vehicle_id"), "V1");
    assert_true(ABS(num(v1, "distance_m") - 23200) <= 0.5);
    assert_int_equal((int)num(json_object_get(v1, "violations"), "count"), 1);
    assert_string_equal(str(v2, "vehicle_id"), "V2");
    assert_int_equal((int)num(v2, "fixes"), 0);
    json_decref(j);
    assert_int_equal(get(tok_disp0, "/v1/enterprises/E0/summary?date=2026-11-21", NULL), 200);
    assert_int_equal(get(tok_disp1, "/v1/enterprises/E0/summary?date=2026-11-21", NULL), 404);
    assert_int_equal(get(tok_aud, "/v1/enterprises/NOPE/summary?date=2026-11-21", NULL), 404);
}

/* Item 3: events of any enterprise by vehicle or enterprise and time range, for an auditor. */
static void test_alerts_for_auditor(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(get(tok_aud, "/v1/alerts?enterprise_id=E0", &j), 200);
    size_t all = json_array_size(json_object_get(j, "items"));
    assert_true(all >= 2);
    json_decref(j);
    assert_int_equal(get(tok_aud, "/v1/alerts?vehicle_id=V1&from=2020-01-01T00:00:00Z", &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), all);
    json_decref(j);
    assert_int_equal(get(tok_disp1, "/v1/alerts?vehicle_id=V1", NULL), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_drive),        cmocka_unit_test(test_trips),
        cmocka_unit_test(test_vehicle_summary),    cmocka_unit_test(test_enterprise_summary),
        cmocka_unit_test(test_alerts_for_auditor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
