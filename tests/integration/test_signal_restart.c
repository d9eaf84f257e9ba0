/* test_signal_restart.c -- signal lost across a restart of dispatchd, against real Redis and
 * dispatchd with the smallest setting (--signal-lost-after=1 minute; the time-based rules
 * run every 15 s): a vehicle on an active delivery reports once, dispatchd restarts, and the
 * vehicle never reports again. The restarted dispatchd watches the vehicles on active
 * deliveries before they report (ingest_watch_active: their last fix and rule state are read
 * back from Redis), so the signal-lost alert is raised without any new fix or connection.
 * Takes about 75 s. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], secret[64];
static const char *const dispatchd_args[] = {"--signal-lost-after=1", NULL};

static int api(json_t **out, const char *method, const char *path, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    static char resp[65536];
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    if (out)
        *out = json_loads(resp, 0, NULL);
    if (status >= 400)
        fprintf(stderr, "%s %s -> %d %s\n", method, path, status, resp);
    return status;
}

/* An enterprise, its zone, a person on duty with vehicle V1 and handset H1, a customer. */
static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "signal-restart", dispatchd_args) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    const char *calls[][2] = {
        {"/v1/enterprises",
         "{\"id\":\"E1\",\"name\":\"Hailar Gas\",\"area\":{\"type\":\"Polygon\",\"coordinates\":"
         "[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}}"},
        {"/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E1\",\"name\":\"All\",\"shape\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}"
         "}"},
        {"/v1/vehicles",
         "{\"id\":\"V1\",\"enterprise_id\":\"E1\",\"plate\":\"P1\",\"kind\":\"van\","
         "\"permit_no\":\"P1\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}"},
        {"/v1/staff",
         "{\"id\":\"S1\",\"enterprise_id\":\"E1\",\"name\":\"Wang\",\"role\":\"delivery\","
         "\"qualification_no\":\"Q1\",\"qualification_expiry\":\"2030-01-01\",\"training_no\":"
         "\"T1\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z1\",\"vehicle_id\":\"V1\","
         "\"on_duty\":true}"},
        {"/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"Household\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.7654321,\"lat\":49.2123456},\"address\":\"1 Road\","
         "\"contract_no\":\"SC1\",\"contract_from\":\"2025-01-01\",\"contract_to\":\"2030-12-"
         "31\"}"},
        {"/v1/devices", "{\"device_id\":\"H1\",\"staff_id\":\"S1\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        json_t *j = NULL;
        if (api(&j, "POST", calls[i][0], calls[i][1]) != 201)
            return -1;
        if (strcmp(calls[i][0], "/v1/devices") == 0)
            snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(j, "secret")));
        json_decref(j);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* One batch of 5 fixes ending now, parked at the customer's door; waits for its Ack. */
static void report_once(void)
{
    int fd = wire_login(stack.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    enum { N = 5 };
    Lpg__V1__Fix fixes[N];
    for (int i = 0; i < N; i++)
        wire_fix_3d(&fixes[i], 1 + (uint64_t)i, now_ms - (uint64_t)(N - i) * 1000, 492123456,
                    1197654321, 0);
    assert_int_equal(wire_send_positions(fd, 2, fixes, N, 5000), N);
    close(fd);
}

/* Signal-lost alerts (violation start) of V1 so far. */
static size_t signal_lost_alerts(void)
{
    json_t *j = NULL;
    int status = api(&j, "GET", "/v1/alerts?vehicle_id=V1", NULL);
    if (status == 503) { /* a restarted dispatchd loading from Redis: ask again */
        json_decref(j);
        return 0;
    }
    assert_int_equal(status, 200);
    json_t *items = json_object_get(j, "items"), *a;
    size_t i, n = 0;
    json_array_foreach(items, i, a)
    {
        const char *rule = json_string_value(json_object_get(a, "rule"));
        const char *kind = json_string_value(json_object_get(a, "kind"));
        if (rule && kind && strcmp(rule, "signal_lost") == 0 &&
            strcmp(kind, "violation_start") == 0)
            n++;
    }
    json_decref(j);
    return n;
}

static void test_signal_lost_raised_after_restart_without_new_fix(void **state)
{
    (void)state;
    /* An order for C1 goes to S1, the only person on duty: V1 is on an active delivery. */
    json_t *j = NULL;
    assert_int_equal(api(&j, "POST", "/v1/orders",
                         "{\"id\":\"O1\",\"enterprise_id\":\"E1\",\"customer_id\":\"C1\","
                         "\"items\":[{\"spec\":\"YSP-35.5\",\"count\":2}]}"),
                     201);
    json_decref(j);
    assert_int_equal(api(&j, "GET", "/v1/orders/O1", NULL), 200);
    assert_string_equal(json_string_value(json_object_get(j, "staff_id")), "S1");
    json_decref(j);

    report_once();
    time_t last_fix = time(NULL);
    assert_int_equal(signal_lost_alerts(), 0);

    /* Restart: the new process has never seen V1's handset. */
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, dispatchd_args),
                     0);

    /* No fix for 1 min, found by the 15 s tick: at most ~75 s after the last fix (plus slack
     * for a loaded machine). Not before the minute is up. */
    size_t n = 0;
    while ((n = signal_lost_alerts()) == 0 && time(NULL) - last_fix < 110)
        harness_sleep_ms(1000);
    assert_int_equal(n, 1);
    assert_true(time(NULL) - last_fix >= 59);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_lost_raised_after_restart_without_new_fix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
