/* test_fleet.c -- the fleet, live (issue 13 item 2) against real Redis and dispatchd: position
 * events on GET /v1/events, throttled per vehicle (the first at once, the newest of the interval
 * when it ends, the ones between never), ?types= selecting what a stream receives, and GET
 * /v1/fleet showing a handset vehicle and a JT/T 808 vehicle with their newest fixes, sources
 * and people; another enterprise sees nothing of either. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "jt808/jt808_codec.h"
#include "jt808_term.h"
#include "wire_client.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char admin[64], disp0[64], disp9[64], secret_h1[64], secret_h2[64];

#define TERMINAL "13900000002" /* bound to V2, with a preset code */

static int req(const char *token, const char *method, const char *path, const char *body,
               char *resp, size_t cap)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp, cap) != 0)
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
    /* 6 s: long enough that the steps inside one interval (three batches, each acknowledged once
     * stored, and an event read) fit in it on a busy machine running ASan builds. */
    const char *extra[] = {"--events-position-interval=6", NULL};
    if (harness_stack_start(&stack, "fleet", extra) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0 ||
        harness_stack_device(&stack, "H1", secret_h1) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0 ||
        harness_stack_device(&stack, "H2", secret_h2) != 0 ||
        harness_stack_vehicle(&stack, "V2", "H2") != 0)
        return -1;
    const char *calls[][2] = {
        {"/v1/enterprises", "{\"id\":\"E9\",\"name\":\"Nine\",\"area\":{\"type\":\"Polygon\","
                            "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"
                            "[119.6,49.3],[119.6,49.15]]]}}"},
        {"/v1/users", "{\"name\":\"d0\",\"role\":\"dispatcher\",\"enterprise_id\":\"E0\","
                      "\"password\":\"dispatcher-zero-pw\"}"},
        {"/v1/users", "{\"name\":\"d9\",\"role\":\"dispatcher\",\"enterprise_id\":\"E9\","
                      "\"password\":\"dispatcher-nine-pw\"}"},
        {"/v1/customers", "{\"id\":\"C0\",\"enterprise_id\":\"E0\",\"name\":\"A\",\"kind\":"
                          "\"household\",\"location\":{\"lon\":119.7,\"lat\":49.2},"
                          "\"contract_no\":\"S0\",\"contract_from\":\"2025-01-01\"}"},
        {"/v1/customers", "{\"id\":\"C9\",\"enterprise_id\":\"E9\",\"name\":\"B\",\"kind\":"
                          "\"household\",\"location\":{\"lon\":119.7,\"lat\":49.2},"
                          "\"contract_no\":\"S9\",\"contract_from\":\"2025-01-01\"}"},
        {"/v1/terminals", "{\"id\":\"" TERMINAL "\",\"vehicle_id\":\"V2\",\"protocol\":\"jt808\","
                          "\"auth_code\":\"preset-code-0002\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (req(admin, "POST", calls[i][0], calls[i][1], resp, sizeof(resp)) != 201) {
            fprintf(stderr, "setup %s: %s\n", calls[i][0], resp);
            return -1;
        }
    if (login("d0", "dispatcher-zero-pw", disp0) != 0 ||
        login("d9", "dispatcher-nine-pw", disp9) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- the live feed ---- */

/* Opens GET path as token; returns the socket after the response headers, with their status. */
static int sse_open(const char *token, const char *path, int *status)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    assert_true(fd >= 0);
    char rq[512];
    snprintf(rq, sizeof(rq),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", path, token);
    assert_int_equal(harness_send_all(fd, rq, strlen(rq)), 0);
    char head[4096];
    size_t used = 0;
    while (used < sizeof(head) - 1) {
        if (harness_recv_exact(fd, head + used, 1, HARNESS_REPLY_TIMEOUT_MS, NULL) != 0)
            break;
        used++;
        head[used] = '\0';
        if (used >= 4 && strcmp(head + used - 4, "\r\n\r\n") == 0)
            break;
    }
    head[used] = '\0';
    harness_http_record_raw("GET", path, head, used);
    assert_int_equal(sscanf(head, "HTTP/1.1 %d", status), 1);
    return fd;
}

/* Reads (appending to buf, which holds *used bytes) until `needle` shows up after `from` (1) or
 * timeout_ms passes (0). */
static int sse_wait(int fd, const char *needle, size_t from, int timeout_ms, char *buf, size_t cap,
                    size_t *used)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t entry = *used;
    for (;;) {
        if (strstr(buf + from, needle)) {
            harness_http_record_stream("/v1/events", buf + entry, *used - entry);
            return 1;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left =
            timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r = -1;
        if (left > 0 && *used + 1 < cap && poll(&p, 1, (int)left) > 0)
            r = recv(fd, buf + *used, cap - *used - 1, 0);
        if (r <= 0) {
            harness_http_record_stream("/v1/events", buf + entry, *used - entry);
            return 0;
        }
        *used += (size_t)r;
        buf[*used] = '\0';
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static long long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static long long metric(const char *name)
{
    return harness_metric(stack.d.http_port, name);
}

static void create_order(const char *token, const char *id, const char *customer)
{
    char body[256], resp[4096];
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"customer_id\":\"%s\",\"items\":[{\"spec\":\"YSP-12\",\"count\":1}]}",
             id, customer);
    assert_int_equal(req(token, "POST", "/v1/orders", body, resp, sizeof(resp)), 201);
}

static void test_unknown_type_refused(void **state)
{
    (void)state;
    int status;
    int fd = sse_open(disp0, "/v1/events?types=orders,weather", &status);
    assert_int_equal(status, 400);
    close(fd);
    fd = sse_open(disp0, "/v1/events?types=", &status);
    assert_int_equal(status, 400);
    close(fd);
}

static void test_positions_throttled_per_vehicle(void **state)
{
    (void)state;
    static char pbuf[65536], obuf[65536], nbuf[65536];
    size_t pused = 0, oused = 0, nused = 0;
    int status;
    int pos = sse_open(disp0, "/v1/events?types=positions", &status);
    assert_int_equal(status, 200);
    int ord = sse_open(disp0, "/v1/events?types=orders,alerts", &status);
    assert_int_equal(status, 200);
    int nine = sse_open(disp9, "/v1/events", &status); /* all types, another enterprise */
    assert_int_equal(status, 200);
    assert_true(sse_wait(pos, "live feed", 0, 5000, pbuf, sizeof(pbuf), &pused));
    assert_true(sse_wait(ord, "live feed", 0, 5000, obuf, sizeof(obuf), &oused));
    assert_true(sse_wait(nine, "live feed", 0, 5000, nbuf, sizeof(nbuf), &nused));

    int h1 = wire_login(stack.d.handset_port, "H1", secret_h1);
    assert_true(h1 >= 0);
    int h2 = wire_login(stack.d.handset_port, "H2", secret_h2);
    assert_true(h2 >= 0);
    uint64_t now = (uint64_t)time(NULL) * 1000 - 10000;
    Lpg__V1__Fix f;
    wire_fix_3d(&f, 1, now, 492000100, 1197000000, 500);
    assert_int_equal(wire_send_positions(h1, 10, &f, 1, HARNESS_REPLY_TIMEOUT_MS), 1);
    /* The first position of the vehicle goes out at once. */
    assert_true(sse_wait(pos, "49.20001", 0, HARNESS_REPLY_TIMEOUT_MS, pbuf, sizeof(pbuf), &pused));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t after_first = pused;
    assert_non_null(strstr(pbuf, "event: position"));
    assert_non_null(strstr(pbuf, "\"vehicle_id\":\"V1\""));
    assert_non_null(strstr(pbuf, "\"source\":\"handset\""));
    assert_non_null(strstr(pbuf, "\"speed_kmh\":18"));
    /* Two more inside the 6 s interval: only the newest is sent, once the interval ends. */
    wire_fix_3d(&f, 2, now + 1000, 492000200, 1197000000, 500);
    assert_int_equal(wire_send_positions(h1, 11, &f, 1, HARNESS_REPLY_TIMEOUT_MS), 2);
    wire_fix_3d(&f, 3, now + 2000, 492000300, 1197000000, 500);
    assert_int_equal(wire_send_positions(h1, 12, &f, 1, HARNESS_REPLY_TIMEOUT_MS), 3);
    /* The throttle is per vehicle: V2's first position goes out at once, while V1's newest
     * still waits for V1's interval. (Older than what V2's terminal reports later.) */
    wire_fix_3d(&f, 1, now - 50000, 492100000, 1197100000, 0);
    assert_int_equal(wire_send_positions(h2, 10, &f, 1, HARNESS_REPLY_TIMEOUT_MS), 1);
    assert_true(sse_wait(pos, "\"vehicle_id\":\"V2\"", after_first, HARNESS_REPLY_TIMEOUT_MS, pbuf,
                         sizeof(pbuf), &pused));
    assert_null(strstr(pbuf, "49.20003"));
    size_t after_v2 = pused;
    assert_true(
        sse_wait(pos, "49.20003", after_v2, HARNESS_REPLY_TIMEOUT_MS, pbuf, sizeof(pbuf), &pused));
    assert_true(ms_since(&t0) >= 5500); /* not before the interval (6 s, less scheduling) */
    assert_null(strstr(pbuf, "49.20002"));
    assert_int_equal(count(pbuf, "event: position"), 3); /* V1, V2, V1's newest */
    assert_null(strstr(pbuf, "event: order"));
    assert_true(metric("lpg_live_feed_positions_total{outcome=\"superseded\"}") >= 1);
    assert_true(metric("lpg_live_feed_positions_total{outcome=\"sent\"}") >= 3);

    /* The orders-only stream got no position: the order created now is the first thing it
     * sees (events reach every stream in the order they were published). */
    create_order(disp0, "OF1", "C0");
    assert_true(
        sse_wait(ord, "\"id\":\"OF1\"", 0, HARNESS_REPLY_TIMEOUT_MS, obuf, sizeof(obuf), &oused));
    assert_null(strstr(obuf, "event: position"));
    /* Nor did another enterprise's stream, which asked for everything. */
    create_order(disp9, "OF9", "C9");
    assert_true(
        sse_wait(nine, "\"id\":\"OF9\"", 0, HARNESS_REPLY_TIMEOUT_MS, nbuf, sizeof(nbuf), &nused));
    assert_null(strstr(nbuf, "V1"));
    assert_null(strstr(nbuf, "event: position"));
    close(h1);
    close(h2);
    close(pos);
    close(ord);
    close(nine);
}

/* ---- the board ---- */

struct term {
    int fd;
    uint16_t serial;
    struct jt808_deframer dec;
};

static uint16_t term_send(struct term *t, uint16_t msg_id, const uint8_t *body, size_t len)
{
    struct jt808_header h;
    memset(&h, 0, sizeof(h));
    h.msg_id = msg_id;
    h.edition = JT808_2013;
    snprintf(h.phone, sizeof(h.phone), "%s", TERMINAL);
    h.serial = t->serial++;
    uint8_t out[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, body, len, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(harness_send_all(t->fd, out, n), 0);
    return h.serial;
}

/* Waits for the platform's 0x8001 answering serial; its result, or -1 (timeout, close). Other
 * frames are skipped (the thresholds' 0x8103 is answered). */
static int term_wait_reply(struct term *t, uint16_t serial, uint16_t msg_id)
{
    uint8_t byte;
    for (int i = 0; i < 100000; i++) {
        if (harness_recv_exact(t->fd, &byte, 1, HARNESS_REPLY_TIMEOUT_MS, NULL) != 0)
            return -1;
        size_t used = 0;
        if (jt808_deframer_feed(&t->dec, &byte, 1, &used) != JT808_FRAME)
            continue;
        size_t len;
        const uint8_t *frame = jt808_deframer_frame(&t->dec, &len);
        struct jt808_header h;
        const uint8_t *b;
        size_t bl;
        const char *why;
        assert_int_equal(jt808_header_parse(frame, len, &h, &b, &bl, &why), 0);
        if (h.msg_id == JT808P_SET_PARAMS) {
            uint8_t rb[8];
            size_t n = jt808t_general_reply(rb, sizeof(rb), h.serial, h.msg_id, 0);
            term_send(t, JT808T_GENERAL_REPLY, rb, n);
            continue;
        }
        struct jt808t_reply r;
        if (h.msg_id == JT808P_GENERAL_REPLY && jt808t_parse_general(b, bl, &r) == 0 &&
            r.serial == serial && r.msg_id == msg_id)
            return r.result;
    }
    return -1;
}

/* The item of vehicle id in a /v1/fleet page, copied to out ("" when absent). */
static void item_of(const char *page, const char *id, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof(key), "{\"vehicle_id\":\"%s\"", id);
    const char *p = strstr(page, key);
    out[0] = '\0';
    if (p == NULL)
        return;
    const char *end = strstr(p + 1, "{\"vehicle_id\":");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_fleet_board(void **state)
{
    (void)state;
    /* V2's terminal reports once. */
    struct term t = {0};
    t.fd = harness_tcp_connect(stack.d.jt808_port);
    assert_true(t.fd >= 0);
    jt808_deframer_init(&t.dec);
    uint8_t body[512];
    size_t n = jt808t_auth(body, sizeof(body), "preset-code-0002");
    uint16_t s = term_send(&t, JT808T_AUTH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_AUTH), 0);
    struct jt808t_fix f = {.utc_s = (int64_t)time(NULL) - 5,
                           .lat = 49.21,
                           .lon = 119.75,
                           .alt_m = 612,
                           .speed_kmh = 36.0,
                           .course_deg = 90,
                           .fix_valid = 1,
                           .acc_on = 1,
                           .signal = 21,
                           .satellites = 9};
    n = jt808t_location(body, sizeof(body), &f);
    s = term_send(&t, JT808T_LOCATION, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_LOCATION), 0);

    static char resp[262144];
    char item[4096];
    assert_int_equal(req(disp0, "GET", "/v1/fleet", NULL, resp, sizeof(resp)), 200);
    item_of(resp, "V1", item, sizeof(item));
    assert_non_null(strstr(item, "\"lat\":49.20003"));
    assert_non_null(strstr(item, "\"source\":\"handset\""));
    assert_non_null(strstr(item, "\"online\":true"));
    assert_non_null(strstr(item, "\"person_id\":\"S-H1\""));
    assert_non_null(strstr(item, "\"age_s\":"));
    assert_non_null(strstr(item, "\"cylinders_aboard\":0"));
    item_of(resp, "V2", item, sizeof(item));
    assert_non_null(strstr(item, "\"lat\":49.21"));
    assert_non_null(strstr(item, "\"source\":\"jt808\""));
    assert_non_null(strstr(item, "\"online\":true"));
    assert_non_null(strstr(item, "\"heading\":90"));
    assert_non_null(strstr(item, "\"speed_kmh\":36"));
    assert_non_null(strstr(item, "\"person_id\":\"S-H2\""));

    /* Filters. */
    assert_int_equal(req(disp0, "GET", "/v1/fleet?q=v2", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"vehicle_id\":\"V2\""));
    assert_null(strstr(resp, "\"vehicle_id\":\"V1\""));
    assert_int_equal(req(disp0, "GET", "/v1/fleet?online=false", NULL, resp, sizeof(resp)), 200);
    assert_null(strstr(resp, "\"vehicle_id\":\"V1\""));
    assert_null(strstr(resp, "\"vehicle_id\":\"V2\""));
    assert_int_equal(req(disp0, "GET", "/v1/fleet?online=true&limit=1", NULL, resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"vehicle_id\":\"V1\""));
    assert_non_null(strstr(resp, "\"next_after\":\"V1\""));
    assert_int_equal(req(disp0, "GET", "/v1/fleet?online=maybe", NULL, resp, sizeof(resp)), 400);
    assert_int_equal(req(disp0, "GET", "/v1/fleet?state=delivered", NULL, resp, sizeof(resp)), 400);

    /* Another enterprise sees nothing of them, and may not ask for E0. */
    assert_int_equal(req(disp9, "GET", "/v1/fleet", NULL, resp, sizeof(resp)), 200);
    assert_null(strstr(resp, "V1"));
    assert_null(strstr(resp, "V2"));
    assert_int_equal(req(disp9, "GET", "/v1/fleet?enterprise_id=E0", NULL, resp, sizeof(resp)),
                     403);
    /* An admin names the enterprise, or sees all. */
    assert_int_equal(req(admin, "GET", "/v1/fleet?enterprise_id=E0", NULL, resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"vehicle_id\":\"V2\""));
    harness_close(t.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_type_refused),
        cmocka_unit_test(test_positions_throttled_per_vehicle),
        cmocka_unit_test(test_fleet_board),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
