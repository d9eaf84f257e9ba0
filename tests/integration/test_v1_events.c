/* test_v1_events.c -- the dispatchers' live feed (GET /v1/events, server-sent events) against
 * real Redis and dispatchd: a dispatcher sees its enterprise's order changes as they happen and
 * nothing of another enterprise's; a client reconnecting with Last-Event-ID gets what it
 * missed; no token, no stream; an open stream does not stop a graceful shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], disp1[64], disp2[64];
static char first_id[64]; /* the id of the first event d1 saw */

static int post(const char *token, const char *path, const char *body, char *resp, size_t cap)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(stack.d.http_port, "POST", path, headers, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static int login(const char *user, const char *pw, char tok[64])
{
    char body[256], resp[2048];
    int status;
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, pw);
    if (harness_http_req(stack.d.http_port, "POST", "/v1/sessions", NULL, body, &status, resp,
                         sizeof(resp)) != 0 ||
        status != 201)
        return -1;
    return harness_json_str(resp, "token", tok, 64);
}

static int setup(void **state)
{
    (void)state;
    char resp[4096];
    if (harness_stack_start(&stack, "events", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    const char *calls[][2] = {
        {"/v1/enterprises", "{\"id\":\"E1\",\"name\":\"One\",\"area\":{\"type\":\"Polygon\","
                            "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"
                            "[119.6,49.3],[119.6,49.15]]]}}"},
        {"/v1/enterprises", "{\"id\":\"E2\",\"name\":\"Two\",\"area\":{\"type\":\"Polygon\","
                            "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"
                            "[119.6,49.3],[119.6,49.15]]]}}"},
        {"/v1/users", "{\"name\":\"d1\",\"role\":\"dispatcher\",\"enterprise_id\":\"E1\","
                      "\"password\":\"dispatcher-one-pw\"}"},
        {"/v1/users", "{\"name\":\"d2\",\"role\":\"dispatcher\",\"enterprise_id\":\"E2\","
                      "\"password\":\"dispatcher-two-pw\"}"},
        {"/v1/customers", "{\"id\":\"C1\",\"enterprise_id\":\"E1\",\"name\":\"A\",\"kind\":"
                          "\"household\",\"location\":{\"lon\":119.7,\"lat\":49.2},"
                          "\"contract_no\":\"S1\",\"contract_from\":\"2025-01-01\"}"},
        {"/v1/customers", "{\"id\":\"C2\",\"enterprise_id\":\"E2\",\"name\":\"B\",\"kind\":"
                          "\"household\",\"location\":{\"lon\":119.7,\"lat\":49.2},"
                          "\"contract_no\":\"S2\",\"contract_from\":\"2025-01-01\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (post(admin, calls[i][0], calls[i][1], resp, sizeof(resp)) != 201) {
            fprintf(stderr, "setup %s: %s\n", calls[i][0], resp);
            return -1;
        }
    if (login("d1", "dispatcher-one-pw", disp1) != 0 ||
        login("d2", "dispatcher-two-pw", disp2) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* Opens the stream; returns the socket after the response headers, with their status. */
static int sse_open(const char *token, const char *last_id, int *status)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    assert_true(fd >= 0);
    char req[512], auth[128] = "", last[64] = "";
    if (token)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    if (last_id)
        snprintf(last, sizeof(last), "Last-Event-ID: %s\r\n", last_id);
    snprintf(req, sizeof(req), "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n", auth,
             last);
    assert_int_equal(harness_send_all(fd, req, strlen(req)), 0);
    char head[4096];
    size_t used = 0;
    while (used < sizeof(head) - 1) {
        if (harness_recv_exact(fd, head + used, 1, 3000, NULL) != 0)
            break;
        used++;
        head[used] = '\0';
        if (used >= 4 && strcmp(head + used - 4, "\r\n\r\n") == 0)
            break;
    }
    head[used] = '\0';
    harness_http_record_raw("GET", "/v1/events", head, used);
    assert_int_equal(sscanf(head, "HTTP/1.1 %d", status), 1);
    return fd;
}

/* Reads until `needle` shows up (1) or timeout_ms passes (0); the text read is in buf. */
static int sse_wait(int fd, const char *needle, int timeout_ms, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (strstr(buf, needle)) {
            harness_http_record_stream("/v1/events", buf, used);
            return 1;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left =
            timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r = -1;
        if (left > 0 && used + 1 < cap && poll(&p, 1, (int)left) > 0)
            r = recv(fd, buf + used, cap - used - 1, 0);
        if (r <= 0) {
            harness_http_record_stream("/v1/events", buf, used);
            return 0;
        }
        used += (size_t)r;
        buf[used] = '\0';
    }
}

static void create_order(const char *token, const char *id, const char *customer)
{
    char body[256], resp[4096];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"customer_id\":\"%s\",\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
             id, customer);
    assert_int_equal(post(token, "/v1/orders", body, resp, sizeof(resp)), 201);
}

static void test_no_token_no_stream(void **state)
{
    (void)state;
    int status;
    int fd = sse_open(NULL, NULL, &status);
    assert_int_equal(status, 401);
    close(fd);
}

static void test_dispatcher_sees_only_its_enterprise(void **state)
{
    (void)state;
    int status;
    static char buf[65536];
    int fd = sse_open(disp1, NULL, &status);
    assert_int_equal(status, 200);
    assert_true(sse_wait(fd, "live feed", 3000, buf, sizeof(buf)));
    create_order(disp2, "OB1", "C2"); /* enterprise E2: must not reach d1 */
    create_order(disp1, "OA1", "C1");
    assert_true(sse_wait(fd, "\"id\":\"OA1\"", 5000, buf, sizeof(buf)));
    assert_non_null(strstr(buf, "event: order"));
    const char *idline = strstr(buf, "id: ");
    assert_non_null(idline);
    sscanf(idline + 4, "%63[0-9.]", first_id);
    assert_non_null(strchr(first_id, '.'));                     /* "<boot>.<n>" */
    assert_non_null(strstr(buf, "\"type\":\"order.created\"")); /* nobody to assign it to */
    assert_null(strstr(buf, "OB1"));
    close(fd);
}

static void test_last_event_id_replays_what_was_missed(void **state)
{
    (void)state;
    int status;
    static char buf[65536];
    /* While nobody listens, two more changes in E1. */
    create_order(disp1, "OA2", "C1");
    create_order(disp1, "OA3", "C1");
    int fd = sse_open(disp1, first_id, &status);
    assert_int_equal(status, 200);
    assert_true(sse_wait(fd, "\"id\":\"OA3\"", 5000, buf, sizeof(buf)));
    assert_non_null(strstr(buf, "\"id\":\"OA2\""));
    assert_null(strstr(buf, "OB1")); /* replay is scoped too */
    close(fd);
    /* An id of another boot (an earlier run of the instance): reload. */
    fd = sse_open(disp1, "1.1", &status);
    assert_int_equal(status, 200);
    assert_true(sse_wait(fd, "event: reset", 5000, buf, sizeof(buf)));
    close(fd);
    fd = sse_open(disp1, NULL, &status);
    /* The stream stays open at teardown: shutdown must still be clean (exit 0). */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_token_no_stream),
        cmocka_unit_test(test_dispatcher_sees_only_its_enterprise),
        cmocka_unit_test(test_last_event_id_replays_what_was_missed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
