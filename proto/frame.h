/*
 * frame.h - the length-prefixed frame codec of the handset / vehicle-unit wire protocol.
 *
 * Wire format: every frame is a 4-byte big-endian unsigned payload length followed by exactly
 * that many payload bytes (one serialized lpg.v1.Envelope; this codec never looks inside).
 * A length of 0 is invalid: an envelope always carries a body.
 *
 * The codec is pure: bytes in, frames out. No sockets, no libevent, no protobuf, no logging.
 * Its decoder follows hiredis' reader (redisReaderFeed / redisReaderGetReply): the caller feeds
 * bytes and pulls frames, and the first error is sticky.
 *
 * Bounded memory. lpg_frame_feed() consumes input at most up to the end of the current frame,
 * so a decoder never buffers more than one frame: at most LPG_FRAME_HEADER_SIZE header bytes
 * plus one payload of at most its max_payload bytes. The length prefix is checked against
 * max_payload before any payload memory is allocated, so a peer cannot make us allocate more
 * than that by lying in a header. Unconsumed input stays with the caller (for the server, in
 * the bufferevent's input evbuffer, which has its own watermark).
 *
 * The payload buffer is allocated lazily and sized to the current frame (rounded up to a power
 * of two, at least LPG_FRAME_MIN_CAPACITY, never beyond max_payload), so an idle connection that
 * has only sent small frames holds at most LPG_FRAME_KEEP_CAPACITY bytes. A buffer larger than
 * LPG_FRAME_KEEP_CAPACITY is released at the first decoder call after its frame was handed out,
 * so one large upload does not pin max_payload bytes on a connection for its lifetime.
 *
 * Typical use (one decoder per connection; the connection owns it):
 *
 *     struct lpg_frame_decoder *dec = lpg_frame_decoder_new(64u * 1024u);
 *     ...on readable:
 *     while (len > 0) {
 *         size_t n = lpg_frame_feed(dec, p, len);
 *         p += n;
 *         len -= n;
 *         const uint8_t *payload;
 *         size_t plen;
 *         int rc;
 *         while ((rc = lpg_frame_next(dec, &payload, &plen)) == LPG_FRAME_READY)
 *             handle(payload, plen);            // payload dies at the next decoder call
 *         if (rc < 0) {
 *             log("%s", lpg_frame_errstr(dec));  // e.g. "frame length 300000 exceeds ..."
 *             close_connection();
 *             break;
 *         }
 *     }
 *     ...on EOF:
 *     if (lpg_frame_finish(dec) < 0)
 *         log("%s", lpg_frame_errstr(dec));      // "connection closed mid-frame: 3 of 4 ..."
 *     lpg_frame_decoder_free(dec);
 *
 * The loop always makes progress: when lpg_frame_feed() consumes nothing from a non-empty input,
 * either a complete frame is waiting (next returns READY) or the decoder is in error (next
 * returns the error).
 *
 * Thread safety: none. A decoder belongs to one connection on one event loop.
 */
#ifndef LPG_PROTO_FRAME_H
#define LPG_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define LPG_FRAME_HEADER_SIZE   4              /* bytes: big-endian uint32 payload length */
#define LPG_FRAME_MAX_PAYLOAD   (256u * 1024u) /* bytes: hard ceiling of any frame */
#define LPG_FRAME_MIN_CAPACITY  512u           /* bytes: smallest payload buffer allocated */
#define LPG_FRAME_KEEP_CAPACITY 4096u          /* bytes: largest buffer kept between frames */
#define LPG_FRAME_ERRSTR_SIZE   128            /* bytes: lpg_frame_errstr() incl. the NUL */
/* (the message is allocated on the first error only: a decoder without error is small) */

/*
 * Status and error codes. One convention for the whole codec: 0 / positive are states,
 * negative are errors. lpg_frame_strerror() names every one of them.
 */
enum {
    LPG_FRAME_NEED_MORE = 0,      /* next: no complete frame yet; feed more bytes */
    LPG_FRAME_READY = 1,          /* next: *payload / *len hold one frame */
    LPG_FRAME_ERR_OVERSIZE = -1,  /* length prefix above the limit */
    LPG_FRAME_ERR_EMPTY = -2,     /* length prefix of 0 */
    LPG_FRAME_ERR_NOMEM = -3,     /* payload buffer allocation failed */
    LPG_FRAME_ERR_TRUNCATED = -4, /* finish: the stream ended inside a frame */
    LPG_FRAME_ERR_NOSPACE = -5,   /* encode: output buffer too small */
};

/* Opaque decoder state: one per connection. Created by _new, destroyed by _free, nothing else. */
struct lpg_frame_decoder;

/* Counters for metrics; a snapshot, owned by the caller. */
struct lpg_frame_stats {
    uint64_t frames; /* frames handed out by lpg_frame_next() */
    uint64_t bytes;  /* bytes consumed by lpg_frame_feed(), headers included */
    size_t capacity; /* bytes: payload buffer currently allocated */
    size_t peak;     /* bytes: largest payload buffer this decoder has held */
};

/*
 * Creates a decoder that rejects frames whose payload exceeds max_payload bytes
 * (1..LPG_FRAME_MAX_PAYLOAD). No payload memory is allocated until a frame arrives.
 * Returns NULL with errno = EINVAL for an out-of-range max_payload, or ENOMEM.
 * The caller owns the result and releases it with lpg_frame_decoder_free().
 */
struct lpg_frame_decoder *lpg_frame_decoder_new(size_t max_payload);

/* Releases dec and its buffer; any payload pointer it handed out dies. NULL is a no-op. */
void lpg_frame_decoder_free(struct lpg_frame_decoder *dec);

/*
 * Feeds up to len bytes (bytes may be NULL only when len is 0; it is only read during the
 * call, never kept). Consumes at most up to the end of the current frame and returns the number
 * of bytes consumed; the caller keeps the rest and offers it again after lpg_frame_next().
 * Returns 0 while a complete frame waits for lpg_frame_next(), and after any error (the
 * offending header's bytes are counted as consumed by the call that detected it).
 * Invalidates a payload previously returned by lpg_frame_next().
 */
size_t lpg_frame_feed(struct lpg_frame_decoder *dec, const uint8_t *bytes, size_t len);

/*
 * Takes the next complete frame.
 * LPG_FRAME_READY: *payload points to *len bytes (1..max_payload) owned by the decoder, valid
 *     until the next lpg_frame_feed(), lpg_frame_next() or lpg_frame_decoder_free() on dec.
 * LPG_FRAME_NEED_MORE: no complete frame; *payload = NULL, *len = 0.
 * negative: the decoder's sticky error (see lpg_frame_error()); *payload = NULL, *len = 0.
 */
int lpg_frame_next(struct lpg_frame_decoder *dec, const uint8_t **payload, size_t *len);

/*
 * Call at end of stream, after lpg_frame_next() has returned LPG_FRAME_NEED_MORE.
 * Returns 0 when the stream ended on a frame boundary (or a complete frame still waits for
 * lpg_frame_next()), otherwise a negative code: LPG_FRAME_ERR_TRUNCATED, which becomes the
 * decoder's sticky error with a message such as "connection closed mid-frame: 3 of 4 header
 * bytes" or "... 10 of 100 payload bytes", or the decoder's earlier sticky error.
 */
int lpg_frame_finish(struct lpg_frame_decoder *dec);

/*
 * Bytes of an incomplete frame buffered so far, header included: 0 on a frame boundary, when a
 * complete frame waits for lpg_frame_next(), or after an error.
 */
size_t lpg_frame_in_progress(const struct lpg_frame_decoder *dec);

/*
 * Bytes that would complete the part of the frame being collected: the rest of the length
 * prefix, or the rest of the payload once the prefix is in. 0 when a complete frame waits for
 * lpg_frame_next(), or after an error. A reader that reads at most this many bytes from its
 * socket before each feed never holds bytes beyond the current frame: the kernel's socket
 * buffer is its input buffer.
 */
size_t lpg_frame_wanted(const struct lpg_frame_decoder *dec);

/* The sticky error: 0 if none, else a negative LPG_FRAME_ERR_* code. */
int lpg_frame_error(const struct lpg_frame_decoder *dec);

/*
 * Says what went wrong, with the numbers ("frame length 300000 exceeds maximum 65536 bytes");
 * "" when there is no error. Owned by dec; valid until lpg_frame_decoder_free(dec).
 */
const char *lpg_frame_errstr(const struct lpg_frame_decoder *dec);

/* A static, generic description of any code this codec returns (or of an unknown one). */
const char *lpg_frame_strerror(int code);

/*
 * The caller is done with the payload lpg_frame_next() handed out: it dies now, and the payload
 * buffer is released whatever its size, unless a frame is already being collected (then the
 * buffer holds its bytes and stays). A server that calls this after handling each frame holds
 * no payload memory on a connection that sits between frames (the next frame allocates a buffer
 * of its own size, one malloc per frame); without it a decoder keeps up to
 * LPG_FRAME_KEEP_CAPACITY bytes. NULL is a no-op.
 */
void lpg_frame_release(struct lpg_frame_decoder *dec);

/* Fills *out with dec's counters. */
void lpg_frame_get_stats(const struct lpg_frame_decoder *dec, struct lpg_frame_stats *out);

/*
 * Writes the big-endian length prefix for a payload of payload_len bytes into out.
 * Returns 0, or LPG_FRAME_ERR_EMPTY (0) / LPG_FRAME_ERR_OVERSIZE (> LPG_FRAME_MAX_PAYLOAD)
 * leaving out untouched. Checks only the hard ceiling: a peer's decoder may be stricter.
 */
int lpg_frame_put_header(uint8_t out[LPG_FRAME_HEADER_SIZE], size_t payload_len);

/*
 * Writes header + payload (LPG_FRAME_HEADER_SIZE + payload_len bytes) into out, which holds
 * out_size bytes and must not overlap payload. Returns the same errors as
 * lpg_frame_put_header(), or LPG_FRAME_ERR_NOSPACE; on success 0 and *written is set.
 * On error out and *written are untouched.
 */
int lpg_frame_encode(uint8_t *out, size_t out_size, const uint8_t *payload, size_t payload_len,
                     size_t *written);

#endif /* LPG_PROTO_FRAME_H */
