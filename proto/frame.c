/*
 * frame.c - decoder and encoder of length-prefixed frames (4-byte big-endian length, payload).
 *
 * The decoder is a three-state machine: HEADER (collecting the length prefix), PAYLOAD
 * (collecting that many bytes), COMPLETE (a frame waits for lpg_frame_next()). Feeding stops at
 * the end of the current frame, so state never spans more than one frame and the only memory
 * that grows with peer input is the payload buffer, bounded by max_payload and allocated only
 * after the length prefix has been checked. The first error is recorded with a message and
 * never cleared: a stream that lost framing cannot be resynchronised, so the connection dies.
 */
#include "frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if LPG_FRAME_MAX_PAYLOAD > UINT32_MAX
#error "LPG_FRAME_MAX_PAYLOAD must fit the 32-bit length prefix"
#endif

enum frame_state {
    FRAME_HEADER,   /* hdr[0..hdr_have) collected */
    FRAME_PAYLOAD,  /* buf[0..have) of need bytes collected */
    FRAME_COMPLETE, /* buf[0..need) is a whole frame not yet taken */
};

/* Sizes are 32-bit (every one is at most LPG_FRAME_MAX_PAYLOAD): a server keeps one decoder
 * per connection, so its size is memory per connected device. */
struct lpg_frame_decoder {
    uint8_t *buf;    /* payload buffer, NULL until the first frame; owned */
    char *errstr;    /* the error's message, LPG_FRAME_ERRSTR_SIZE bytes; NULL until an error */
    uint64_t frames; /* frames handed out */
    uint64_t bytes;  /* bytes consumed */
    uint32_t max_payload; /* bytes: this decoder's limit, 1..LPG_FRAME_MAX_PAYLOAD */
    uint32_t cap;         /* bytes allocated at buf, <= max_payload */
    uint32_t need;        /* bytes: payload length of the current frame */
    uint32_t have;        /* bytes of payload collected */
    uint32_t peak;        /* bytes: largest cap held */
    uint8_t hdr[LPG_FRAME_HEADER_SIZE];
    uint8_t hdr_have; /* bytes of hdr collected */
    uint8_t state;    /* enum frame_state */
    /* A payload was handed out by lpg_frame_next() and is valid until the next call; only
     * then may an oversized buffer be released. */
    bool handed_out;
    int8_t err; /* sticky: 0 or LPG_FRAME_ERR_* */
};
_Static_assert(LPG_FRAME_MAX_PAYLOAD <= UINT32_MAX, "frame sizes are kept in 32 bits");

static void release_buffer(struct lpg_frame_decoder *dec)
{
    free(dec->buf);
    dec->buf = NULL;
    dec->cap = 0;
}

/* Records the first error; the decoder is dead after this, so its buffer goes too. */
__attribute__((format(printf, 3, 4))) static void set_error(struct lpg_frame_decoder *dec, int code,
                                                            const char *fmt, ...)
{
    va_list ap;

    dec->err = code;
    if (dec->errstr == NULL)
        dec->errstr = malloc(LPG_FRAME_ERRSTR_SIZE);
    if (dec->errstr != NULL) {
        va_start(ap, fmt);
        vsnprintf(dec->errstr, LPG_FRAME_ERRSTR_SIZE, fmt, ap);
        va_end(ap);
    }
    release_buffer(dec);
}

/* Called on entry to feed and next: the previously handed-out payload is now dead. */
static void settle(struct lpg_frame_decoder *dec)
{
    if (!dec->handed_out)
        return;
    dec->handed_out = false;
    if (dec->cap > LPG_FRAME_KEEP_CAPACITY)
        release_buffer(dec);
}

/*
 * Makes buf hold at least n bytes (1 <= n <= max_payload). Rounds up to a power of two so
 * that a stream of slowly growing frames does not reallocate each time, but never beyond
 * max_payload. The old contents are dead (nothing is collected yet), so no realloc copy.
 */
static int reserve(struct lpg_frame_decoder *dec, size_t n)
{
    size_t want = LPG_FRAME_MIN_CAPACITY;

    if (dec->cap >= n)
        return 0;
    while (want < n)
        want *= 2; /* n <= LPG_FRAME_MAX_PAYLOAD: cannot overflow */
    if (want > dec->max_payload)
        want = dec->max_payload;
    release_buffer(dec);
    dec->buf = malloc(want);
    if (dec->buf == NULL)
        return -1;
    dec->cap = want;
    if (want > dec->peak)
        dec->peak = want;
    return 0;
}

static uint32_t read_be32(const uint8_t b[LPG_FRAME_HEADER_SIZE])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Validates the completed length prefix and prepares for its payload. */
static void start_payload(struct lpg_frame_decoder *dec)
{
    uint32_t n = read_be32(dec->hdr);

    if (n == 0) {
        set_error(dec, LPG_FRAME_ERR_EMPTY, "frame length 0: a frame must carry a payload");
        return;
    }
    if (n > dec->max_payload) {
        /* The raw bytes help spot a peer speaking another protocol ("GET " = 47 45 54 20). */
        set_error(dec, LPG_FRAME_ERR_OVERSIZE,
                  "frame length %lu exceeds maximum %lu bytes (header %02x %02x %02x %02x)",
                  (unsigned long)n, (unsigned long)dec->max_payload, dec->hdr[0], dec->hdr[1],
                  dec->hdr[2], dec->hdr[3]);
        return;
    }
    if (reserve(dec, n) != 0) {
        set_error(dec, LPG_FRAME_ERR_NOMEM, "out of memory for a %lu-byte frame buffer",
                  (unsigned long)n);
        return;
    }
    dec->need = n;
    dec->have = 0;
    dec->state = FRAME_PAYLOAD;
}

struct lpg_frame_decoder *lpg_frame_decoder_new(size_t max_payload)
{
    struct lpg_frame_decoder *dec;

    if (max_payload == 0 || max_payload > LPG_FRAME_MAX_PAYLOAD) {
        errno = EINVAL;
        return NULL;
    }
    dec = calloc(1, sizeof(*dec));
    if (dec == NULL)
        return NULL;
    dec->max_payload = max_payload;
    dec->state = FRAME_HEADER;
    return dec;
}

void lpg_frame_decoder_free(struct lpg_frame_decoder *dec)
{
    if (dec == NULL)
        return;
    release_buffer(dec);
    free(dec->errstr);
    free(dec);
}

size_t lpg_frame_feed(struct lpg_frame_decoder *dec, const uint8_t *bytes, size_t len)
{
    size_t used = 0;
    size_t take;

    settle(dec);
    if (dec->err != 0 || dec->state == FRAME_COMPLETE || len == 0)
        return 0;

    if (dec->state == FRAME_HEADER) {
        take = LPG_FRAME_HEADER_SIZE - dec->hdr_have;
        if (take > len)
            take = len;
        memcpy(dec->hdr + dec->hdr_have, bytes, take);
        dec->hdr_have += take;
        used += take;
        if (dec->hdr_have < LPG_FRAME_HEADER_SIZE)
            goto out;
        start_payload(dec);
        if (dec->err != 0)
            goto out;
    }

    /* FRAME_PAYLOAD: possibly with nothing left to copy from this call. */
    take = dec->need - dec->have;
    if (take > len - used)
        take = len - used;
    if (take > 0) {
        memcpy(dec->buf + dec->have, bytes + used, take);
        dec->have += take;
        used += take;
    }
    if (dec->have == dec->need)
        dec->state = FRAME_COMPLETE;

out:
    dec->bytes += used;
    return used;
}

int lpg_frame_next(struct lpg_frame_decoder *dec, const uint8_t **payload, size_t *len)
{
    settle(dec);
    *payload = NULL;
    *len = 0;
    if (dec->err != 0)
        return dec->err;
    if (dec->state != FRAME_COMPLETE)
        return LPG_FRAME_NEED_MORE;

    *payload = dec->buf;
    *len = dec->need;
    dec->handed_out = true;
    dec->frames++;
    dec->state = FRAME_HEADER;
    dec->hdr_have = 0;
    dec->need = 0;
    dec->have = 0;
    return LPG_FRAME_READY;
}

void lpg_frame_release(struct lpg_frame_decoder *dec)
{
    if (dec == NULL)
        return;
    dec->handed_out = false;
    /* FRAME_HEADER with no payload byte collected: the buffer backs nothing. */
    if (dec->state == FRAME_HEADER)
        release_buffer(dec);
}

int lpg_frame_finish(struct lpg_frame_decoder *dec)
{
    if (dec->err != 0)
        return dec->err;
    if (dec->state == FRAME_HEADER && dec->hdr_have > 0)
        set_error(dec, LPG_FRAME_ERR_TRUNCATED,
                  "connection closed mid-frame: %u of %d header bytes", (unsigned)dec->hdr_have,
                  LPG_FRAME_HEADER_SIZE);
    else if (dec->state == FRAME_PAYLOAD)
        set_error(dec, LPG_FRAME_ERR_TRUNCATED,
                  "connection closed mid-frame: %lu of %lu payload bytes", (unsigned long)dec->have,
                  (unsigned long)dec->need);
    return dec->err;
}

size_t lpg_frame_in_progress(const struct lpg_frame_decoder *dec)
{
    if (dec->err != 0)
        return 0;
    switch (dec->state) {
    case FRAME_HEADER:
        return dec->hdr_have;
    case FRAME_PAYLOAD:
        return LPG_FRAME_HEADER_SIZE + dec->have;
    case FRAME_COMPLETE:
        break;
    }
    return 0;
}

size_t lpg_frame_wanted(const struct lpg_frame_decoder *dec)
{
    if (dec->err != 0)
        return 0;
    switch (dec->state) {
    case FRAME_HEADER:
        return LPG_FRAME_HEADER_SIZE - dec->hdr_have;
    case FRAME_PAYLOAD:
        return dec->need - dec->have;
    case FRAME_COMPLETE:
        break;
    }
    return 0;
}

int lpg_frame_error(const struct lpg_frame_decoder *dec)
{
    return dec->err;
}

const char *lpg_frame_errstr(const struct lpg_frame_decoder *dec)
{
    if (dec->errstr != NULL)
        return dec->errstr;
    /* No error, or no memory for its message: the generic description. */
    return dec->err != 0 ? lpg_frame_strerror(dec->err) : "";
}

const char *lpg_frame_strerror(int code)
{
    switch (code) {
    case LPG_FRAME_NEED_MORE:
        return "no error: need more bytes";
    case LPG_FRAME_READY:
        return "no error: frame ready";
    case LPG_FRAME_ERR_OVERSIZE:
        return "frame length exceeds the maximum payload size";
    case LPG_FRAME_ERR_EMPTY:
        return "frame length is zero";
    case LPG_FRAME_ERR_NOMEM:
        return "out of memory for the frame buffer";
    case LPG_FRAME_ERR_TRUNCATED:
        return "connection closed mid-frame";
    case LPG_FRAME_ERR_NOSPACE:
        return "output buffer too small for the frame";
    }
    return "unknown frame codec error";
}

void lpg_frame_get_stats(const struct lpg_frame_decoder *dec, struct lpg_frame_stats *out)
{
    out->frames = dec->frames;
    out->bytes = dec->bytes;
    out->capacity = dec->cap;
    out->peak = dec->peak;
}

int lpg_frame_put_header(uint8_t out[LPG_FRAME_HEADER_SIZE], size_t payload_len)
{
    if (payload_len == 0)
        return LPG_FRAME_ERR_EMPTY;
    if (payload_len > LPG_FRAME_MAX_PAYLOAD)
        return LPG_FRAME_ERR_OVERSIZE;
    out[0] = (uint8_t)(payload_len >> 24);
    out[1] = (uint8_t)(payload_len >> 16);
    out[2] = (uint8_t)(payload_len >> 8);
    out[3] = (uint8_t)payload_len;
    return 0;
}

int lpg_frame_encode(uint8_t *out, size_t out_size, const uint8_t *payload, size_t payload_len,
                     size_t *written)
{
    uint8_t hdr[LPG_FRAME_HEADER_SIZE];
    int rc = lpg_frame_put_header(hdr, payload_len);

    if (rc != 0)
        return rc;
    /* payload_len <= LPG_FRAME_MAX_PAYLOAD, so the sum cannot overflow. */
    if (out_size < LPG_FRAME_HEADER_SIZE + payload_len)
        return LPG_FRAME_ERR_NOSPACE;
    memcpy(out, hdr, sizeof(hdr));
    memcpy(out + LPG_FRAME_HEADER_SIZE, payload, payload_len);
    *written = LPG_FRAME_HEADER_SIZE + payload_len;
    return 0;
}
