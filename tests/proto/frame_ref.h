/*
 * frame_ref.h - an independent reference parser for the frame format and a driver that checks
 * lpg_frame_* against it, shared by test_frame.c (cmocka) and fuzz_frame.c (libFuzzer).
 *
 * The reference walks a whole in-memory buffer with plain index arithmetic, so it has none of
 * the decoder's incremental state; any chunking of the same bytes through the decoder must give
 * the same frames, the same error and the same byte counts. The includer defines
 * FRAME_REF_ASSERT(cond) (cmocka's assert_true, or abort() in the fuzzer) before including.
 */
#ifndef LPG_TESTS_FRAME_REF_H
#define LPG_TESTS_FRAME_REF_H

#include "frame.h"

#include <stdlib.h>
#include <string.h>

#ifndef FRAME_REF_ASSERT
#error "define FRAME_REF_ASSERT(cond) before including frame_ref.h"
#endif

struct ref_frame {
    size_t off; /* bytes: payload offset in the input */
    size_t len; /* bytes: payload length */
};

struct ref_result {
    struct ref_frame *frames; /* malloc'd; ref_result_free() */
    size_t nframes;
    int err;         /* 0, LPG_FRAME_ERR_EMPTY or LPG_FRAME_ERR_OVERSIZE */
    size_t consumed; /* bytes the decoder must consume: up to the bad header, or all */
    size_t partial;  /* bytes of an incomplete trailing frame (when err == 0) */
};

static inline void ref_parse(const uint8_t *buf, size_t len, size_t max_payload,
                             struct ref_result *r)
{
    size_t pos = 0;

    memset(r, 0, sizeof(*r));
    /* Every frame takes at least 5 bytes. */
    r->frames = malloc((len / (LPG_FRAME_HEADER_SIZE + 1) + 1) * sizeof(*r->frames));
    FRAME_REF_ASSERT(r->frames != NULL);
    for (;;) {
        if (len - pos < LPG_FRAME_HEADER_SIZE) {
            r->partial = len - pos;
            r->consumed = len;
            return;
        }
        size_t n = (size_t)buf[pos] << 24 | (size_t)buf[pos + 1] << 16 | (size_t)buf[pos + 2] << 8 |
                   (size_t)buf[pos + 3];
        pos += LPG_FRAME_HEADER_SIZE;
        if (n == 0 || n > max_payload) {
            r->err = n == 0 ? LPG_FRAME_ERR_EMPTY : LPG_FRAME_ERR_OVERSIZE;
            r->consumed = pos;
            return;
        }
        if (len - pos < n) {
            r->partial = LPG_FRAME_HEADER_SIZE + (len - pos);
            r->consumed = len;
            return;
        }
        r->frames[r->nframes].off = pos;
        r->frames[r->nframes].len = n;
        r->nframes++;
        pos += n;
    }
}

static inline void ref_result_free(struct ref_result *r)
{
    free(r->frames);
    r->frames = NULL;
}

/* Returns the next chunk size, 1..remaining. */
typedef size_t (*ref_chunker)(void *ctx, size_t remaining);

/*
 * Feeds buf[0..len) to a fresh decoder in chunks chosen by next_chunk, checks every frame and
 * the final state against the reference, then checks the error (if any) is sticky.
 * Returns the number of frames decoded.
 */
static inline size_t ref_check_decoder(const uint8_t *buf, size_t len, size_t max_payload,
                                       ref_chunker next_chunk, void *ctx)
{
    struct ref_result ref;
    struct lpg_frame_decoder *dec = lpg_frame_decoder_new(max_payload);
    struct lpg_frame_stats st;
    const uint8_t *p;
    size_t plen;
    size_t pos = 0;
    size_t got = 0;
    int rc = LPG_FRAME_NEED_MORE;

    FRAME_REF_ASSERT(dec != NULL);
    ref_parse(buf, len, max_payload, &ref);

    while (pos < len && rc >= 0) {
        size_t chunk = next_chunk(ctx, len - pos);
        size_t off = 0;

        FRAME_REF_ASSERT(chunk >= 1 && chunk <= len - pos);
        /* The documented caller loop: re-offer the unconsumed rest after draining frames. */
        while (off < chunk) {
            size_t n = lpg_frame_feed(dec, buf + pos + off, chunk - off);
            size_t frames_before = got;

            FRAME_REF_ASSERT(n <= chunk - off);
            off += n;
            while ((rc = lpg_frame_next(dec, &p, &plen)) == LPG_FRAME_READY) {
                FRAME_REF_ASSERT(got < ref.nframes);
                FRAME_REF_ASSERT(plen >= 1 && plen <= max_payload);
                FRAME_REF_ASSERT(plen == ref.frames[got].len);
                FRAME_REF_ASSERT(memcmp(p, buf + ref.frames[got].off, plen) == 0);
                got++;
            }
            FRAME_REF_ASSERT(p == NULL && plen == 0);
            if (rc < 0)
                break;
            /* Progress: bytes consumed or a frame taken, or the loop would spin. */
            FRAME_REF_ASSERT(n > 0 || got > frames_before);
        }
        pos += off;
    }

    lpg_frame_get_stats(dec, &st);
    FRAME_REF_ASSERT(got == ref.nframes);
    FRAME_REF_ASSERT(st.frames == ref.nframes);
    FRAME_REF_ASSERT(st.bytes == ref.consumed);
    FRAME_REF_ASSERT(st.capacity <= max_payload && st.peak <= max_payload);
    FRAME_REF_ASSERT(lpg_frame_error(dec) == ref.err);
    if (ref.err == 0) {
        FRAME_REF_ASSERT(lpg_frame_errstr(dec)[0] == '\0');
        FRAME_REF_ASSERT(lpg_frame_in_progress(dec) == ref.partial);
        FRAME_REF_ASSERT(lpg_frame_finish(dec) == (ref.partial > 0 ? LPG_FRAME_ERR_TRUNCATED : 0));
    } else {
        FRAME_REF_ASSERT(lpg_frame_errstr(dec)[0] != '\0');
        FRAME_REF_ASSERT(lpg_frame_in_progress(dec) == 0);
        FRAME_REF_ASSERT(st.capacity == 0); /* a dead decoder holds no buffer */
        /* Sticky: nothing more is consumed, the same error comes back every time. */
        if (len > 0)
            FRAME_REF_ASSERT(lpg_frame_feed(dec, buf, len) == 0);
        FRAME_REF_ASSERT(lpg_frame_next(dec, &p, &plen) == ref.err);
        FRAME_REF_ASSERT(lpg_frame_finish(dec) == ref.err);
        FRAME_REF_ASSERT(lpg_frame_error(dec) == ref.err);
        lpg_frame_get_stats(dec, &st);
        FRAME_REF_ASSERT(st.bytes == ref.consumed);
    }
    lpg_frame_decoder_free(dec);
    ref_result_free(&ref);
    return got;
}

#endif /* LPG_TESTS_FRAME_REF_H */
