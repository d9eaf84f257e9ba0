/* test_jt808_term.c -- tests/jt808sim/jt808_term.c and track.c: every body the simulator and
 * bench-jt808 send, byte by byte against the 2013 layouts (docs/jt808.md of ../shared, the
 * standard's tables), and read back through the platform's codec (jt808_frame_build, the
 * deframer, jt808_header_parse); the replies they read; the track reader. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jt808/jt808_codec.h"
#include "jt808_term.h"
#include "track.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 2026-12-07 01:30:05 UTC = 09:30:05 in GMT+8 */
#define T_UTC 1796607005LL

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static struct jt808t_fix a_fix(void)
{
    struct jt808t_fix f = {.utc_s = T_UTC,
                           .lat = 49.2123456,
                           .lon = 119.7654321,
                           .alt_m = 612.4,
                           .speed_kmh = 43.26,
                           .course_deg = 359.7,
                           .fix_valid = 1,
                           .acc_on = 1,
                           .alarm = 0,
                           .mileage_km = 12345.6,
                           .signal = 25,
                           .satellites = 11};
    return f;
}

static void bcd_time_is_gmt8(void **state)
{
    (void)state;
    uint8_t t[6];
    jt808t_bcd_time(t, T_UTC);
    const uint8_t want[6] = {0x26, 0x12, 0x07, 0x09, 0x30, 0x05};
    assert_memory_equal(t, want, 6);
    /* 20:00:05 UTC is 04:00:05 of the next day in GMT+8 */
    jt808t_bcd_time(t, T_UTC + 18 * 3600 + 30 * 60);
    const uint8_t next[6] = {0x26, 0x12, 0x08, 0x04, 0x00, 0x05};
    assert_memory_equal(t, next, 6);
}

static void location_base_and_items_by_hand(void **state)
{
    (void)state;
    struct jt808t_fix f = a_fix();
    uint8_t b[JT808T_LOCATION_MAX];
    size_t n = jt808t_location(b, sizeof(b), &f);
    assert_int_equal(n, 28 + 6 + 3 + 3);
    assert_int_equal(get32(b), 0);            /* alarm */
    assert_int_equal(get32(b + 4), 0x3);      /* ACC on, fix valid, north, east */
    assert_int_equal(get32(b + 8), 49212346); /* 1e-6 degrees, rounded */
    assert_int_equal(get32(b + 12), 119765432);
    assert_int_equal(get16(b + 16), 612); /* metres */
    assert_int_equal(get16(b + 18), 433); /* 0.1 km/h */
    assert_int_equal(get16(b + 20), 0);   /* 359.7 rounds to 360 = 0 */
    const uint8_t t[6] = {0x26, 0x12, 0x07, 0x09, 0x30, 0x05};
    assert_memory_equal(b + 22, t, 6);
    const uint8_t items[] = {0x01, 4, 0,  0x01, 0xE2, 0x40, /* 123456 x 0.1 km */
                             0x30, 1, 25, 0x31, 1,    11};
    assert_memory_equal(b + 28, items, sizeof(items));
    /* south and west: magnitudes, and status bits 2 and 3; no items when absent */
    f.lat = -33.5;
    f.lon = -70.25;
    f.fix_valid = 0;
    f.acc_on = 0;
    f.alarm = 0x80000003u;
    f.mileage_km = -1;
    f.signal = f.satellites = -1;
    n = jt808t_location(b, sizeof(b), &f);
    assert_int_equal(n, 28);
    assert_int_equal(get32(b), 0x80000003u);
    assert_int_equal(get32(b + 4), 0xC);
    assert_int_equal(get32(b + 8), 33500000);
    assert_int_equal(get32(b + 12), 70250000);
    /* too small a buffer: refused, not truncated */
    assert_int_equal(jt808t_location(b, 27, &f), 0);
}

/* Builds a 2013 frame around body and reads it back through the platform's deframer. */
static void round_trip(uint16_t id, uint16_t serial, const uint8_t *body, size_t len)
{
    struct jt808_header h = {.msg_id = id, .edition = JT808_2013, .serial = serial};
    snprintf(h.phone, sizeof(h.phone), "%s", "013800000042");
    uint8_t wire[JT808_WIRE_MAX];
    size_t wl = jt808_frame_build(&h, body, len, wire, sizeof(wire));
    assert_true(wl > 0);
    assert_int_equal(wire[0], 0x7E);
    assert_int_equal(wire[wl - 1], 0x7E);
    for (size_t i = 1; i + 1 < wl; i++)
        assert_int_not_equal(wire[i], 0x7E); /* escaped inside */
    struct jt808_deframer d;
    jt808_deframer_init(&d);
    size_t used;
    assert_int_equal(jt808_deframer_feed(&d, wire, wl, &used), JT808_FRAME);
    assert_int_equal(used, wl);
    size_t flen, blen;
    const uint8_t *f = jt808_deframer_frame(&d, &flen), *b;
    struct jt808_header back;
    const char *why = NULL;
    assert_int_equal(jt808_header_parse(f, flen, &back, &b, &blen, &why), 0);
    assert_int_equal(back.msg_id, id);
    assert_int_equal(back.serial, serial);
    assert_int_equal(back.edition, JT808_2013);
    assert_string_equal(back.phone, "013800000042");
    assert_int_equal(blen, len);
    if (len)
        assert_memory_equal(b, body, len);
}

static void every_body_reads_back_through_the_codec(void **state)
{
    (void)state;
    struct jt808t_fix f = a_fix();
    uint8_t b[JT808_BODY_MAX];
    size_t n = jt808t_location(b, sizeof(b), &f);
    round_trip(JT808T_LOCATION, 1, b, n);
    round_trip(JT808T_HEARTBEAT, 2, NULL, 0);
    n = jt808t_auth(b, sizeof(b), "bench-7E7D");
    round_trip(JT808T_AUTH, 0x7E7D, b, n); /* a serial that must be escaped */
    n = jt808t_general_reply(b, sizeof(b), 0x7D02, JT808P_SET_PARAMS, 0);
    round_trip(JT808T_GENERAL_REPLY, 4, b, n);
    struct jt808t_fix many[20];
    for (int i = 0; i < 20; i++) {
        many[i] = f;
        many[i].utc_s += i;
    }
    n = jt808t_batch(b, sizeof(b), 1, many, 20);
    assert_true(n > 0 && n <= JT808_BODY_MAX);
    round_trip(JT808T_BATCH, 5, b, n);
}

static void batch_layout(void **state)
{
    (void)state;
    struct jt808t_fix f[2] = {a_fix(), a_fix()};
    f[1].mileage_km = -1; /* a shorter item */
    f[1].utc_s += 30;
    uint8_t b[256];
    size_t n = jt808t_batch(b, sizeof(b), 1, f, 2);
    assert_int_equal(n, 3 + 2 + 40 + 2 + 34);
    assert_int_equal(get16(b), 2);
    assert_int_equal(b[2], 1); /* blind-area backfill */
    assert_int_equal(get16(b + 3), 40);
    assert_int_equal(get16(b + 45), 34);
    const uint8_t t1[6] = {0x26, 0x12, 0x07, 0x09, 0x30, 0x35};
    assert_memory_equal(b + 47 + 22, t1, 6);
    assert_int_equal(jt808t_batch(b, 60, 1, f, 2), 0); /* does not fit: refused */
}

static void register_2013_layout_with_gbk_plate(void **state)
{
    (void)state;
    struct jt808t_register r = {.province = 15,
                                .city = 700,
                                .maker = "LPGSM",
                                .model = "LPG-JT808-SIM",
                                .terminal_id = "0000042",
                                .plate_colour = 2,
                                .plate = "蒙E·J8080"};
    uint8_t b[128];
    size_t n = jt808t_register_body(b, sizeof(b), &r);
    /* 蒙 = C3 C9, · = A1 A4 in GBK */
    const uint8_t plate[] = {0xC3, 0xC9, 'E', 0xA1, 0xA4, 'J', '8', '0', '8', '0'};
    assert_int_equal(n, 37 + sizeof(plate));
    assert_int_equal(get16(b), 15);
    assert_int_equal(get16(b + 2), 700);
    assert_memory_equal(b + 4, "LPGSM", 5);
    assert_memory_equal(b + 9, "LPG-JT808-SIM\0\0\0\0\0\0\0", 20);
    assert_memory_equal(b + 29, "0000042", 7);
    assert_int_equal(b[36], 2);
    assert_memory_equal(b + 37, plate, sizeof(plate));
    r.model = "a model name longer than twenty bytes";
    assert_int_equal(jt808t_register_body(b, sizeof(b), &r), 0);
}

static void driver_2013_layout(void **state)
{
    (void)state;
    struct jt808t_driver d = {.utc_s = T_UTC,
                              .name = "测试",
                              .certificate = "QC-150700-0017",
                              .issuer = "HLR",
                              .expiry = "20281231"};
    uint8_t b[256];
    size_t n = jt808t_driver_body(b, sizeof(b), &d);
    assert_int_equal(n, 1 + 6 + 1 + 1 + 4 + 20 + 1 + 3 + 4);
    assert_int_equal(b[0], 1); /* inserted */
    const uint8_t t[6] = {0x26, 0x12, 0x07, 0x09, 0x30, 0x05};
    assert_memory_equal(b + 1, t, 6);
    assert_int_equal(b[7], 0); /* read ok */
    assert_int_equal(b[8], 4);
    const uint8_t name[4] = {0xB2, 0xE2, 0xCA, 0xD4}; /* 测试 in GBK */
    assert_memory_equal(b + 9, name, 4);
    assert_memory_equal(b + 13, "QC-150700-0017\0\0\0\0\0\0", 20);
    assert_int_equal(b[33], 3);
    assert_memory_equal(b + 34, "HLR", 3);
    const uint8_t exp[4] = {0x20, 0x28, 0x12, 0x31};
    assert_memory_equal(b + 37, exp, 4);
    d.expiry = "2028-12";
    assert_int_equal(jt808t_driver_body(b, sizeof(b), &d), 0);
    d.expiry = "20281231";
    d.certificate = "a certificate of more than 20 bytes";
    assert_int_equal(jt808t_driver_body(b, sizeof(b), &d), 0);
}

static void replies_are_read(void **state)
{
    (void)state;
    struct jt808t_reply r;
    const uint8_t ok[] = {0x12, 0x34, 0x02, 0x00, 0x00};
    assert_int_equal(jt808t_parse_general(ok, sizeof(ok), &r), 0);
    assert_int_equal(r.serial, 0x1234);
    assert_int_equal(r.msg_id, 0x0200);
    assert_int_equal(r.result, 0);
    assert_int_equal(jt808t_parse_general(ok, 4, &r), -1);

    uint16_t serial;
    uint8_t result;
    char code[16];
    const uint8_t reg[] = {0x00, 0x07, 0x00, 'a', 'b', 'c'};
    assert_int_equal(
        jt808t_parse_register_reply(reg, sizeof(reg), &serial, &result, code, sizeof(code)), 0);
    assert_int_equal(serial, 7);
    assert_int_equal(result, 0);
    assert_string_equal(code, "abc");
    const uint8_t refused[] = {0x00, 0x07, 0x04};
    assert_int_equal(
        jt808t_parse_register_reply(refused, sizeof(refused), &serial, &result, code, sizeof(code)),
        0);
    assert_int_equal(result, 4);
    assert_string_equal(code, "");
    /* result 0 without a code, or a code that does not fit: unreadable */
    assert_int_equal(jt808t_parse_register_reply(reg, 3, &serial, &result, code, sizeof(code)), -1);
    assert_int_equal(jt808t_parse_register_reply(reg, sizeof(reg), &serial, &result, code, 3), -1);
}

struct seen {
    int n;
    uint32_t ids[4], values[4];
};

static void collect(uint32_t id, const uint8_t *v, uint8_t len, void *arg)
{
    struct seen *s = arg;
    uint32_t x = 0;
    for (int i = 0; i < len; i++)
        x = (x << 8) | v[i];
    s->ids[s->n] = id;
    s->values[s->n++] = x;
}

static void params_are_read_and_bounded(void **state)
{
    (void)state;
    const uint8_t p[] = {2, 0, 0, 0, 0x55, 4, 0, 0, 0, 60, 0, 0, 0, 0x5B, 2, 0, 50};
    struct seen s = {0};
    assert_int_equal(jt808t_parse_params(p, sizeof(p), collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[0], 0x55);
    assert_int_equal(s.values[0], 60);
    assert_int_equal(s.ids[1], 0x5B);
    assert_int_equal(s.values[1], 50);
    memset(&s, 0, sizeof(s));
    assert_int_equal(jt808t_parse_params(p, sizeof(p) - 1, collect, &s), -1); /* overruns */
    assert_int_equal(s.n, 1);
}

static void track_gpx_and_csv(void **state)
{
    (void)state;
    const char *gpx =
        "<?xml version=\"1.0\"?><gpx><trk><trkseg>\n"
        "<trkpt lat=\"41.8\" lon=\"12.6\"><ele>374.8</ele><time>2008-05-04T12:52:47Z</time>"
        "<speed>0.5</speed><sat>11</sat></trkpt>\n"
        "<trkpt lat=\"41.8001\" lon=\"12.6\"><time>2008-05-04T12:52:47Z</time></trkpt>\n"
        "<trkpt lat=\"41.8009\" lon=\"12.6\"><time>2008-05-04T12:52:48Z</time></trkpt>\n"
        "<trkpt lat=\"41.9\" lon=\"12.6\"></trkpt>\n"
        "<trkpt lat=\"41.8009\" lon=\"12.6009\"><time>2008-05-04T12:52:58Z</time></trkpt>\n"
        "</trkseg></trk></gpx>\n";
    struct track t;
    char err[128];
    assert_int_equal(track_parse(gpx, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 3); /* the repeated second and the untimed point dropped */
    assert_int_equal(t.p[0].t_ms, 1209905567000LL);
    assert_int_equal(t.p[0].sats, 11);
    assert_true(fabs(t.p[0].ele_m - 374.8) < 1e-9);
    assert_true(t.p[1].speed_ms < 0);
    track_complete(&t);
    assert_true(fabs(t.p[0].speed_ms - 0.5) < 1e-9); /* kept */
    /* 0.0009 degrees of latitude north (~100 m) in 1 s: course 0 */
    assert_true(t.p[0].course_deg < 1 || t.p[0].course_deg > 359);
    assert_true(fabs(t.p[2].course_deg - t.p[1].course_deg) < 1e-9 || t.p[1].course_deg > 80);
    track_free(&t);

    const char *csv = "1796607005000,49.21,119.76,10.5\n1796607006000,49.2101,119.76,\n";
    assert_int_equal(track_parse(csv, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_true(fabs(t.p[0].speed_ms - 10.5) < 1e-9);
    assert_true(t.p[1].speed_ms < 0);
    track_free(&t);
    assert_int_equal(track_parse("12,abc\n", &t, err, sizeof(err)), -1);
    assert_int_equal(track_parse("<gpx></gpx>", &t, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bcd_time_is_gmt8),
        cmocka_unit_test(location_base_and_items_by_hand),
        cmocka_unit_test(every_body_reads_back_through_the_codec),
        cmocka_unit_test(batch_layout),
        cmocka_unit_test(register_2013_layout_with_gbk_plate),
        cmocka_unit_test(driver_2013_layout),
        cmocka_unit_test(replies_are_read),
        cmocka_unit_test(params_are_read_and_bounded),
        cmocka_unit_test(track_gpx_and_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
