/* test_figures.c -- the figures agree with their docs (issue 14 item 5), through the handset
 * protocol against real Redis and dispatchd: /metrics counts a fix `late` only when it is stored
 * older than the vehicle's newest, never when the filters drop it (a fix without a position or
 * with a poor accuracy has its own label in lpg_fixes_filtered_total); an OrderAssigned leaves
 * out an optional string the server has no value for (the customer's address, like the notes),
 * never sending it empty (proto/README.md, "Compatibility rules"); a vehicle's daily summary
 * walks only the fixes the filters accept, as the fatigue rule does. */
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
static char secret[64], secret2[64], secret3[64], tok[64], auth[128];

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
    if (harness_stack_start(&stack, "figures", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0 ||
        harness_stack_device(&stack, "H2", secret2) != 0 ||
        harness_stack_vehicle(&stack, "V2", "H2") != 0 ||
        harness_stack_device(&stack, "H3", secret3) != 0 ||
        harness_stack_vehicle(&stack, "V3", "H3") != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* The value of the sample `name{labels}` in /metrics (name with its labels, as printed). */
static long long metric(const char *name)
{
    return harness_metric(stack.d.http_port, name);
}

/* Five good fixes 1 s apart; then, at the time of the last good one, a fix without a position
 * (invalid); one with a 500 m accuracy a second before it (accuracy); and one good fix half a
 * second before it (truly late: stored, older than the newest). Only the last is `late`. */
static void test_late_counts_no_filter_drops(void **state)
{
    (void)state;
    long long late0 = metric("lpg_fixes_total{result=\"late\"}");
    long long inv0 = metric("lpg_fixes_filtered_total{reason=\"invalid\"}");
    long long acc0 = metric("lpg_fixes_filtered_total{reason=\"accuracy\"}");
    assert_true(late0 >= 0 && inv0 >= 0 && acc0 >= 0);

    int fd = wire_login(stack.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t0 = (uint64_t)ts.tv_sec * 1000 - 60000;
    enum { N = 8 };
    Lpg__V1__Fix f[N];
    for (int i = 0; i < 5; i++)
        wire_fix_3d(&f[i], (uint64_t)i + 1, t0 + (uint64_t)i * 1000, 492000000 + i * 100,
                    1197500000, 100);
    wire_fix_3d(&f[5], 6, t0 + 4000, 492000500, 1197500000, 100);
    f[5].mode = LPG__V1__FIX__MODE__NO_FIX;
    wire_fix_3d(&f[6], 7, t0 + 3000, 492000300, 1197500000, 100);
    f[6].has_accuracy_cm = 1;
    f[6].accuracy_cm = 50000;
    wire_fix_3d(&f[7], 8, t0 + 3500, 492000350, 1197500000, 100);
    assert_int_equal(wire_send_positions(fd, 2, f, N, HARNESS_REPLY_TIMEOUT_MS), 8);
    close(fd);

    assert_int_equal(metric("lpg_fixes_filtered_total{reason=\"invalid\"}"), inv0 + 1);
    assert_int_equal(metric("lpg_fixes_filtered_total{reason=\"accuracy\"}"), acc0 + 1);
    assert_int_equal(metric("lpg_fixes_total{result=\"late\"}"), late0 + 1);
}

/* An order assigned to S-H1 for a customer without an address and without notes: the
 * OrderAssigned at the next login carries neither field (both absent, not ""). */
static void test_order_assigned_leaves_out_empty_strings(void **state)
{
    (void)state;
    static char resp[8192];
    const char *calls[][3] = {
        {"POST", "/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"West\",\"shape\":{\"type\":"
         "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.8,49.15],[119.8,49.3],[119.6,49.3],"
         "[119.6,49.15]]]}}"},
        {"PATCH", "/v1/staff/S-H1",
         "{\"zone_id\":\"Z1\",\"on_duty\":true,\"qualification_no\":\"QC-1\","
         "\"qualification_expiry\":\"2099-12-31\",\"training_no\":\"ST-1\","
         "\"training_expiry\":\"2099-12-31\"}"},
        {"PATCH", "/v1/vehicles/V1",
         "{\"permit_no\":\"DG-1\",\"permit_expiry\":\"2099-12-31\",\"capacity\":10}"},
        {"POST", "/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E0\",\"name\":\"A\",\"kind\":\"household\","
         "\"location\":{\"lon\":119.7,\"lat\":49.2},\"contract_no\":\"S1\"}"},
        {"POST", "/v1/orders",
         "{\"id\":\"O1\",\"enterprise_id\":\"E0\",\"customer_id\":\"C1\","
         "\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        int st = req(calls[i][0], calls[i][1], calls[i][2], resp, sizeof(resp));
        if (st != 200 && st != 201)
            fail_msg("%s %s -> %d: %s", calls[i][0], calls[i][1], st, resp);
    }
    assert_non_null(strstr(resp, "\"state\":\"assigned\""));

    int fd = wire_login(stack.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    int seen = 0;
    for (int i = 0; i < 10 && !seen; i++) {
        Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
        assert_non_null(env);
        /* The order pushed at login (re-sent until acknowledged), or the order list. */
        const Lpg__V1__OrderAssigned *o = NULL;
        if (env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_ASSIGNED)
            o = env->order_assigned;
        else if (env->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST &&
                 env->order_list->n_orders == 1)
            o = env->order_list->orders[0];
        if (o != NULL) {
            assert_string_equal(o->order_id, "O1");
            assert_string_equal(o->customer_name, "A");
            assert_null(o->notes);
            assert_null(o->address);
            seen = 1;
        }
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
    assert_true(seen);
    close(fd);
}

/* The same 60 s drive (10 m/s north, 1 fix a second) by V2 and by V3; V3's also holds fixes the
 * filters drop: six without a fix 5 km off the road, two lone spikes 50 km away. Both are
 * stored in V3's route; the daily summaries of V2 and V3 agree all the same (driving time,
 * distance, fixes walked). */
static void drive_day(const char *device, const char *secret_, uint64_t t0, int with_bad)
{
    enum { N = 60, BAD = 8 };
    Lpg__V1__Fix f[N + BAD];
    size_t n = 0;
    uint64_t seq = 1;
    for (int i = 0; i < N; i++) {
        wire_fix_3d(&f[n++], seq++, t0 + (uint64_t)i * 1000, 492000000 + i * 900, 1197500000, 1000);
        if (!with_bad)
            continue;
        if (i % 10 == 5) { /* half a second later, no fix, 5 km off */
            wire_fix_3d(&f[n], seq++, t0 + (uint64_t)i * 1000 + 500, 492450000 + i * 900,
                        1197500000, 1000);
            f[n++].mode = LPG__V1__FIX__MODE__NO_FIX;
        }
        if (i == 20 || i == 40) /* a lone spike 50 km east */
            wire_fix_3d(&f[n++], seq++, t0 + (uint64_t)i * 1000 + 700, 492000000 + i * 900,
                        1204500000, 1000);
    }
    int fd = wire_login(stack.d.handset_port, device, secret_);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_positions(fd, 2, f, n, HARNESS_REPLY_TIMEOUT_MS),
                     (long long)seq - 1);
    close(fd);
}

static json_t *summary(const char *vehicle, const char *date)
{
    static char resp[65536], path[160];
    snprintf(path, sizeof(path), "/v1/vehicles/%s/summary?date=%s", vehicle, date);
    assert_int_equal(req("GET", path, NULL, resp, sizeof(resp)), 200);
    json_t *j = json_loads(resp, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_summary_walks_the_accepted_fixes(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t0 = ((uint64_t)ts.tv_sec - 600) * 1000;
    drive_day("H2", secret2, t0, 0);
    drive_day("H3", secret3, t0, 1);
    time_t local = (time_t)(t0 / 1000) + 8 * 3600; /* E0 keeps UTC+8 */
    struct tm tm;
    gmtime_r(&local, &tm);
    char date[40];
    snprintf(date, sizeof(date), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    json_t *a = summary("V2", date), *b = summary("V3", date);
    const char *keys[] = {"driving_s", "distance_m", "fixes"};
    for (size_t i = 0; i < 3; i++) {
        double x = json_number_value(json_object_get(a, keys[i]));
        double y = json_number_value(json_object_get(b, keys[i]));
        if (x != y)
            fail_msg("%s: V2 %.3f, V3 (with dropped fixes) %.3f", keys[i], x, y);
    }
    assert_true(json_number_value(json_object_get(a, "driving_s")) > 50.0);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_counts_no_filter_drops),
        cmocka_unit_test(test_order_assigned_leaves_out_empty_strings),
        cmocka_unit_test(test_summary_walks_the_accepted_fixes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
