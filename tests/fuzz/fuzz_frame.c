/*
 * fuzz_frame.c - libFuzzer target for the frame decoder (proto/frame.c).
 *
 * Input: 4 configuration bytes, then the byte stream. The configuration picks the decoder's
 * max_payload (small limits so that noise decodes into frames, or anything up to the hard
 * ceiling) and seeds the chunking. The stream is decoded whole, byte by byte and in chunks,
 * each checked against the reference parser in frame_ref.h; the first payload-sized prefix is
 * also encoded and decoded back. Any mismatch aborts; ASan/UBSan catch the rest.
 * Build with clang (see CMakeLists.txt); run e.g. `fuzz_frame -max_total_time=60 corpus/`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_REF_ASSERT(cond)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)
#include "frame_ref.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunk_ctx {
    uint64_t s; /* splitmix64 state */
};

static size_t chunk_whole(void *ctx, size_t remaining)
{
    (void)ctx;
    return remaining;
}

static size_t chunk_byte(void *ctx, size_t remaining)
{
    (void)ctx;
    (void)remaining;
    return 1;
}

static size_t chunk_seeded(void *ctx, size_t remaining)
{
    struct chunk_ctx *c = ctx;
    uint64_t z = (c->s += 0x9e3779b97f4a7c15u);
    size_t n;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    n = 1 + (size_t)(z % (z & 1 ? 8u : 512u));
    return n < remaining ? n : remaining;
}

static void check_encode_round_trip(const uint8_t *payload, size_t len)
{
    uint8_t *out = malloc(LPG_FRAME_HEADER_SIZE + len);
    struct lpg_frame_decoder *dec = lpg_frame_decoder_new(LPG_FRAME_MAX_PAYLOAD);
    const uint8_t *p;
    size_t plen, written = 0;

    FRAME_REF_ASSERT(out != NULL && dec != NULL);
    FRAME_REF_ASSERT(lpg_frame_encode(out, LPG_FRAME_HEADER_SIZE + len, payload, len, &written) ==
                     0);
    FRAME_REF_ASSERT(lpg_frame_encode(out, written - 1, payload, len, &written) ==
                     LPG_FRAME_ERR_NOSPACE);
    FRAME_REF_ASSERT(lpg_frame_feed(dec, out, written) == written);
    FRAME_REF_ASSERT(lpg_frame_next(dec, &p, &plen) == LPG_FRAME_READY);
    FRAME_REF_ASSERT(plen == len && memcmp(p, payload, len) == 0);
    FRAME_REF_ASSERT(lpg_frame_finish(dec) == 0);
    lpg_frame_decoder_free(dec);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chunk_ctx c;
    size_t max;
    uint32_t cfg;

    if (size < 4)
        return 0;
    cfg = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    data += 4;
    size -= 4;
    max = cfg & 0x80000000u ? 1 + (cfg & 0xffffu) % 300u
                            : 1 + (cfg & 0xffffffu) % LPG_FRAME_MAX_PAYLOAD;
    c.s = cfg;

    ref_check_decoder(data, size, max, chunk_whole, NULL);
    ref_check_decoder(data, size, max, chunk_seeded, &c);
    if (size <= 4096)
        ref_check_decoder(data, size, max, chunk_byte, NULL);
    if (size > 0)
        check_encode_round_trip(data, size < LPG_FRAME_MAX_PAYLOAD ? size : LPG_FRAME_MAX_PAYLOAD);
    return 0;
}
