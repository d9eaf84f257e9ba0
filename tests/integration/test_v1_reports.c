/* test_v1_reports.c -- the auditor's reports (issue 14 item 3) over a REAL recorded drive,
 * through the handset protocol and real Redis: mtk_logger_m241.gpx (tests/data/tracks/README.md:
 * Rome, 2008-05-04, 29.8 min at 1 s) replayed as vehicle V1 of enterprise E1 and, the same
 * track, as V2 of enterprise E2, its times shifted to end a minute ago.
 *
 *   - GET /v1/reports/area for a circle and a polygon on the track: each stay's entry and exit
 *     are within one fix interval of the true crossing (the boundary lies between the last fix
 *     outside and the first inside, computed here from the recording), per vehicle;
 *   - the same report as CSV (?format=csv and Accept: text/csv), row for row;
 *   - scoping: an auditor limited to E1 sees V1 only; E2 named is 403 wrong_enterprise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "geo_polygon.h"
#include "geo_sphere.h"
#include "harness.h"
#include "track_load.h"
#include "wire_client.h"

#include <jansson.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REPLAY_BATCH 100
#define RADIUS_M     150.0

static struct harness_stack stack;
static char admin[64], aud1[64];
static struct track trk;
static int64_t shift_ms;
static uint64_t req = 100;
static struct geo_point center;

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int call(const char *token, const char *method, const char *path, const char *extra,
                const char *body, char *resp, size_t cap)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n%s", token, extra ? extra : "");
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static void post_ok(const char *path, const char *body)
{
    static char resp[8192];
    int st = call(admin, "POST", path, NULL, body, resp, sizeof(resp));
    if (st != 201)
        fail_msg("POST %s -> %d %s", path, st, resp);
}

static void square(char *out, size_t cap, struct geo_point p, double d)
{
    snprintf(out, cap,
             "{\"type\":\"Polygon\",\"coordinates\":[[[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],"
             "[%.7f,%.7f],[%.7f,%.7f]]]}",
             p.lon - d, p.lat - d, p.lon + d, p.lat - d, p.lon + d, p.lat + d, p.lon - d, p.lat + d,
             p.lon - d, p.lat - d);
}

static void replay(int fd)
{
    Lpg__V1__Fix f[REPLAY_BATCH];
    uint64_t seq = 0;
    size_t from = 0;
    while (from < trk.n) {
        size_t n = 0;
        for (; n < REPLAY_BATCH && from < trk.n; n++, from++) {
            const struct lpg_fix *x = &trk.fixes[from];
            double kmh = x->has_speed ? x->speed_kmh : 0.0;
            wire_fix_3d(&f[n], ++seq, (uint64_t)(x->time_ms + shift_ms),
                        (int32_t)lround(x->pos.lat * 1e7), (int32_t)lround(x->pos.lon * 1e7),
                        (uint32_t)lround(kmh / 0.036));
        }
        assert_true(wire_send_positions(fd, ++req, f, n, 10000) == (long long)seq);
    }
}

static void fleet(int i, const char *area)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"id\":\"E%d\",\"name\":\"Roma Gas %d\",\"area\":%s}", i, i,
             area);
    post_ok("/v1/enterprises", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"Z%d\",\"enterprise_id\":\"E%d\",\"name\":\"Z\",\"shape\":%s}", i, i, area);
    post_ok("/v1/zones", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"V%d\",\"enterprise_id\":\"E%d\",\"plate\":\"RM-%d\",\"kind\":\"van\","
             "\"permit_no\":\"P%d\",\"permit_expiry\":\"2099-01-01\",\"capacity\":30}",
             i, i, i, i);
    post_ok("/v1/vehicles", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"S%d\",\"enterprise_id\":\"E%d\",\"name\":\"P\",\"role\":\"delivery\","
             "\"qualification_no\":\"Q%d\",\"qualification_expiry\":\"2099-01-01\","
             "\"training_no\":\"T%d\",\"training_expiry\":\"2099-01-01\",\"zone_id\":\"Z%d\","
             "\"vehicle_id\":\"V%d\",\"on_duty\":true}",
             i, i, i, i, i, i);
    post_ok("/v1/staff", body);
    snprintf(body, sizeof(body),
             "{\"id\":\"C%d\",\"enterprise_id\":\"E%d\",\"name\":\"C\",\"kind\":"
             "\"household\",\"location\":{\"lon\":%.7f,\"lat\":%.7f},\"address\":\"1 Via\","
             "\"contract_no\":\"SC%d\",\"contract_from\":\"2020-01-01\",\"contract_to\":"
             "\"2099-01-01\"}",
             i, i, center.lon, center.lat, i);
    post_ok("/v1/customers", body);
}

static int setup(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/mtk_logger_m241.gpx", TRACKS_DIR);
    if (track_load_gpx(path, &trk) != 0 || trk.n < 1000)
        return -1;
    const char *extra[] = {"--handover-max-fix-age=3600", "--fix-max-future=3600", NULL};
    if (harness_stack_start(&stack, "reports", extra) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    center = trk.fixes[trk.n / 2].pos;
    char area[512];
    square(area, sizeof(area), center, 1.0);
    fleet(1, area);
    fleet(2, area);
    post_ok("/v1/users", "{\"name\":\"aud1\",\"role\":\"auditor\",\"enterprises\":[\"E1\"],"
                         "\"password\":\"auditor-one-pw\"}");
    static char resp[4096];
    int st = 0;
    if (harness_http_req(stack.d.http_port, "POST", "/v1/sessions", NULL,
                         "{\"user\":\"aud1\",\"password\":\"auditor-one-pw\"}", &st, resp,
                         sizeof(resp)) != 0 ||
        st != 201 || harness_json_str(resp, "token", aud1, sizeof(aud1)) != 0)
        return -1;
    shift_ms = now_ms() - 60000 - trk.fixes[trk.n - 1].time_ms;
    for (int i = 1; i <= 2; i++) {
        char secret[64], dev[16], body[128];
        snprintf(dev, sizeof(dev), "H%d", i);
        snprintf(body, sizeof(body), "{\"device_id\":\"H%d\",\"staff_id\":\"S%d\"}", i, i);
        if (call(admin, "POST", "/v1/devices", NULL, body, resp, sizeof(resp)) != 201 ||
            harness_json_str(resp, "secret", secret, sizeof(secret)) != 0)
            return -1;
        int fd = wire_login(stack.d.handset_port, dev, secret);
        if (fd < 0)
            return -1;
        replay(fd);
        close(fd);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    track_free(&trk);
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* The true stays of the recording in the area (inside(p)): for each, the crossing lies between
 * the last fix outside and the first inside (entry), the last inside and the first outside
 * (exit). Times shifted. */
struct truth {
    int64_t entry_lo, entry_hi, exit_lo, exit_hi;
};

static size_t truths(int (*inside)(struct geo_point), struct truth *out, size_t cap)
{
    size_t n = 0;
    int in = 0;
    for (size_t i = 0; i < trk.n; i++) {
        int now_in = inside(trk.fixes[i].pos);
        int64_t t = trk.fixes[i].time_ms + shift_ms;
        int64_t prev = i ? trk.fixes[i - 1].time_ms + shift_ms : t;
        if (now_in && !in && n < cap) {
            out[n].entry_lo = prev;
            out[n].entry_hi = t;
            out[n].exit_lo = out[n].exit_hi = trk.fixes[trk.n - 1].time_ms + shift_ms;
            n++;
        } else if (!now_in && in) {
            out[n - 1].exit_lo = prev;
            out[n - 1].exit_hi = t;
        }
        in = now_in;
    }
    return n;
}

static int in_circle(struct geo_point p)
{
    return geo_distance_m(center, p) <= RADIUS_M;
}

static const double HALF = 0.0015; /* the polygon: a square of +-HALF degrees */
static int in_square(struct geo_point p)
{
    struct geo_point ring[5] = {{center.lon - HALF, center.lat - HALF},
                                {center.lon + HALF, center.lat - HALF},
                                {center.lon + HALF, center.lat + HALF},
                                {center.lon - HALF, center.lat + HALF},
                                {center.lon - HALF, center.lat - HALF}};
    struct geo_polygon poly = {.outer = {ring, 5}, .holes = NULL, .n_holes = 0};
    return geo_polygon_contains(&poly, p);
}

static void span(char *out, size_t cap)
{
    char f[40], t[40];
    time_t a = (time_t)((trk.fixes[0].time_ms + shift_ms) / 1000 - 60);
    time_t b = (time_t)(now_ms() / 1000 + 60);
    strftime(f, sizeof(f), "%Y-%m-%dT%H:%M:%SZ", gmtime(&a));
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", gmtime(&b));
    snprintf(out, cap, "from=%s&to=%s", f, t);
}

static int64_t instant(const json_t *j, const char *key)
{
    return track_parse_time_ms(json_string_value(json_object_get(j, key)));
}

/* Checks the report's stays of vehicle veh against the truth (n of them). */
static void check_stays(json_t *stays, const char *veh, const struct truth *tr, size_t n)
{
    size_t k = 0, i;
    json_t *s;
    json_array_foreach(stays, i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "vehicle_id")), veh) != 0)
            continue;
        assert_true(k < n);
        int64_t entry = instant(s, "entry"), exit = instant(s, "exit");
        if (entry < tr[k].entry_lo || entry > tr[k].entry_hi || exit < tr[k].exit_lo ||
            exit > tr[k].exit_hi)
            fail_msg("%s stay %zu: %" PRId64 "..%" PRId64 " not within [%" PRId64 ",%" PRId64
                     "]..[%" PRId64 ",%" PRId64 "]",
                     veh, k, entry, exit, tr[k].entry_lo, tr[k].entry_hi, tr[k].exit_lo,
                     tr[k].exit_hi);
        /* one fix interval: the true crossing is within [lo, hi], the reported time is hi
         * (entry) or lo (exit) */
        assert_true(tr[k].entry_hi - tr[k].entry_lo <= 5000);
        k++;
    }
    assert_int_equal(k, n);
}

static char resp[1 << 20];

static void test_area_circle(void **state)
{
    (void)state;
    struct truth tr[64];
    size_t n = truths(in_circle, tr, 64);
    assert_true(n >= 1);
    char sp[128], path[512];
    span(sp, sizeof(sp));
    snprintf(path, sizeof(path), "/v1/reports/area?lon=%.7f&lat=%.7f&radius_m=%.0f&%s", center.lon,
             center.lat, RADIUS_M, sp);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    json_t *stays = json_object_get(j, "stays");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 2 * n);
    check_stays(stays, "V1", tr, n);
    check_stays(stays, "V2", tr, n);
    json_decref(j);
    printf("circle of %.0f m: %zu stays per vehicle\n", RADIUS_M, n);

    /* CSV, by parameter and by Accept: the same stays, row for row */
    snprintf(path, sizeof(path), "/v1/reports/area?lon=%.7f&lat=%.7f&radius_m=%.0f&%s&format=csv",
             center.lon, center.lat, RADIUS_M, sp);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    assert_int_equal(strncmp(resp, "vehicle_id,enterprise_id,entry,exit,fixes\r\n", 43), 0);
    char end[64];
    snprintf(end, sizeof(end), "# end: %zu stays\r\n", 2 * n);
    assert_non_null(strstr(resp, end));
    size_t rows = 0;
    for (const char *c = resp; (c = strstr(c, "\r\nV")) != NULL; c += 3)
        rows++;
    assert_int_equal(rows, 2 * n);
    static char resp2[1 << 20];
    snprintf(path, sizeof(path), "/v1/reports/area?lon=%.7f&lat=%.7f&radius_m=%.0f&%s", center.lon,
             center.lat, RADIUS_M, sp);
    assert_int_equal(call(admin, "GET", path, "Accept: text/csv\r\n", NULL, resp2, sizeof(resp2)),
                     200);
    assert_string_equal(resp, resp2);
}

static void test_area_polygon_and_scope(void **state)
{
    (void)state;
    struct truth tr[64];
    size_t n = truths(in_square, tr, 64);
    assert_true(n >= 1);
    char sp[128], path[768];
    span(sp, sizeof(sp));
    snprintf(path, sizeof(path),
             "/v1/reports/area?polygon=%.7f,%.7f;%.7f,%.7f;%.7f,%.7f;%.7f,%.7f&%s",
             center.lon - HALF, center.lat - HALF, center.lon + HALF, center.lat - HALF,
             center.lon + HALF, center.lat + HALF, center.lon - HALF, center.lat + HALF, sp);
    /* the auditor limited to E1: V1 only */
    assert_int_equal(call(aud1, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), n);
    check_stays(json_object_get(j, "stays"), "V1", tr, n);
    assert_null(strstr(resp, "\"V2\""));
    json_decref(j);
    printf("square of +-%.4f deg: %zu stays\n", HALF, n);
    char p2[900];
    snprintf(p2, sizeof(p2), "%s&enterprise_id=E2", path);
    assert_int_equal(call(aud1, "GET", p2, NULL, NULL, resp, sizeof(resp)), 403);
    assert_non_null(strstr(resp, "wrong_enterprise"));
    /* the caps */
    snprintf(path, sizeof(path), "/v1/reports/area?lon=%.7f&lat=%.7f&radius_m=60000&%s", center.lon,
             center.lat, sp);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 400);
    assert_int_equal(call(admin, "GET",
                          "/v1/reports/area?lon=12&lat=41&radius_m=100&from=2026-01-01T00:00:00Z&"
                          "to=2026-03-01T00:00:00Z",
                          NULL, NULL, resp, sizeof(resp)),
                     400);
}

/* The month's table of E1: the orders cancelled and failed here, no hazard, and the alerts of the
 * replayed drive counted exactly as GET /v1/alerts lists them (the independent read). */
static void test_compliance_month(void **state)
{
    (void)state;
    char body[512];
    for (int i = 1; i <= 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"O%d\",\"enterprise_id\":\"E1\",\"customer_id\":\"C1\",\"items\":[{"
                 "\"spec\":\"YSP-35.5\","
                 "\"count\":1}]}",
                 i);
        post_ok("/v1/orders", body);
    }
    static char r2[8192];
    assert_int_equal(call(admin, "POST", "/v1/orders/O1/cancel", NULL,
                          "{\"reason\":\"customer called\"}", r2, sizeof(r2)),
                     200);
    assert_int_equal(call(admin, "POST", "/v1/orders/O2/cancel", NULL,
                          "{\"reason\":\"customer called again\"}", r2, sizeof(r2)),
                     200);
    /* the month, local (UTC+8, the default offset), of the replay */
    time_t t = (time_t)(now_ms() / 1000 + 8 * 3600);
    char month[16], path[256];
    strftime(month, sizeof(month), "%Y-%m", gmtime(&t));
    snprintf(path, sizeof(path), "/v1/reports/compliance?enterprise_id=E1&month=%s", month);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    json_t *orders = json_object_get(j, "orders"), *hz = json_object_get(j, "hazards");
    assert_int_equal(json_integer_value(json_object_get(orders, "cancelled")), 2);
    assert_int_equal(json_integer_value(json_object_get(orders, "failed")), 0);
    assert_int_equal(json_integer_value(json_object_get(orders, "delivered")), 0);
    assert_int_equal(json_integer_value(json_object_get(hz, "opened")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "checks"), "failed")),
                     0);
    assert_false(json_is_true(json_object_get(j, "truncated")));
    /* the alerts, as GET /v1/alerts lists them over the same range */
    char ap[512];
    snprintf(ap, sizeof(ap), "/v1/alerts?enterprise_id=E1&from=%s&to=%s&limit=500",
             json_string_value(json_object_get(j, "from")),
             json_string_value(json_object_get(j, "to")));
    static char r3[1 << 20];
    assert_int_equal(call(admin, "GET", ap, NULL, NULL, r3, sizeof(r3)), 200);
    json_t *al = json_loads(r3, 0, NULL);
    assert_non_null(al);
    size_t i, listed = 0, starts = 0;
    json_t *a;
    json_array_foreach(json_object_get(al, "items"), i, a)
    {
        listed++;
        starts += strcmp(json_string_value(json_object_get(a, "kind")), "violation_start") == 0;
    }
    json_decref(al);
    size_t counted = 0;
    const char *rule, *kind;
    json_t *kinds, *n;
    json_object_foreach(json_object_get(j, "alerts"), rule, kinds)
    {
        json_object_foreach(kinds, kind, n) counted += (size_t)json_integer_value(n);
    }
    assert_int_equal(counted, listed);
    assert_int_equal(json_integer_value(json_object_get(j, "violations")), starts);
    printf("E1 %s: %zu alerts, %zu violation episodes, 2 cancelled\n", month, listed, starts);
    json_decref(j);

    /* CSV: the same figures, one row each */
    snprintf(path, sizeof(path), "/v1/reports/compliance?enterprise_id=E1&month=%s&format=csv",
             month);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    assert_int_equal(strncmp(resp, "enterprise_id,month,section,measure,count\r\n", 43), 0);
    char row[96];
    snprintf(row, sizeof(row), "\r\nE1,%s,orders,cancelled,2\r\n", month);
    assert_non_null(strstr(resp, row));
    snprintf(row, sizeof(row), "\r\nE1,%s,hazards,overdue,0\r\n", month);
    assert_non_null(strstr(resp, row));
    assert_non_null(strstr(resp, "\r\n# end\r\n"));

    /* scope: E2's orders are not E1's; the auditor of E1 does not read E2's table */
    snprintf(path, sizeof(path), "/v1/reports/compliance?enterprise_id=E2&month=%s", month);
    assert_int_equal(call(admin, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"cancelled\": 0") ? resp : strstr(resp, "\"cancelled\":0"));
    assert_int_equal(call(aud1, "GET", path, NULL, NULL, resp, sizeof(resp)), 403);
    snprintf(path, sizeof(path), "/v1/reports/compliance?month=%s", month);
    assert_int_equal(call(aud1, "GET", path, NULL, NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"E1\""));
    assert_int_equal(call(admin, "GET", "/v1/reports/compliance?enterprise_id=E1&month=2026-13",
                          NULL, NULL, resp, sizeof(resp)),
                     400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_area_circle),
        cmocka_unit_test(test_area_polygon_and_scope),
        cmocka_unit_test(test_compliance_month),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
