/* test_handset_wire.c -- the handset protocol over real TCP against dispatchd and Redis:
 * Hello/Ack recorded in Redis, Ping, byte-at-a-time framing, malformed, oversized and
 * truncated frames, messages before Hello, bad versions, the idle timeout and the
 * connection cap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define IDLE_TIMEOUT_S   2
#define MAX_CONNECTIONS  4
#define MAX_FRAME        1024
#define REPLY_TIMEOUT_MS HARNESS_REPLY_TIMEOUT_MS

static struct harness_stack stack;
static void cred_forget(void);

/* Two stacks: the idle-timeout test has one whose idle timeout is 2 s; every other test has
 * one with a timeout no busy machine reaches between two steps of a test (the slow-reader
 * test spends seconds between its own frames when the machine is loaded). */
static int start_stack(const char *idle_timeout_arg)
{
    /* A test registers its device over HTTP after connecting (slow on a busy machine): the
     * Hello deadline is tested in test_conn_limits.c, not here. */
    const char *const args[] = {idle_timeout_arg, "--handset-max-connections=4",
                                "--handset-max-frame=1024", "--handset-hello-timeout=300", NULL};
    cred_forget(); /* devices are registered per stack */
    return harness_stack_start(&stack, "wire", args);
}

static int setup(void **state)
{
    (void)state;
    return start_stack("--handset-idle-timeout=300");
}

static int setup_idle(void **state)
{
    (void)state;
    return start_stack("--handset-idle-timeout=2");
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* Device secrets registered on first use (every Hello must carry a valid credential). */
static char cred_names[16][64], cred_secrets[16][64];
static int cred_count;

static void cred_forget(void)
{
    cred_count = 0;
}

static const char *cred(const char *device)
{
    char(*names)[64] = cred_names, (*secrets)[64] = cred_secrets;
    int n = cred_count;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], device) == 0)
            return secrets[i];
    assert_true(n < 16);
    assert_int_equal(harness_stack_device(&stack, device, secrets[n]), 0);
    snprintf(names[n], sizeof(names[n]), "%s", device);
    cred_count = n + 1;
    return secrets[n];
}

static int connect_handset(void)
{
    int fd = harness_tcp_connect(stack.d.handset_port);
    assert_true(fd >= 0);
    return fd;
}

/* Receives one envelope and checks it is an Error with `code`; returns whether fatal. */
static int expect_error(int fd, Lpg__V1__Error__Code code)
{
    Lpg__V1__Envelope *env = wire_recv(fd, REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_true(env->error->has_code);
    assert_int_equal(env->error->code, code);
    assert_non_null(env->error->message);
    assert_true(strlen(env->error->message) > 0);
    int fatal = env->error->has_fatal && env->error->fatal;
    lpg__v1__envelope__free_unpacked(env, NULL);
    return fatal;
}

static void open_session(int fd, const char *device, uint64_t req)
{
    const char *secret = cred(device);
    assert_int_equal(wire_send_hello(fd, req, 1, device, secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, REPLY_TIMEOUT_MS);
    assert_non_null(env);
    if (env->body_case == LPG__V1__ENVELOPE__BODY_ERROR)
        fail_msg("Hello of %s answered with Error %d: %s", device, (int)env->error->code,
                 env->error->message ? env->error->message : "");
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(env->ack->ack_seq, req);
    lpg__v1__envelope__free_unpacked(env, NULL);
}

static void test_hello_ack_is_recorded_in_redis(void **state)
{
    (void)state;
    const char *secret = cred("veh-001");
    int fd = connect_handset();
    assert_int_equal(wire_send_hello(fd, 7, 1, "veh-001", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(env->ack->ack_seq, 7);
    assert_int_equal(env->ack->protocol_version, 1);
    assert_int_equal(env->ack->max_frame, MAX_FRAME);
    assert_non_null(env->ack->session_id);
    assert_int_equal(strlen(env->ack->session_id), 32);
    char session[40];
    snprintf(session, sizeof(session), "%s", env->ack->session_id);
    lpg__v1__envelope__free_unpacked(env, NULL);

    /* The Ack means it is stored: read it back from Redis directly. */
    char reply[128];
    const char *hget[] = {"HGET", "lpg:device:veh-001:session", "session_id"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, hget), 0);
    assert_string_equal(reply, session);
    close(fd);
}

static void test_ping_after_hello_is_acked(void **state)
{
    (void)state;
    int fd = connect_handset();
    open_session(fd, "veh-ping", 1);
    Lpg__V1__Ping ping = LPG__V1__PING__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = 2;
    env.body_case = LPG__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    assert_int_equal(wire_send(fd, &env), 0);
    Lpg__V1__Envelope *got = wire_recv(fd, REPLY_TIMEOUT_MS);
    assert_non_null(got);
    assert_int_equal(got->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(got->ack->ack_seq, 2);
    lpg__v1__envelope__free_unpacked(got, NULL);
    close(fd);
}

static void test_hello_fed_one_byte_at_a_time(void **state)
{
    (void)state;
    const char *secret = cred("veh-bytewise");
    int fd = connect_handset();
    Lpg__V1__Hello hello = LPG__V1__HELLO__INIT;
    hello.has_protocol_version = 1;
    hello.protocol_version = 1;
    hello.device_id = (char *)"veh-bytewise";
    hello.has_credential = 1;
    hello.credential.data = (uint8_t *)secret;
    hello.credential.len = strlen(secret);
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = 99;
    env.body_case = LPG__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    assert_int_equal(wire_send_bytewise(fd, &env, 2), 0);
    Lpg__V1__Envelope *got = wire_recv(fd, REPLY_TIMEOUT_MS);
    assert_non_null(got);
    assert_int_equal(got->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    assert_int_equal(got->ack->ack_seq, 99);
    lpg__v1__envelope__free_unpacked(got, NULL);
    close(fd);
}

static void test_two_frames_in_one_write_both_answered(void **state)
{
    (void)state;
    int fd = connect_handset();
    open_session(fd, "veh-pipelined", 1);
    /* Two Pings framed back to back in one send: both must be answered, in order. */
    uint8_t buf[64];
    size_t used = 0;
    for (uint64_t req = 10; req <= 11; req++) {
        Lpg__V1__Ping ping = LPG__V1__PING__INIT;
        Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
        env.has_request_id = 1;
        env.request_id = req;
        env.body_case = LPG__V1__ENVELOPE__BODY_PING;
        env.ping = &ping;
        size_t len = lpg__v1__envelope__get_packed_size(&env);
        buf[used++] = 0;
        buf[used++] = 0;
        buf[used++] = 0;
        buf[used++] = (uint8_t)len;
        lpg__v1__envelope__pack(&env, buf + used);
        used += len;
    }
    assert_int_equal(harness_send_all(fd, buf, used), 0);
    for (uint64_t req = 10; req <= 11; req++) {
        Lpg__V1__Envelope *got = wire_recv(fd, REPLY_TIMEOUT_MS);
        assert_non_null(got);
        assert_int_equal(got->body_case, LPG__V1__ENVELOPE__BODY_ACK);
        assert_int_equal(got->ack->ack_seq, req);
        lpg__v1__envelope__free_unpacked(got, NULL);
    }
    close(fd);
}

static void test_message_before_hello_is_refused_and_closed(void **state)
{
    (void)state;
    int fd = connect_handset();
    Lpg__V1__Ping ping = LPG__V1__PING__INIT;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    assert_int_equal(wire_send(fd, &env), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__NOT_LOGGED_IN));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_unsupported_version_is_refused(void **state)
{
    (void)state;
    int fd = connect_handset();
    assert_int_equal(wire_send_hello(fd, 1, 2, "veh-v2", NULL), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__UNSUPPORTED_VERSION));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_wrong_or_missing_credential_is_unauthorized(void **state)
{
    (void)state;
    (void)cred("veh-cred");
    int fd = connect_handset();
    assert_int_equal(
        wire_send_hello(fd, 1, 1, "veh-cred", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__UNAUTHORIZED));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
    fd = connect_handset();
    assert_int_equal(wire_send_hello(fd, 1, 1, "veh-unknown", NULL), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__UNAUTHORIZED));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_invalid_device_id_is_refused(void **state)
{
    (void)state;
    int fd = connect_handset();
    assert_int_equal(wire_send_hello(fd, 1, 1, "bad id:with spaces", NULL), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__INVALID_ARGUMENT));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_garbage_payload_is_malformed_and_closed(void **state)
{
    (void)state;
    int fd = connect_handset();
    /* A 5-byte frame whose payload is not a protobuf message (field 0 is invalid). */
    const uint8_t garbage[] = {0, 0, 0, 5, 0x00, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(harness_send_all(fd, garbage, sizeof(garbage)), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__MALFORMED));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_oversized_frame_is_refused_and_closed(void **state)
{
    (void)state;
    int fd = connect_handset();
    const uint8_t header[] = {0, 0, (MAX_FRAME + 1) >> 8, (MAX_FRAME + 1) & 0xff};
    assert_int_equal(harness_send_all(fd, header, sizeof(header)), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__FRAME_TOO_LARGE));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_zero_length_frame_is_malformed(void **state)
{
    (void)state;
    int fd = connect_handset();
    const uint8_t header[] = {0, 0, 0, 0};
    assert_int_equal(harness_send_all(fd, header, sizeof(header)), 0);
    assert_true(expect_error(fd, LPG__V1__ERROR__CODE__MALFORMED));
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

/* A sample of dispatchd's /metrics; the test fails when it is missing. */
static long long metric(const char *sample)
{
    long long v = harness_metric(stack.d.http_port, sample);
    assert_true(v >= 0);
    return v;
}

static void test_truncated_frame_is_counted(void **state)
{
    (void)state;
    long long before = metric("lpg_frames_rejected_total{reason=\"truncated\"}");
    int fd = connect_handset();
    const uint8_t partial[] = {0, 0, 0, 20, 1, 2, 3};
    assert_int_equal(harness_send_all(fd, partial, sizeof(partial)), 0);
    harness_sleep_ms(100);
    close(fd);
    long long after = before;
    for (int i = 0; i < 50 && after == before; i++) {
        harness_sleep_ms(20);
        after = metric("lpg_frames_rejected_total{reason=\"truncated\"}");
    }
    assert_int_equal(after, before + 1);
}

static void test_idle_connection_times_out(void **state)
{
    (void)state;
    /* The device is registered (over HTTP, slow on a busy machine) before the connection is
     * opened: the 2 s idle timeout starts at connect. */
    (void)cred("veh-idle");
    int fd = connect_handset();
    open_session(fd, "veh-idle", 1);
    /* Nothing for longer than the idle timeout: an IDLE_TIMEOUT error, then close. */
    Lpg__V1__Envelope *env = wire_recv(fd, IDLE_TIMEOUT_S * 1000 + REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(env->error->code, LPG__V1__ERROR__CODE__IDLE_TIMEOUT);
    lpg__v1__envelope__free_unpacked(env, NULL);
    assert_true(harness_wait_closed(fd, REPLY_TIMEOUT_MS));
    close(fd);
}

static void test_connection_cap(void **state)
{
    (void)state;
    int fds[MAX_CONNECTIONS];
    char dev[32];
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        snprintf(dev, sizeof(dev), "veh-cap-%d", i);
        (void)cred(dev);
    }
    (void)cred("veh-cap-again");
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        fds[i] = connect_handset();
        snprintf(dev, sizeof(dev), "veh-cap-%d", i);
        open_session(fds[i], dev, 1);
    }
    int extra = connect_handset();
    assert_true(expect_error(extra, LPG__V1__ERROR__CODE__TOO_MANY_CONNECTIONS));
    assert_true(harness_wait_closed(extra, REPLY_TIMEOUT_MS));
    close(extra);
    /* Closing one frees a slot. */
    close(fds[0]);
    harness_sleep_ms(200);
    fds[0] = connect_handset();
    open_session(fds[0], "veh-cap-again", 1);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        close(fds[i]);
    harness_sleep_ms(200);
    assert_true(metric("lpg_handset_connections_total{result=\"refused_cap\"}") >= 1);
}

/* A handset socket whose receive buffer is small, so that the server's replies back up. */
static int connect_small_rcvbuf(void)
{
    int fd = harness_tcp_connect_rcvbuf(stack.d.handset_port, 4096);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

/* `n` Pings framed back to back, request ids from `first`, into buf; returns the bytes. */
static size_t frame_pings(uint8_t *buf, size_t cap, uint64_t first, int n)
{
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        Lpg__V1__Ping ping = LPG__V1__PING__INIT;
        Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
        env.has_request_id = 1;
        env.request_id = first + (uint64_t)i;
        env.body_case = LPG__V1__ENVELOPE__BODY_PING;
        env.ping = &ping;
        size_t len = lpg__v1__envelope__get_packed_size(&env);
        assert_true(used + 4 + len <= cap);
        buf[used++] = 0;
        buf[used++] = 0;
        buf[used++] = 0;
        buf[used++] = (uint8_t)len;
        lpg__v1__envelope__pack(&env, buf + used);
        used += len;
    }
    return used;
}

/* A peer that reads slowly: the replies its socket cannot take are queued in the server and
 * all delivered, in order, once it reads. */
static void test_slow_reader_gets_every_reply_in_order(void **state)
{
    (void)state;
    enum { STEP = 20000, MAX_PINGS = 1000000, BURST = 1000 };
    int fd = connect_small_rcvbuf();
    open_session(fd, "veh-slow", 1);
    long long queued_before = metric("lpg_handset_output_queued_total");
    static uint8_t buf[BURST * 16];
    /* Without reading, until the server had to queue (the kernel's buffers are full); steps
     * of ~220 KB of Acks keep the queue well below the 1 MiB at which a peer is dropped. After
     * each step the test waits until the server has decoded every Ping sent (the kernel lets
     * several MB of them wait in its buffers): a server slowed down by a busy machine must not
     * find several steps at once and queue them all before the test looks. */
    static const char frames_in[] = "lpg_frames_total{direction=\"in\"}";
    int sent = 0;
    while (sent < MAX_PINGS && metric("lpg_handset_output_queued_total") == queued_before) {
        long long decoded_before = metric(frames_in);
        for (int end = sent + STEP; sent < end; sent += BURST) {
            size_t n = frame_pings(buf, sizeof(buf), 2 + (uint64_t)sent, BURST);
            assert_int_equal(harness_send_all(fd, buf, n), 0);
        }
        for (int waited_ms = 0; metric(frames_in) < decoded_before + STEP; waited_ms += 20) {
            assert_true(waited_ms < 60000);
            harness_sleep_ms(20);
        }
    }
    /* Read them in bulk (the idle timeout runs while this peer only reads). */
    static uint8_t in[1 << 20];
    size_t have = 0;
    uint64_t want = 2;
    while (want < 2 + (uint64_t)sent) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, REPLY_TIMEOUT_MS), 1);
        ssize_t r = recv(fd, in + have, sizeof(in) - have, 0);
        assert_true(r > 0);
        have += (size_t)r;
        size_t pos = 0;
        while (have - pos >= 4) {
            size_t len = (size_t)in[pos] << 24 | (size_t)in[pos + 1] << 16 |
                         (size_t)in[pos + 2] << 8 | in[pos + 3];
            if (have - pos < 4 + len)
                break;
            Lpg__V1__Envelope *got = lpg__v1__envelope__unpack(NULL, len, in + pos + 4);
            assert_non_null(got);
            if (got->body_case == LPG__V1__ENVELOPE__BODY_ORDER_LIST) { /* after the login */
                lpg__v1__envelope__free_unpacked(got, NULL);
                pos += 4 + len;
                continue;
            }
            if (got->body_case == LPG__V1__ENVELOPE__BODY_ERROR)
                fail_msg("Error instead of the Ack of Ping %llu: %s", (unsigned long long)want,
                         got->error->message ? got->error->message : "");
            assert_int_equal(got->body_case, LPG__V1__ENVELOPE__BODY_ACK);
            assert_int_equal(got->ack->ack_seq, want); /* every one, in order */
            want++;
            lpg__v1__envelope__free_unpacked(got, NULL);
            pos += 4 + len;
        }
        memmove(in, in + pos, have - pos);
        have -= pos;
    }
    assert_true(metric("lpg_handset_output_queued_total") > queued_before);
    assert_int_equal(metric("lpg_handset_dropped_slow_total"), 0);
    close(fd);
}

/* A peer that never reads its replies is dropped once more than 1 MiB of them is queued. */
static void test_peer_not_reading_is_dropped(void **state)
{
    (void)state;
    enum { BURST = 1000, MAX_PINGS = 2000000 };
    int fd = connect_small_rcvbuf();
    open_session(fd, "veh-stalled", 1);
    long long dropped_before = metric("lpg_handset_dropped_slow_total");
    static uint8_t buf[BURST * 16];
    int failed = 0;
    for (int sent = 0; sent < MAX_PINGS && !failed; sent += BURST) {
        size_t n = frame_pings(buf, sizeof(buf), 2 + (uint64_t)sent, BURST);
        for (size_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w <= 0) {
                failed = 1; /* reset by the server (or the 5 s send timeout) */
                break;
            }
            off += (size_t)w;
        }
    }
    assert_true(failed);
    long long dropped = dropped_before;
    for (int i = 0; i < 50 && dropped == dropped_before; i++) {
        harness_sleep_ms(100);
        dropped = metric("lpg_handset_dropped_slow_total");
    }
    assert_int_equal(dropped, dropped_before + 1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_ack_is_recorded_in_redis),
        cmocka_unit_test(test_ping_after_hello_is_acked),
        cmocka_unit_test(test_hello_fed_one_byte_at_a_time),
        cmocka_unit_test(test_two_frames_in_one_write_both_answered),
        cmocka_unit_test(test_message_before_hello_is_refused_and_closed),
        cmocka_unit_test(test_unsupported_version_is_refused),
        cmocka_unit_test(test_invalid_device_id_is_refused),
        cmocka_unit_test(test_wrong_or_missing_credential_is_unauthorized),
        cmocka_unit_test(test_garbage_payload_is_malformed_and_closed),
        cmocka_unit_test(test_oversized_frame_is_refused_and_closed),
        cmocka_unit_test(test_zero_length_frame_is_malformed),
        cmocka_unit_test(test_truncated_frame_is_counted),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_slow_reader_gets_every_reply_in_order),
        cmocka_unit_test(test_peer_not_reading_is_dropped),
    };
    const struct CMUnitTest idle_tests[] = {
        cmocka_unit_test(test_idle_connection_times_out),
    };
    /* LPG_TEST_FILTER=<pattern> runs some cases only (e.g. the slow reader, in a loop). */
    if (getenv("LPG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LPG_TEST_FILTER"));
    int failed = cmocka_run_group_tests_name("handset_wire", tests, setup, teardown);
    failed += cmocka_run_group_tests_name("handset_wire_idle", idle_tests, setup_idle, teardown);
    return failed;
}
