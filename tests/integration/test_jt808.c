/* test_jt808.c -- dispatchd as a JT/T 808 platform, end to end: a private redis-server and
 * dispatchd, terminals registered over HTTP, and raw TCP terminals (frames built with the
 * platform's codec and the terminal-side bodies of tests/jt808sim, read back with the codec).
 *
 * Proves: 0x0100 answers 0x8100 0 with a code for a registered terminal whose plate matches, 4
 * for an unknown terminal, 2 for another vehicle's plate; 0x0102 with the code opens the session
 * (0x8001 0, then our thresholds in 0x8103), a wrong code is refused and the connection closed;
 * nothing but 0x0100/0x0102 is taken before; a 0x0200 is acknowledged only once stored, and its
 * position and terminal data read back over HTTP; a retransmission with the same serial is
 * answered and not stored twice; 0x0704 backfill lands as late fixes; 2019 headers are answered
 * in the 2019 layout; several frames in one write, frames split byte by byte and garbage between
 * them; subpackages in reverse order reassembled and answered once, a missing one asked for with
 * 0x8003; the SOS bit confirmed with result 4 and raised as a terminal alert; deleting the
 * terminal closes its session.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "jt808/jt808_codec.h"
#include "jt808_term.h"
#include "wire_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char auth_hdr[160];
static char secret_h1[64]; /* handset H1 (staff S-H1, vehicle V1) */

#define TERMINAL  "13912345678"
#define TERMINAL2 "13900000002"
/* Inside the test enterprise's area (harness: around Hailar). */
#define LAT 49.21
#define LON 119.75

/* ---- a raw terminal ---- */

struct term {
    int fd;
    enum jt808_edition edition;
    char phone[JT808_PHONE_DIGITS + 1];
    uint16_t serial;
    struct jt808_deframer dec;
    uint8_t pending[8192]; /* bytes received and not fed yet */
    size_t npending, off;
};

static void term_open(struct term *t, const char *phone, enum jt808_edition ed)
{
    memset(t, 0, sizeof(*t));
    t->fd = harness_tcp_connect(stack.d.jt808_port);
    assert_true(t->fd >= 0);
    t->edition = ed;
    snprintf(t->phone, sizeof(t->phone), "%s", phone);
    jt808_deframer_init(&t->dec);
}

/* Builds one frame (wire form) of msg_id with body; returns its length. Serial: the next. */
static size_t term_frame(struct term *t, uint16_t msg_id, const uint8_t *body, size_t len,
                         uint8_t *out, size_t cap, uint16_t *serial_out)
{
    struct jt808_header h;
    memset(&h, 0, sizeof(h));
    h.msg_id = msg_id;
    h.edition = t->edition;
    h.proto_version = t->edition == JT808_2019 ? 1 : 0;
    snprintf(h.phone, sizeof(h.phone), "%s", t->phone);
    h.serial = t->serial++;
    if (serial_out)
        *serial_out = h.serial;
    size_t n = jt808_frame_build(&h, body, len, out, cap);
    assert_true(n > 0);
    return n;
}

static uint16_t term_send(struct term *t, uint16_t msg_id, const uint8_t *body, size_t len)
{
    uint8_t out[JT808_WIRE_MAX];
    uint16_t serial;
    size_t n = term_frame(t, msg_id, body, len, out, sizeof(out), &serial);
    assert_int_equal(harness_send_all(t->fd, out, n), 0);
    return serial;
}

/* The next frame from the platform: 0 with h/body filled, -1 on timeout or close. */
static int term_recv(struct term *t, struct jt808_header *h, uint8_t *body, size_t *body_len)
{
    for (int rounds = 0; rounds < 2000; rounds++) {
        while (t->off < t->npending) {
            size_t used = 0;
            enum jt808_feed f =
                jt808_deframer_feed(&t->dec, t->pending + t->off, t->npending - t->off, &used);
            t->off += used;
            if (f == JT808_FRAME) {
                size_t len;
                const uint8_t *frame = jt808_deframer_frame(&t->dec, &len);
                const uint8_t *b;
                size_t bl;
                const char *why;
                assert_int_equal(jt808_header_parse(frame, len, h, &b, &bl, &why), 0);
                memcpy(body, b, bl);
                *body_len = bl;
                return 0;
            }
        }
        t->off = t->npending = 0;
        int eof = 0;
        /* One byte at a time is slow but simple and never reads past a frame we need. */
        if (harness_recv_exact(t->fd, t->pending, 1, HARNESS_REPLY_TIMEOUT_MS, &eof) != 0)
            return -1;
        t->npending = 1;
    }
    return -1;
}

/* Waits for a 0x8001 answering `serial`; returns its result (-1: none). Other frames are
 * skipped (0x8103 after authentication is answered with 0x0001). */
static int term_wait_reply(struct term *t, uint16_t serial, uint16_t msg_id)
{
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX + 64];
    size_t len;
    while (term_recv(t, &h, body, &len) == 0) {
        assert_int_equal(h.edition, t->edition); /* the reply keeps the request's layout */
        if (h.msg_id == JT808P_SET_PARAMS) {
            uint8_t b[8];
            size_t n = jt808t_general_reply(b, sizeof(b), h.serial, h.msg_id, 0);
            term_send(t, JT808T_GENERAL_REPLY, b, n);
            continue;
        }
        if (h.msg_id != JT808P_GENERAL_REPLY)
            continue;
        struct jt808t_reply r;
        assert_int_equal(jt808t_parse_general(body, len, &r), 0);
        if (r.serial == serial && r.msg_id == msg_id)
            return r.result;
    }
    return -1;
}

/* Opens a terminal and authenticates it with its code (0x8001 0 expected). */
static void term_login(struct term *t, const char *phone, enum jt808_edition ed, const char *code)
{
    term_open(t, phone, ed);
    uint8_t body[JT808T_AUTH_CODE_MAX + 8];
    size_t n = jt808t_auth(body, sizeof(body), code);
    uint16_t s = term_send(t, JT808T_AUTH, body, n);
    assert_int_equal(term_wait_reply(t, s, JT808T_AUTH), 0);
}

static void term_close(struct term *t)
{
    harness_close(t->fd);
    t->fd = -1;
}

/* ---- HTTP ---- */

static int http(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    int status = 0;
    assert_int_equal(
        harness_http_req(stack.d.http_port, method, path, auth_hdr, body, &status, resp, cap), 0);
    return status;
}

/* A counter of /metrics (0 when absent). */
static long long metric(const char *name)
{
    return harness_metric(stack.d.http_port, name);
}

static int register_and_auth(struct term *t, const char *plate)
{
    uint8_t body[256];
    struct jt808t_register reg = {.province = 15,
                                  .city = 700,
                                  .maker = "LPG",
                                  .model = "T1",
                                  .terminal_id = "T0001",
                                  .plate_colour = 2,
                                  .plate = plate};
    size_t n = jt808t_register_body(body, sizeof(body), &reg);
    uint16_t s = term_send(t, JT808T_REGISTER, body, n);
    struct jt808_header h;
    uint8_t rb[JT808_BODY_MAX + 64];
    size_t rl;
    assert_int_equal(term_recv(t, &h, rb, &rl), 0);
    assert_int_equal(h.msg_id, JT808P_REGISTER_REPLY);
    uint16_t rs;
    uint8_t result;
    char code[80] = "";
    assert_int_equal(jt808t_parse_register_reply(rb, rl, &rs, &result, code, sizeof(code)), 0);
    assert_int_equal(rs, s);
    if (result != 0)
        return result;
    assert_true(strlen(code) >= 16);
    n = jt808t_auth(body, sizeof(body), code);
    s = term_send(t, JT808T_AUTH, body, n);
    assert_int_equal(term_wait_reply(t, s, JT808T_AUTH), 0);
    return 0;
}

static struct jt808t_fix fix_at(int64_t utc_s, double speed)
{
    struct jt808t_fix f = {.utc_s = utc_s,
                           .lat = LAT,
                           .lon = LON,
                           .alt_m = 612,
                           .speed_kmh = speed,
                           .course_deg = 90,
                           .fix_valid = 1,
                           .acc_on = 1,
                           .mileage_km = 1234.5,
                           .signal = 21,
                           .satellites = 9};
    return f;
}

/* ZCARD of one route day key of the vehicle (UTC day of t, as ingest keys it). */
static long long day_count(const char *vehicle, int64_t utc_s)
{
    time_t tt = (time_t)utc_s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char key[128], reply[64];
    snprintf(key, sizeof(key), "lpg:route:%s:%04d%02d%02d", vehicle, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    const char *argv[] = {"ZCARD", key};
    if (harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, argv) != 0)
        return -1;
    return atoll(reply[0] == ':' ? reply + 1 : reply); /* RESP ":n" */
}

/* The vehicle's stored fixes around t: the tests' fixes lie within two minutes of t, so a UTC
 * midnight between them spreads them over two day keys, both counted (any hour passes). */
static long long route_count(const char *vehicle, int64_t utc_s)
{
    long long n = day_count(vehicle, utc_s - 120);
    if (utc_s / 86400 != (utc_s + 120) / 86400 || (utc_s - 120) / 86400 != utc_s / 86400)
        n += day_count(vehicle, utc_s + 120);
    return n;
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    /* Small batches: a 0x0704 of more items than one batch takes goes to ingest in parts. */
    const char *extra[] = {"--jt808-reassembly-timeout=1", "--position-batch-max=3", NULL};
    if (harness_stack_start(&stack, "jt808", extra) != 0)
        return -1;
    char tok[64], secret[64], resp[4096];
    if (harness_stack_admin_token(&stack, tok) != 0 ||
        harness_stack_device(&stack, "H1", secret_h1) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0 ||
        harness_stack_device(&stack, "H2", secret) != 0 ||
        harness_stack_vehicle(&stack, "V2", "H2") != 0)
        return -1;
    snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: Bearer %s\r\n", tok);
    int status = 0;
    harness_http_req(stack.d.http_port, "POST", "/v1/terminals", auth_hdr,
                     "{\"id\":\"" TERMINAL "\",\"vehicle_id\":\"V1\",\"protocol\":\"jt808\"}",
                     &status, resp, sizeof(resp));
    if (status != 201) {
        fprintf(stderr, "POST /v1/terminals: %d %s\n", status, resp);
        return -1;
    }
    harness_http_req(stack.d.http_port, "POST", "/v1/terminals", auth_hdr,
                     "{\"id\":\"" TERMINAL2 "\",\"vehicle_id\":\"V2\",\"protocol\":\"jt808\","
                     "\"auth_code\":\"preset-code-0002\"}",
                     &status, resp, sizeof(resp));
    return status == 201 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_stack_stop(&stack);
    return 0;
}

/* ---- tests ---- */

static void test_register_results(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, "13800000000", JT808_2013); /* not registered */
    assert_int_equal(register_and_auth(&t, "P-V1"), 4);
    term_close(&t);
    term_open(&t, TERMINAL, JT808_2013); /* V1's terminal with V2's plate */
    assert_int_equal(register_and_auth(&t, "P-V2"), 2);
    term_close(&t);
}

static void test_nothing_before_auth_and_wrong_code_closes(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, TERMINAL2, JT808_2013);
    uint16_t s = term_send(&t, JT808T_HEARTBEAT, NULL, 0);
    assert_int_equal(term_wait_reply(&t, s, JT808T_HEARTBEAT), 1); /* failure: not authenticated */
    uint8_t body[64];
    size_t n = jt808t_auth(body, sizeof(body), "wrong-code");
    s = term_send(&t, JT808T_AUTH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_AUTH), 1);
    assert_int_equal(harness_wait_closed(t.fd, HARNESS_REPLY_TIMEOUT_MS), 1);
    term_close(&t);
}

static void test_preset_code_position_and_retransmission(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    uint8_t body[512];
    size_t n;

    int64_t now = (int64_t)time(NULL) - 5;
    struct jt808t_fix f = fix_at(now, 36.0);
    n = jt808t_location(body, sizeof(body), &f);
    uint8_t frame[JT808_WIRE_MAX];
    uint16_t serial;
    size_t fl = term_frame(&t, JT808T_LOCATION, body, n, frame, sizeof(frame), &serial);
    assert_int_equal(harness_send_all(t.fd, frame, fl), 0);
    assert_int_equal(term_wait_reply(&t, serial, JT808T_LOCATION), 0);
    long long before = route_count("V2", now);
    assert_true(before >= 1);
    /* The same frame again (same serial): answered from the connection's memory of what it
     * stored, without a second trip to ingest, and not stored twice. */
    long long retransmissions = metric("lpg_jt808_retransmissions_total");
    assert_int_equal(harness_send_all(t.fd, frame, fl), 0);
    assert_int_equal(term_wait_reply(&t, serial, JT808T_LOCATION), 0);
    assert_int_equal(route_count("V2", now), before);
    assert_int_equal(metric("lpg_jt808_retransmissions_total"), retransmissions + 1);

    char resp[8192];
    assert_int_equal(http("GET", "/v1/vehicles/V2/position", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "49.21"));
    assert_non_null(strstr(resp, "vehicle_data"));
    term_close(&t);
}

static void test_register_flow_2019_batch_and_backfill(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, "000000000" TERMINAL, JT808_2019); /* 20 digits, left-padded */
    assert_int_equal(register_and_auth(&t, "P-V1"), 0);
    int64_t now = (int64_t)time(NULL) - 60;
    struct jt808t_fix live[3] = {fix_at(now, 20), fix_at(now + 5, 22), fix_at(now + 10, 25)};
    uint8_t body[1024];
    size_t n = jt808t_batch(body, sizeof(body), 0, live, 3);
    uint16_t s = term_send(&t, JT808T_BATCH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_BATCH), 0);
    long long c0 = route_count("V1", now);
    assert_true(c0 >= 3);
    /* Blind-area backfill, older than what is stored: kept as late fixes. */
    struct jt808t_fix old[2] = {fix_at(now - 30, 10), fix_at(now - 25, 12)};
    n = jt808t_batch(body, sizeof(body), 1, old, 2);
    s = term_send(&t, JT808T_BATCH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_BATCH), 0);
    assert_int_equal(route_count("V1", now), c0 + 2);
    /* The newest position did not move back. */
    char resp[8192];
    assert_int_equal(http("GET", "/v1/vehicles/V1/position", NULL, resp, sizeof(resp)), 200);
    term_close(&t);
}

static void test_framing_split_joined_and_garbage(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, TERMINAL2, JT808_2013);
    uint8_t body[128], wire[3 * JT808_WIRE_MAX + 16];
    size_t n = jt808t_auth(body, sizeof(body), "preset-code-0002");
    uint16_t s1, s2, s3;
    size_t w = 0;
    wire[w++] = 0x00; /* garbage before the first flag */
    wire[w++] = 0x55;
    w += term_frame(&t, JT808T_AUTH, body, n, wire + w, sizeof(wire) - w, &s1);
    w += term_frame(&t, JT808T_HEARTBEAT, NULL, 0, wire + w, sizeof(wire) - w, &s2);
    wire[w++] = 0x13; /* garbage between frames */
    w += term_frame(&t, JT808T_HEARTBEAT, NULL, 0, wire + w, sizeof(wire) - w, &s3);
    /* Byte by byte for the first half, the rest in one write. */
    for (size_t i = 0; i < w / 2; i++)
        assert_int_equal(harness_send_all(t.fd, wire + i, 1), 0);
    assert_int_equal(harness_send_all(t.fd, wire + w / 2, w - w / 2), 0);
    assert_int_equal(term_wait_reply(&t, s1, JT808T_AUTH), 0);
    assert_int_equal(term_wait_reply(&t, s2, JT808T_HEARTBEAT), 0);
    assert_int_equal(term_wait_reply(&t, s3, JT808T_HEARTBEAT), 0);
    term_close(&t);
}

/* Sends packet `index` of `total` of msg_id with body part. */
static uint16_t send_packet(struct term *t, uint16_t msg_id, uint16_t serial, uint16_t total,
                            uint16_t index, const uint8_t *part, size_t len)
{
    struct jt808_header h;
    memset(&h, 0, sizeof(h));
    h.msg_id = msg_id;
    h.edition = t->edition;
    snprintf(h.phone, sizeof(h.phone), "%s", t->phone);
    h.serial = serial;
    h.subpackage = 1;
    h.pkg_total = total;
    h.pkg_index = index;
    uint8_t out[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, part, len, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(harness_send_all(t->fd, out, n), 0);
    return serial;
}

static void test_subpackages(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    uint8_t body[1024];
    size_t n;
    int64_t now = (int64_t)time(NULL) - 120;
    struct jt808t_fix fx[4] = {fix_at(now, 30), fix_at(now + 1, 31), fix_at(now + 2, 32),
                               fix_at(now + 3, 33)};
    n = jt808t_batch(body, sizeof(body), 1, fx, 4);
    long long c0 = route_count("V2", now);
    /* Two packets, the second first; serials 500 and 501: the reply goes to 500. */
    send_packet(&t, JT808T_BATCH, 501, 2, 2, body + n / 2, n - n / 2);
    send_packet(&t, JT808T_BATCH, 500, 2, 1, body, n / 2);
    assert_int_equal(term_wait_reply(&t, 500, JT808T_BATCH), 0);
    assert_int_equal(route_count("V2", now), c0 + 4);
    /* Packet 2 of 3 only: after the reassembly timeout (1 s here) the platform asks for 1 and 3. */
    send_packet(&t, JT808T_BATCH, 601, 3, 2, body, 10);
    struct jt808_header h;
    uint8_t rb[JT808_BODY_MAX + 64];
    size_t rl;
    int got = 0;
    while (!got && term_recv(&t, &h, rb, &rl) == 0)
        got = h.msg_id == 0x8003;
    assert_true(got);
    /* 2013 layout: original serial WORD, count BYTE, indices WORD... */
    assert_int_equal(rl, 2 + 1 + 2 * 2);
    assert_int_equal(rb[2], 2);
    assert_int_equal(rb[3] << 8 | rb[4], 1);
    assert_int_equal(rb[5] << 8 | rb[6], 3);
    term_close(&t);
}

static void test_sos_confirmed_and_alerted(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    uint8_t body[512];
    size_t n;
    uint16_t s;
    struct jt808t_fix f = fix_at((int64_t)time(NULL) - 1, 0);
    f.alarm = 1u << 0; /* SOS */
    n = jt808t_location(body, sizeof(body), &f);
    s = term_send(&t, JT808T_LOCATION, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_LOCATION), 4);
    char resp[16384];
    assert_int_equal(http("GET", "/v1/alerts?vehicle_id=V2", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "terminal_sos"));
    term_close(&t);
}

/* A 2019 terminal whose number is 11 digits gets its 0x8003 in the 2019 layout (count WORD):
 * the layout is the terminal's, not guessed from the number's length. */
static void test_resend_request_2019_short_number(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2019, "preset-code-0002");
    uint8_t body[64];
    memset(body, 0, sizeof(body));
    send_packet(&t, JT808T_BATCH, 701, 3, 2, body, 10);
    struct jt808_header h;
    uint8_t rb[JT808_BODY_MAX + 64];
    size_t rl;
    int got = 0;
    while (!got && term_recv(&t, &h, rb, &rl) == 0)
        got = h.msg_id == 0x8003;
    assert_true(got);
    assert_int_equal(h.edition, JT808_2019);
    /* 2019 layout: original serial WORD, count WORD, indices WORD... */
    assert_int_equal(rl, 2 + 2 + 2 * 2);
    assert_int_equal(rb[0] << 8 | rb[1], 700);
    assert_int_equal(rb[2] << 8 | rb[3], 2);
    assert_int_equal(rb[4] << 8 | rb[5], 1);
    assert_int_equal(rb[6] << 8 | rb[7], 3);
    term_close(&t);
}

/* A frame whose number has no significant digits (here a packed IMEI, read as hex) after the
 * connection's first frame is another terminal: the connection is closed and dispatchd serves
 * on (it once compared the session's number with NULL). */
static void test_number_without_digits_closes(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, TERMINAL2, JT808_2013);
    uint16_t s = term_send(&t, JT808T_HEARTBEAT, NULL, 0);
    assert_int_equal(term_wait_reply(&t, s, JT808T_HEARTBEAT), 1); /* not authenticated */
    snprintf(t.phone, sizeof(t.phone), "4eb6fb4afd9e");
    term_send(&t, JT808T_HEARTBEAT, NULL, 0);
    assert_int_equal(harness_wait_closed(t.fd, HARNESS_REPLY_TIMEOUT_MS), 1);
    term_close(&t);
    /* Such a number as the first frame: an unknown terminal (0x8100 result 4). */
    term_open(&t, "000000000000", JT808_2013);
    assert_int_equal(register_and_auth(&t, "P-V1"), 4);
    term_close(&t);
}

static void test_delete_terminal_closes_session(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    char resp[4096];
    int st = http("DELETE", "/v1/terminals/" TERMINAL2, NULL, resp, sizeof(resp));
    assert_true(st == 200 || st == 204);
    assert_int_equal(harness_wait_closed(t.fd, HARNESS_REPLY_TIMEOUT_MS), 1);
    term_close(&t);
}

/* The 0x8103 after authentication carries the server's own figures; when they change for the
 * vehicle, the terminal gets them again. 0x0055 is the highest limit the server's overspeed
 * rule can apply to the vehicle anywhere (app/vehicle_thresholds.h), not its driver's zone's. */
struct params_seen {
    uint32_t max_speed, continuous, heartbeat;
    int n;
};

static void on_param(uint32_t id, const uint8_t *v, uint8_t vlen, void *arg)
{
    struct params_seen *p = arg;
    uint32_t x = 0;
    for (uint8_t i = 0; i < vlen; i++)
        x = x << 8 | v[i];
    p->n++;
    if (id == 0x0055)
        p->max_speed = x;
    else if (id == 0x0057)
        p->continuous = x;
    else if (id == 0x0001)
        p->heartbeat = x;
}

/* The next 0x8103 (answered with 0x0001 0); 0, or -1 when none came. */
static int wait_params(struct term *t, struct params_seen *p)
{
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX + 64];
    size_t len;
    while (term_recv(t, &h, body, &len) == 0) {
        if (h.msg_id != JT808P_SET_PARAMS)
            continue;
        memset(p, 0, sizeof(*p));
        assert_int_equal(jt808t_parse_params(body, len, on_param, p), 0);
        uint8_t b[8];
        size_t n = jt808t_general_reply(b, sizeof(b), h.serial, h.msg_id, 0);
        term_send(t, JT808T_GENERAL_REPLY, b, n);
        return 0;
    }
    return -1;
}

/* V2 (terminal TERMINAL2) is driven by S-H2. No expressway zone: 60, the road default. S-H2's
 * zone becomes ZS, an ordinary zone of 30 km/h: the terminal keeps 60 (it cannot follow where
 * the vehicle is, and 60 is legal outside ZS). An expressway zone ZE in the enterprise: 80
 * (V2 may drive on it), though S-H2's zone is ordinary -- with the driver's zone's limit the
 * first push would be 30. V2's own limit of 70: 70. */
static void test_thresholds_pushed_and_pushed_again(void **state)
{
    (void)state;
    struct term t;
    term_open(&t, TERMINAL2, JT808_2013);
    uint8_t body[64];
    size_t n = jt808t_auth(body, sizeof(body), "preset-code-0002");
    term_send(&t, JT808T_AUTH, body, n);
    struct params_seen p;
    assert_int_equal(wait_params(&t, &p), 0);
    assert_int_equal(p.n, 9);
    assert_int_equal(p.heartbeat, 30);
    assert_int_equal(p.max_speed, 60);        /* no expressway zone: the road default */
    assert_int_equal(p.continuous, 4 * 3600); /* 4 h */
    char resp[4096];
    assert_int_equal(http("POST", "/v1/zones",
                          "{\"id\":\"ZS\",\"enterprise_id\":\"E0\",\"name\":\"School\","
                          "\"speed_limit_kmh\":30,\"shape\":{\"type\":\"Polygon\","
                          "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"
                          "[119.6,49.3],[119.6,49.15]]]}}",
                          resp, sizeof(resp)),
                     201);
    assert_int_equal(http("PATCH", "/v1/staff/S-H2", "{\"zone_id\":\"ZS\"}", resp, sizeof(resp)),
                     200);
    assert_int_equal(http("POST", "/v1/zones",
                          "{\"id\":\"ZE\",\"enterprise_id\":\"E0\",\"name\":\"G10\","
                          "\"expressway\":true,\"shape\":{\"type\":\"Polygon\","
                          "\"coordinates\":[[[119.6,49.28],[119.9,49.28],[119.9,49.29],"
                          "[119.6,49.29],[119.6,49.28]]]}}",
                          resp, sizeof(resp)),
                     201);
    assert_int_equal(wait_params(&t, &p), 0); /* the first push after the zones */
    assert_int_equal(p.max_speed, 80);
    assert_int_equal(
        http("PATCH", "/v1/vehicles/V2", "{\"speed_limit_kmh\":70}", resp, sizeof(resp)), 200);
    assert_int_equal(wait_params(&t, &p), 0);
    assert_int_equal(p.max_speed, 70);
    term_close(&t);
}

/* 0x0702: the card is checked against the vehicle's person (here: none holds that certificate),
 * acknowledged once recorded, and the refusal raised as a driver_card alert. */
static void test_driver_card_checked(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    uint8_t body[256];
    size_t n;
    uint16_t s;
    struct jt808t_driver d = {.utc_s = (int64_t)time(NULL) - 2,
                              .name = "张三",
                              .certificate = "CERT-NOT-HIS-0001",
                              .issuer = "呼伦贝尔",
                              .expiry = "20301231"};
    n = jt808t_driver_body(body, sizeof(body), &d);
    assert_true(n > 0);
    s = term_send(&t, JT808T_DRIVER, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_DRIVER), 0);
    char resp[16384];
    assert_int_equal(http("GET", "/v1/alerts?vehicle_id=V2", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "driver_card"));
    term_close(&t);
}

/* The wiring of the sign-on: a handset login makes its person the driver of their vehicle; the
 * end of the session signs them off. */
static int vehicle_has(const char *vehicle, const char *needle)
{
    char path[64], resp[8192];
    snprintf(path, sizeof(path), "/v1/vehicles/%s", vehicle);
    return http("GET", path, NULL, resp, sizeof(resp)) == 200 && strstr(resp, needle) != NULL;
}

static void test_handset_login_signs_on_and_off(void **state)
{
    (void)state;
    int fd = wire_login(stack.d.handset_port, "H1", secret_h1);
    assert_true(fd >= 0);
    int on = 0;
    for (int i = 0; i < 500 && !on; i++) {
        on = vehicle_has("V1", "\"driver_via\":\"handset\"");
        if (!on)
            harness_sleep_ms(20);
    }
    assert_true(on);
    assert_true(vehicle_has("V1", "\"driver_id\":\"S-H1\""));
    harness_close(fd);
    int off = 0;
    for (int i = 0; i < 500 && !off; i++) {
        off = !vehicle_has("V1", "\"driver_id\":\"S-H1\"");
        if (!off)
            harness_sleep_ms(20);
    }
    assert_true(off);
}

/* A bulk import of zones that adds an expressway zone pushes the new figures too (one pass for
 * the whole file). V3 is of enterprise E3 (E0 has an expressway zone since the test above),
 * which has no zone yet: the road default first. */
static void test_thresholds_pushed_after_import(void **state)
{
    (void)state;
    char resp[4096];
    /* The writes start a pass of their own a second later: wait for it, so that the push below
     * can only come from the import's. */
    long long passes = metric("lpg_jt808_limits_passes_total");
    assert_int_equal(http("POST", "/v1/enterprises",
                          "{\"id\":\"E3\",\"name\":\"Gas 3\",\"area\":{\"type\":\"Polygon\","
                          "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"
                          "[119.6,49.3],[119.6,49.15]]]}}",
                          resp, sizeof(resp)),
                     201);
    assert_int_equal(http("POST", "/v1/vehicles",
                          "{\"id\":\"V3\",\"enterprise_id\":\"E3\",\"plate\":\"P-V3\","
                          "\"kind\":\"van\",\"capacity\":10}",
                          resp, sizeof(resp)),
                     201);
    assert_int_equal(http("POST", "/v1/terminals",
                          "{\"id\":\"13900000003\",\"vehicle_id\":\"V3\",\"protocol\":\"jt808\","
                          "\"auth_code\":\"preset-code-0003\"}",
                          resp, sizeof(resp)),
                     201);
    for (int i = 0; i < 750 && metric("lpg_jt808_limits_passes_total") <= passes; i++)
        harness_sleep_ms(20);
    assert_true(metric("lpg_jt808_limits_passes_total") > passes);
    struct term t;
    term_open(&t, "13900000003", JT808_2013);
    uint8_t body[64];
    size_t n = jt808t_auth(body, sizeof(body), "preset-code-0003");
    term_send(&t, JT808T_AUTH, body, n);
    struct params_seen p;
    assert_int_equal(wait_params(&t, &p), 0);
    assert_int_equal(p.max_speed, 60); /* no zone: the road default */
    int status = 0;
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "%sContent-Type: application/geo+json\r\n", auth_hdr);
    assert_int_equal(
        harness_http_req(stack.d.http_port, "POST", "/v1/import/zones?enterprise_id=E3", hdr,
                         "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                         "\"properties\":{\"id\":\"ZE2\",\"name\":\"G301\",\"expressway\":true},"
                         "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.16],"
                         "[119.9,49.16],[119.9,49.17],[119.6,49.17],[119.6,49.16]]]}}]}",
                         &status, resp, sizeof(resp)),
        0);
    assert_int_equal(status, 200);
    assert_int_equal(wait_params(&t, &p), 0);
    assert_int_equal(p.max_speed, 80);
    term_close(&t);
}

/* Guessing a terminal's code: after auth_max_failures (5) wrong codes the terminal is refused
 * untried for a while, even with the right code (the handset's login limits). */
static void test_code_guessing_throttled(void **state)
{
    (void)state;
    char resp[4096];
    assert_int_equal(http("POST", "/v1/vehicles",
                          "{\"id\":\"V4\",\"enterprise_id\":\"E0\",\"plate\":\"P-V4\","
                          "\"kind\":\"van\",\"capacity\":10}",
                          resp, sizeof(resp)),
                     201);
    assert_int_equal(http("POST", "/v1/terminals",
                          "{\"id\":\"13900000004\",\"vehicle_id\":\"V4\",\"protocol\":\"jt808\","
                          "\"auth_code\":\"authentication\"}",
                          resp, sizeof(resp)),
                     201);
    long long refused = metric("lpg_jt808_auth_refused_total");
    uint8_t body[64];
    for (int i = 0; i < 5; i++) {
        struct term t;
        term_open(&t, "13900000004", JT808_2013);
        char guess[32];
        snprintf(guess, sizeof(guess), "guess-%d", i);
        size_t n = jt808t_auth(body, sizeof(body), guess);
        uint16_t s = term_send(&t, JT808T_AUTH, body, n);
        assert_int_equal(term_wait_reply(&t, s, JT808T_AUTH), 1);
        assert_int_equal(harness_wait_closed(t.fd, HARNESS_REPLY_TIMEOUT_MS), 1);
        term_close(&t);
    }
    assert_int_equal(metric("lpg_jt808_auth_refused_total"), refused + 5);
    long long throttled = metric("lpg_jt808_auth_throttled_total");
    struct term t;
    term_open(&t, "13900000004", JT808_2013);
    size_t n = jt808t_auth(body, sizeof(body), "authentication");
    uint16_t s = term_send(&t, JT808T_AUTH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_AUTH), 1); /* the right code, untried */
    term_close(&t);
    assert_int_equal(metric("lpg_jt808_auth_throttled_total"), throttled + 1);
}

/* A 0x0704 with more reports than one batch may hold (position_batch_max is 3 here) is stored
 * whole, part after part, and answered once. */
static void test_batch_larger_than_a_batch(void **state)
{
    (void)state;
    struct term t;
    term_login(&t, TERMINAL2, JT808_2013, "preset-code-0002");
    uint8_t body[1024];
    size_t n;
    uint16_t s;
    int64_t now = (int64_t)time(NULL) - 600;
    struct jt808t_fix fx[8];
    for (int i = 0; i < 8; i++)
        fx[i] = fix_at(now + i, 20 + i);
    long long c0 = route_count("V2", now);
    n = jt808t_batch(body, sizeof(body), 1, fx, 8);
    s = term_send(&t, JT808T_BATCH, body, n);
    assert_int_equal(term_wait_reply(&t, s, JT808T_BATCH), 0);
    assert_int_equal(route_count("V2", now), c0 + 8);
    term_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_results),
        cmocka_unit_test(test_nothing_before_auth_and_wrong_code_closes),
        cmocka_unit_test(test_preset_code_position_and_retransmission),
        cmocka_unit_test(test_register_flow_2019_batch_and_backfill),
        cmocka_unit_test(test_framing_split_joined_and_garbage),
        cmocka_unit_test(test_subpackages),
        cmocka_unit_test(test_batch_larger_than_a_batch),
        cmocka_unit_test(test_sos_confirmed_and_alerted),
        cmocka_unit_test(test_thresholds_pushed_and_pushed_again),
        cmocka_unit_test(test_thresholds_pushed_after_import),
        cmocka_unit_test(test_code_guessing_throttled),
        cmocka_unit_test(test_driver_card_checked),
        cmocka_unit_test(test_handset_login_signs_on_and_off),
        cmocka_unit_test(test_resend_request_2019_short_number),
        cmocka_unit_test(test_number_without_digits_closes),
        cmocka_unit_test(test_delete_terminal_closes_session), /* last: removes TERMINAL2 */
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    harness_cleanup_all();
    return rc;
}
