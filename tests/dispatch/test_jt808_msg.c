/* test_jt808_msg.c -- dispatch/jt808/jt808_msg.c on real frames of public test suites
 * (tests/data/jt808/frames.txt names each frame's source and licence). Every frame goes the real
 * path: its wire form (re-escaped when the suite wrote it unescaped) through the deframer, whole
 * and byte by byte, then jt808_header_parse, then the body parser; the values checked were
 * worked out by hand from the hex. Then the cases no suite has, on bodies built here: the time
 * rules, negative altitude, GBK, refusals at every length, and the builders. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jt808/jt808_codec.h"
#include "jt808/jt808_msg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef JT808_FRAMES_FILE
#error "JT808_FRAMES_FILE: path of tests/data/jt808/frames.txt"
#endif

#define MAX_FRAMES 64

struct test_frame {
    char name[48];
    uint8_t wire[JT808_WIRE_MAX];
    size_t wire_len;
};

static struct test_frame frames[MAX_FRAMES];
static size_t n_frames;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The wire form of a frame the suite wrote unescaped: flags kept, everything between escaped. */
static size_t escape_frame(const uint8_t *raw, size_t n, uint8_t *out)
{
    size_t k = 0;
    out[k++] = raw[0];
    for (size_t i = 1; i + 1 < n; i++) {
        if (raw[i] == 0x7E || raw[i] == 0x7D) {
            out[k++] = 0x7D;
            out[k++] = raw[i] == 0x7E ? 0x02 : 0x01;
        } else {
            out[k++] = raw[i];
        }
    }
    out[k++] = raw[n - 1];
    return k;
}

static int load_frames(void **state)
{
    (void)state;
    FILE *f = fopen(JT808_FRAMES_FILE, "r");
    assert_non_null(f);
    static char line[8192];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char name[48], form[8];
        static char hex[8192];
        assert_int_equal(sscanf(line, "%47s %7s %8191s", name, form, hex), 3);
        assert_true(n_frames < MAX_FRAMES);
        struct test_frame *t = &frames[n_frames++];
        snprintf(t->name, sizeof(t->name), "%s", name);
        static uint8_t raw[JT808_WIRE_MAX];
        size_t n = strlen(hex) / 2;
        assert_true(n <= sizeof(raw));
        for (size_t i = 0; i < n; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            assert_true(hi >= 0 && lo >= 0);
            raw[i] = (uint8_t)(hi << 4 | lo);
        }
        assert_int_equal(raw[0], 0x7E);
        assert_int_equal(raw[n - 1], 0x7E);
        if (strcmp(form, "raw") == 0) {
            t->wire_len = escape_frame(raw, n, t->wire);
        } else {
            assert_string_equal(form, "wire");
            memcpy(t->wire, raw, n);
            t->wire_len = n;
        }
    }
    fclose(f);
    assert_true(n_frames > 30);
    return 0;
}

static const struct test_frame *frame_named(const char *name)
{
    for (size_t i = 0; i < n_frames; i++)
        if (strcmp(frames[i].name, name) == 0)
            return &frames[i];
    fail_msg("no frame %s in frames.txt", name);
    return NULL;
}

/* The unescaped frame the deframer hands out for a wire frame fed byte by byte, or NULL (with
 * *why) when it drops it. */
static const uint8_t *deframe_bytewise(struct jt808_deframer *d, const struct test_frame *t,
                                       size_t *len, const char **why)
{
    jt808_deframer_init(d);
    const uint8_t *got = NULL;
    *why = NULL;
    for (size_t i = 0; i < t->wire_len; i++) {
        size_t used;
        enum jt808_feed r = jt808_deframer_feed(d, t->wire + i, 1, &used);
        assert_int_equal(used, 1);
        if (r == JT808_FRAME)
            got = jt808_deframer_frame(d, len);
        else if (r == JT808_BAD)
            *why = jt808_deframer_error(d);
    }
    return got;
}

/* A frame through the real path: deframed whole and byte by byte to the same bytes, header
 * parsed. The body is copied to body (JT808_BODY_MAX). */
static void decode(const char *name, struct jt808_header *h, uint8_t *body, size_t *blen)
{
    const struct test_frame *t = frame_named(name);
    struct jt808_deframer d;
    jt808_deframer_init(&d);
    size_t used, flen;
    assert_int_equal(jt808_deframer_feed(&d, t->wire, t->wire_len, &used), JT808_FRAME);
    assert_int_equal(used, t->wire_len);
    static uint8_t whole[JT808_UNESCAPED_MAX];
    const uint8_t *f = jt808_deframer_frame(&d, &flen);
    memcpy(whole, f, flen);
    size_t flen2;
    const char *why;
    const uint8_t *f2 = deframe_bytewise(&d, t, &flen2, &why);
    assert_non_null(f2);
    assert_int_equal(flen2, flen);
    assert_memory_equal(f2, whole, flen);
    const uint8_t *b;
    if (jt808_header_parse(whole, flen, h, &b, blen, &why) != 0)
        fail_msg("%s: %s", name, why);
    memcpy(body, b, *blen);
}

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* ---- every frame of the file ---- */

/* Each frame is read whole or dropped for the reason we expect, and each one read has a header
 * whose declared length is the body's. */
static void every_frame_takes_the_real_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_frames; i++) {
        const struct test_frame *t = &frames[i];
        struct jt808_deframer d;
        size_t flen;
        const char *why;
        const uint8_t *f = deframe_bytewise(&d, t, &flen, &why);
        if (strcmp(t->name, "loc_items_traccar") == 0) {
            assert_null(f); /* wrong checksum (and length) as the suite has it: dropped */
            assert_string_equal(why, "checksum mismatch");
            continue;
        }
        if (!f)
            fail_msg("%s dropped: %s", t->name, why);
        struct jt808_header h;
        const uint8_t *b;
        size_t blen;
        int rc = jt808_header_parse(f, flen, &h, &b, &blen, &why);
        if (strcmp(t->name, "loc_items_fixed_checksum") == 0) {
            assert_int_equal(rc, -1); /* the declared length is still wrong: refused */
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", t->name, why);
        assert_int_equal(blen, h.body_len);
    }
}

/* ---- header traps on real frames ---- */

static void escaped_serial_and_checksum(void **state)
{
    (void)state;
    const struct test_frame *t = frame_named("loc_basic_escaped");
    /* serial 7E 85 on the wire as 7D 02 85; checksum 7D as 7D 01 before the end flag */
    assert_memory_equal(t->wire + 11, "\x7D\x02\x85", 3);
    assert_memory_equal(t->wire + t->wire_len - 3, "\x7D\x01\x7E", 3);
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    decode("loc_basic_escaped", &h, body, &blen);
    assert_int_equal(h.serial, 0x7E85);
    assert_string_equal(h.phone, "013833501744");
    struct jt808_location loc;
    const char *why;
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_near(loc.lat, 22.6426);
}

static void version_bit_is_a_guess(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    decode("batch2019_nobit", &h, body, &blen); /* 2019 layout, bit 14 clear */
    assert_int_equal(h.edition, JT808_2019);
    assert_int_equal(h.proto_version, 1);
    assert_string_equal(h.phone, "00000866496077582164");
    assert_int_equal(blen, 45);
    decode("loc_vendor_vbit", &h, body, &blen); /* 2013 layout, bit 14 set */
    assert_int_equal(h.edition, JT808_2013);
    assert_string_equal(h.phone, "013578888888");
    assert_int_equal(blen, 47);
}

static void non_bcd_terminals_are_hex(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    decode("batch_nonbcd_traccar", &h, body, &blen);
    assert_string_equal(h.phone, "4eb6fb4afd9e");
    decode("auth_nonbcd_traccar", &h, body, &blen);
    assert_string_equal(h.phone, "4f07788ef676");
}

/* Escapes in the other header positions: a 7D inside a (non-BCD) terminal number, a 7E as the
 * low byte of the body properties (a 126-byte body). */
static void escaped_phone_and_length(void **state)
{
    (void)state;
    const struct test_frame *t = frame_named("passthrough_7d_phone_traccar");
    assert_memory_equal(t->wire + 10, "\x7D\x01", 2);
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    decode("passthrough_7d_phone_traccar", &h, body, &blen);
    assert_int_equal(h.msg_id, 0x0900);
    assert_string_equal(h.phone, "4f07788ef87d");
    assert_int_equal(h.serial, 0x000C);
    assert_int_equal(blen, 31);

    t = frame_named("loc_len7e");
    assert_memory_equal(t->wire + 3, "\x00\x7D\x02", 3);
    decode("loc_len7e", &h, body, &blen);
    assert_int_equal(blen, 126);
    struct jt808_location loc;
    const char *why;
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.items, 8);
    assert_false(loc.tail_overrun);
    assert_near(loc.lat, -6.107478);
}

/* A real frame cut anywhere and followed by another real frame: the cut one never gets through
 * (the deframer drops it, or, when its prefix happens to end in a matching checksum, the header
 * parser refuses its length), and the next frame is read intact. */
static void truncated_real_frames_are_dropped(void **state)
{
    (void)state;
    /* batch_xtream cut after 37 wire bytes ends in a matching checksum by chance */
    const char *cuts[] = {"loc_south_traccar", "batch_xtream"};
    const struct test_frame *next = frame_named("hb_traccar");
    int by_checksum = 0, by_length = 0;
    for (size_t c = 0; c < 2; c++) {
        const struct test_frame *cut = frame_named(cuts[c]);
        for (size_t k = 1; k + 1 < cut->wire_len; k++) {
            static uint8_t stream[2 * JT808_WIRE_MAX];
            memcpy(stream, cut->wire, k);
            memcpy(stream + k, next->wire, next->wire_len);
            size_t len = k + next->wire_len;
            struct jt808_deframer d;
            jt808_deframer_init(&d);
            int good = 0;
            for (size_t at = 0; at < len;) {
                size_t used, flen, blen;
                enum jt808_feed r = jt808_deframer_feed(&d, stream + at, len - at, &used);
                at += used;
                if (r == JT808_BAD) {
                    by_checksum += strcmp(jt808_deframer_error(&d), "checksum mismatch") == 0;
                    continue;
                }
                if (r != JT808_FRAME)
                    continue;
                const uint8_t *f = jt808_deframer_frame(&d, &flen), *b;
                struct jt808_header h;
                const char *why;
                if (jt808_header_parse(f, flen, &h, &b, &blen, &why) != 0) {
                    by_length++;
                    continue;
                }
                assert_int_equal(h.msg_id, JT808_MSG_HEARTBEAT);
                assert_string_equal(h.phone, "043048325465");
                good++;
            }
            assert_int_equal(good, 1);
        }
    }
    assert_true(by_checksum > 100);
    assert_int_equal(by_length, 1);
}

/* ---- 0x0002, 0x0001 ---- */

static void heartbeat_and_terminal_reply(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    decode("hb_gojt", &h, body, &blen);
    assert_int_equal(h.msg_id, JT808_MSG_HEARTBEAT);
    assert_string_equal(h.phone, "012345678901");
    assert_int_equal(blen, 0);
    decode("hb_traccar", &h, body, &blen);
    assert_int_equal(h.msg_id, JT808_MSG_HEARTBEAT);
    assert_string_equal(h.phone, "043048325465");
    assert_int_equal(h.serial, 0x00B7);

    decode("reply_gojt", &h, body, &blen);
    assert_int_equal(h.msg_id, JT808_MSG_TERMINAL_REPLY);
    assert_int_equal(h.serial, 0x7FFF);
    struct jt808_reply r;
    const char *why;
    assert_int_equal(jt808_reply_parse(body, blen, &r, &why), 0);
    assert_int_equal(r.serial, 123);
    assert_int_equal(r.msg_id, 456);
    assert_int_equal(r.result, JT808_RESULT_UNSUPPORTED);
    assert_int_equal(jt808_reply_parse(body, 4, &r, &why), -1);
}

/* ---- 0x0100 ---- */

static void register_in_every_edition(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_register reg;
    const char *why;
    const char *names[] = {"reg2011_gojt", "reg2013_gojt", "reg2019_gojt"};
    const char *models[] = {"www.808.", "www.808.com", "www.808.com"};
    for (int i = 0; i < 3; i++) {
        decode(names[i], &h, body, &blen);
        assert_int_equal(h.msg_id, JT808_MSG_REGISTER);
        assert_int_equal(jt808_register_parse(body, blen, h.edition == JT808_2019, &reg, &why), 0);
        assert_int_equal(reg.edition_2011, i == 0);
        assert_int_equal(reg.edition_2019, i == 2);
        assert_int_equal(reg.province, 31);
        assert_int_equal(reg.city, 115);
        assert_string_equal(reg.maker, "cd");
        assert_string_equal(reg.model, models[i]);
        assert_string_equal(reg.terminal_id, "7654321");
        assert_int_equal(reg.plate_color, 1);
        assert_string_equal(reg.plate, "测A1234"); /* B2 E2 in GBK */
    }
    assert_string_equal(h.phone, "00000000017299841738");

    decode("reg2013_traccar", &h, body, &blen);
    assert_int_equal(jt808_register_parse(body, blen, 0, &reg, &why), 0);
    assert_false(reg.edition_2011);
    assert_string_equal(reg.maker, "70107");
    assert_string_equal(reg.model, "HB-R03GBD");
    assert_string_equal(reg.terminal_id, "2366104");
    assert_int_equal(reg.plate_color, 2);
    assert_string_equal(reg.plate, "苏BA6860"); /* CB D5 */

    decode("reg2011_traccar", &h, body, &blen);
    assert_int_equal(jt808_register_parse(body, blen, 0, &reg, &why), 0);
    assert_true(reg.edition_2011);
    assert_int_equal(reg.province, 44);
    assert_int_equal(reg.city, 303);
    assert_string_equal(reg.maker, "70111");
    assert_string_equal(reg.model, "BSJ-M7B");  /* trailing space dropped */
    assert_string_equal(reg.terminal_id, "");   /* "0000000": all of it is '0' padding */
    assert_string_equal(reg.plate, "粤B88888"); /* D4 C1 */

    decode("reg2019_traccar", &h, body, &blen);
    assert_int_equal(jt808_register_parse(body, blen, 1, &reg, &why), 0);
    assert_true(reg.edition_2019);
    assert_string_equal(reg.maker, "");
    assert_string_equal(reg.model, "MD300");
    assert_string_equal(reg.terminal_id, "866496077582164");
    assert_int_equal(reg.plate_color, 4);
    assert_string_equal(reg.plate, "");

    /* 25 bytes: the 2011 layout with no plate; binary bytes in the id become '?' */
    decode("reg_short_traccar", &h, body, &blen);
    assert_int_equal(jt808_register_parse(body, blen, 0, &reg, &why), 0);
    assert_true(reg.edition_2011);
    assert_string_equal(reg.terminal_id, "?@'??p");
    assert_string_equal(reg.plate, "");
    assert_int_equal(jt808_register_parse(body, 24, 0, &reg, &why), -1);

    /* A 2019 header over a 2013 body is read as 2013 (the length decides). */
    decode("reg2013_gojt", &h, body, &blen);
    assert_int_equal(jt808_register_parse(body, blen, 1, &reg, &why), 0);
    assert_false(reg.edition_2019);
    assert_string_equal(reg.model, "www.808.com");

    /* A plate that is not GBK is refused (its match decides the answer). */
    body[blen - 1] = 0xFF;
    body[blen - 2] = 0x81;
    body[blen - 3] = 0xFF;
    assert_int_equal(jt808_register_parse(body, blen, 0, &reg, &why), -1);
    assert_string_equal(why, "plate is not GBK or too long");
}

/* ---- 0x0102 ---- */

static void auth_in_both_layouts(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_auth a;
    const char *why;
    decode("auth2013_smallchi", &h, body, &blen);
    assert_int_equal(h.serial, 12345);
    assert_string_equal(h.phone, "012345678900");
    assert_int_equal(jt808_auth_parse(body, blen, 0, &a, &why), 0);
    assert_string_equal(a.code, "456121111");
    assert_int_equal(a.code_len, 9);
    assert_false(a.edition_2019);

    decode("auth2013_gojt", &h, body, &blen);
    assert_int_equal(jt808_auth_parse(body, blen, 0, &a, &why), 0);
    assert_string_equal(a.code, "17299841738");

    decode("auth2019_gojt", &h, body, &blen);
    assert_int_equal(h.edition, JT808_2019);
    assert_int_equal(jt808_auth_parse(body, blen, 1, &a, &why), 0);
    assert_true(a.edition_2019);
    assert_string_equal(a.code, "17299841738");
    assert_int_equal(a.code_len, 11);
    assert_string_equal(a.imei, "123456789012345");
    assert_string_equal(a.software, "3.7.15");
    /* the same body under a 2013 header: the lengths decide */
    assert_int_equal(jt808_auth_parse(body, blen, 0, &a, &why), 0);
    assert_true(a.edition_2019);

    decode("auth_traccar", &h, body, &blen);
    assert_int_equal(jt808_auth_parse(body, blen, 0, &a, &why), 0);
    assert_string_equal(a.code, "authentication"); /* parsed; the session decides it is wrong */

    decode("auth_nonbcd_traccar", &h, body, &blen);
    assert_int_equal(jt808_auth_parse(body, blen, 0, &a, &why), 0);
    assert_int_equal(a.code_len, 32);
    assert_string_equal(a.code, "ODY4OTM1MDYwMDA1MDIwbmV3U25SdWxl");
    /* a 2013 body under a 2019 header: whole body, since its first byte is no length of it */
    assert_int_equal(jt808_auth_parse(body, blen, 1, &a, &why), 0);
    assert_false(a.edition_2019);
    assert_int_equal(a.code_len, 32);

    assert_int_equal(jt808_auth_parse(body, 0, 0, &a, &why), -1);
    uint8_t big[129];
    memset(big, 'x', sizeof(big));
    assert_int_equal(jt808_auth_parse(big, 128, 0, &a, &why), 0);
    assert_int_equal(jt808_auth_parse(big, 129, 0, &a, &why), -1);
    /* 2019 with an empty code is refused */
    uint8_t e[36] = {0};
    assert_int_equal(jt808_auth_parse(e, sizeof(e), 1, &a, &why), -1);
}

/* ---- 0x0200 ---- */

/* go-jt808: 2024-10-01 23:59:59 GMT+8, lat 119.552894 as sent (no hemisphere bits), a 7E in the
 * latitude that was escaped on the wire. */
static void location_base(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_location loc;
    const char *why;
    decode("loc_gojt", &h, body, &blen);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.alarm, 1u << 10);
    assert_int_equal(loc.status, 1u << 11);
    assert_near(loc.lat, 119.552894);
    assert_near(loc.lon, 40.058359);
    assert_int_equal(loc.altitude_m, 312);
    assert_near(loc.speed_kmh, 0.3);
    assert_int_equal(loc.direction, 99);
    assert_true(loc.time_valid);
    assert_int_equal(loc.time_ms, 1727798399000); /* 2024-10-01T15:59:59Z */
    assert_int_equal(loc.items, 0);
    assert_false(loc.tail_overrun);
    assert_int_equal(jt808_location_parse(body, 27, &loc, &why), -1);
}

static void location_items_and_vendor_items(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_location loc;
    const char *why;
    decode("loc_basic_traccar", &h, body, &blen);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.status, 0xC2); /* fixed, bits 6 and 7 */
    assert_true(loc.status & JT808_STATUS_FIXED);
    assert_near(loc.lat, 22.6426);
    assert_near(loc.lon, 114.032984);
    assert_int_equal(loc.altitude_m, 128);
    assert_int_equal(loc.direction, 8);
    assert_int_equal(loc.time_ms, 1439853681000); /* 2015-08-18 07:21:21 GMT+8 */
    assert_int_equal(loc.items, 3);
    assert_int_equal(loc.present, JT808_LOC_MILEAGE | JT808_LOC_FUEL | JT808_LOC_RECORDER_SPEED);
    assert_int_equal(loc.mileage_100m, 0x2F5); /* 75.7 km */
    assert_int_equal(loc.fuel_dl, 0);

    decode("loc_vendor_traccar", &h, body, &blen); /* 0xEB of length 7 */
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.items, 3);
    assert_int_equal(loc.items_bad, 0);
    assert_false(loc.tail_overrun);
    assert_int_equal(loc.present, JT808_LOC_MILEAGE | JT808_LOC_RECORDER_SPEED);
    assert_int_equal(loc.altitude_m, 547);

    decode("loc_sw_traccar", &h, body, &blen);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.items, 10);
    assert_int_equal(loc.present, JT808_LOC_SIGNAL | JT808_LOC_SATELLITES);
    assert_int_equal(loc.signal, 0x1D);
    assert_int_equal(loc.satellites, 12);
    assert_near(loc.speed_kmh, 1.8);

    decode("loc_7d_traccar", &h, body, &blen); /* literal 7D bytes inside a vendor item */
    assert_int_equal(blen, 130);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_int_equal(loc.items, 6);
    assert_false(loc.tail_overrun);
    assert_int_equal(loc.mileage_100m, 0x56);
    assert_int_equal(loc.satellites, 26);
}

/* The hemisphere comes from the status bits: Jakarta (S), Asuncion (S, W), Brisbane (S). */
static void hemispheres_from_status_bits(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_location loc;
    const char *why;
    decode("loc_south_traccar", &h, body, &blen);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_near(loc.lat, -6.107478);
    assert_near(loc.lon, 106.918184);
    assert_int_equal(loc.items, 7); /* vendor items of lengths 11, 8, 2, 1, 1, 15, 20 */
    decode("loc_sw_traccar", &h, body, &blen);
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_near(loc.lat, -25.269608);
    assert_near(loc.lon, -57.602956);
    assert_int_equal(loc.time_ms, 1763436371000); /* 2025-11-18 11:26:11 GMT+8 */
}

/* A zero-padded tail whose last "item" claims 0x78 bytes: the base and the items before it are
 * kept, the overrun flagged. */
static void a_tail_that_overruns_keeps_the_base(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_location loc;
    const char *why;
    decode("loc_overrun_traccar", &h, body, &blen);
    assert_string_equal(h.phone, "202000129707");
    assert_int_equal(jt808_location_parse(body, blen, &loc, &why), 0);
    assert_true(loc.tail_overrun);
    assert_int_equal(loc.items, 4);
    assert_near(loc.lat, -27.455656);
    assert_near(loc.lon, 153.029616);
    assert_int_equal(loc.direction, 237);
    assert_int_equal(loc.time_ms, 1604344653000); /* 2020-11-03 03:17:33 GMT+8 */
    /* a lone id byte at the end is an overrun too */
    assert_int_equal(jt808_location_parse(body, 29, &loc, &why), 0);
    assert_true(loc.tail_overrun);
    assert_int_equal(loc.items, 0);
}

/* Built on a real base: altitude below sea level, direction out of range, a known id with the
 * wrong length, bad times. */
static void location_traps(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_location loc;
    const char *why;
    decode("loc_gojt", &h, body, &blen);
    body[16] = 0xFF, body[17] = 0xF6; /* altitude -10 m */
    body[20] = 0x01, body[21] = 0x68; /* direction 360 */
    uint8_t items[] = {0x30, 0x02, 0x11, 0x22, 0x31, 0x01, 0x07, 0x01, 0x02, 0x00, 0x01};
    memcpy(body + 28, items, sizeof(items));
    assert_int_equal(jt808_location_parse(body, 28 + sizeof(items), &loc, &why), 0);
    assert_int_equal(loc.altitude_m, -10);
    assert_int_equal(loc.direction, 360);
    assert_true(loc.direction_bad);
    assert_int_equal(loc.items, 3);
    assert_int_equal(loc.items_bad, 2); /* 0x30 of length 2, 0x01 of length 2 */
    assert_int_equal(loc.present, JT808_LOC_SATELLITES);
    assert_int_equal(loc.satellites, 7);

    /* time: not BCD, month 13, 30 February, year 2099 accepted */
    body[22] = 0x2A;
    assert_int_equal(jt808_location_parse(body, 28, &loc, &why), 0);
    assert_false(loc.time_valid);
    assert_int_equal(loc.time_ms, 0);
    const uint8_t bad[][6] = {{0x24, 0x13, 0x01, 0, 0, 0},    {0x24, 0x02, 0x30, 0, 0, 0},
                              {0x23, 0x02, 0x29, 0, 0, 0},    {0x24, 0x01, 0x01, 0x24, 0, 0},
                              {0x24, 0x01, 0x01, 0, 0x60, 0}, {0x24, 0x01, 0x00, 0, 0, 0}};
    int64_t ms;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(jt808_bcd_time_to_utc_ms(bad[i], &ms), -1);
    const uint8_t leap[6] = {0x24, 0x02, 0x29, 0x08, 0x00, 0x00};
    assert_int_equal(jt808_bcd_time_to_utc_ms(leap, &ms), 0);
    assert_int_equal(ms, 1709164800000); /* 2024-02-29T00:00:00Z */
    const uint8_t first[6] = {0x00, 0x01, 0x01, 0x07, 0x59, 0x59};
    assert_int_equal(jt808_bcd_time_to_utc_ms(first, &ms), 0);
    assert_int_equal(ms, 946684799000); /* 1999-12-31T23:59:59Z */
}

/* ---- 0x0704 ---- */

static int batch_all(const uint8_t *body, size_t blen, struct jt808_batch_iter *it,
                     struct jt808_location *locs, size_t cap, int *bad, int *last)
{
    const char *why;
    assert_int_equal(jt808_batch_begin(body, blen, it, &why), 0);
    int n = 0;
    *bad = 0;
    int r, item_bad;
    while ((r = jt808_batch_next(it, &locs[n < (int)cap ? n : (int)cap - 1], &item_bad)) == 1) {
        *bad += item_bad;
        n++;
    }
    *last = r;
    return n;
}

static void batches_of_both_types(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_batch_iter it;
    struct jt808_location locs[8];
    int bad, last;

    decode("batch0_gojt", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 2);
    assert_int_equal(it.type, 0);
    assert_int_equal(last, 0);
    assert_int_equal(bad, 0);
    assert_near(locs[1].lat, 119.552894); /* 7E escaped inside an item */
    assert_int_equal(locs[1].time_ms, 1727798399000);

    decode("batch_xtream", &h, body, &blen);
    assert_int_equal(h.edition, JT808_2019);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 2);
    assert_int_equal(it.type, 0);
    assert_near(locs[0].lat, 31.000562);
    assert_near(locs[0].lon, 121.451372);
    assert_int_equal(locs[0].altitude_m, 666);
    assert_near(locs[0].speed_kmh, 3.3);
    assert_int_equal(locs[1].altitude_m, 777);
    assert_int_equal(locs[1].direction, 90);
    assert_int_equal(locs[1].time_ms, 1730209143000); /* 2024-10-29 21:39:03 GMT+8 */

    decode("batch1_traccar", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 8);
    assert_int_equal(it.type, 1); /* blind-area backfill */
    assert_int_equal(last, 0);
    assert_near(locs[0].lat, 22.639634);
    assert_int_equal(locs[0].time_ms, 1464311184000); /* 2016-05-27 09:06:24 GMT+8 */
    assert_near(locs[7].lat, 22.64055);
    assert_int_equal(locs[7].mileage_100m, 0x1D);
    assert_int_equal(locs[7].time_ms, 1464311402000);

    decode("batch1b_traccar", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 4);
    assert_int_equal(it.type, 1);
    assert_int_equal(locs[3].alarm, 1u << 8); /* main power off */
    assert_int_equal(locs[3].items, 2);

    decode("batch_nonbcd_traccar", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 6);
    assert_int_equal(locs[5].satellites, 11);
    assert_int_equal(locs[5].direction, 221);
    assert_int_equal(locs[5].status & (JT808_STATUS_GPS | JT808_STATUS_BEIDOU),
                     JT808_STATUS_GPS | JT808_STATUS_BEIDOU);

    decode("batch2019_traccar", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 1);
    assert_near(locs[0].lat, -27.263378); /* status 7: fixed, south */
    assert_int_equal(locs[0].mileage_100m, 0x2582);
    assert_int_equal(locs[0].satellites, 14);
}

/* go-jt808's coverage frame: the third item holds 0x02 of length 1 and a lone id byte. */
static void batch_item_traps(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_batch_iter it;
    struct jt808_location locs[8];
    int bad, last;
    decode("batch_overrun_gojt", &h, body, &blen);
    assert_int_equal(batch_all(body, blen, &it, locs, 8, &bad, &last), 3);
    assert_int_equal(last, 0);
    assert_int_equal(locs[2].items, 1);
    assert_int_equal(locs[2].items_bad, 1);
    assert_true(locs[2].tail_overrun);
    assert_near(locs[2].lat, 116.307629);

    /* an item length that overruns the body: the items before it stay, then -1 */
    assert_int_equal(batch_all(body, blen - 1, &it, locs, 8, &bad, &last), 2);
    assert_int_equal(last, -1);
    /* an item shorter than the base is skipped with item_bad, the next one read */
    uint8_t b2[3 + 2 + 4 + 2 + 28] = {0x00, 0x02, 0x00, 0x00, 0x04, 1, 2, 3, 4, 0x00, 28};
    memcpy(b2 + 11, body + 5, 28);
    assert_int_equal(batch_all(b2, sizeof(b2), &it, locs, 8, &bad, &last), 2);
    assert_int_equal(bad, 1);
    assert_near(locs[1].lat, 116.307629);
    /* the count caps the items; a body ending early ends the batch */
    b2[1] = 1;
    assert_int_equal(batch_all(b2, sizeof(b2), &it, locs, 8, &bad, &last), 1);
    b2[1] = 9;
    assert_int_equal(batch_all(b2, sizeof(b2), &it, locs, 8, &bad, &last), 2);
    assert_int_equal(last, 0);
    assert_int_equal(batch_all(b2, 10, &it, locs, 8, &bad, &last), 1);
    assert_int_equal(last, -1); /* a length word cut in half */
    const char *why;
    assert_int_equal(jt808_batch_begin(b2, 2, &it, &why), -1);
}

/* ---- 0x0702 ---- */

static void driver_cards(void **state)
{
    (void)state;
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    struct jt808_driver d;
    const char *why;
    decode("driver_traccar", &h, body, &blen);
    assert_int_equal(jt808_driver_parse(body, blen, 0, &d, &why), 0);
    assert_int_equal(d.status, 1);
    assert_true(d.time_valid);
    assert_int_equal(d.time_ms, 1759993671000); /* 2025-10-09 15:07:51 GMT+8 */
    assert_int_equal(d.read_result, 0);
    assert_string_equal(d.name, "");
    assert_string_equal(d.certificate, "0029b885");
    assert_string_equal(d.issuer, "");
    assert_int_equal(d.expiry_day, -1); /* 00000000 */
    assert_false(d.layout_2011);

    decode("driver2013_smallchi", &h, body, &blen);
    assert_int_equal(jt808_driver_parse(body, blen, 0, &d, &why), 0);
    assert_int_equal(d.time_ms, 1534382176000); /* 2018-08-16 09:16:16 GMT+8 */
    assert_string_equal(d.name, "koike");
    assert_string_equal(d.certificate, "qwe123456aaa");
    assert_string_equal(d.issuer, "qwertx");
    assert_int_equal(d.expiry_day, 17759); /* 2018-08-16 */
    assert_string_equal(d.id_card, "");

    decode("driver2019_smallchi", &h, body, &blen);
    assert_int_equal(jt808_driver_parse(body, blen, 1, &d, &why), 0);
    assert_string_equal(d.certificate, "qwe123456aaa"); /* NUL left padding */
    assert_string_equal(d.id_card, "12345678901234567");
    assert_int_equal(d.expiry_day, 18775); /* 2021-05-28 */

    decode("driver_removed_smallchi", &h, body, &blen);
    assert_int_equal(jt808_driver_parse(body, blen, 0, &d, &why), 0);
    assert_int_equal(d.status, 2);
    assert_int_equal(d.expiry_day, -1);

    /* read failure: nothing follows */
    uint8_t fail[8] = {0x01, 0x18, 0x08, 0x16, 0x09, 0x16, 0x16, 0x02};
    assert_int_equal(jt808_driver_parse(fail, 8, 0, &d, &why), 0);
    assert_int_equal(d.read_result, 2);
    assert_int_equal(jt808_driver_parse(fail, 7, 0, &d, &why), -1);

    /* every truncation of the 2013 card is refused, none read past the body */
    decode("driver2013_smallchi", &h, body, &blen);
    for (size_t n = 8; n < blen; n++) {
        uint8_t *copy = malloc(n); /* exact size: ASan sees any read past it */
        memcpy(copy, body, n);
        assert_int_equal(jt808_driver_parse(copy, n, 0, &d, &why), -1);
        free(copy);
    }

    /* 2011: name len, name (GBK), ID card [20], certificate [40], issuer len, issuer */
    uint8_t b11[1 + 4 + 20 + 40 + 1 + 4] = {4, 0xD5, 0xC5, 0xC8, 0xFD};
    memcpy(b11 + 5, "110101199001011234", 18);
    memcpy(b11 + 25, "CERT-42", 7);
    b11[65] = 4;
    memcpy(b11 + 66, "\xB1\xB1\xBE\xA9", 4);
    assert_int_equal(jt808_driver_parse(b11, sizeof(b11), 0, &d, &why), 0);
    assert_true(d.layout_2011);
    assert_int_equal(d.status, 0);
    assert_string_equal(d.name, "张三");
    assert_string_equal(d.id_card, "110101199001011234");
    assert_string_equal(d.certificate, "CERT-42");
    assert_string_equal(d.issuer, "北京");
    assert_false(d.text_bad);
    assert_int_equal(jt808_driver_parse(b11, sizeof(b11) - 1, 0, &d, &why), -1);
    b11[1] = 0xFF, b11[2] = 0x20; /* not GBK: kept empty, flagged */
    assert_int_equal(jt808_driver_parse(b11, sizeof(b11), 0, &d, &why), 0);
    assert_true(d.text_bad);
    assert_string_equal(d.name, "");
}

/* ---- builders and helpers ---- */

static void builders(void **state)
{
    (void)state;
    uint8_t out[64];
    /* go-jt808's 0x8001 body: serial 0x7FFF, id 2, result 0 */
    assert_int_equal(jt808_build_platform_reply(0x7FFF, 0x0002, 0, out, sizeof(out)), 5);
    assert_memory_equal(out, "\x7F\xFF\x00\x02\x00", 5);
    assert_int_equal(jt808_build_platform_reply(1, 2, 0, out, 4), 0);

    /* go-jt808's 0x8100 body: serial 0, result 0, code 12345678901 */
    assert_int_equal(jt808_build_register_reply(0, 0, "12345678901", out, sizeof(out)), 14);
    assert_memory_equal(out,
                        "\x00\x00\x00"
                        "12345678901",
                        14);
    assert_int_equal(jt808_build_register_reply(7, JT808_REG_TERMINAL_UNKNOWN, "x", out, 64), 3);
    assert_memory_equal(out, "\x00\x07\x04", 3);
    assert_int_equal(jt808_build_register_reply(7, 0, "", out, 64), 0);
    assert_int_equal(jt808_build_register_reply(7, 0, "12345", out, 7), 0);

    const struct jt808_param p[] = {{0x0055, 4, 80}, {0x005B, 2, 50}, {0x0001, 1, 30}};
    assert_int_equal(jt808_build_set_params(p, 3, out, sizeof(out)), 1 + 9 + 7 + 6);
    assert_memory_equal(out,
                        "\x03"
                        "\x00\x00\x00\x55\x04\x00\x00\x00\x50"
                        "\x00\x00\x00\x5B\x02\x00\x32"
                        "\x00\x00\x00\x01\x01\x1E",
                        23);
    assert_int_equal(jt808_build_set_params(p, 3, out, 22), 0);
    const struct jt808_param bad = {0x0055, 3, 80};
    assert_int_equal(jt808_build_set_params(&bad, 1, out, sizeof(out)), 0);
    assert_int_equal(jt808_build_set_params(p, 0, out, sizeof(out)), 0);

    const uint16_t idx[] = {2, 5};
    assert_int_equal(jt808_build_resend_request(0x1234, idx, 2, 0, out, sizeof(out)), 7);
    assert_memory_equal(out, "\x12\x34\x02\x00\x02\x00\x05", 7);
    assert_int_equal(jt808_build_resend_request(0x1234, idx, 2, 1, out, sizeof(out)), 8);
    assert_memory_equal(out, "\x12\x34\x00\x02\x00\x02\x00\x05", 8);
    assert_int_equal(jt808_build_resend_request(0x1234, idx, 2, 1, out, 7), 0);
    assert_int_equal(jt808_build_resend_request(0x1234, idx, 0, 1, out, sizeof(out)), 0);

    char u[16];
    assert_int_equal(jt808_gbk_to_utf8((const uint8_t *)"\xB2\xE2", 2, u, sizeof(u)), 3);
    assert_string_equal(u, "测");
    assert_int_equal(jt808_gbk_to_utf8((const uint8_t *)"\xB2\xE2", 2, u, 3), -1); /* no room */
    assert_int_equal(jt808_gbk_to_utf8((const uint8_t *)"\xB2", 1, u, sizeof(u)), -1);
    assert_int_equal(jt808_gbk_to_utf8((const uint8_t *)"AB", 2, u, 3), 2);
    assert_int_equal(jt808_gbk_to_utf8((const uint8_t *)"AB", 2, u, 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_frame_takes_the_real_path),
        cmocka_unit_test(escaped_serial_and_checksum),
        cmocka_unit_test(version_bit_is_a_guess),
        cmocka_unit_test(non_bcd_terminals_are_hex),
        cmocka_unit_test(escaped_phone_and_length),
        cmocka_unit_test(truncated_real_frames_are_dropped),
        cmocka_unit_test(heartbeat_and_terminal_reply),
        cmocka_unit_test(register_in_every_edition),
        cmocka_unit_test(auth_in_both_layouts),
        cmocka_unit_test(location_base),
        cmocka_unit_test(location_items_and_vendor_items),
        cmocka_unit_test(hemispheres_from_status_bits),
        cmocka_unit_test(a_tail_that_overruns_keeps_the_base),
        cmocka_unit_test(location_traps),
        cmocka_unit_test(batches_of_both_types),
        cmocka_unit_test(batch_item_traps),
        cmocka_unit_test(driver_cards),
        cmocka_unit_test(builders),
    };
    return cmocka_run_group_tests(tests, load_frames, NULL);
}
