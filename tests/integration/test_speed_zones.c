/* test_speed_zones.c -- the overspeed limit comes from where the fix is (issue 14 item 4), through
 * the handset protocol against real Redis and dispatchd. The driver's assigned zone is an ordinary
 * town zone (60 km/h); an expressway zone (80 km/h) lies across the road. Driving 72 km/h inside
 * the expressway zone raises nothing; leaving it at the same speed raises an overspeed with the
 * 60 km/h limit; the vehicle's own limit (70 km/h) is a ceiling even on the expressway. */
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
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char secret[64], tok[64], auth[128];
static uint64_t next_seq = 1;

static int req(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, auth, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

/* Town zone Z1 (the driver's; ordinary roads), expressway zone ZX from latitude 49.2 to 49.2036
 * (400 m of the road) inside it, vehicle V1 bound to the driver. */
static int setup(void **state)
{
    (void)state;
    char resp[8192];
    if (harness_stack_start(&stack, "speedzones", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    if (req("POST", "/v1/zones",
            "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"Town\",\"shape\":{\"type\":"
            "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
            "[119.6,49.15]]]}}",
            resp, sizeof(resp)) != 201 ||
        req("POST", "/v1/zones",
            "{\"id\":\"ZX\",\"enterprise_id\":\"E0\",\"name\":\"G10\",\"expressway\":true,"
            "\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.74,49.2],[119.76,49.2],"
            "[119.76,49.2036],[119.74,49.2036],[119.74,49.2]]]}}",
            resp, sizeof(resp)) != 201 ||
        req("PATCH", "/v1/staff/S-H1", "{\"zone_id\":\"Z1\"}", resp, sizeof(resp)) != 200 ||
        req("POST", "/v1/vehicles",
            "{\"id\":\"V1\",\"enterprise_id\":\"E0\",\"plate\":\"P1\",\"kind\":\"van\","
            "\"capacity\":10,\"staff_id\":\"S-H1\"}",
            resp, sizeof(resp)) != 201) {
        fprintf(stderr, "setup: %s\n", resp);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* Drives n fixes, 1 s apart, ending `ago_ms` before now, at 72 km/h (20 m/s) northwards from
 * latitude lat0 (degrees * 1e7) along longitude 119.75; returns the number of overspeed Alerts
 * pushed before the batch's Ack. */
static int drive(int n, int32_t lat0_e7, uint64_t ago_ms)
{
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "H1", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    enum { N_MAX = 60 };
    assert_true(n <= N_MAX);
    Lpg__V1__Fix fixes[N_MAX], *ptrs[N_MAX];
    for (int i = 0; i < n; i++) {
        lpg__v1__fix__init(&fixes[i]);
        fixes[i].has_seq = fixes[i].has_time_ms = fixes[i].has_lat_e7 = fixes[i].has_lon_e7 = 1;
        fixes[i].seq = next_seq++;
        fixes[i].time_ms = now_ms - ago_ms - (uint64_t)(n - i) * 1000;
        fixes[i].lat_e7 = lat0_e7 + i * 1799; /* 20 m per second: 20/111195 deg */
        fixes[i].lon_e7 = 1197500000;
        fixes[i].has_speed_cm_s = 1;
        fixes[i].speed_cm_s = 2000;
        fixes[i].has_mode = 1;
        fixes[i].mode = LPG__V1__FIX__MODE__FIX_3D;
        ptrs[i] = &fixes[i];
    }
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = (size_t)n;
    b.fixes = ptrs;
    Lpg__V1__Envelope out = LPG__V1__ENVELOPE__INIT;
    out.has_request_id = 1;
    out.request_id = 2;
    out.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    out.position_batch = &b;
    assert_int_equal(wire_send(fd, &out), 0);

    int alerts = 0, got_ack = 0;
    for (int i = 0; i < 10 && !got_ack; i++) {
        env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        if (env->body_case == LPG__V1__ENVELOPE__BODY_ALERT &&
            strcmp(env->alert->kind, "overspeed") == 0 && env->alert->severity == 2)
            alerts++;
        if (env->body_case == LPG__V1__ENVELOPE__BODY_ACK)
            got_ack = 1;
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    assert_true(got_ack);
    close(fd);
    return alerts;
}

/* The overspeed alerts of V1 stored so far, as JSON (the caller frees). */
static json_t *overspeed_alerts(void)
{
    static char resp[65536];
    assert_int_equal(
        req("GET", "/v1/alerts?vehicle_id=V1&rule=overspeed", NULL, resp, sizeof(resp)), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    return j;
}

static double limit_of(json_t *items, size_t i)
{
    return json_number_value(json_object_get(json_array_get(items, i), "limit_kmh"));
}

/* One drive crossing the expressway zone: the first 20 s inside it at 72 km/h (under 80: no
 * alert, although the driver's own zone is an ordinary 60 km/h one), then 20 s out of it on the
 * town's roads (over 60: an alert whose limit is 60). */
static void test_limit_follows_the_zone_the_fix_is_in(void **state)
{
    (void)state;
    /* 20 fixes from 49.20001 up to 49.20343: all inside ZX. */
    assert_int_equal(drive(20, 492000100, 120000), 0);
    json_t *a = overspeed_alerts();
    assert_int_equal(json_array_size(json_object_get(a, "items")), 0);
    json_decref(a);

    /* The same road on: 20 fixes from 49.20361 on, all out of ZX and in the town. */
    assert_int_equal(drive(20, 492000100 + 20 * 1799, 80000), 1);
    a = overspeed_alerts();
    json_t *items = json_object_get(a, "items");
    assert_true(json_array_size(items) >= 1);
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_true(limit_of(items, i) == 60.0);
    json_decref(a);
}

/* The vehicle's own limit is a ceiling over the zone's: at 70 km/h, 72 km/h on the expressway is
 * over. */
static void test_vehicle_limit_is_a_ceiling(void **state)
{
    (void)state;
    char resp[8192];
    assert_int_equal(
        req("PATCH", "/v1/vehicles/V1", "{\"speed_limit_kmh\":70}", resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"speed_limit_kmh\":70"));
    json_t *a = overspeed_alerts();
    size_t before = json_array_size(json_object_get(a, "items"));
    json_decref(a);
    assert_int_equal(drive(20, 492000100, 30000), 1);
    a = overspeed_alerts();
    json_t *items = json_object_get(a, "items");
    assert_true(json_array_size(items) > before);
    int seen70 = 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        seen70 |= limit_of(items, i) == 70.0;
    assert_true(seen70);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_follows_the_zone_the_fix_is_in),
        cmocka_unit_test(test_vehicle_limit_is_a_ceiling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
