/* test_ingest_limits.c -- the ingest limits against real Redis and dispatchd (issue 10, item 6):
 *   - a seq far above the device's mark (the poisoned 2^64-1) is refused, never becomes the
 *     mark, and later batches are still stored; a seq numbered by time is taken; the window's
 *     edge is exact;
 *   - a device's store-and-forward backlog (3,600 late fixes) goes in at once, a device beyond
 *     its rate is refused (not stored, not acknowledged) and the same batch goes in once the
 *     bucket has refilled;
 *   - Redis memory past the watermark turns up in /healthz and as a system alert on the
 *     admins' live feed and in Redis; at the ceiling a batch is refused UNAVAILABLE, not
 *     acknowledged, and goes in once there is room.
 * The stack runs with a window of 2 days in ms (172,800,000: beyond the clock rule's day, so
 * its edge can be shown), a rate of 100 fixes/s with a burst of 4,000, and a memory check
 * every second, so nothing waits long. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
#define WINDOW 172800000ULL
static uint64_t hq_mark; /* HQ's mark after test_seq_window_edge_and_restart */
static char secret_q[64], secret_r[64], auth[128], admin_tok[64];

/* 2026-11-28T00:00:00Z and a position in Hailar. */
#define T0  1795824000000ULL
#define LAT 492100000
#define LON 1197500000

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--position-seq-window=172800000", "--position-rate-max=100",
                                       "--position-rate-burst=4000",
                                       "--redis-memory-check-interval=1", NULL};
    if (harness_stack_start(&stack, "ingestlim", args) != 0 ||
        harness_stack_device(&stack, "HQ", secret_q) != 0 ||
        harness_stack_device(&stack, "HR", secret_r) != 0 ||
        harness_stack_vehicle(&stack, "VQ", "HQ") != 0 ||
        harness_stack_vehicle(&stack, "VR", "HR") != 0 ||
        harness_stack_admin_token(&stack, admin_tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", admin_tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* Sends fixes with seqs[0..n) at T0 + time_s0 + i seconds; returns the reply (skipping Alerts). */
static Lpg__V1__Envelope *send_seqs(int fd, uint64_t req, const uint64_t *seqs, size_t n,
                                    int time_s0, int late)
{
    Lpg__V1__Fix *fixes = calloc(n, sizeof(*fixes));
    assert_non_null(fixes);
    for (size_t i = 0; i < n; i++) {
        /* Slow walking speed, a few metres apart: no rule fires, no filter refuses. */
        wire_fix_3d(&fixes[i], seqs[i], T0 + (uint64_t)(time_s0 + (int)i) * 1000,
                    LAT + (int32_t)(i % 1000) * 10, LON, 100);
    }
    assert_int_equal(wire_send_batch(fd, req, fixes, n, late), 0);
    free(fixes);
    for (;;) {
        Lpg__V1__Envelope *reply = wire_recv(fd, 30000);
        assert_non_null(reply);
        if (reply->body_case != LPG__V1__ENVELOPE__BODY_ALERT)
            return reply;
        lpg__v1__envelope__free_unpacked(reply, NULL);
    }
}

/* A run of n seqs from first. */
static Lpg__V1__Envelope *send_run(int fd, uint64_t req, uint64_t first, size_t n, int time_s0,
                                   int late)
{
    uint64_t *seqs = calloc(n, sizeof(*seqs));
    assert_non_null(seqs);
    for (size_t i = 0; i < n; i++)
        seqs[i] = first + i;
    Lpg__V1__Envelope *r = send_seqs(fd, req, seqs, n, time_s0, late);
    free(seqs);
    return r;
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

/* Asserts Error REFUSED with `refusal`, answering req; copies the message. */
static void expect_refused(Lpg__V1__Envelope *reply, uint64_t req, const char *refusal, char *msg,
                           size_t cap)
{
    assert_int_equal(reply->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(reply->error->code, LPG__V1__ERROR__CODE__REFUSED);
    assert_int_equal(reply->error->ack_seq, req);
    assert_false(reply->error->has_fatal && reply->error->fatal);
    assert_non_null(reply->error->refusal);
    assert_string_equal(reply->error->refusal, refusal);
    snprintf(msg, cap, "%s", reply->error->message ? reply->error->message : "");
    lpg__v1__envelope__free_unpacked(reply, NULL);
}

static long redis_int(const char *cmd, const char *key)
{
    char reply[256];
    const char *argv[] = {cmd, key};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, argv), 0);
    assert_int_equal(reply[0], ':');
    return strtol(reply + 1, NULL, 10);
}

static void redis_get(const char *key, char *out, size_t cap)
{
    const char *argv[] = {"GET", key};
    assert_int_equal(harness_redis_cmd(stack.redis.port, out, cap, 2, argv), 0);
}

/* The value of a sample of /metrics; the test fails when it is missing. */
static long long metric(const char *sample)
{
    long long v = harness_metric(stack.d.http_port, sample);
    assert_true(v >= 0);
    return v;
}

static const char *DAY_Q = "lpg:route:VQ:20261128";
static const char *DAY_R = "lpg:route:VR:20261128";

/* The poisoned seq: before the window, seq 2^64-1 became the mark and every later batch
 * was acknowledged and dropped. Now it is refused, the mark stays, and later batches are
 * stored; the window's edge is exact; a restarted numbering is told the mark by the Ack. */
static void test_poisoned_seq_is_refused_and_later_batches_stored(void **state)
{
    (void)state;
    int fd = wire_login(stack.d.handset_port, "HQ", secret_q);
    assert_true(fd >= 0);
    char mark[64], msg[300];
    assert_int_equal(expect_ack(send_run(fd, 2, 1, 3, 0, 0), 2), 3);

    const uint64_t poison[] = {UINT64_MAX};
    expect_refused(send_seqs(fd, 3, poison, 1, 3, 0), 3, "seq_out_of_window", msg, sizeof(msg));
    assert_non_null(strstr(msg, "high-water mark 3"));
    assert_non_null(strstr(msg, "from 4 on"));
    redis_get("lpg:device:HQ:seq", mark, sizeof(mark));
    assert_string_equal(mark, "3");
    assert_int_equal(redis_int("ZCARD", DAY_Q), 3);

    /* Later batches are stored, also on a new connection (the mark is read from Redis). */
    assert_int_equal(expect_ack(send_run(fd, 4, 4, 3, 10, 0), 4), 6);
    assert_int_equal(redis_int("ZCARD", DAY_Q), 6);
    close(fd);
    fd = wire_login(stack.d.handset_port, "HQ", secret_q);
    assert_true(fd >= 0);
    expect_refused(send_seqs(fd, 5, poison, 1, 20, 0), 5, "seq_out_of_window", msg, sizeof(msg));
    assert_non_null(strstr(msg, "high-water mark 6"));
    redis_get("lpg:device:HQ:seq", mark, sizeof(mark));
    assert_string_equal(mark, "6");
    assert_int_equal(redis_int("ZCARD", DAY_Q), 6);
    close(fd);
}

/* Wall clock, UTC ms. */
static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A device may number by time (the demo's handsets do): a seq up to the clock in ms + 1 day is
 * taken whatever the mark. Above the clock only the window counts, to its exact edge. A
 * restarted numbering is told the mark by the Ack. */
static void test_seq_window_edge_and_restart(void **state)
{
    (void)state;
    int fd = wire_login(stack.d.handset_port, "HQ", secret_q);
    assert_true(fd >= 0);
    char mark[64], want[32], msg[300];
    /* From mark 6: beyond mark + window, but a time in ms (the clock rule). */
    const uint64_t by_time[] = {wall_ms()};
    assert_int_equal(expect_ack(send_seqs(fd, 2, by_time, 1, 30, 0), 2), by_time[0]);
    /* Beyond the clock + 1 day by an hour and beyond the window: refused. */
    const uint64_t ahead[] = {wall_ms() + 25 * 3600000ULL + WINDOW};
    expect_refused(send_seqs(fd, 3, ahead, 1, 31, 0), 3, "seq_out_of_window", msg, sizeof(msg));
    /* The window's edge, above the clock's reach: mark + window is taken... */
    uint64_t m = by_time[0] + WINDOW;
    const uint64_t edge[] = {m};
    assert_int_equal(expect_ack(send_seqs(fd, 4, edge, 1, 32, 0), 4), m);
    /* ...mark + window + 1 is not; a batch that starts well and jumps is refused whole. */
    const uint64_t jump[] = {m + 1, m + 2, m + WINDOW + 1};
    expect_refused(send_seqs(fd, 5, jump, 3, 33, 0), 5, "seq_out_of_window", msg, sizeof(msg));
    redis_get("lpg:device:HQ:seq", mark, sizeof(mark));
    snprintf(want, sizeof(want), "%llu", (unsigned long long)m);
    assert_string_equal(mark, want);
    assert_int_equal(redis_int("ZCARD", DAY_Q), 8);
    /* A unit whose numbering restarted (new install) sends seqs below the mark: skipped as
     * resends, and the Ack's position_seq tells it where to continue. */
    assert_int_equal(expect_ack(send_run(fd, 6, 1, 3, 40, 0), 6), m);
    assert_int_equal(expect_ack(send_run(fd, 7, m + 1, 3, 41, 0), 7), m + 3);
    assert_int_equal(redis_int("ZCARD", DAY_Q), 11);
    hq_mark = m + 3;
    assert_true(metric("lpg_position_batches_limited_total{reason=\"seq_window\"}") >= 4);
    close(fd);
}

/* Store and forward meets the rate limit: 3,600 late fixes (an hour offline at 1 Hz) in
 * batches of 500 all go in at once (burst 4,000); a device beyond its rate is refused, nothing
 * stored or acknowledged, and the same batch goes in once the bucket has refilled (100/s). */
static void test_backfill_passes_flood_is_limited_then_admitted(void **state)
{
    (void)state;
    int fd = wire_login(stack.d.handset_port, "HR", secret_r);
    assert_true(fd >= 0);
    uint64_t req = 2, seq = 1;
    for (int sent = 0; sent < 3600; sent += 500) {
        size_t n = 3600 - sent < 500 ? (size_t)(3600 - sent) : 500;
        assert_int_equal(expect_ack(send_run(fd, req, seq, n, sent, 1), req), seq + n - 1);
        req++;
        seq += n;
    }
    assert_int_equal(redis_int("ZCARD", DAY_R), 3600);
    long long limited_before = metric("lpg_position_batches_limited_total{reason=\"rate\"}");

    /* Flood: 500-fix batches as fast as they are answered, until one is refused (the bucket
     * refills 500 fixes in 5 s; any machine answers a batch faster). */
    char msg[300] = "";
    int refused = 0;
    for (int i = 0; i < 40 && !refused; i++, req++) {
        Lpg__V1__Envelope *r = send_run(fd, req, seq, 500, 3600 + i * 500, 0);
        if (r->body_case == LPG__V1__ENVELOPE__BODY_ERROR) {
            expect_refused(r, req, "rate_limited", msg, sizeof(msg));
            refused = 1;
            break;
        }
        assert_int_equal(expect_ack(r, req), seq + 499);
        seq += 500;
    }
    assert_true(refused);
    assert_non_null(strstr(msg, "100 fixes/s"));
    assert_non_null(strstr(msg, "resend it in"));
    /* Not stored, not acknowledged: the mark is the last acknowledged batch's. */
    char mark[64], want[32];
    redis_get("lpg:device:HR:seq", mark, sizeof(mark));
    snprintf(want, sizeof(want), "%llu", (unsigned long long)(seq - 1));
    assert_string_equal(mark, want);
    long stored = redis_int("ZCARD", DAY_R);
    assert_int_equal(stored, (long)(seq - 1));
    assert_true(metric("lpg_position_batches_limited_total{reason=\"rate\"}") > limited_before);
    assert_true(metric("lpg_fixes_rate_limited_total") >= 500);

    /* Resent until the bucket has refilled: admitted within seconds, not refused for good. */
    long long deadline = mono_ms() + 60000;
    int acked = 0;
    while (!acked && mono_ms() < deadline) {
        req++;
        Lpg__V1__Envelope *r = send_run(fd, req, seq, 500, 3600 + 100 * 500, 0);
        if (r->body_case == LPG__V1__ENVELOPE__BODY_ACK) {
            assert_int_equal(expect_ack(r, req), seq + 499);
            acked = 1;
        } else {
            expect_refused(r, req, "rate_limited", msg, sizeof(msg));
            harness_sleep_ms(200); /* polling the refill, with the deadline above */
        }
    }
    assert_true(acked);
    assert_int_equal(redis_int("ZCARD", DAY_R), stored + 500);
    close(fd);
}

/* GET /healthz's body. */
static void healthz(char *body, size_t cap)
{
    int status;
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/healthz", &status, body, cap, NULL, 0), 0);
    assert_int_equal(status, 200); /* a warning does not take the instance out of rotation */
}

static long long json_int(const char *json, const char *key)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"%s\":", key);
    const char *p = strstr(json, needle);
    return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

/* Waits until /healthz reports maxmemory == want; returns used_memory then. */
static long long wait_maxmemory(long long want, char *body, size_t cap)
{
    long long deadline = mono_ms() + 30000;
    while (mono_ms() < deadline) {
        healthz(body, cap);
        if (json_int(body, "maxmemory") == want)
            return json_int(body, "used_memory");
        harness_sleep_ms(100);
    }
    fail_msg("/healthz did not report maxmemory %lld: %s", want, body);
    return -1;
}

/* A dispatcher of E0 (the harness's enterprise); its bearer header goes to hdr. */
static void dispatcher_auth(char *hdr, size_t cap)
{
    static char resp[4096];
    int status;
    const char *user = "{\"name\":\"d0\",\"role\":\"dispatcher\",\"enterprise_id\":\"E0\","
                       "\"password\":\"dispatcher-zero-pw\"}";
    assert_int_equal(harness_http_req(stack.d.http_port, "POST", "/v1/users", auth, user, &status,
                                      resp, sizeof(resp)),
                     0);
    assert_int_equal(status, 201);
    const char *login = "{\"user\":\"d0\",\"password\":\"dispatcher-zero-pw\"}";
    assert_int_equal(harness_http_req(stack.d.http_port, "POST", "/v1/sessions", NULL, login,
                                      &status, resp, sizeof(resp)),
                     0);
    assert_int_equal(status, 201);
    char tok[64];
    assert_int_equal(harness_json_str(resp, "token", tok, sizeof(tok)), 0);
    snprintf(hdr, cap, "Authorization: Bearer %s\r\n", tok);
}

static int sse_open(const char *bearer)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    assert_true(fd >= 0);
    char req[512];
    snprintf(req, sizeof(req), "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", bearer);
    assert_int_equal(harness_send_all(fd, req, strlen(req)), 0);
    return fd;
}

/* Reads the stream until needle shows up (1) or timeout (0). */
static int sse_wait(int fd, const char *needle, int timeout_ms, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    long long deadline = mono_ms() + timeout_ms;
    while (!strstr(buf, needle)) {
        long long left = deadline - mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r = -1;
        if (left > 0 && used + 1 < cap && poll(&p, 1, (int)left) > 0)
            r = recv(fd, buf + used, cap - used - 1, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
        buf[used] = '\0';
    }
    harness_http_record_stream("/v1/events", buf, used);
    return strstr(buf, needle) != NULL;
}

static void redis_do(int argc, const char *const *argv)
{
    char reply[256];
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), argc, argv), 0);
}

/* Past the watermark: /healthz warns and the admins get a system alert (live and recorded).
 * The harness's Redis has no maxmemory: /healthz says so; the test gives it one 16 MiB above
 * what it uses, fills 14 MB (~88 %) and waits for the warning. */
static void test_memory_watermark_warns_and_alerts(void **state)
{
    (void)state;
    static char body[8192];
    long long deadline = mono_ms() + 30000;
    do {
        healthz(body, sizeof(body));
        if (json_int(body, "used_memory") > 0)
            break;
        harness_sleep_ms(100);
    } while (mono_ms() < deadline);
    assert_non_null(strstr(body, "redis has no maxmemory"));

    long long used0 = json_int(body, "used_memory");
    long long max = used0 + 16 * 1024 * 1024;
    char smax[32];
    snprintf(smax, sizeof(smax), "%lld", max);
    const char *set_max[] = {"CONFIG", "SET", "maxmemory", smax};
    redis_do(4, set_max);
    wait_maxmemory(max, body, sizeof(body));
    assert_null(strstr(body, "warnings"));
    char disp_auth[128];
    dispatcher_auth(disp_auth, sizeof(disp_auth));
    int sse = sse_open(auth), disp_sse = sse_open(disp_auth);
    static char feed[65536], disp_feed[65536];
    assert_true(sse_wait(sse, "\r\n\r\n", 10000, feed, sizeof(feed))); /* headers: subscribed */
    assert_true(sse_wait(disp_sse, "\r\n\r\n", 10000, disp_feed, sizeof(disp_feed)));

    for (int i = 0; i < 14; i++) {
        char key[32];
        snprintf(key, sizeof(key), "filler:%d", i);
        const char *fill[] = {"SETRANGE", key, "999999", "x"}; /* a 1,000,000-byte string */
        redis_do(4, fill);
    }
    deadline = mono_ms() + 30000;
    while (mono_ms() < deadline) {
        healthz(body, sizeof(body));
        if (strstr(body, "warnings"))
            break;
        harness_sleep_ms(100);
    }
    assert_non_null(strstr(body, "redis memory at"));
    assert_non_null(strstr(body, "of maxmemory (watermark 80%)"));
    assert_true(json_int(body, "memory_percent") >= 80);

    assert_true(sse_wait(sse, "\"kind\":\"system\"", 30000, feed, sizeof(feed)));
    assert_non_null(strstr(feed, "event: alert"));
    assert_non_null(strstr(feed, "\"rule\":\"redis_memory\""));
    close(sse);
    /* Not for a dispatcher: written to every stream in the same turn, so it would be there. */
    assert_false(sse_wait(disp_sse, "redis_memory", 500, disp_feed, sizeof(disp_feed)));
    close(disp_sse);
    deadline = mono_ms() + 30000;
    while (redis_int("ZCARD", "lpg:alerts:system") < 1 && mono_ms() < deadline)
        harness_sleep_ms(100);
    assert_int_equal(redis_int("ZCARD", "lpg:alerts:system"), 1);
    assert_int_equal(metric("lpg_redis_memory_alerts_total"), 1);
    assert_int_equal(metric("lpg_redis_maxmemory_bytes"), max);

    /* At the ceiling (noeviction) Redis refuses writes: a batch is refused UNAVAILABLE, not
     * acknowledged, and goes in once there is room again. */
    int fd = wire_login(stack.d.handset_port, "HQ", secret_q); /* Hello writes its session */
    assert_true(fd >= 0);
    const char *full[] = {"CONFIG", "SET", "maxmemory", "1"};
    redis_do(4, full);
    char mark[64];
    Lpg__V1__Envelope *r = send_run(fd, 2, hq_mark + 1, 3, 100, 0);
    assert_int_equal(r->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(r->error->code, LPG__V1__ERROR__CODE__UNAVAILABLE);
    lpg__v1__envelope__free_unpacked(r, NULL);
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)hq_mark);
    redis_get("lpg:device:HQ:seq", mark, sizeof(mark));
    assert_string_equal(mark, want);

    for (int i = 0; i < 14; i++) {
        char key[32];
        snprintf(key, sizeof(key), "filler:%d", i);
        const char *del[] = {"DEL", key};
        redis_do(2, del);
    }
    const char *unset[] = {"CONFIG", "SET", "maxmemory", "0"};
    redis_do(4, unset);
    assert_int_equal(expect_ack(send_run(fd, 3, hq_mark + 1, 3, 100, 0), 3), hq_mark + 3);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisoned_seq_is_refused_and_later_batches_stored),
        cmocka_unit_test(test_seq_window_edge_and_restart),
        cmocka_unit_test(test_backfill_passes_flood_is_limited_then_admitted),
        cmocka_unit_test(test_memory_watermark_warns_and_alerts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
