/* test_jt808_codec.c -- dispatch/jt808/jt808_codec.c: frames built and read back in both header
 * layouts; escaping (a body and a checksum that are 0x7E/0x7D); several frames per read, a frame
 * byte by byte, garbage and `7E 7E`; bad escapes, checksums and lengths dropped without losing
 * the next frame; the header layout told by length, not by the version bit alone; a non-BCD
 * terminal number read as hex. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jt808/jt808_codec.h"

#include <stdio.h>
#include <string.h>

/* Builds a frame of msg_id with body into out; returns its length. */
static size_t build(enum jt808_edition e, uint16_t msg_id, const char *phone, uint16_t serial,
                    const uint8_t *body, size_t body_len, uint8_t *out)
{
    struct jt808_header h = {.msg_id = msg_id, .edition = e, .serial = serial};
    h.proto_version = e == JT808_2019 ? 1 : 0;
    snprintf(h.phone, sizeof(h.phone), "%s", phone);
    size_t n = jt808_frame_build(&h, body, body_len, out, JT808_WIRE_MAX);
    assert_true(n > 0);
    return n;
}

/* Feeds all of data; returns the number of frames and of drops; the last frame's header. */
static void feed_all(struct jt808_deframer *d, const uint8_t *data, size_t len, size_t chunk,
                     int *frames, int *bad, struct jt808_header *last, uint8_t *last_body,
                     size_t *last_body_len)
{
    *frames = *bad = 0;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t at = 0;
        while (at < n) {
            size_t used;
            enum jt808_feed r = jt808_deframer_feed(d, data + off + at, n - at, &used);
            at += used;
            if (r == JT808_FRAME) {
                size_t flen;
                const uint8_t *f = jt808_deframer_frame(d, &flen);
                const uint8_t *body;
                size_t blen;
                const char *why;
                assert_int_equal(jt808_header_parse(f, flen, last, &body, &blen, &why), 0);
                memcpy(last_body, body, blen);
                *last_body_len = blen;
                (*frames)++;
            } else if (r == JT808_BAD) {
                (*bad)++;
            }
        }
        off += n;
    }
}

static void a_heartbeat_2013_reads_back(void **state)
{
    (void)state;
    uint8_t wire[JT808_WIRE_MAX];
    size_t n = build(JT808_2013, 0x0002, "13912345678", 7, NULL, 0, wire);
    /* 7E | 0002 0000 013912345678 0007 | checksum | 7E */
    assert_int_equal(n, 1 + 12 + 1 + 1);
    const uint8_t head[] = {0x7E, 0x00, 0x02, 0x00, 0x00, 0x01, 0x39,
                            0x12, 0x34, 0x56, 0x78, 0x00, 0x07};
    assert_memory_equal(wire, head, sizeof(head));
    uint8_t x = 0;
    for (size_t i = 1; i < 13; i++)
        x ^= wire[i];
    assert_int_equal(wire[13], x);

    struct jt808_deframer d;
    jt808_deframer_init(&d);
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t blen;
    int frames, bad;
    feed_all(&d, wire, n, n, &frames, &bad, &h, body, &blen);
    assert_int_equal(frames, 1);
    assert_int_equal(bad, 0);
    assert_int_equal(h.msg_id, 0x0002);
    assert_int_equal(h.edition, JT808_2013);
    assert_string_equal(h.phone, "013912345678");
    assert_int_equal(h.serial, 7);
    assert_int_equal(blen, 0);
}

static void a_2019_location_with_escapes_reads_back(void **state)
{
    (void)state;
    uint8_t body[40];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i % 3 == 0 ? 0x7E : i % 3 == 1 ? 0x7D : i);
    uint8_t wire[JT808_WIRE_MAX];
    size_t n = build(JT808_2019, 0x0200, "12345678901234567890", 0xFFFF, body, sizeof(body), wire);
    for (size_t i = 1; i + 1 < n; i++)
        assert_int_not_equal(wire[i], 0x7E); /* only the flags are 0x7E on the wire */

    struct jt808_deframer d;
    jt808_deframer_init(&d);
    struct jt808_header h;
    uint8_t got[JT808_BODY_MAX];
    size_t blen;
    int frames, bad;
    feed_all(&d, wire, n, 1, &frames, &bad, &h, got, &blen); /* byte by byte */
    assert_int_equal(frames, 1);
    assert_int_equal(h.edition, JT808_2019);
    assert_int_equal(h.proto_version, 1);
    assert_string_equal(h.phone, "12345678901234567890");
    assert_int_equal(h.serial, 0xFFFF);
    assert_int_equal(blen, sizeof(body));
    assert_memory_equal(got, body, sizeof(body));
}

/* A checksum that is itself 0x7E or 0x7D is escaped: the frame ends `7D 02 7E`. */
static void an_escaped_checksum_reads_back(void **state)
{
    (void)state;
    int seen_7e = 0, seen_7d = 0;
    for (unsigned b = 0; b < 256 && !(seen_7e && seen_7d); b++) {
        uint8_t body[1] = {(uint8_t)b};
        uint8_t wire[JT808_WIRE_MAX];
        size_t n = build(JT808_2013, 0x0200, "1", 1, body, 1, wire);
        int esc7e = wire[n - 3] == 0x7D && wire[n - 2] == 0x02;
        int esc7d = wire[n - 3] == 0x7D && wire[n - 2] == 0x01;
        if (!esc7e && !esc7d)
            continue;
        seen_7e |= esc7e;
        seen_7d |= esc7d;
        struct jt808_deframer d;
        jt808_deframer_init(&d);
        struct jt808_header h;
        uint8_t got[JT808_BODY_MAX];
        size_t blen;
        int frames, bad;
        feed_all(&d, wire, n, n, &frames, &bad, &h, got, &blen);
        assert_int_equal(frames, 1);
        assert_int_equal(got[0], b);
    }
    assert_true(seen_7e && seen_7d);
}

/* Garbage, then three frames in one read separated by `7E 7E` and by a shared flag, then one
 * split across reads: every frame, nothing dropped, the garbage counted. */
static void frames_in_any_chunking(void **state)
{
    (void)state;
    uint8_t stream[4 * JT808_WIRE_MAX + 16];
    size_t len = 0;
    memcpy(stream, "\x01\x02garbage", 9);
    len = 9;
    for (int i = 0; i < 4; i++) {
        uint8_t b[3] = {(uint8_t)i, 0x7E, 0x7D};
        len += build(i % 2 ? JT808_2019 : JT808_2013, 0x0200, "13800000000", (uint16_t)i, b, 3,
                     stream + len);
        if (i == 2)
            len--; /* the last two frames share one flag: `... 7E ...` */
    }
    for (size_t chunk = 1; chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 3) {
        struct jt808_deframer d;
        jt808_deframer_init(&d);
        struct jt808_header h;
        uint8_t got[JT808_BODY_MAX];
        size_t blen;
        int frames, bad;
        feed_all(&d, stream, len, chunk, &frames, &bad, &h, got, &blen);
        assert_int_equal(frames, 4);
        assert_int_equal(bad, 0);
        assert_int_equal(h.serial, 3);
        assert_int_equal(got[0], 3);
        assert_int_equal(d.skipped_bytes, 9);
    }
}

/* A bad escape, a bad checksum, a frame too short and one too long are each dropped, and the
 * frame after each is read. */
static void bad_frames_are_dropped_and_the_next_is_read(void **state)
{
    (void)state;
    uint8_t good[JT808_WIRE_MAX];
    size_t gn = build(JT808_2013, 0x0002, "13800000000", 9, NULL, 0, good);
    static uint8_t stream[8 * JT808_WIRE_MAX];
    size_t len = 0;
    const char *whys[4];
    /* bad escape: a copy of the good frame with 7D 03 inside */
    memcpy(stream + len, good, gn);
    stream[len + 3] = 0x7D;
    stream[len + 4] = 0x03;
    len += gn;
    whys[0] = "0x7D not followed by 0x01 or 0x02";
    /* bad checksum */
    memcpy(stream + len, good, gn);
    stream[len + gn - 2] ^= 0x55;
    len += gn;
    whys[1] = "checksum mismatch";
    /* too short */
    memcpy(stream + len, "\x7E\x00\x02\x00\x7E", 5);
    len += 5;
    whys[2] = "frame shorter than a header";
    /* too long: the flags around more bytes than any frame may hold */
    stream[len++] = 0x7E;
    memset(stream + len, 0x11, JT808_UNESCAPED_MAX + 10);
    len += JT808_UNESCAPED_MAX + 10;
    stream[len++] = 0x7E;
    whys[3] = "frame longer than a header and the largest body";
    memcpy(stream + len, good, gn);
    len += gn;

    struct jt808_deframer d;
    jt808_deframer_init(&d);
    int bad = 0, frames = 0;
    for (size_t at = 0; at < len;) {
        size_t used;
        enum jt808_feed r = jt808_deframer_feed(&d, stream + at, len - at, &used);
        at += used;
        if (r == JT808_BAD) {
            assert_true(bad < 4);
            assert_string_equal(jt808_deframer_error(&d), whys[bad]);
            bad++;
        } else if (r == JT808_FRAME) {
            frames++;
        }
    }
    assert_int_equal(bad, 4);
    assert_int_equal(frames, 1);
}

/* The version bit is a guess: a 2013-layout frame with bit 14 set is read as 2013, a 2019 frame
 * without it as 2019; a length neither layout explains is refused. */
static void the_layout_is_told_by_length(void **state)
{
    (void)state;
    uint8_t wire[JT808_WIRE_MAX];
    uint8_t body[5] = {1, 2, 3, 4, 5};
    struct jt808_deframer d;
    size_t used, flen;
    const uint8_t *f, *b;
    size_t blen;
    const char *why;
    struct jt808_header h;

    size_t n = build(JT808_2013, 0x0200, "13800000000", 1, body, 5, wire);
    jt808_deframer_init(&d);
    assert_int_equal(jt808_deframer_feed(&d, wire, n, &used), JT808_FRAME);
    f = jt808_deframer_frame(&d, &flen);
    uint8_t copy[JT808_UNESCAPED_MAX];
    memcpy(copy, f, flen);
    copy[2] |= 0x40; /* claim 2019 */
    assert_int_equal(jt808_header_parse(copy, flen, &h, &b, &blen, &why), 0);
    assert_int_equal(h.edition, JT808_2013);
    assert_int_equal(blen, 5);

    n = build(JT808_2019, 0x0200, "13800000000", 1, body, 5, wire);
    jt808_deframer_init(&d);
    assert_int_equal(jt808_deframer_feed(&d, wire, n, &used), JT808_FRAME);
    f = jt808_deframer_frame(&d, &flen);
    memcpy(copy, f, flen);
    copy[2] &= (uint8_t)~0x40; /* deny it */
    assert_int_equal(jt808_header_parse(copy, flen, &h, &b, &blen, &why), 0);
    assert_int_equal(h.edition, JT808_2019);
    assert_string_equal(h.phone, "00000000013800000000");

    assert_int_equal(jt808_header_parse(copy, flen - 1, &h, &b, &blen, &why), -1);
    assert_string_equal(why, "declared body length does not match the frame in either header "
                             "layout");
}

static void invalid_fields_are_refused(void **state)
{
    (void)state;
    struct jt808_header h;
    const uint8_t *b;
    size_t blen;
    const char *why;

    /* a package item with index 0, and one beyond its total */
    uint8_t sub[16] = {0x02, 0x00, 0x20, 0x00, 0x01, 0x39, 0x12, 0x34,
                       0x56, 0x78, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(jt808_header_parse(sub, sizeof(sub), &h, &b, &blen, &why), -1);
    sub[15] = 3;
    assert_int_equal(jt808_header_parse(sub, sizeof(sub), &h, &b, &blen, &why), -1);
    sub[15] = 2;
    assert_int_equal(jt808_header_parse(sub, sizeof(sub), &h, &b, &blen, &why), 0);
    assert_int_equal(h.pkg_total, 2);
    assert_int_equal(h.pkg_index, 2);

    /* building: a body too long, a phone too long or not digits */
    struct jt808_header hb = {.msg_id = 0x8001, .edition = JT808_2013};
    uint8_t out[JT808_WIRE_MAX], big[JT808_BODY_MAX + 1] = {0};
    snprintf(hb.phone, sizeof(hb.phone), "1234567890123");
    assert_int_equal(jt808_frame_build(&hb, NULL, 0, out, sizeof(out)), 0);
    snprintf(hb.phone, sizeof(hb.phone), "12g");
    assert_int_equal(jt808_frame_build(&hb, NULL, 0, out, sizeof(out)), 0);
    snprintf(hb.phone, sizeof(hb.phone), "123");
    assert_int_equal(jt808_frame_build(&hb, big, sizeof(big), out, sizeof(out)), 0);
    assert_int_equal(jt808_frame_build(&hb, big, 10, out, 8), 0); /* out too small */
    assert_true(jt808_frame_build(&hb, big, JT808_BODY_MAX, out, sizeof(out)) > 0);
}

/* A terminal number that is not BCD (a packed IMEI, as in traccar's Jt808ProtocolDecoderTest
 * frame from 4eb6fb4afd9e) is accepted and rendered as lowercase hex nibbles, and a reply built
 * to that string carries the same bytes back. */
static void a_non_bcd_phone_is_hex(void **state)
{
    (void)state;
    uint8_t frame[12] = {0x00, 0x02, 0x00, 0x00, 0x4E, 0xB6, 0xFB, 0x4A, 0xFD, 0x9E, 0x00, 0x01};
    struct jt808_header h;
    const uint8_t *b;
    size_t blen;
    const char *why;
    assert_int_equal(jt808_header_parse(frame, sizeof(frame), &h, &b, &blen, &why), 0);
    assert_string_equal(h.phone, "4eb6fb4afd9e");

    uint8_t wire[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, NULL, 0, wire, sizeof(wire));
    assert_int_equal(n, 15);
    assert_memory_equal(wire + 1, frame, sizeof(frame));

    snprintf(h.phone, sizeof(h.phone), "4EB6"); /* one canonical spelling: lowercase */
    assert_int_equal(jt808_frame_build(&h, NULL, 0, wire, sizeof(wire)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_heartbeat_2013_reads_back),
        cmocka_unit_test(a_2019_location_with_escapes_reads_back),
        cmocka_unit_test(an_escaped_checksum_reads_back),
        cmocka_unit_test(frames_in_any_chunking),
        cmocka_unit_test(bad_frames_are_dropped_and_the_next_is_read),
        cmocka_unit_test(the_layout_is_told_by_length),
        cmocka_unit_test(invalid_fields_are_refused),
        cmocka_unit_test(a_non_bcd_phone_is_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
