/* jt808_codec.h -- the JT/T 808 wire format (editions 2011, 2013, 2019), pure: no I/O, no
 * allocation. The first piece of the JT/T 808 transport (issue 12): the listener, sessions and
 * message bodies build on it. Facts and the traps of real terminals: docs/jt808.md.
 *
 * A frame on the wire is 0x7E | header | body | checksum | 0x7E, where everything between the
 * flags is escaped (0x7E -> 7D 02, 0x7D -> 7D 01) and the checksum is the XOR of the unescaped
 * header and body. The deframer takes bytes as TCP delivers them (several frames per read, a
 * frame split across reads, garbage before a flag, back-to-back flags `7E 7E`) and hands out one
 * unescaped, checksum-verified frame at a time, in a buffer of fixed size (a frame can never be
 * longer than the largest header plus the largest body the header can declare).
 *
 * The header is told apart by its length, not by the version bit alone: bit 14 of the body
 * properties is the first guess (2019), and the layout whose header length plus declared body
 * length equals the frame's length wins. Every field is bounded by its own length.
 */
#ifndef LPG_JT808_CODEC_H
#define LPG_JT808_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define JT808_FLAG   0x7E
#define JT808_ESCAPE 0x7D

#define JT808_BODY_MAX      1023 /* bits 0-9 of the body properties */
#define JT808_HEADER_MAX    21   /* 2019 header with the package item */
#define JT808_PHONE_DIGITS  20   /* BCD[10] in 2019; BCD[6] (12 digits) before */
#define JT808_UNESCAPED_MAX (JT808_HEADER_MAX + JT808_BODY_MAX + 1) /* + checksum */
#define JT808_WIRE_MAX      (2 * JT808_UNESCAPED_MAX + 2)           /* all escaped, 2 flags */

enum jt808_edition {
    JT808_2013 = 0, /* 2011 and 2013 share the header (they differ in some bodies) */
    JT808_2019 = 1,
};

struct jt808_header {
    uint16_t msg_id;
    uint16_t body_len;  /* bits 0-9 of the properties */
    uint8_t encryption; /* bits 10-12 (0: none) */
    uint8_t subpackage; /* bit 13: a package item follows the serial */
    enum jt808_edition edition;
    uint8_t proto_version; /* 2019 only (1 for the 2019 edition) */
    /* the BCD digits as sent, left padding included; a nibble above 9 (a packed IMEI) is a
     * lowercase hex digit: such a terminal is accepted and known by that string */
    char phone[JT808_PHONE_DIGITS + 1];
    uint16_t serial;
    uint16_t pkg_total, pkg_index; /* when subpackage */
};

/* ---- deframing ---- */

enum jt808_feed {
    JT808_MORE = 0,  /* all input used; no complete frame yet */
    JT808_FRAME = 1, /* a frame is ready: jt808_deframer_frame() */
    JT808_BAD = -1,  /* a frame was dropped (jt808_deframer_error() says why); keep feeding */
};

struct jt808_deframer {
    uint8_t buf[JT808_UNESCAPED_MAX];
    size_t n;               /* unescaped bytes of the frame being read */
    int in_frame;           /* between a flag and the next */
    int escaped;            /* the previous byte was 0x7D */
    int overflow;           /* the frame being read is too long: drop it at its end flag */
    int bad_escape;         /* the frame being read has 7D followed by neither 01 nor 02 */
    size_t ready;           /* length of the frame handed out by the last JT808_FRAME (0: none) */
    const char *why;        /* the reason of the last JT808_BAD */
    uint64_t skipped_bytes; /* bytes outside any frame (garbage before a flag) */
};

void jt808_deframer_init(struct jt808_deframer *d);

/* Reads from data[0..len) until a frame completes, the input ends or a frame is dropped.
 * *used is how many bytes were consumed (call again with the rest). A frame handed out stays
 * valid until the next call. */
enum jt808_feed jt808_deframer_feed(struct jt808_deframer *d, const uint8_t *data, size_t len,
                                    size_t *used);

/* The frame of the last JT808_FRAME: header and body, unescaped, checksum verified and removed. */
const uint8_t *jt808_deframer_frame(const struct jt808_deframer *d, size_t *len);
const char *jt808_deframer_error(const struct jt808_deframer *d);

/* ---- header ---- */

/* Parses the header of an unescaped frame (header + body, no checksum). On success fills h,
 * sets *body and *body_len (== h->body_len) and returns 0; -1 with *why when neither layout
 * fits the frame's length or the package item is invalid. */
int jt808_header_parse(const uint8_t *frame, size_t len, struct jt808_header *h,
                       const uint8_t **body, size_t *body_len, const char **why);

/* The header length of h's layout (12, 16, 17 or 21). */
size_t jt808_header_len(const struct jt808_header *h);

/* ---- building a frame ---- */

/* Writes the wire form of header h (its edition's layout; h->body_len is set from body_len) and
 * body into out: flags, escaping, checksum. The phone digits are right-aligned in the BCD field
 * and padded with 0 on the left; a-f are written as the nibbles they name (the phone of a
 * non-BCD terminal, as jt808_header_parse renders it). Returns the length, or 0 when body_len >
 * JT808_BODY_MAX, the phone is not 1..digits of [0-9a-f], or out is too small (JT808_WIRE_MAX
 * always suffices). */
size_t jt808_frame_build(struct jt808_header *h, const uint8_t *body, size_t body_len, uint8_t *out,
                         size_t cap);

#endif
