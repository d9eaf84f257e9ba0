/* test_ingest.c -- position ingest over the handset protocol against real Redis and
 * dispatchd: a batch is acknowledged with the highest stored seq only once it is stored;
 * resending is harmless (de-duplicated by device and seq, also across a restart of
 * dispatchd); late fixes go into the history in time order without moving the vehicle's
 * latest position; a device without a bound vehicle, or an oversized batch, is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct harness_stack stack;
static char secret[64], lonely_secret[64], auth[128];

/* 2026-11-28T00:00:00Z and a position in Hailar. */
#define T0  1795824000000ULL
#define LAT 492100000
#define LON 1197500000

static int setup(void **state)
{
    (void)state;
    char tok[64];
    /* H1's person (S-H1) drives vehicle V1; H-lonely's has no vehicle. */
    if (harness_stack_start(&stack, "ingest", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_device(&stack, "H-lonely", lonely_secret) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0 ||
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

static int login(const char *device, const char *sec)
{
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, device, sec), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    return fd;
}

/* Sends fixes seq first..last; times are T0 + time_s[i] seconds. Returns the reply. */
static Lpg__V1__Envelope *send_batch(int fd, uint64_t req, uint64_t first, uint64_t last,
                                     const int *time_s)
{
    size_t n = (size_t)(last - first + 1);
    Lpg__V1__Fix *fixes = calloc(n, sizeof(*fixes));
    assert_non_null(fixes);
    for (size_t i = 0; i < n; i++) {
        lpg__v1__fix__init(&fixes[i]);
        fixes[i].has_seq = fixes[i].has_time_ms = fixes[i].has_lat_e7 = fixes[i].has_lon_e7 = 1;
        fixes[i].seq = first + i;
        fixes[i].time_ms = T0 + (uint64_t)time_s[i] * 1000;
        fixes[i].lat_e7 = LAT + (int32_t)i * 100;
        fixes[i].lon_e7 = LON;
        fixes[i].has_speed_cm_s = 1;
        fixes[i].speed_cm_s = 1000;
    }
    assert_int_equal(wire_send_batch(fd, req, fixes, n, 0), 0);
    free(fixes);
    Lpg__V1__Envelope *reply = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(reply);
    return reply;
}

static uint64_t expect_ack(Lpg__V1__Envelope *reply, uint64_t req)
{
    assert_int_equal(reply->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(reply->ack->ack_seq, req);
    assert_true(reply->ack->has_position_seq);
    uint64_t seq = reply->ack->position_seq;
    lpg__v1__envelope__free_unpacked(reply, NULL);
    return seq;
}

static long redis_int(const char *cmd, const char *key)
{
    char reply[256];
    const char *argv[] = {cmd, key};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, argv), 0);
    assert_int_equal(reply[0], ':');
    return strtol(reply + 1, NULL, 10);
}

static const char *DAY_KEY = "lpg:route:V1:20261128";

static void test_batch_is_stored_then_acked(void **state)
{
    (void)state;
    int fd = login("H1", secret);
    const int t[] = {10, 11, 12};
    assert_int_equal(expect_ack(send_batch(fd, 5, 1, 3, t), 5), 3);
    assert_int_equal(redis_int("ZCARD", DAY_KEY), 3);
    /* Trimmed automatically: the day set expires after the retention period. */
    long ttl = redis_int("TTL", DAY_KEY);
    assert_true(ttl > 0);
    char reply[128];
    const char *hget[] = {"HGET", "lpg:vehicle:V1:last", "seq"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, hget), 0);
    assert_string_equal(reply, "3");
    const char *geopos[] = {"GEOPOS", "lpg:geo:vehicles", "V1"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, geopos), 0);
    assert_string_equal(reply, "*1");
    /* The registry's vehicle follows it: matching ranks staff by this position. */
    static char resp[8192];
    int status;
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", "/v1/vehicles/V1", auth, NULL,
                                      &status, resp, sizeof(resp)),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(resp, "\"lat\":49.21002"));
    close(fd);
}

static void test_resend_is_deduplicated(void **state)
{
    (void)state;
    int fd = login("H1", secret);
    const int t[] = {10, 11, 12};
    assert_int_equal(expect_ack(send_batch(fd, 6, 1, 3, t), 6), 3);
    assert_int_equal(redis_int("ZCARD", DAY_KEY), 3);
    close(fd);
}

static void test_late_fixes_go_into_history_not_latest(void **state)
{
    (void)state;
    int fd = login("H1", secret);
    /* seq 4 is older than what is stored (buffered while offline), seq 5 is newer. */
    const int t[] = {5, 20};
    assert_int_equal(expect_ack(send_batch(fd, 7, 4, 5, t), 7), 5);
    assert_int_equal(redis_int("ZCARD", DAY_KEY), 5);
    char reply[128], at[32];
    /* The late fix sits at its own time (T0 + 5 s), before the others, in the history. */
    snprintf(at, sizeof(at), "%llu", (unsigned long long)(T0 + 5000));
    const char *count[] = {"ZCOUNT", DAY_KEY, at, at};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 4, count), 0);
    assert_string_equal(reply, ":1");
    const char *rank[] = {"ZCOUNT", DAY_KEY, "-inf", at};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 4, rank), 0);
    assert_string_equal(reply, ":1"); /* the earliest of the day */
    const char *hget[] = {"HGET", "lpg:vehicle:V1:last", "seq"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, hget), 0);
    assert_string_equal(reply, "5");
    close(fd);
}

static void test_resend_after_restart_is_deduplicated(void **state)
{
    (void)state;
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, NULL), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);
    int fd = login("H1", secret);
    const int t[] = {5, 20, 30};
    assert_int_equal(expect_ack(send_batch(fd, 8, 4, 6, t), 8), 6); /* only seq 6 is new */
    assert_int_equal(redis_int("ZCARD", DAY_KEY), 6);
    close(fd);
}

static void test_refusals(void **state)
{
    (void)state;
    int fd = login("H-lonely", lonely_secret); /* person without a vehicle */
    const int t[] = {1};
    Lpg__V1__Envelope *r = send_batch(fd, 9, 1, 1, t);
    assert_int_equal(r->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(r->error->code, LPG__V1__ERROR__CODE__INVALID_ARGUMENT);
    assert_non_null(strstr(r->error->message, "vehicle"));
    lpg__v1__envelope__free_unpacked(r, NULL);
    close(fd);

    fd = login("H1", secret);
    int many[501];
    for (int i = 0; i < 501; i++)
        many[i] = 100 + i;
    r = send_batch(fd, 10, 100, 600, many);
    assert_int_equal(r->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(r->error->code, LPG__V1__ERROR__CODE__INVALID_ARGUMENT);
    lpg__v1__envelope__free_unpacked(r, NULL);
    assert_int_equal(redis_int("ZCARD", DAY_KEY), 6); /* refused whole */
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_is_stored_then_acked),
        cmocka_unit_test(test_resend_is_deduplicated),
        cmocka_unit_test(test_late_fixes_go_into_history_not_latest),
        cmocka_unit_test(test_resend_after_restart_is_deduplicated),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
