/* jt808_codec.c -- see jt808_codec.h. */
#include "jt808/jt808_codec.h"

#include <assert.h>
#include <string.h>

/* The shortest frame worth parsing: a 2013 header and the checksum. */
#define JT808_UNESCAPED_MIN 13

void jt808_deframer_init(struct jt808_deframer *d)
{
    memset(d, 0, sizeof(*d));
}

static void frame_reset(struct jt808_deframer *d)
{
    d->n = 0;
    d->escaped = d->overflow = d->bad_escape = 0;
}

static void put(struct jt808_deframer *d, uint8_t b)
{
    if (d->n < sizeof(d->buf))
        d->buf[d->n++] = b;
    else
        d->overflow = 1; /* keep reading to the end flag, then drop the whole frame */
}

/* A flag after some bytes: the frame is complete; decide what it is. */
static enum jt808_feed frame_end(struct jt808_deframer *d)
{
    const char *why = NULL;
    if (d->overflow)
        why = "frame longer than a header and the largest body";
    else if (d->bad_escape || d->escaped)
        why = "0x7D not followed by 0x01 or 0x02";
    else if (d->n < JT808_UNESCAPED_MIN)
        why = "frame shorter than a header";
    else {
        uint8_t x = 0;
        for (size_t i = 0; i + 1 < d->n; i++)
            x ^= d->buf[i];
        if (x != d->buf[d->n - 1])
            why = "checksum mismatch";
    }
    size_t n = d->n;
    frame_reset(d);
    if (why) {
        d->why = why;
        return JT808_BAD;
    }
    d->ready = n - 1; /* without the checksum */
    return JT808_FRAME;
}

enum jt808_feed jt808_deframer_feed(struct jt808_deframer *d, const uint8_t *data, size_t len,
                                    size_t *used)
{
    d->ready = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (!d->in_frame) {
            if (b == JT808_FLAG)
                d->in_frame = 1;
            else
                d->skipped_bytes++;
            continue;
        }
        if (b == JT808_FLAG) {
            if (d->n == 0 && !d->escaped && !d->overflow && !d->bad_escape)
                continue; /* `7E 7E`: the end of one frame and the start of the next */
            /* The end flag also opens the next frame: terminals that share one flag between
             * frames are read the same way as those that send two. */
            *used = i + 1;
            return frame_end(d);
        }
        if (d->escaped) {
            d->escaped = 0;
            if (b == 0x01)
                put(d, JT808_ESCAPE);
            else if (b == 0x02)
                put(d, JT808_FLAG);
            else
                d->bad_escape = 1;
        } else if (b == JT808_ESCAPE) {
            d->escaped = 1;
        } else {
            put(d, b);
        }
    }
    *used = len;
    return JT808_MORE;
}

const uint8_t *jt808_deframer_frame(const struct jt808_deframer *d, size_t *len)
{
    *len = d->ready;
    return d->ready ? d->buf : NULL;
}

const char *jt808_deframer_error(const struct jt808_deframer *d)
{
    return d->why ? d->why : "";
}

/* ---- header ---- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t layout_len(enum jt808_edition e, int subpackage)
{
    return (e == JT808_2019 ? 17u : 12u) + (subpackage ? 4u : 0u);
}

size_t jt808_header_len(const struct jt808_header *h)
{
    return layout_len(h->edition, h->subpackage);
}

/* The terminal number of n bytes into out (2n characters and a NUL): BCD digits, and a nibble
 * above 9 (packed IMEIs such as 4eb6fb4afd9e are real) as a lowercase hex digit, so that every
 * terminal gets a key of its own; BCD numbers read the same either way. */
static void phone_decode(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

int jt808_header_parse(const uint8_t *frame, size_t len, struct jt808_header *h,
                       const uint8_t **body, size_t *body_len, const char **why)
{
    memset(h, 0, sizeof(*h));
    if (len < 4) {
        *why = "frame shorter than a header";
        return -1;
    }
    uint16_t props = be16(frame + 2);
    h->msg_id = be16(frame);
    h->body_len = props & 0x03FF;
    h->encryption = (uint8_t)((props >> 10) & 0x07);
    h->subpackage = (uint8_t)((props >> 13) & 0x01);
    /* Bit 14 is the first guess; the layout that accounts for every byte wins. */
    enum jt808_edition guess = (props >> 14) & 0x01 ? JT808_2019 : JT808_2013;
    enum jt808_edition other = guess == JT808_2019 ? JT808_2013 : JT808_2019;
    if (layout_len(guess, h->subpackage) + h->body_len == len)
        h->edition = guess;
    else if (layout_len(other, h->subpackage) + h->body_len == len)
        h->edition = other;
    else {
        *why = "declared body length does not match the frame in either header layout";
        return -1;
    }
    const uint8_t *p = frame + 4;
    if (h->edition == JT808_2019)
        h->proto_version = *p++;
    size_t phone_bytes = h->edition == JT808_2019 ? 10 : 6;
    phone_decode(p, phone_bytes, h->phone);
    p += phone_bytes;
    h->serial = be16(p);
    p += 2;
    if (h->subpackage) {
        h->pkg_total = be16(p);
        h->pkg_index = be16(p + 2);
        p += 4;
        if (h->pkg_total == 0 || h->pkg_index == 0 || h->pkg_index > h->pkg_total) {
            *why = "package index outside 1..total";
            return -1;
        }
    }
    assert((size_t)(p - frame) == jt808_header_len(h));
    *body = p;
    *body_len = h->body_len;
    return 0;
}

/* ---- building ---- */

static size_t escape_into(const uint8_t *in, size_t n, uint8_t *out, size_t at, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        int esc = b == JT808_FLAG || b == JT808_ESCAPE;
        if (at + (esc ? 2u : 1u) > cap)
            return 0;
        if (esc) {
            out[at++] = JT808_ESCAPE;
            out[at++] = b == JT808_FLAG ? 0x02 : 0x01;
        } else {
            out[at++] = b;
        }
    }
    return at;
}

/* A digit of the terminal number: 0-9, or a-f for the non-BCD numbers phone_decode renders. */
static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t jt808_frame_build(struct jt808_header *h, const uint8_t *body, size_t body_len, uint8_t *out,
                         size_t cap)
{
    size_t digits = h->edition == JT808_2019 ? 20 : 12;
    size_t plen = strnlen(h->phone, sizeof(h->phone));
    if (body_len > JT808_BODY_MAX || plen == 0 || plen > digits)
        return 0;
    for (size_t i = 0; i < plen; i++)
        if (nibble(h->phone[i]) < 0)
            return 0;
    h->body_len = (uint16_t)body_len;

    uint8_t head[JT808_HEADER_MAX];
    size_t n = 0;
    put16(head, h->msg_id);
    uint16_t props =
        (uint16_t)(h->body_len | (h->encryption & 0x07) << 10 | (h->subpackage ? 1 : 0) << 13 |
                   (h->edition == JT808_2019 ? 1 : 0) << 14);
    put16(head + 2, props);
    n = 4;
    if (h->edition == JT808_2019)
        head[n++] = h->proto_version;
    char padded[JT808_PHONE_DIGITS + 1];
    memset(padded, '0', digits - plen);
    memcpy(padded + (digits - plen), h->phone, plen);
    for (size_t i = 0; i < digits; i += 2)
        head[n++] = (uint8_t)(nibble(padded[i]) << 4 | nibble(padded[i + 1]));
    put16(head + n, h->serial);
    n += 2;
    if (h->subpackage) {
        put16(head + n, h->pkg_total);
        put16(head + n + 2, h->pkg_index);
        n += 4;
    }
    assert(n == jt808_header_len(h));

    uint8_t check = 0;
    for (size_t i = 0; i < n; i++)
        check ^= head[i];
    for (size_t i = 0; i < body_len; i++)
        check ^= body[i];

    if (cap < 2)
        return 0;
    size_t at = 0;
    out[at++] = JT808_FLAG;
    at = escape_into(head, n, out, at, cap);
    if (at && body_len)
        at = escape_into(body, body_len, out, at, cap);
    if (at)
        at = escape_into(&check, 1, out, at, cap);
    if (at == 0 || at + 1 > cap)
        return 0;
    out[at++] = JT808_FLAG;
    return at;
}
