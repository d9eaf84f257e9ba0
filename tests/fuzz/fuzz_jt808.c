/*
 * fuzz_jt808.c - libFuzzer target for the JT/T 808 wire format (dispatch/jt808/jt808_codec.c):
 * the deframer fed the input in chunks whose sizes come from the input itself, every frame's
 * header parsed, and every frame that parses built again and read back to the same header and
 * body (a differential oracle on the codec's two directions). Every body then goes to every body
 * parser (jt808_fuzz_body.h), and subpackaged frames to one reassembler per input, whose
 * completed messages go to the body parsers too: the real path of a connection.
 */
#include "jt808_fuzz_body.h"

#include "jt808/jt808_codec.h"
#include "jt808/jt808_reasm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct jt808_reasm *reasm;
static int64_t clock_ms;

static void to_bodies(const struct jt808_header *h, const uint8_t *body, size_t len)
{
    jt808_fuzz_body(body, len, h->edition == JT808_2019);
    if (!h->subpackage)
        return;
    if (!reasm && !(reasm = jt808_reasm_new()))
        return;
    const uint8_t *out;
    size_t out_len;
    uint16_t first;
    clock_ms += 400;
    if (jt808_reasm_add(reasm, h, body, len, clock_ms, &out, &out_len, &first) ==
        JT808_REASM_COMPLETE)
        jt808_fuzz_body(out, out_len, h->edition == JT808_2019);
    jt808_reasm_tick(reasm, clock_ms, 1000, NULL, NULL);
}

static void round_trip(const uint8_t *frame, size_t len)
{
    struct jt808_header h, h2;
    const uint8_t *body, *body2;
    size_t blen, blen2, flen, used;
    const char *why;
    if (jt808_header_parse(frame, len, &h, &body, &blen, &why) != 0)
        return;
    uint8_t copy[JT808_BODY_MAX];
    memcpy(copy, body, blen);
    to_bodies(&h, copy, blen);
    static uint8_t wire[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, copy, blen, wire, sizeof(wire));
    if (n == 0)
        abort(); /* whatever parses can be built */
    struct jt808_deframer d;
    jt808_deframer_init(&d);
    if (jt808_deframer_feed(&d, wire, n, &used) != JT808_FRAME || used != n)
        abort();
    const uint8_t *f = jt808_deframer_frame(&d, &flen);
    if (jt808_header_parse(f, flen, &h2, &body2, &blen2, &why) != 0)
        abort();
    if (h2.msg_id != h.msg_id || h2.edition != h.edition || h2.serial != h.serial ||
        h2.subpackage != h.subpackage || h2.encryption != h.encryption ||
        strcmp(h2.phone, h.phone) != 0 || blen2 != blen || memcmp(body2, copy, blen) != 0 ||
        (h.subpackage && (h2.pkg_total != h.pkg_total || h2.pkg_index != h.pkg_index)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    static struct jt808_deframer d;
    jt808_deframer_init(&d);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t at = 0;
        while (at < n) {
            size_t used;
            enum jt808_feed r = jt808_deframer_feed(&d, data + off + at, n - at, &used);
            if (used == 0 && r == JT808_MORE)
                abort(); /* no progress */
            at += used;
            if (r == JT808_FRAME) {
                size_t flen;
                const uint8_t *f = jt808_deframer_frame(&d, &flen);
                static uint8_t frame[JT808_UNESCAPED_MAX];
                memcpy(frame, f, flen);
                round_trip(frame, flen);
            }
        }
        off += n;
    }
    jt808_reasm_free(reasm);
    reasm = NULL;
    clock_ms = 0;
    return 0;
}
