/* test_jt808_reasm.c -- dispatch/jt808/jt808_reasm.c: subpackaged frames built with the codec,
 * deframed and header-parsed like any frame, then put back together in any order; duplicates,
 * conflicts, the caps (total, slots), and the timeout that asks once for the missing packets
 * (0x8003) and then gives up. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jt808/jt808_codec.h"
#include "jt808/jt808_msg.h"
#include "jt808/jt808_reasm.h"

#include <stdio.h>
#include <string.h>

/* One packet of a subpackaged message, through the wire: built, deframed, header parsed. */
struct packet {
    struct jt808_header h;
    uint8_t body[JT808_BODY_MAX];
    size_t len;
};

static void make_packet(struct packet *p, enum jt808_edition e, uint16_t msg_id, uint16_t serial,
                        uint16_t total, uint16_t index, const uint8_t *body, size_t len)
{
    struct jt808_header h = {.msg_id = msg_id,
                             .edition = e,
                             .serial = serial,
                             .subpackage = 1,
                             .pkg_total = total,
                             .pkg_index = index,
                             .proto_version = e == JT808_2019};
    snprintf(h.phone, sizeof(h.phone), "13800000000");
    static uint8_t wire[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, body, len, wire, sizeof(wire));
    assert_true(n > 0);
    struct jt808_deframer d;
    jt808_deframer_init(&d);
    size_t used, flen;
    assert_int_equal(jt808_deframer_feed(&d, wire, n, &used), JT808_FRAME);
    const uint8_t *f = jt808_deframer_frame(&d, &flen), *b;
    const char *why;
    assert_int_equal(jt808_header_parse(f, flen, &p->h, &b, &p->len, &why), 0);
    assert_true(p->h.subpackage);
    memcpy(p->body, b, p->len);
}

static enum jt808_reasm_result add(struct jt808_reasm *r, const struct packet *p, int64_t now,
                                   const uint8_t **out, size_t *out_len, uint16_t *first)
{
    return jt808_reasm_add(r, &p->h, p->body, p->len, now, out, out_len, first);
}

/* A 0x0704 of two items cut into three packets of 20, 20 and the rest, arriving 3, 1, 2: the
 * concatenation is the batch again and replies go to packet 1's serial. */
static void packets_in_any_order(void **state)
{
    (void)state;
    uint8_t batch[3 + 2 * (2 + 28)] = {0x00, 0x02, 0x01};
    for (size_t i = 3; i < sizeof(batch); i++)
        batch[i] = (uint8_t)(i * 7);
    batch[3] = 0, batch[4] = 28, batch[33] = 0, batch[34] = 28;
    struct packet p[3];
    make_packet(&p[0], JT808_2019, 0x0704, 100, 3, 1, batch, 20);
    make_packet(&p[1], JT808_2019, 0x0704, 101, 3, 2, batch + 20, 20);
    make_packet(&p[2], JT808_2019, 0x0704, 102, 3, 3, batch + 40, sizeof(batch) - 40);

    struct jt808_reasm *r = jt808_reasm_new();
    assert_non_null(r);
    const uint8_t *out = NULL;
    size_t out_len = 0;
    uint16_t first = 0;
    assert_int_equal(add(r, &p[2], 1000, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(add(r, &p[0], 1001, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(jt808_reasm_pending(r), 1);
    assert_int_equal(add(r, &p[1], 1002, &out, &out_len, &first), JT808_REASM_COMPLETE);
    assert_int_equal(out_len, sizeof(batch));
    assert_memory_equal(out, batch, sizeof(batch));
    assert_int_equal(first, 100);
    assert_int_equal(jt808_reasm_pending(r), 0);

    /* the whole is an ordinary 0x0704 body */
    struct jt808_batch_iter it;
    const char *why;
    assert_int_equal(jt808_batch_begin(out, out_len, &it, &why), 0);
    assert_int_equal(it.type, 1);
    struct jt808_location loc;
    int bad;
    assert_int_equal(jt808_batch_next(&it, &loc, &bad), 1);
    assert_int_equal(jt808_batch_next(&it, &loc, &bad), 1);
    assert_int_equal(jt808_batch_next(&it, &loc, &bad), 0);
    jt808_reasm_free(r);
}

static void duplicates_and_conflicts(void **state)
{
    (void)state;
    const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
    struct packet p1, p1same, p1other, p2;
    make_packet(&p1, JT808_2013, 0x0200, 7, 2, 1, a, 4);
    make_packet(&p1same, JT808_2013, 0x0200, 9, 2, 1, a, 4); /* resent with a new serial */
    make_packet(&p1other, JT808_2013, 0x0200, 9, 2, 1, b, 4);
    make_packet(&p2, JT808_2013, 0x0200, 8, 2, 2, b, 4);
    struct jt808_reasm *r = jt808_reasm_new();
    const uint8_t *out;
    size_t out_len;
    uint16_t first;
    assert_int_equal(add(r, &p1, 0, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(add(r, &p1same, 0, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(add(r, &p1other, 0, &out, &out_len, &first), JT808_REASM_REFUSED);
    assert_int_equal(add(r, &p2, 0, &out, &out_len, &first), JT808_REASM_COMPLETE);
    assert_int_equal(first, 7); /* the first copy's serial: the duplicate replaced nothing */
    assert_memory_equal(out, "\x01\x02\x03\x04\x01\x02\x03\x05", 8);
    jt808_reasm_free(r);
}

/* Two messages at once fit; a third is refused, and fits once one of them completes. The key is
 * (msg_id, total): the same id with another total is another message. */
static void two_slots_then_refused(void **state)
{
    (void)state;
    const uint8_t x[1] = {0xAA};
    struct packet a1, a2, b1, c1;
    make_packet(&a1, JT808_2013, 0x0704, 1, 2, 1, x, 1);
    make_packet(&a2, JT808_2013, 0x0704, 2, 2, 2, x, 1);
    make_packet(&b1, JT808_2013, 0x0704, 3, 3, 1, x, 1);
    make_packet(&c1, JT808_2013, 0x0200, 4, 2, 1, x, 1);
    struct jt808_reasm *r = jt808_reasm_new();
    const uint8_t *out;
    size_t out_len;
    uint16_t first;
    assert_int_equal(add(r, &a1, 0, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(add(r, &b1, 0, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(jt808_reasm_pending(r), 2);
    assert_int_equal(add(r, &c1, 0, &out, &out_len, &first), JT808_REASM_REFUSED);
    assert_int_equal(add(r, &a2, 0, &out, &out_len, &first), JT808_REASM_COMPLETE);
    assert_int_equal(out_len, 2);
    assert_int_equal(add(r, &c1, 0, &out, &out_len, &first), JT808_REASM_PENDING);
    jt808_reasm_free(r); /* frees the slots in progress (LeakSanitizer checks) */
}

static void caps_and_refusals(void **state)
{
    (void)state;
    struct jt808_reasm *r = jt808_reasm_new();
    const uint8_t *out;
    size_t out_len;
    uint16_t first;
    uint8_t big[JT808_BODY_MAX];
    memset(big, 0x7E, sizeof(big));
    struct packet p;
    make_packet(&p, JT808_2013, 0x0704, 1, JT808_REASM_MAX_PACKETS + 1, 1, big, 10);
    assert_int_equal(add(r, &p, 0, &out, &out_len, &first), JT808_REASM_REFUSED);
    struct jt808_header h = p.h;
    h.subpackage = 0;
    assert_int_equal(jt808_reasm_add(r, &h, big, 1, 0, &out, &out_len, &first),
                     JT808_REASM_REFUSED);
    h = p.h;
    h.pkg_total = 0;
    assert_int_equal(jt808_reasm_add(r, &h, big, 1, 0, &out, &out_len, &first),
                     JT808_REASM_REFUSED);
    h.pkg_total = 2, h.pkg_index = 3;
    assert_int_equal(jt808_reasm_add(r, &h, big, 1, 0, &out, &out_len, &first),
                     JT808_REASM_REFUSED);
    assert_int_equal(jt808_reasm_pending(r), 0);

    /* the largest message we take: 32 full packets, in reverse order */
    for (uint16_t i = JT808_REASM_MAX_PACKETS; i >= 1; i--) {
        big[0] = (uint8_t)i;
        make_packet(&p, JT808_2019, 0x0704, (uint16_t)(500 + i), JT808_REASM_MAX_PACKETS, i, big,
                    sizeof(big));
        enum jt808_reasm_result res = add(r, &p, 0, &out, &out_len, &first);
        assert_int_equal(res, i == 1 ? JT808_REASM_COMPLETE : JT808_REASM_PENDING);
    }
    assert_int_equal(out_len, JT808_REASM_MAX_PACKETS * JT808_BODY_MAX);
    for (size_t i = 0; i < JT808_REASM_MAX_PACKETS; i++)
        assert_int_equal(out[i * JT808_BODY_MAX], i + 1);
    assert_int_equal(first, 501);
    jt808_reasm_free(r);
}

struct missing_log {
    int calls;
    uint16_t msg_id, first_serial;
    uint16_t idx[JT808_REASM_MAX_PACKETS];
    size_t n;
};

static void on_missing(void *arg, uint16_t msg_id, uint16_t first_serial, const uint16_t *indices,
                       size_t n)
{
    struct missing_log *m = arg;
    m->calls++;
    m->msg_id = msg_id;
    m->first_serial = first_serial;
    m->n = n;
    memcpy(m->idx, indices, n * sizeof(*indices));
}

/* Packets 2 and 4 of 5 (serials 41, 43): after the timeout one request names 1, 3 and 5 with the
 * serial packet 1 would have had (41 - 1); a late packet re-arms it; without one the second
 * expiry drops the message. */
static void the_timeout_asks_once_then_gives_up(void **state)
{
    (void)state;
    const uint8_t x[2] = {1, 2};
    struct packet p2, p4, p3;
    make_packet(&p2, JT808_2013, 0x0704, 41, 5, 2, x, 2);
    make_packet(&p4, JT808_2013, 0x0704, 43, 5, 4, x, 2);
    make_packet(&p3, JT808_2013, 0x0704, 42, 5, 3, x, 2);
    struct jt808_reasm *r = jt808_reasm_new();
    const uint8_t *out;
    size_t out_len;
    uint16_t first;
    struct missing_log m = {0};
    assert_int_equal(add(r, &p2, 1000, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(add(r, &p4, 2000, &out, &out_len, &first), JT808_REASM_PENDING);

    assert_int_equal(jt808_reasm_tick(r, 6999, 5000, on_missing, &m), 1);
    assert_int_equal(m.calls, 0); /* 4999 ms since the last packet */
    assert_int_equal(jt808_reasm_tick(r, 7000, 5000, on_missing, &m), 1);
    assert_int_equal(m.calls, 1);
    assert_int_equal(m.msg_id, 0x0704);
    assert_int_equal(m.first_serial, 40);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.idx[0], 1);
    assert_int_equal(m.idx[1], 3);
    assert_int_equal(m.idx[2], 5);

    /* the request is a 0x8003 body */
    uint8_t req[64];
    size_t n = jt808_build_resend_request(m.first_serial, m.idx, m.n, 0, req, sizeof(req));
    assert_int_equal(n, 3 + 6);
    assert_memory_equal(req, "\x00\x28\x03\x00\x01\x00\x03\x00\x05", 9);

    /* packet 3 arrives: re-armed, a second request after another timeout */
    assert_int_equal(add(r, &p3, 8000, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(jt808_reasm_tick(r, 12000, 5000, on_missing, &m), 1);
    assert_int_equal(m.calls, 1);
    assert_int_equal(jt808_reasm_tick(r, 13000, 5000, on_missing, &m), 1);
    assert_int_equal(m.calls, 2);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.idx[0], 1);
    assert_int_equal(m.idx[1], 5);

    /* nothing more: the next expiry drops it */
    assert_int_equal(jt808_reasm_tick(r, 17999, 5000, on_missing, &m), 1);
    assert_int_equal(jt808_reasm_tick(r, 18000, 5000, on_missing, &m), 0);
    assert_int_equal(m.calls, 2);
    assert_int_equal(jt808_reasm_pending(r), 0);
    /* packet 1 after the drop starts a new message */
    assert_int_equal(add(r, &p2, 20000, &out, &out_len, &first), JT808_REASM_PENDING);
    assert_int_equal(jt808_reasm_tick(r, 20000, 5000, NULL, NULL), 1);
    jt808_reasm_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packets_in_any_order),
        cmocka_unit_test(duplicates_and_conflicts),
        cmocka_unit_test(two_slots_then_refused),
        cmocka_unit_test(caps_and_refusals),
        cmocka_unit_test(the_timeout_asks_once_then_gives_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
