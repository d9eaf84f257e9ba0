/*
 * test_frame.c - unit tests of the frame codec (proto/frame.c).
 *
 * Frames must not depend on how the bytes were split: every stream here is decoded whole, byte
 * by byte and in seeded random chunks, and checked against expected payloads or against the
 * independent reference parser in frame_ref.h. Random tests first replay the seeds in
 * replay_seeds[] (add any seed that ever failed), then one fresh seed that is printed; set
 * LPG_TEST_SEED=<n> to run only seed n.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAME_REF_ASSERT(cond) assert_true(cond)
#include "frame_ref.h"
#include "frame.h"

#define SERVER_MAX      (64u * 1024u) /* bytes: the limit dispatchd is expected to configure */
#define GARBAGE_ROUNDS  400           /* per seed */
#define GARBAGE_MAX_LEN 4096          /* bytes: longest random stream */

/* Seeds that once found a bug; replayed before the fresh one. */
static const uint64_t replay_seeds[] = {1, 2, 0x5eed};

static uint64_t fresh_seed;
static int seed_from_env;

/* ---- seeded PRNG (splitmix64: tiny, good enough, the same on every libc) ---- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform-enough value in [lo, hi]. */
static size_t rng_range(struct rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(r) % ((uint64_t)(hi - lo) + 1));
}

static size_t seed_count(void)
{
    return seed_from_env ? 1 : sizeof(replay_seeds) / sizeof(replay_seeds[0]) + 1;
}

static uint64_t seed_at(size_t i)
{
    if (seed_from_env || i == sizeof(replay_seeds) / sizeof(replay_seeds[0]))
        return fresh_seed;
    return replay_seeds[i];
}

/* ---- chunkers for ref_check_decoder() ---- */

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

/* Mostly small chunks (header splits), sometimes large ones (several frames at once). */
static size_t chunk_random(void *ctx, size_t remaining)
{
    struct rng *r = ctx;
    size_t n;

    switch (rng_next(r) % 4) {
    case 0:
        n = rng_range(r, 1, 3);
        break;
    case 1:
        n = rng_range(r, 1, 64);
        break;
    case 2:
        n = rng_range(r, 1, 4096);
        break;
    default:
        n = rng_range(r, 1, remaining);
        break;
    }
    return n < remaining ? n : remaining;
}

/* ---- stream building and decoding into a list ---- */

struct stream {
    uint8_t *bytes;
    size_t len;
};

/* Frames payloads of the given sizes; payload i byte j = (i * 31 + j) & 0xff. */
static struct stream build_stream(const size_t *sizes, size_t n)
{
    struct stream s = {NULL, 0};
    size_t total = 0;
    size_t pos = 0;

    for (size_t i = 0; i < n; i++)
        total += LPG_FRAME_HEADER_SIZE + sizes[i];
    s.bytes = malloc(total);
    assert_non_null(s.bytes);
    for (size_t i = 0; i < n; i++) {
        size_t written = 0;
        uint8_t *payload = malloc(sizes[i]);

        assert_non_null(payload);
        for (size_t j = 0; j < sizes[i]; j++)
            payload[j] = (uint8_t)(i * 31 + j);
        assert_int_equal(lpg_frame_encode(s.bytes + pos, total - pos, payload, sizes[i], &written),
                         0);
        assert_int_equal(written, LPG_FRAME_HEADER_SIZE + sizes[i]);
        pos += written;
        free(payload);
    }
    s.len = total;
    return s;
}

/* The decoded frames, concatenated, and their lengths. */
struct decoded {
    uint8_t *bytes;
    size_t len;
    size_t sizes[64];
    size_t n;
};

static void decode_all(const struct stream *s, size_t max_payload, ref_chunker chunker, void *ctx,
                       struct decoded *out)
{
    struct lpg_frame_decoder *dec = lpg_frame_decoder_new(max_payload);
    size_t pos = 0;

    assert_non_null(dec);
    memset(out, 0, sizeof(*out));
    out->bytes = malloc(s->len);
    assert_non_null(out->bytes);
    while (pos < s->len) {
        size_t chunk = chunker(ctx, s->len - pos);
        size_t end = pos + chunk;

        while (pos < end) {
            const uint8_t *p;
            size_t plen;
            int rc;

            pos += lpg_frame_feed(dec, s->bytes + pos, end - pos);
            while ((rc = lpg_frame_next(dec, &p, &plen)) == LPG_FRAME_READY) {
                assert_true(out->n < sizeof(out->sizes) / sizeof(out->sizes[0]));
                memcpy(out->bytes + out->len, p, plen);
                out->len += plen;
                out->sizes[out->n++] = plen;
            }
            assert_int_equal(rc, LPG_FRAME_NEED_MORE);
        }
    }
    assert_int_equal(lpg_frame_finish(dec), 0);
    lpg_frame_decoder_free(dec);
}

static void assert_decoded_equal(const struct decoded *a, const struct decoded *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->sizes, b->sizes, a->n * sizeof(a->sizes[0]));
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->bytes, b->bytes, a->len);
}

/* Whole, byte-at-a-time and random chunking give identical frames, equal to the input. */
static void check_all_chunkings(const size_t *sizes, size_t n, size_t max_payload)
{
    struct stream s = build_stream(sizes, n);
    struct decoded whole, bytewise, chunked;
    size_t pos = 0;

    decode_all(&s, max_payload, chunk_whole, NULL, &whole);
    assert_int_equal(whole.n, n);
    assert_memory_equal(whole.sizes, sizes, n * sizeof(sizes[0]));
    /* Payload bytes are the stream minus the headers. */
    for (size_t i = 0, in = 0; i < n; i++) {
        in += LPG_FRAME_HEADER_SIZE;
        assert_memory_equal(whole.bytes + pos, s.bytes + in, sizes[i]);
        pos += sizes[i];
        in += sizes[i];
    }

    decode_all(&s, max_payload, chunk_byte, NULL, &bytewise);
    assert_decoded_equal(&whole, &bytewise);
    free(bytewise.bytes);

    for (size_t i = 0; i < seed_count(); i++) {
        struct rng r = {seed_at(i)};

        decode_all(&s, max_payload, chunk_random, &r, &chunked);
        assert_decoded_equal(&whole, &chunked);
        free(chunked.bytes);
        /* And the reference agrees. */
        r.s = seed_at(i);
        assert_int_equal(ref_check_decoder(s.bytes, s.len, max_payload, chunk_random, &r), n);
    }
    assert_int_equal(ref_check_decoder(s.bytes, s.len, max_payload, chunk_byte, NULL), n);

    free(whole.bytes);
    free(s.bytes);
}

/* ---- helpers for single-decoder tests ---- */

static struct lpg_frame_decoder *new_decoder(size_t max_payload)
{
    struct lpg_frame_decoder *dec = lpg_frame_decoder_new(max_payload);

    assert_non_null(dec);
    return dec;
}

static void put_be32(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static void assert_errstr_contains(const struct lpg_frame_decoder *dec, const char *want)
{
    const char *got = lpg_frame_errstr(dec);

    if (strstr(got, want) == NULL)
        fail_msg("errstr \"%s\" does not contain \"%s\"", got, want);
}

/* After an error: feed consumes nothing, next/finish/error repeat it, errstr is unchanged. */
static void assert_stuck(struct lpg_frame_decoder *dec, int code, const char *msg)
{
    static const uint8_t good[] = {0, 0, 0, 1, 'x'};
    const uint8_t *p = good;
    size_t plen = 99;
    struct lpg_frame_stats before, after;

    lpg_frame_get_stats(dec, &before);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lpg_frame_feed(dec, good, sizeof(good)), 0);
        assert_int_equal(lpg_frame_feed(dec, NULL, 0), 0);
        assert_int_equal(lpg_frame_next(dec, &p, &plen), code);
        assert_null(p);
        assert_int_equal(plen, 0);
        assert_int_equal(lpg_frame_finish(dec), code);
        assert_int_equal(lpg_frame_error(dec), code);
        assert_int_equal(lpg_frame_in_progress(dec), 0);
        assert_string_equal(lpg_frame_errstr(dec), msg);
    }
    lpg_frame_get_stats(dec, &after);
    assert_int_equal(after.bytes, before.bytes);
    assert_int_equal(after.frames, before.frames);
    assert_int_equal(after.capacity, 0);
}

/* ---- tests ---- */

static void test_new_rejects_bad_limit(void **state)
{
    (void)state;
    assert_null(lpg_frame_decoder_new(0));
    assert_null(lpg_frame_decoder_new(LPG_FRAME_MAX_PAYLOAD + 1));
    assert_null(lpg_frame_decoder_new(SIZE_MAX));
    lpg_frame_decoder_free(new_decoder(1));
    lpg_frame_decoder_free(new_decoder(LPG_FRAME_MAX_PAYLOAD));
    lpg_frame_decoder_free(NULL);
}

static void test_header_round_trip(void **state)
{
    static const size_t lens[] = {1, 2, 255, 256, 257, 65535, 65536, 65537, LPG_FRAME_MAX_PAYLOAD};
    uint8_t hdr[LPG_FRAME_HEADER_SIZE];

    (void)state;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct lpg_frame_decoder *dec = new_decoder(LPG_FRAME_MAX_PAYLOAD);
        uint8_t *payload = calloc(1, lens[i]);
        const uint8_t *p;
        size_t plen;

        assert_non_null(payload);
        assert_int_equal(lpg_frame_put_header(hdr, lens[i]), 0);
        assert_int_equal((size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3],
                         lens[i]);
        assert_int_equal(lpg_frame_feed(dec, hdr, sizeof(hdr)), sizeof(hdr));
        assert_int_equal(lpg_frame_in_progress(dec), LPG_FRAME_HEADER_SIZE);
        assert_int_equal(lpg_frame_feed(dec, payload, lens[i]), lens[i]);
        assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
        assert_int_equal(plen, lens[i]);
        lpg_frame_decoder_free(dec);
        free(payload);
    }

    /* Known bytes, and nothing written on error. */
    assert_int_equal(lpg_frame_put_header(hdr, 0x12345), 0);
    assert_memory_equal(hdr, ((uint8_t[]){0x00, 0x01, 0x23, 0x45}), 4);
    memset(hdr, 0xaa, sizeof(hdr));
    assert_int_equal(lpg_frame_put_header(hdr, 0), LPG_FRAME_ERR_EMPTY);
    assert_int_equal(lpg_frame_put_header(hdr, LPG_FRAME_MAX_PAYLOAD + 1), LPG_FRAME_ERR_OVERSIZE);
    assert_int_equal(lpg_frame_put_header(hdr, SIZE_MAX), LPG_FRAME_ERR_OVERSIZE);
    assert_memory_equal(hdr, ((uint8_t[]){0xaa, 0xaa, 0xaa, 0xaa}), 4);
}

static void test_encode(void **state)
{
    static const uint8_t payload[] = {'h', 'e', 'l', 'l', 'o'};
    uint8_t out[16];
    size_t written = 77;

    (void)state;
    memset(out, 0xee, sizeof(out));
    assert_int_equal(lpg_frame_encode(out, 9, payload, sizeof(payload), &written), 0);
    assert_int_equal(written, 9);
    assert_memory_equal(out, ((uint8_t[]){0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0xee}), 10);

    written = 77;
    memset(out, 0xee, sizeof(out));
    assert_int_equal(lpg_frame_encode(out, 8, payload, sizeof(payload), &written),
                     LPG_FRAME_ERR_NOSPACE);
    assert_int_equal(lpg_frame_encode(out, 3, payload, 1, &written), LPG_FRAME_ERR_NOSPACE);
    assert_int_equal(lpg_frame_encode(out, sizeof(out), payload, 0, &written), LPG_FRAME_ERR_EMPTY);
    assert_int_equal(
        lpg_frame_encode(out, sizeof(out), payload, LPG_FRAME_MAX_PAYLOAD + 1, &written),
        LPG_FRAME_ERR_OVERSIZE);
    assert_int_equal(written, 77);
    assert_int_equal(out[0], 0xee);
}

static void test_concatenated_frames_any_chunking(void **state)
{
    /* Header/boundary sizes around the buffer policy, two max-size frames, tiny ones between. */
    static const size_t sizes[] = {
        1,          2,    3,    4,    5,          100, 511, 512,
        513,        4095, 4096, 4097, SERVER_MAX, 7,   1,   SERVER_MAX - 1,
        SERVER_MAX, 1,    40000};

    (void)state;
    check_all_chunkings(sizes, sizeof(sizes) / sizeof(sizes[0]), SERVER_MAX);
}

static void test_hard_ceiling_frames_any_chunking(void **state)
{
    static const size_t sizes[] = {3, LPG_FRAME_MAX_PAYLOAD, 1, LPG_FRAME_MAX_PAYLOAD, 2};

    (void)state;
    check_all_chunkings(sizes, sizeof(sizes) / sizeof(sizes[0]), LPG_FRAME_MAX_PAYLOAD);
}

static void test_exactly_max_accepted_one_more_rejected(void **state)
{
    static const size_t limits[] = {1, 2, 100, 1000, SERVER_MAX, LPG_FRAME_MAX_PAYLOAD};

    (void)state;
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        size_t max = limits[i];
        struct stream s = build_stream(&max, 1);
        struct lpg_frame_decoder *dec = new_decoder(max);
        const uint8_t *p;
        size_t plen;
        uint8_t hdr[LPG_FRAME_HEADER_SIZE];
        char msg[LPG_FRAME_ERRSTR_SIZE];

        assert_int_equal(lpg_frame_feed(dec, s.bytes, s.len), s.len);
        assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
        assert_int_equal(plen, max);
        assert_memory_equal(p, s.bytes + LPG_FRAME_HEADER_SIZE, max);

        put_be32(hdr, (uint32_t)(max + 1));
        assert_int_equal(lpg_frame_feed(dec, hdr, sizeof(hdr)), sizeof(hdr));
        assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_ERR_OVERSIZE);
        snprintf(msg, sizeof(msg), "frame length %zu exceeds maximum %zu bytes", max + 1, max);
        assert_errstr_contains(dec, msg);
        lpg_frame_decoder_free(dec);
        free(s.bytes);
    }
}

static void test_oversize_is_sticky(void **state)
{
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    uint8_t in[LPG_FRAME_HEADER_SIZE + 16] = {0};
    const uint8_t *p;
    size_t plen;
    struct lpg_frame_stats st;

    (void)state;
    put_be32(in, SERVER_MAX + 1);
    /* Rejected on the header alone: the payload bytes offered with it are not consumed. */
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), LPG_FRAME_HEADER_SIZE);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_ERR_OVERSIZE);
    assert_string_equal(lpg_frame_errstr(dec),
                        "frame length 65537 exceeds maximum 65536 bytes (header 00 01 00 01)");
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.bytes, LPG_FRAME_HEADER_SIZE);
    assert_int_equal(st.peak, 0); /* nothing was allocated for the lie */
    assert_stuck(dec, LPG_FRAME_ERR_OVERSIZE, lpg_frame_errstr(dec));
    lpg_frame_decoder_free(dec);
}

static void test_oversize_all_ones_bytewise(void **state)
{
    static const uint8_t in[] = {0xff, 0xff, 0xff, 0xff, 0x01};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(lpg_frame_feed(dec, in + i, 1), 1);
        assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
        assert_int_equal(lpg_frame_in_progress(dec), i + 1);
    }
    assert_int_equal(lpg_frame_feed(dec, in + 3, 2), 1);
    assert_int_equal(lpg_frame_error(dec), LPG_FRAME_ERR_OVERSIZE);
    assert_string_equal(lpg_frame_errstr(dec),
                        "frame length 4294967295 exceeds maximum 65536 bytes (header ff ff ff ff)");
    assert_stuck(dec, LPG_FRAME_ERR_OVERSIZE, lpg_frame_errstr(dec));
    lpg_frame_decoder_free(dec);

    /* Against the hard ceiling too. */
    dec = new_decoder(LPG_FRAME_MAX_PAYLOAD);
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), 4);
    assert_errstr_contains(dec, "frame length 4294967295 exceeds maximum 262144 bytes");
    lpg_frame_decoder_free(dec);
}

static void test_zero_length(void **state)
{
    static const uint8_t in[] = {0, 0, 0, 2, 'o', 'k', 0, 0, 0, 0, 0, 0, 0, 1, 'z'};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    /* The good frame before the bad header is still delivered. */
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), 6);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(plen, 2);
    assert_memory_equal(p, "ok", 2);
    assert_int_equal(lpg_frame_feed(dec, in + 6, sizeof(in) - 6), 4);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_ERR_EMPTY);
    assert_string_equal(lpg_frame_errstr(dec), "frame length 0: a frame must carry a payload");
    assert_stuck(dec, LPG_FRAME_ERR_EMPTY, lpg_frame_errstr(dec));
    lpg_frame_decoder_free(dec);
}

static void test_truncated_header(void **state)
{
    static const uint8_t in[] = {0, 0, 0, 1, 'a', 0, 0, 0};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), 5);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(lpg_frame_in_progress(dec), 0);
    assert_int_equal(lpg_frame_feed(dec, in + 5, 3), 3);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    assert_int_equal(lpg_frame_in_progress(dec), 3);
    assert_int_equal(lpg_frame_error(dec), 0);
    assert_int_equal(lpg_frame_finish(dec), LPG_FRAME_ERR_TRUNCATED);
    assert_string_equal(lpg_frame_errstr(dec), "connection closed mid-frame: 3 of 4 header bytes");
    assert_stuck(dec, LPG_FRAME_ERR_TRUNCATED, lpg_frame_errstr(dec));
    lpg_frame_decoder_free(dec);
}

static void test_truncated_payload(void **state)
{
    uint8_t in[LPG_FRAME_HEADER_SIZE + 10] = {0};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    put_be32(in, 100);
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), sizeof(in));
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    assert_int_equal(lpg_frame_in_progress(dec), LPG_FRAME_HEADER_SIZE + 10);
    assert_int_equal(lpg_frame_finish(dec), LPG_FRAME_ERR_TRUNCATED);
    assert_string_equal(lpg_frame_errstr(dec),
                        "connection closed mid-frame: 10 of 100 payload bytes");
    assert_stuck(dec, LPG_FRAME_ERR_TRUNCATED, lpg_frame_errstr(dec));
    lpg_frame_decoder_free(dec);

    /* A bare header is a truncated payload too: 0 of N. */
    dec = new_decoder(SERVER_MAX);
    assert_int_equal(lpg_frame_feed(dec, in, LPG_FRAME_HEADER_SIZE), LPG_FRAME_HEADER_SIZE);
    assert_int_equal(lpg_frame_in_progress(dec), LPG_FRAME_HEADER_SIZE);
    assert_int_equal(lpg_frame_finish(dec), LPG_FRAME_ERR_TRUNCATED);
    assert_string_equal(lpg_frame_errstr(dec),
                        "connection closed mid-frame: 0 of 100 payload bytes");
    lpg_frame_decoder_free(dec);
}

static void test_finish_on_boundary(void **state)
{
    static const uint8_t in[] = {0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    assert_int_equal(lpg_frame_finish(dec), 0); /* nothing ever arrived */
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), 5);
    /* A complete frame still waiting is not a truncation, and finish does not drop it. */
    assert_int_equal(lpg_frame_in_progress(dec), 0);
    assert_int_equal(lpg_frame_finish(dec), 0);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(*p, 'a');
    assert_int_equal(lpg_frame_feed(dec, in + 5, 5), 5);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(*p, 'b');
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    assert_int_equal(lpg_frame_finish(dec), 0);
    assert_int_equal(lpg_frame_error(dec), 0);
    assert_string_equal(lpg_frame_errstr(dec), "");
    lpg_frame_decoder_free(dec);
}

static void test_feed_stops_at_frame_end(void **state)
{
    static const uint8_t in[] = {0, 0, 0, 3, 'o', 'n', 'e', 0, 0, 0, 3, 't', 'w', 'o'};
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen;

    (void)state;
    assert_int_equal(lpg_frame_feed(dec, in, sizeof(in)), 7);
    /* Until the frame is taken the decoder holds exactly one frame and refuses more. */
    assert_int_equal(lpg_frame_feed(dec, in + 7, 7), 0);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_memory_equal(p, "one", 3);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    assert_null(p);
    assert_int_equal(plen, 0);
    assert_int_equal(lpg_frame_feed(dec, in + 7, 7), 7);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_memory_equal(p, "two", 3);
    assert_int_equal(lpg_frame_feed(dec, NULL, 0), 0);
    lpg_frame_decoder_free(dec);
}

/* lpg_frame_release: a connection between frames holds no payload buffer, even a small one;
 * a frame being collected keeps its bytes. */
static void test_release_between_frames(void **state)
{
    static const size_t sizes[] = {10, 1300};
    struct stream s = build_stream(sizes, 2);
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    struct lpg_frame_stats st;
    const uint8_t *p;
    size_t plen, first = LPG_FRAME_HEADER_SIZE + sizes[0];

    (void)state;
    lpg_frame_release(NULL);
    assert_int_equal(lpg_frame_feed(dec, s.bytes, first), first);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(plen, sizes[0]);
    lpg_frame_release(dec);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, 0);

    /* Half of the second frame, then a release: its bytes stay, and it completes intact. */
    size_t half = LPG_FRAME_HEADER_SIZE + sizes[1] / 2;
    assert_int_equal(lpg_frame_feed(dec, s.bytes + first, half), half);
    lpg_frame_release(dec);
    lpg_frame_get_stats(dec, &st);
    assert_true(st.capacity >= sizes[1]);
    size_t rest = s.len - first - half;
    assert_int_equal(lpg_frame_feed(dec, s.bytes + first + half, rest), rest);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(plen, sizes[1]);
    assert_memory_equal(p, s.bytes + first + LPG_FRAME_HEADER_SIZE, sizes[1]);
    lpg_frame_release(dec);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, 0);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    lpg_frame_decoder_free(dec);
    free(s.bytes);
}

/* lpg_frame_wanted: exactly the bytes that complete the header, then the payload; reading no
 * more than that never takes a byte of the next frame. */
static void test_wanted_reads_one_frame_at_a_time(void **state)
{
    static const size_t sizes[] = {300, 7};
    struct stream s = build_stream(sizes, 2);
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    const uint8_t *p;
    size_t plen, pos = 0, frames = 0;

    (void)state;
    assert_int_equal(lpg_frame_wanted(dec), LPG_FRAME_HEADER_SIZE);
    assert_int_equal(lpg_frame_feed(dec, s.bytes, 1), 1);
    pos = 1;
    assert_int_equal(lpg_frame_wanted(dec), LPG_FRAME_HEADER_SIZE - 1);
    while (pos < s.len) {
        size_t want = lpg_frame_wanted(dec);
        assert_true(want > 0);
        size_t take = want > 100 ? 100 : want; /* a short read now and then */
        assert_int_equal(lpg_frame_feed(dec, s.bytes + pos, take), take);
        pos += take;
        if (lpg_frame_wanted(dec) == 0) {
            assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
            assert_int_equal(plen, sizes[frames]);
            frames++;
            assert_int_equal(lpg_frame_wanted(dec), LPG_FRAME_HEADER_SIZE);
        }
    }
    assert_int_equal(frames, 2);
    /* After an error nothing more is wanted. */
    static const uint8_t zero[LPG_FRAME_HEADER_SIZE] = {0, 0, 0, 0};
    assert_int_equal(lpg_frame_feed(dec, zero, sizeof zero), sizeof zero);
    assert_int_equal(lpg_frame_wanted(dec), 0);
    assert_true(strlen(lpg_frame_errstr(dec)) > 0);
    lpg_frame_decoder_free(dec);
    free(s.bytes);
}

static void test_buffer_is_lazy_bounded_and_released(void **state)
{
    static const size_t small = 10, big = 40000, odd_max = 1000, odd = 900;
    struct stream s_small = build_stream(&small, 1);
    struct stream s_big = build_stream(&big, 1);
    struct stream s_odd = build_stream(&odd, 1);
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    struct lpg_frame_stats st;
    const uint8_t *p;
    size_t plen;

    (void)state;
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, 0); /* an idle connection holds no payload memory */

    /* A header alone allocates nothing beyond what its frame needs. */
    assert_int_equal(lpg_frame_feed(dec, s_small.bytes, s_small.len), s_small.len);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, LPG_FRAME_MIN_CAPACITY); /* small buffers are kept */

    assert_int_equal(lpg_frame_feed(dec, s_big.bytes, s_big.len), s_big.len);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, SERVER_MAX); /* 40000 rounded up, capped at the limit */
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_READY);
    assert_int_equal(plen, big);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, SERVER_MAX); /* still backing the handed-out payload */
    assert_int_equal(lpg_frame_next(dec, &p, &plen), LPG_FRAME_NEED_MORE);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, 0); /* released once the payload is dead */
    assert_int_equal(st.peak, SERVER_MAX);
    lpg_frame_decoder_free(dec);

    /* Rounding never exceeds a limit that is not a power of two. */
    dec = new_decoder(odd_max);
    assert_int_equal(lpg_frame_feed(dec, s_odd.bytes, s_odd.len), s_odd.len);
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.capacity, odd_max);
    lpg_frame_decoder_free(dec);

    free(s_small.bytes);
    free(s_big.bytes);
    free(s_odd.bytes);
}

static void test_stats_count_frames_and_bytes(void **state)
{
    static const size_t sizes[] = {1, 300, 5000};
    struct stream s = build_stream(sizes, 3);
    struct lpg_frame_decoder *dec = new_decoder(SERVER_MAX);
    struct lpg_frame_stats st;
    size_t pos = 0;
    const uint8_t *p;
    size_t plen;

    (void)state;
    while (pos < s.len) {
        pos += lpg_frame_feed(dec, s.bytes + pos, s.len - pos);
        while (lpg_frame_next(dec, &p, &plen) == LPG_FRAME_READY)
            ;
    }
    lpg_frame_get_stats(dec, &st);
    assert_int_equal(st.frames, 3);
    assert_int_equal(st.bytes, s.len);
    lpg_frame_decoder_free(dec);
    free(s.bytes);
}

/*
 * Random streams: pure noise, or well-formed small frames with a few bytes corrupted (so that
 * some streams yield frames and some fail at various depths). Every stream is checked whole,
 * byte by byte and chunked against the reference parser; ASan/UBSan watch for the rest.
 */
static void test_garbage_matches_reference(void **state)
{
    (void)state;
    for (size_t si = 0; si < seed_count(); si++) {
        struct rng r = {seed_at(si)};
        size_t frames = 0, errors = 0, partial = 0;
        uint8_t *buf = malloc(GARBAGE_MAX_LEN);

        assert_non_null(buf);
        for (int round = 0; round < GARBAGE_ROUNDS; round++) {
            size_t len = rng_range(&r, 0, GARBAGE_MAX_LEN);
            /* Small limits make noise decode sometimes; large ones exercise the ceiling. */
            size_t max =
                rng_next(&r) % 2 ? rng_range(&r, 1, 300) : rng_range(&r, 1, LPG_FRAME_MAX_PAYLOAD);
            struct ref_result ref;

            if (rng_next(&r) % 2 == 0) {
                for (size_t i = 0; i < len; i++)
                    buf[i] = (uint8_t)rng_next(&r);
            } else {
                size_t pos = 0;
                size_t flips = rng_range(&r, 0, 3);

                while (pos + LPG_FRAME_HEADER_SIZE < len) {
                    size_t n = rng_range(&r, 1, len - pos - LPG_FRAME_HEADER_SIZE);

                    n = n > 300 ? rng_range(&r, 1, 300) : n;
                    /* Now and then a zero length, which must stop the stream. */
                    put_be32(buf + pos, rng_next(&r) % 64 ? (uint32_t)n : 0);
                    pos += LPG_FRAME_HEADER_SIZE;
                    for (size_t i = 0; i < n; i++)
                        buf[pos + i] = (uint8_t)rng_next(&r);
                    pos += n;
                }
                /* End on a boundary, or cut anywhere to leave a truncated frame. */
                len = rng_next(&r) % 3 ? pos : rng_range(&r, 0, pos);
                for (size_t i = 0; i < flips && len > 0; i++)
                    buf[rng_range(&r, 0, len - 1)] = (uint8_t)rng_next(&r);
            }

            frames += ref_check_decoder(buf, len, max, chunk_whole, NULL);
            assert_true(ref_check_decoder(buf, len, max, chunk_byte, NULL) <= len);
            ref_check_decoder(buf, len, max, chunk_random, &r);

            ref_parse(buf, len, max, &ref);
            errors += ref.err != 0;
            partial += ref.err == 0 && ref.partial > 0;
            ref_result_free(&ref);
        }
        print_message("garbage seed %" PRIu64 ": %d streams, %zu frames, %zu errors, %zu "
                      "truncated\n",
                      seed_at(si), GARBAGE_ROUNDS, frames, errors, partial);
        /* The generator must reach all outcomes or the test proves little. */
        assert_true(frames > 0);
        assert_true(errors > 0);
        assert_true(partial > 0);
        free(buf);
    }
}

static void test_strerror_names_every_code(void **state)
{
    static const int codes[] = {LPG_FRAME_NEED_MORE,  LPG_FRAME_READY,     LPG_FRAME_ERR_OVERSIZE,
                                LPG_FRAME_ERR_EMPTY,  LPG_FRAME_ERR_NOMEM, LPG_FRAME_ERR_TRUNCATED,
                                LPG_FRAME_ERR_NOSPACE};
    const size_t n = sizeof(codes) / sizeof(codes[0]);
    const char *unknown = lpg_frame_strerror(-1000);

    (void)state;
    assert_non_null(unknown);
    assert_string_equal(lpg_frame_strerror(7), unknown);
    for (size_t i = 0; i < n; i++) {
        const char *s = lpg_frame_strerror(codes[i]);

        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_string_not_equal(s, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, lpg_frame_strerror(codes[j]));
    }
}

int main(void)
{
    const char *env = getenv("LPG_TEST_SEED");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_limit),
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_concatenated_frames_any_chunking),
        cmocka_unit_test(test_hard_ceiling_frames_any_chunking),
        cmocka_unit_test(test_exactly_max_accepted_one_more_rejected),
        cmocka_unit_test(test_oversize_is_sticky),
        cmocka_unit_test(test_oversize_all_ones_bytewise),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_payload),
        cmocka_unit_test(test_finish_on_boundary),
        cmocka_unit_test(test_feed_stops_at_frame_end),
        cmocka_unit_test(test_buffer_is_lazy_bounded_and_released),
        cmocka_unit_test(test_release_between_frames),
        cmocka_unit_test(test_wanted_reads_one_frame_at_a_time),
        cmocka_unit_test(test_stats_count_frames_and_bytes),
        cmocka_unit_test(test_garbage_matches_reference),
        cmocka_unit_test(test_strerror_names_every_code),
    };

    if (env != NULL && env[0] != '\0') {
        fresh_seed = strtoull(env, NULL, 0);
        seed_from_env = 1;
    } else {
        fresh_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    }
    print_message("frame tests: fresh seed %" PRIu64 " (replay: LPG_TEST_SEED=%" PRIu64 ")\n",
                  fresh_seed, fresh_seed);
    return cmocka_run_group_tests_name("proto/frame", tests, NULL, NULL);
}
