/* test_tracking.c -- the tracking rules on the ingest path against real Redis and dispatchd:
 * a vehicle driving 72 km/h for 30 s in a 60 km/h zone raises an overspeed alert that is
 * stored, pushed to the driver's handset (Alert) and to the dispatchers' live feed, listed for
 * the enterprise, and acknowledged once with a note. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char secret[64], tok[64], auth[128];

static int provision(void);

static int req(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, auth, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "tracking", NULL) != 0)
        return -1;
    return provision();
}

/* An enterprise, a 60 km/h zone, a person with handset H1 and vehicle V1. */
static int provision(void)
{
    char resp[8192];
    if (harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    if (req("POST", "/v1/zones",
            "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"Town\",\"shape\":{\"type\":"
            "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
            "[119.6,49.15]]]}}",
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

static int sse_open(void)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    assert_true(fd >= 0);
    char r[256];
    snprintf(r, sizeof(r), "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             tok);
    assert_int_equal(harness_send_all(fd, r, strlen(r)), 0);
    return fd;
}

static int sse_wait(int fd, const char *needle, int timeout_ms)
{
    static char buf[65536];
    size_t used = 0;
    buf[0] = '\0';
    for (int waited = 0; waited < timeout_ms && !strstr(buf, needle); waited += 50) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = recv(fd, buf + used, sizeof(buf) - used - 1, 0);
            if (n <= 0)
                break;
            used += (size_t)n;
            buf[used] = '\0';
        }
    }
    harness_http_record_stream("/v1/events", buf, used);
    return strstr(buf, needle) != NULL;
}

/* Logs H1 in, drives 30 s at 72 km/h and returns whether an overspeed Alert came with the
 * Ack. */
static int drive_from(uint64_t first_seq, uint64_t ago_ms);

static int drive_72_kmh(void)
{
    return drive_from(1, 0);
}

/* The same drive with seqs from first_seq, ending ago_ms before now. */
static int drive_from(uint64_t first_seq, uint64_t ago_ms)
{
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "H1", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);

    /* 30 fixes, 1 s apart, ending now: 72 km/h (2000 cm/s) northwards inside zone Z1. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    enum { N = 30 };
    Lpg__V1__Fix fixes[N], *ptrs[N];
    for (int i = 0; i < N; i++) {
        lpg__v1__fix__init(&fixes[i]);
        fixes[i].has_seq = fixes[i].has_time_ms = fixes[i].has_lat_e7 = fixes[i].has_lon_e7 = 1;
        fixes[i].seq = first_seq + (uint64_t)i;
        fixes[i].time_ms = now_ms - ago_ms - (uint64_t)(N - i) * 1000;
        fixes[i].lat_e7 = 492000000 + i * 1799; /* 20 m per second: 20/111195 deg */
        fixes[i].lon_e7 = 1197500000;
        fixes[i].has_speed_cm_s = 1;
        fixes[i].speed_cm_s = 2000;
        fixes[i].has_mode = 1;
        fixes[i].mode = LPG__V1__FIX__MODE__FIX_3D;
        ptrs[i] = &fixes[i];
    }
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = N;
    b.fixes = ptrs;
    Lpg__V1__Envelope out = LPG__V1__ENVELOPE__INIT;
    out.has_request_id = 1;
    out.request_id = 2;
    out.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    out.position_batch = &b;
    assert_int_equal(wire_send(fd, &out), 0);

    /* The driver is warned (Alert) and the batch acknowledged. */
    int got_alert = 0, got_ack = 0;
    for (int i = 0; i < 10 && !got_ack; i++) {
        env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        if (env->body_case == LPG__V1__ENVELOPE__BODY_ALERT &&
            strcmp(env->alert->kind, "overspeed") == 0 && env->alert->severity == 2)
            got_alert = 1;
        if (env->body_case == LPG__V1__ENVELOPE__BODY_ACK) {
            assert_int_equal(env->ack->position_seq, first_seq + N - 1);
            got_ack = 1;
        }
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    assert_true(got_ack);
    close(fd);
    return got_alert;
}

static void test_overspeed_raises_a_live_alert(void **state)
{
    (void)state;
    int feed = sse_open();
    assert_true(drive_72_kmh());
    /* The dispatchers see it live. */
    assert_true(sse_wait(feed, "event: alert", 5000));
    close(feed);

    /* Listed for the enterprise, then acknowledged once. */
    static char resp[65536];
    assert_int_equal(req("GET", "/v1/alerts?enterprise_id=E0", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"rule\":\"overspeed\""));
    char id[80];
    assert_int_equal(harness_json_str(resp, "id", id, sizeof(id)), 0);
    char path[160];
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    assert_int_equal(req("POST", path, "{}", resp, sizeof(resp)), 400);
    assert_int_equal(req("POST", path, "{\"note\":\"called the driver\"}", resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"acknowledged_by\":\"root\""));
    assert_int_equal(req("POST", path, "{\"note\":\"again\"}", resp, sizeof(resp)), 409);
}

/* A unit uploads what it buffered while offline: fixes older than what the rules have seen.
 * Their overspeed is found and recorded as late, and not pushed as a live alert. */
static void test_late_fixes_are_evaluated_and_marked_late(void **state)
{
    (void)state;
    assert_false(drive_from(31, 600000)); /* ten minutes ago: no live Alert */
    static char resp[65536];
    assert_int_equal(req("GET", "/v1/alerts?vehicle_id=V1", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"late\":true"));
}

static json_t *alerts_get(const char *query, int want_status)
{
    static char resp[65536], path[512];
    snprintf(path, sizeof(path), "/v1/alerts?%s", query);
    assert_int_equal(req("GET", path, NULL, resp, sizeof(resp)), want_status);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    return j;
}

/* After the two drives above (one now, one uploaded late, ten minutes in the past): alerts are
 * ordered and filtered by the event's time (the late ones first, although stored last), can be
 * filtered by rule, and paged with the `next` cursor without loss or repetition. */
static void test_alerts_by_event_time_rule_and_cursor(void **state)
{
    (void)state;
    json_t *all = alerts_get("vehicle_id=V1", 200);
    json_t *items = json_object_get(all, "items");
    size_t n = json_array_size(items);
    assert_true(n >= 2); /* an overspeed start now, and one late (ten minutes ago) */
    assert_null(json_object_get(all, "next"));
    assert_true(json_is_true(json_object_get(json_array_get(items, 0), "late")));
    const char *prev = "";
    for (size_t i = 0; i < n; i++) {
        const char *end = json_string_value(json_object_get(json_array_get(items, i), "end"));
        assert_true(strcmp(prev, end) <= 0); /* RFC 3339 UTC with ms: text order is time order */
        prev = end;
    }

    /* From five minutes ago: the late alerts (ten minutes ago) are left out. */
    char from[64], q[128];
    time_t t = time(NULL) - 300;
    strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(q, sizeof(q), "vehicle_id=V1&from=%s", from);
    json_t *recent = alerts_get(q, 200);
    size_t nr = json_array_size(json_object_get(recent, "items"));
    assert_true(nr >= 1 && nr < n);
    for (size_t i = 0; i < nr; i++)
        assert_false(json_is_true(
            json_object_get(json_array_get(json_object_get(recent, "items"), i), "late")));
    json_decref(recent);

    /* By rule. */
    json_t *over = alerts_get("vehicle_id=V1&rule=overspeed", 200);
    assert_int_equal(json_array_size(json_object_get(over, "items")), n);
    json_decref(over);
    json_t *fat = alerts_get("enterprise_id=E0&rule=fatigue", 200);
    assert_int_equal(json_array_size(json_object_get(fat, "items")), 0);
    json_decref(fat);
    json_decref(alerts_get("vehicle_id=V1&rule=speeding", 400));
    json_decref(alerts_get("vehicle_id=V1&cursor=yesterday", 400));

    /* Pages of 1 with the cursor give back exactly the full list, in order. */
    char cursor[64] = "";
    size_t seen = 0;
    for (;;) {
        if (cursor[0])
            snprintf(q, sizeof(q), "vehicle_id=V1&limit=1&cursor=%s", cursor);
        else
            snprintf(q, sizeof(q), "vehicle_id=V1&limit=1");
        json_t *page = alerts_get(q, 200);
        json_t *pi = json_object_get(page, "items");
        if (json_array_size(pi) == 1) {
            assert_true(seen < n);
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(pi, 0), "id")),
                json_string_value(json_object_get(json_array_get(items, seen), "id")));
            seen++;
        } else {
            assert_int_equal(json_array_size(pi), 0);
        }
        const char *next = json_string_value(json_object_get(page, "next"));
        if (next == NULL) {
            json_decref(page);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", next);
        json_decref(page);
    }
    assert_int_equal(seen, n);
    json_decref(all);
}

/* The limits are settings: with the road limit at 80 km/h the same drive raises nothing. */
static void test_limits_are_settings(void **state)
{
    (void)state;
    assert_int_equal(harness_stack_stop(&stack), 0);
    static const char *const args[] = {"--speed-limit-road=80", NULL};
    assert_int_equal(harness_stack_start(&stack, "tracking80", args), 0);
    assert_int_equal(harness_stack_admin_token(&stack, tok), 0);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    assert_int_equal(provision(), 0);
    assert_false(drive_72_kmh());
    static char resp[65536];
    assert_int_equal(req("GET", "/v1/alerts?enterprise_id=E0", NULL, resp, sizeof(resp)), 200);
    assert_null(strstr(resp, "overspeed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overspeed_raises_a_live_alert),
        cmocka_unit_test(test_late_fixes_are_evaluated_and_marked_late),
        cmocka_unit_test(test_alerts_by_event_time_rule_and_cursor),
        cmocka_unit_test(test_limits_are_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
