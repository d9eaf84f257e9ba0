/* test_redis_outage.c -- dispatchd while its Redis goes away and comes back: /healthz turns
 * 503 and back to 200, a Hello (a write) is refused with UNAVAILABLE instead of being lost,
 * and the service recovers on its own (reconnect with backoff). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct harness_stack stack;

static int setup(void **state)
{
    (void)state;
    /* Short backoff ceiling so the test sees the recovery quickly. */
    static const char *const args[] = {"--redis-reconnect-min=50", "--redis-reconnect-max=500",
                                       "--redis-ping-interval=200", "--redis-connect-timeout=500",
                                       NULL};
    return harness_stack_start(&stack, "outage", args);
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static char secret[64];

static void expect_unavailable_hello(int fd, const char *device)
{
    assert_int_equal(wire_send_hello(fd, 5, 1, device, secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(env->error->code, LPG__V1__ERROR__CODE__UNAVAILABLE);
    assert_int_equal(env->error->ack_seq, 5);
    assert_false(env->error->fatal); /* the device may retry on the same connection */
    lpg__v1__envelope__free_unpacked(env, NULL);
}

static void test_down_then_up(void **state)
{
    (void)state;
    int port = stack.redis.port;
    assert_int_equal(harness_stack_device(&stack, "veh-outage", secret), 0);

    /* Stop Redis: health must turn 503 and say why. */
    assert_int_equal(harness_redis_stop(&stack.redis), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 503, 5000), 0);
    int status;
    char body[4096];
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0),
        0);
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "\"state\":\"down\""));
    assert_non_null(strstr(body, "\"last_error\""));

    /* A write while down is refused, not queued or lost; the connection stays usable. */
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    expect_unavailable_hello(fd, "veh-outage");

    /* Metrics report the state. */
    char metrics[32768];
    assert_int_equal(harness_http(stack.d.http_port, "GET", "/metrics", &status, metrics,
                                  sizeof(metrics), NULL, 0),
                     0);
    assert_non_null(strstr(metrics, "\nlpg_redis_up 0\n"));

    /* Bring Redis back on the same port and data: the service recovers by itself. */
    assert_int_equal(harness_redis_start(&stack.redis, stack.dir, port), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);

    /* The same connection can now open its session. */
    assert_int_equal(wire_send_hello(fd, 6, 1, "veh-outage", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(env->ack->ack_seq, 6);
    lpg__v1__envelope__free_unpacked(env, NULL);
    close(fd);

    char reply[128];
    const char *hexists[] = {"HEXISTS", "lpg:device:veh-outage:session", "session_id"};
    assert_int_equal(harness_redis_cmd(port, reply, sizeof(reply), 3, hexists), 0);
    assert_string_equal(reply, ":1");
}

static void test_hung_redis_is_detected_by_heartbeat(void **state)
{
    (void)state;
    /* SIGSTOP keeps the TCP connection open but nothing answers: only the PING deadline can
     * tell. Expect 503 within ping interval + timeout (+ slack), and 200 after SIGCONT. */
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);
    kill(stack.redis.proc.pid, SIGSTOP);
    int rc = harness_http_wait_status(stack.d.http_port, "/healthz", 503, 3000);
    kill(stack.redis.proc.pid, SIGCONT);
    assert_int_equal(rc, 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);
}

/* A write whose EXEC is never answered (Redis frozen mid-request): the client is told the
 * outcome is unknown, and once Redis is back the service reloads, so that what it serves
 * matches what Redis holds -- whichever way the write went. */
static void test_unconfirmed_write_is_reconciled(void **state)
{
    (void)state;
    char tok[64], resp[8192], auth[128];
    int status;
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);
    assert_int_equal(harness_stack_admin_token(&stack, tok), 0);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    kill(stack.redis.proc.pid, SIGSTOP);
    assert_int_equal(harness_http_req(stack.d.http_port, "POST", "/v1/customers", auth,
                                      "{\"id\":\"CX\",\"enterprise_id\":\"E0\",\"name\":\"x\","
                                      "\"kind\":\"household\",\"location\":{\"lon\":119.7,"
                                      "\"lat\":49.2}}",
                                      &status, resp, sizeof(resp)),
                     0);
    kill(stack.redis.proc.pid, SIGCONT);
    assert_int_equal(status, 503);
    assert_non_null(strstr(resp, "store_outcome_unknown"));
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000), 0);
    char reply[256];
    const char *exists[] = {"EXISTS", "lpg:customer:CX"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, exists), 0);
    assert_int_equal(harness_http_req(stack.d.http_port, "GET", "/v1/customers/CX", auth, NULL,
                                      &status, resp, sizeof(resp)),
                     0);
    fprintf(stderr, "unconfirmed write: Redis EXISTS=%s, HTTP %d\n", reply, status);
    assert_int_equal(status, strcmp(reply, ":1") == 0 ? 200 : 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_then_up),
        cmocka_unit_test(test_hung_redis_is_detected_by_heartbeat),
        cmocka_unit_test(test_unconfirmed_write_is_reconciled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
