/* test_conn_limits.c -- limits on connections that have not proven who they are.
 *
 * Handsets: a connection must have its Hello acknowledged within handset_hello_timeout of
 * connecting, whatever it trickles meanwhile; connections without a session are capped per
 * source address and in all (at most half of handset_max_connections), so a flood of idle
 * connections cannot lock real devices out (issue 10: 10,000 idle connections made a real
 * device's Hello get TOO_MANY_CONNECTIONS for 300 s).
 *
 * The flood's size is LPG_FLOOD_CONNECTIONS (default 1500, enough to overrun the cap of 1000 of
 * this stack; the 10,000 of the report was measured with LPG_FLOOD_CONNECTIONS=10000). The
 * attacker's sockets are bound to 127.0.0.2, the device connects from 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of a metric sample line ("name{labels} value"), or -1. */
static long long metric(int http_port, const char *sample)
{
    static char body[262144];
    int status;
    if (harness_http(http_port, "GET", "/metrics", &status, body, sizeof(body), NULL, 0) != 0 ||
        status != 200)
        return -1;
    /* At the start of a line: not the sample's name in its # HELP line. */
    char pat[256];
    snprintf(pat, sizeof(pat), "\n%s", sample);
    const char *p = strstr(body, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Waits for an Error with `code`, then for the close; returns the ms it took, or -1. */
static int64_t wait_error_and_close(int fd, int code, int timeout_ms)
{
    int64_t t0 = now_ms();
    Lpg__V1__Envelope *env = wire_recv(fd, timeout_ms);
    if (env == NULL)
        return -1;
    int ok = env->body_case == LPG__V1__ENVELOPE__BODY_ERROR && (int)env->error->code == code;
    if (!ok)
        fprintf(stderr, "expected Error %d, got body %d\n", code, (int)env->body_case);
    lpg__v1__envelope__free_unpacked(env, NULL);
    if (!ok || !harness_wait_closed(fd, HARNESS_REPLY_TIMEOUT_MS))
        return -1;
    return now_ms() - t0;
}

static void test_hello_deadline(void **state)
{
    (void)state;
    struct harness_stack s;
    static const char *const args[] = {"--handset-hello-timeout=2", NULL};
    assert_int_equal(harness_stack_start(&s, "limits-hello", args), 0);
    char secret[64];
    assert_int_equal(harness_stack_device(&s, "H1", secret), 0);

    /* Silent: closed at the deadline, not after the idle timeout (300 s). */
    int silent = harness_tcp_connect(s.d.handset_port);
    assert_true(silent >= 0);
    /* Trickling: one byte of a frame header every 300 ms keeps it far from idle. */
    int trickle = harness_tcp_connect(s.d.handset_port);
    assert_true(trickle >= 0);
    int64_t t0 = now_ms();
    const uint8_t header[] = {0, 0, 0, 200};
    int closed = 0;
    for (int i = 0; i < 60 && !closed; i++) {
        if (harness_send_all(trickle, &header[i % 4], 1) != 0)
            break; /* the server closed it: what we wait for */
        closed = harness_wait_closed(trickle, 300);
    }
    int64_t trickle_ms = now_ms() - t0;
    assert_true(trickle_ms < 12000); /* 2 s deadline; a busy machine gets slack, not 300 s */
    close(trickle);
    assert_true(wait_error_and_close(silent, LPG__V1__ERROR__CODE__IDLE_TIMEOUT, 15000) >= 0);
    close(silent);

    /* A device that logs in at once is not affected, and its session outlives the deadline. */
    int fd = wire_login(s.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    assert_false(harness_wait_closed(fd, HARNESS_REPLY_TIMEOUT_MS));
    Lpg__V1__Ping p = LPG__V1__PING__INIT;
    Lpg__V1__Envelope ping = LPG__V1__ENVELOPE__INIT;
    ping.has_request_id = 1;
    ping.request_id = 2;
    ping.body_case = LPG__V1__ENVELOPE__BODY_PING;
    ping.ping = &p;
    assert_int_equal(wire_send(fd, &ping), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);
    close(fd);
    long long hto = metric(s.d.http_port, "lpg_handset_hello_timeouts_total ");
    fprintf(stderr, "trickle closed after %lld ms; hello timeouts %lld\n", (long long)trickle_ms,
            hto);
    assert_true(hto >= 2);
    assert_int_equal(harness_stack_stop(&s), 0);
}

/* A blocking connect from 127.0.0.2; -1 when refused or out of descriptors. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_idle_flood_does_not_lock_devices_out(void **state)
{
    (void)state;
    const char *env_n = getenv("LPG_FLOOD_CONNECTIONS");
    int n = env_n ? atoi(env_n) : 1500;
    /* The test holds n descriptors (dispatchd raises its own limit). */
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 64 > rl.rlim_cur)
        n = (int)rl.rlim_cur - 64;

    struct harness_stack s;
    /* A cap the flood overruns; a Hello deadline far beyond the test, so that only the caps
     * on anonymous connections can let the device in. */
    char cap[64];
    snprintf(cap, sizeof(cap), "--handset-max-connections=%d", n < 2000 ? 1000 : 10000);
    const char *const args[] = {cap, "--handset-hello-timeout=600", NULL};
    assert_int_equal(harness_stack_start(&s, "limits-flood", args), 0);
    char secret[64];
    assert_int_equal(harness_stack_device(&s, "H1", secret), 0);

    int *fds = calloc((size_t)n, sizeof(*fds));
    assert_non_null(fds);
    int64_t t0 = now_ms();
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = connect_from("127.0.0.2", s.d.handset_port);
        opened += fds[i] >= 0;
    }
    int64_t flood_ms = now_ms() - t0;
    assert_true(opened > n / 2);

    /* The real device, from another address, gets in at once. */
    t0 = now_ms();
    int fd = wire_login(s.d.handset_port, "H1", secret);
    int64_t login_ms = now_ms() - t0;
    assert_true(fd >= 0);
    fprintf(stderr,
            "flood: %d connections from 127.0.0.2 opened in %lld ms; device logged in %lld ms "
            "later\n",
            opened, (long long)flood_ms, (long long)login_ms);
    close(fd);
    /* The server holds at most the per-address cap (default 32) of them. */
    long long anon = metric(s.d.http_port, "lpg_handset_unauthenticated ");
    assert_true(anon >= 0 && anon <= 32);
    assert_true(
        metric(s.d.http_port, "lpg_handset_connections_total{result=\"refused_address\"} ") >=
        opened - 33);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    assert_int_equal(harness_stack_stop(&s), 0);
}

/* Many addresses (a botnet): anonymous connections stop at half of the cap, so logged-in
 * devices keep their slots and a device that is logged in keeps working. */
static void test_anonymous_connections_take_at_most_half_the_cap(void **state)
{
    (void)state;
    struct harness_stack s;
    static const char *const args[] = {"--handset-max-connections=40",
                                       "--handset-hello-timeout=600", NULL};
    assert_int_equal(harness_stack_start(&s, "limits-half", args), 0);
    char secret[64];
    assert_int_equal(harness_stack_device(&s, "H1", secret), 0);
    int fds[60];
    int accepted = 0;
    for (int i = 0; i < 60; i++) {
        char src[32];
        snprintf(src, sizeof(src), "127.0.1.%d", i + 1);
        fds[i] = connect_from(src, s.d.handset_port);
    }
    /* Refused ones get TOO_MANY_CONNECTIONS and are closed; count who is still held. */
    for (int i = 0; i < 60; i++)
        if (fds[i] >= 0 && !harness_wait_closed(fds[i], 200))
            accepted++;
    assert_true(accepted <= 20);
    assert_true(metric(s.d.http_port,
                       "lpg_handset_connections_total{result=\"refused_unauthenticated\"} ") >= 40);
    /* Close one anonymous connection: a device logs in through the freed anonymous slot. */
    for (int i = 0; i < 60; i++)
        if (fds[i] >= 0 && !harness_wait_closed(fds[i], 0)) {
            close(fds[i]);
            fds[i] = -1;
            break;
        }
    int fd = -1;
    for (int tries = 0; tries < 50 && fd < 0; tries++) {
        fd = wire_login(s.d.handset_port, "H1", secret);
        if (fd < 0)
            harness_sleep_ms(100); /* the close may not be seen by the server yet */
    }
    assert_true(fd >= 0);
    close(fd);
    for (int i = 0; i < 60; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    assert_int_equal(harness_stack_stop(&s), 0);
}

/* ---- HTTP ---- */

/* Sends `text` one byte every gap_ms until the server closes the connection (or max_ms).
 * Returns the ms until the close, or -1 when still open at max_ms. */
static int64_t trickle_until_closed(int fd, const char *text, int gap_ms, int max_ms)
{
    int64_t t0 = now_ms();
    size_t n = strlen(text);
    for (size_t i = 0; now_ms() - t0 < max_ms; i = (i + 1) % n) {
        if (harness_send_all(fd, &text[i], 1) != 0 || harness_wait_closed(fd, gap_ms))
            return now_ms() - t0;
    }
    return -1;
}

static void test_http_slow_requests_are_cut(void **state)
{
    (void)state;
    struct harness_stack s;
    static const char *const args[] = {"--http-header-timeout=2", "--http-body-timeout=2", NULL};
    assert_int_equal(harness_stack_start(&s, "limits-http", args), 0);

    /* Headers trickling a byte every 300 ms (each read resets http_timeout's 30 s): cut at the
     * header deadline. */
    int fd = harness_tcp_connect(s.d.http_port);
    assert_true(fd >= 0);
    int64_t ms =
        trickle_until_closed(fd, "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaa", 300, 15000);
    fprintf(stderr, "trickled headers cut after %lld ms\n", (long long)ms);
    assert_true(ms >= 1000 && ms < 12000);
    close(fd);

    /* Whole headers at once, then the body a byte every 300 ms: cut at the body deadline. */
    fd = harness_tcp_connect(s.d.http_port);
    assert_true(fd >= 0);
    const char *head = "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 200\r\n\r\n";
    assert_int_equal(harness_send_all(fd, head, strlen(head)), 0);
    ms = trickle_until_closed(fd, "{\"user\":\"root\",", 300, 15000);
    fprintf(stderr, "trickled body cut after %lld ms\n", (long long)ms);
    assert_true(ms >= 1000 && ms < 12000);
    close(fd);

    /* A kept-alive connection: its second request has its own deadline from the first reply,
     * and requests that arrive in time are served as before. */
    fd = harness_tcp_connect(s.d.http_port);
    assert_true(fd >= 0);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[2048];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(harness_send_all(fd, req, strlen(req)), 0);
        assert_int_equal(harness_recv_exact(fd, buf, 12, 5000, NULL), 0);
        buf[12] = '\0';
        assert_string_equal(buf, "HTTP/1.1 200");
        /* Read the rest of this reply (small) before the next request. */
        harness_sleep_ms(100);
        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
    }
    /* Then idle: closed at the header deadline of the next request. */
    assert_true(harness_wait_closed(fd, 12000));
    close(fd);

    assert_true(metric(s.d.http_port, "lpg_http_request_timeouts_total{phase=\"headers\"} ") >= 2);
    assert_true(metric(s.d.http_port, "lpg_http_request_timeouts_total{phase=\"body\"} ") >= 1);
    assert_int_equal(harness_stack_stop(&s), 0);
}

static void test_http_connection_cap(void **state)
{
    (void)state;
    struct harness_stack s;
    static const char *const args[] = {"--http-max-connections=8", NULL};
    assert_int_equal(harness_stack_start(&s, "limits-httpcap", args), 0);
    int idle[8];
    for (int i = 0; i < 8; i++) {
        idle[i] = harness_tcp_connect(s.d.http_port);
        assert_true(idle[i] >= 0);
    }
    /* The ninth (or an earlier one, if the server still counts the start-up probes) is told
     * and closed. */
    harness_sleep_ms(300);
    int extra = harness_tcp_connect(s.d.http_port);
    assert_true(extra >= 0);
    char buf[16] = "";
    int eof = 0;
    if (harness_recv_exact(extra, buf, 12, 5000, &eof) == 0)
        assert_memory_equal(buf, "HTTP/1.1 503", 12);
    assert_true(harness_wait_closed(extra, HARNESS_REPLY_TIMEOUT_MS));
    close(extra);
    /* Connections that go free a slot. */
    for (int i = 0; i < 8; i++)
        close(idle[i]);
    assert_int_equal(harness_http_wait_status(s.d.http_port, "/healthz", 200, 10000), 0);
    assert_true(metric(s.d.http_port, "lpg_http_connections_refused_total ") >= 1);
    assert_int_equal(harness_stack_stop(&s), 0);
}

/* ---- live feed ---- */

static int api(struct harness_stack *s, const char *token, const char *method, const char *path,
               const char *body, char *resp, size_t cap)
{
    char headers[256] = "";
    if (token)
        snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(s->d.http_port, method, path, headers, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static void make_user(struct harness_stack *s, const char *admin, const char *name, const char *ent,
                      char tok[64])
{
    char body[256], resp[2048];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"role\":\"dispatcher\",\"enterprise_id\":\"%s\","
             "\"password\":\"password-of-%s\"}",
             name, ent, name);
    assert_int_equal(api(s, admin, "POST", "/v1/users", body, resp, sizeof(resp)), 201);
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"password-of-%s\"}", name, name);
    assert_int_equal(api(s, NULL, "POST", "/v1/sessions", body, resp, sizeof(resp)), 201);
    assert_int_equal(harness_json_str(resp, "token", tok, 64), 0);
}

/* Opens GET /v1/events; returns the HTTP status and leaves the stream open in *fd (or closes
 * it when refused). */
static int open_stream(struct harness_stack *s, const char *tok, int *fd)
{
    *fd = harness_tcp_connect(s->d.http_port);
    assert_true(*fd >= 0);
    char req[256];
    snprintf(req, sizeof(req),
             "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok);
    assert_int_equal(harness_send_all(*fd, req, strlen(req)), 0);
    char line[13] = "";
    assert_int_equal(harness_recv_exact(*fd, line, 12, 5000, NULL), 0);
    int status = atoi(line + 9);
    if (status != 200) {
        close(*fd);
        *fd = -1;
    }
    return status;
}

static void test_live_feed_streams_capped_per_user_and_enterprise(void **state)
{
    (void)state;
    struct harness_stack s;
    static const char *const args[] = {"--events-max-per-user=2", "--events-max-per-enterprise=3",
                                       NULL};
    assert_int_equal(harness_stack_start(&s, "limits-feed", args), 0);
    char admin[64], a[64], b[64], other[64], resp[2048];
    assert_int_equal(harness_stack_admin_token(&s, admin), 0);
    const char *area = "\"area\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,"
                       "49.15],[119.9,49.3],[119.6,49.3],[119.6,49.15]]]}";
    char body[512];
    snprintf(body, sizeof(body), "{\"id\":\"E1\",\"name\":\"One\",%s}", area);
    assert_int_equal(api(&s, admin, "POST", "/v1/enterprises", body, resp, sizeof(resp)), 201);
    snprintf(body, sizeof(body), "{\"id\":\"E2\",\"name\":\"Two\",%s}", area);
    assert_int_equal(api(&s, admin, "POST", "/v1/enterprises", body, resp, sizeof(resp)), 201);
    make_user(&s, admin, "d1a", "E1", a);
    make_user(&s, admin, "d1b", "E1", b);
    make_user(&s, admin, "d2", "E2", other);

    int fa[3], fb[2], fo;
    /* One dispatcher: two streams, the third refused (per user). */
    assert_int_equal(open_stream(&s, a, &fa[0]), 200);
    assert_int_equal(open_stream(&s, a, &fa[1]), 200);
    assert_int_equal(open_stream(&s, a, &fa[2]), 429);
    /* A colleague: the enterprise's third stream, then refused (per enterprise). */
    assert_int_equal(open_stream(&s, b, &fb[0]), 200);
    assert_int_equal(open_stream(&s, b, &fb[1]), 429);
    /* Another enterprise is not affected. */
    assert_int_equal(open_stream(&s, other, &fo), 200);
    assert_true(metric(s.d.http_port, "lpg_live_feed_refused_total{limit=\"user\"} ") >= 1);
    assert_true(metric(s.d.http_port, "lpg_live_feed_refused_total{limit=\"enterprise\"} ") >= 1);
    /* A stream that ends frees its place. */
    close(fa[0]);
    int st = 0;
    for (int i = 0; i < 50 && st != 200; i++) {
        st = open_stream(&s, b, &fb[1]);
        if (st != 200)
            harness_sleep_ms(100);
    }
    assert_int_equal(st, 200);
    close(fa[1]);
    close(fb[0]);
    close(fb[1]);
    close(fo);
    assert_int_equal(harness_stack_stop(&s), 0);
}

int main(void)
{
    if (getenv("LPG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("LPG_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_deadline),
        cmocka_unit_test(test_idle_flood_does_not_lock_devices_out),
        cmocka_unit_test(test_anonymous_connections_take_at_most_half_the_cap),
        cmocka_unit_test(test_http_slow_requests_are_cut),
        cmocka_unit_test(test_http_connection_cap),
        cmocka_unit_test(test_live_feed_streams_capped_per_user_and_enterprise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
