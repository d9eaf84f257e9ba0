/*
 * fuzz_jt808.c - libFuzzer target for the JT/T 808 wire format (dispatch/jt808/jt808_codec.c):
 * the deframer fed the input in chunks whose sizes come from the input itself, every frame's
 * header parsed, and every frame that parses built again and read back to the same header and
 * body (a differential oracle on the codec's two directions).
 */
#include "jt808/jt808_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    return 0;
}
