/* test_csv.c -- unit tests of the RFC 4180 reader (dispatch/common/csv.c).
 *
 * Records must not depend on how the bytes were split: every vector is decoded whole
 * (csv_parse), byte by byte and in seeded random chunks, and the three results (records, their
 * lines, the error and its line) must equal the expected ones. Then seeded round trips: random
 * records (commas, quotes, CR/LF, Chinese text, empty fields) written by a small independent
 * writer and read back must come out identical. Random tests replay the seeds in
 * replay_seeds[] first (add any seed that ever failed), then one fresh seed that is printed;
 * LPG_TEST_SEED=<n> runs only seed n.
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

#include "common/csv.h"

#define ROUNDTRIP_ROUNDS 300   /* per seed */
#define OUT_CAP          65536 /* bytes of a decoded transcript */

static const uint64_t replay_seeds[] = {1, 2, 0xc5f};
static uint64_t fresh_seed;
static int seed_from_env;

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

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
    if (seed_from_env)
        return fresh_seed;
    return i < sizeof(replay_seeds) / sizeof(replay_seeds[0]) ? replay_seeds[i] : fresh_seed;
}

/* ---- transcripts: what a decode produced, as one comparable string ---- */

struct transcript {
    char s[OUT_CAP];
    size_t n;
};

static void tr_printf(struct transcript *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tr_printf(struct transcript *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof(t->s) - t->n);
    t->n += (size_t)k;
}

/* A record as "L<line>:" then "<len>:<bytes>|" per field, then a newline. */
static void tr_record(struct transcript *t, const struct csv_record *rec)
{
    tr_printf(t, "L%zu:", rec->line);
    for (size_t i = 0; i < rec->nfields; i++) {
        assert_int_equal(strlen(rec->fields[i]), rec->lens[i]);
        tr_printf(t, "%zu:", rec->lens[i]);
        assert_true(t->n + rec->lens[i] + 1 < sizeof(t->s));
        memcpy(t->s + t->n, rec->fields[i], rec->lens[i]);
        t->n += rec->lens[i];
        tr_printf(t, "|");
    }
    tr_printf(t, "\n");
}

static void tr_error(struct transcript *t, int code, const char *msg)
{
    /* The message starts with "line N:"; keep that part, it must not depend on chunking. */
    const char *colon = strchr(msg, ':');
    tr_printf(t, "ERR %s %.*s\n", csv_strerror(code), colon ? (int)(colon - msg) : 0, msg);
}

static int on_record(void *arg, const struct csv_record *rec)
{
    tr_record(arg, rec);
    return 0;
}

static void decode_whole(struct transcript *t, const char *in, size_t len,
                         const struct csv_limits *lim)
{
    char err[CSV_ERRSTR_SIZE];
    t->n = 0;
    t->s[0] = '\0';
    int rc = csv_parse(in, len, lim, on_record, t, err, sizeof(err));
    if (rc < 0)
        tr_error(t, rc, err);
}

/* Decodes feeding chunks of 1..max_chunk bytes (1: byte by byte). */
static void decode_chunked(struct transcript *t, const char *in, size_t len,
                           const struct csv_limits *lim, struct rng *rng, size_t max_chunk)
{
    t->n = 0;
    t->s[0] = '\0';
    struct csv_reader *r = csv_reader_new(lim);
    assert_non_null(r);
    struct csv_record rec;
    size_t pos = 0;
    int rc = CSV_NEED_MORE;
    while (pos < len) {
        size_t chunk = max_chunk == 1 ? 1 : rng_range(rng, 1, max_chunk);
        size_t end = chunk > len - pos ? len : pos + chunk;
        int stalled = 0;
        while (pos < end) {
            size_t n = csv_feed(r, in + pos, end - pos);
            pos += n;
            while ((rc = csv_next(r, &rec)) == CSV_RECORD)
                tr_record(t, &rec);
            if (rc < 0)
                goto out;
            /* feed takes nothing only while a record waits; it was just taken */
            stalled = n == 0 ? stalled + 1 : 0;
            assert_true(stalled < 2);
        }
    }
    csv_finish(r);
    while ((rc = csv_next(r, &rec)) == CSV_RECORD)
        tr_record(t, &rec);
    assert_true(rc == CSV_END || rc < 0);
out:
    if (rc < 0) {
        tr_error(t, rc, csv_errstr(r));
        /* Sticky: nothing more is taken or produced. */
        assert_int_equal(csv_feed(r, "a\n", 2), 0);
        assert_int_equal(csv_next(r, &rec), rc);
        assert_int_equal(csv_finish(r), rc);
        assert_int_equal(csv_error(r), rc);
    }
    csv_reader_free(r);
}

/* Decodes in every way and checks every result equals `want`. */
static void check_all_ways(const char *name, const char *in, size_t len,
                           const struct csv_limits *lim, const char *want)
{
    static struct transcript t;
    decode_whole(&t, in, len, lim);
    if (strcmp(t.s, want) != 0)
        fail_msg("%s (whole): got\n%s\nwant\n%s", name, t.s, want);
    struct rng bytes = {0};
    decode_chunked(&t, in, len, lim, &bytes, 1);
    if (strcmp(t.s, want) != 0)
        fail_msg("%s (byte by byte): got\n%s\nwant\n%s", name, t.s, want);
    for (size_t i = 0; i < seed_count(); i++) {
        struct rng rng = {seed_at(i)};
        for (int k = 0; k < 8; k++) {
            decode_chunked(&t, in, len, lim, &rng, 7);
            if (strcmp(t.s, want) != 0)
                fail_msg("%s (chunks, seed %" PRIu64 "): got\n%s\nwant\n%s", name, seed_at(i), t.s,
                         want);
        }
    }
}

/* ---- vectors ---- */

struct vector {
    const char *name;
    const char *in;
    size_t len;            /* 0: strlen(in) */
    struct csv_limits lim; /* zeros: defaults */
    const char *want;      /* transcript */
};

static const struct vector vectors[] = {
    {"simple LF", "a,b,c\n1,2,3\n", 0, {0}, "L1:1:a|1:b|1:c|\nL2:1:1|1:2|1:3|\n"},
    {"CRLF, no final line end", "a,b\r\n1,2", 0, {0}, "L1:1:a|1:b|\nL2:1:1|1:2|\n"},
    {"lone CR ends records", "a\rb\r", 0, {0}, "L1:1:a|\nL2:1:b|\n"},
    {"quoted comma, quote, CRLF, Chinese",
     "id,addr\r\n1,\"海拉尔区, 胜利大街 \"\"8\"\"号\r\n二楼\"\r\n2,x\r\n",
     0,
     {0},
     "L1:2:id|4:addr|\nL2:1:1|41:海拉尔区, 胜利大街 \"8\"号\r\n二楼|\nL4:1:2|1:x|\n"},
    {"empty fields", ",,\na,\n\"\"\n", 0, {0}, "L1:0:|0:|0:|\nL2:1:a|0:|\nL3:0:|\n"},
    {"blank lines are skipped", "\n\na\n\r\n\r\nb\n\n", 0, {0}, "L3:1:a|\nL6:1:b|\n"},
    {"byte order mark dropped",
     "\xEF\xBB\xBFid,name\n1,x\n",
     0,
     {0},
     "L1:2:id|4:name|\nL2:1:1|1:x|\n"},
    {"byte order mark before a quote", "\xEF\xBB\xBF\"id\"\n", 0, {0}, "L1:2:id|\n"},
    {"BOM-like bytes later are data",
     "a\n\xEF\xBB\xBFx\n",
     0,
     {0},
     "L1:1:a|\nL2:4:\xEF\xBB\xBFx|\n"},
    {"spaces are data", " a , b \n", 0, {0}, "L1:3: a |3: b |\n"},
    {"quoted at end of input", "\"a\"", 0, {0}, "L1:1:a|\n"},
    {"trailing comma at end of input", "a,", 0, {0}, "L1:1:a|0:|\n"},
    {"quoted LF only", "\"x\ny\"\nz\n", 0, {0}, "L1:3:x\ny|\nL3:1:z|\n"},
    {"empty input", "", 0, {0}, ""},
    {"only line ends", "\r\n\n\r", 0, {0}, ""},
    {"four-byte UTF-8", "\xF0\x9F\x94\xA5\n", 0, {0}, "L1:4:\xF0\x9F\x94\xA5|\n"},
    /* errors */
    {"quote inside unquoted field", "ok\nab\"c\n", 0, {0}, "L1:2:ok|\nERR quote line 2\n"},
    {"data after closing quote", "\"a\"b\n", 0, {0}, "ERR quote line 1\n"},
    {"unterminated quote", "x\n\"abc\ndef", 0, {0}, "L1:1:x|\nERR unterminated line 3\n"},
    {"GBK is not UTF-8", "id\n\xD5\xC5\xC8\xFD\n", 0, {0}, "L1:2:id|\nERR utf8 line 2\n"},
    {"overlong UTF-8", "\xC0\xAF\n", 0, {0}, "ERR utf8 line 1\n"},
    {"surrogate in UTF-8", "\xED\xA0\x80\n", 0, {0}, "ERR utf8 line 1\n"},
    {"truncated UTF-8 at end", "a,\xE5\xBC", 0, {0}, "ERR utf8 line 1\n"},
    {"NUL byte", "a\0b\n", 4, {0}, "ERR nul line 1\n"},
    /* caps */
    {"field at the cap", "abcd\n\"ab\"\"c\"\n", 0, {4, 0, 0}, "L1:4:abcd|\nL2:4:ab\"c|\n"},
    {"field over the cap",
     "abcd\nabcde\n",
     0,
     {4, 0, 0},
     "L1:4:abcd|\nERR field_too_long line 2\n"},
    {"columns at the cap", "a,b,c\n", 0, {0, 3, 0}, "L1:1:a|1:b|1:c|\n"},
    {"columns over the cap",
     "a,b,c\na,b,c,d\n",
     0,
     {0, 3, 0},
     "L1:1:a|1:b|1:c|\nERR too_many_columns line 2\n"},
    {"records at the cap, blank lines free", "a\n\nb\n\n", 0, {0, 0, 2}, "L1:1:a|\nL3:1:b|\n"},
    {"records over the cap",
     "a\nb\nc\n",
     0,
     {0, 0, 2},
     "L1:1:a|\nL2:1:b|\nERR too_many_records line 3\n"},
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        check_all_ways(v->name, v->in, v->len ? v->len : strlen(v->in), &v->lim, v->want);
    }
}

/* Feeding stops at the end of a record: at most one record is ever buffered. */
static void test_feed_stops_at_record_end(void **state)
{
    (void)state;
    struct csv_reader *r = csv_reader_new(NULL);
    assert_non_null(r);
    const char *in = "a,b\r\nc\n";
    assert_int_equal(csv_feed(r, in, strlen(in)), 4); /* "a,b\r": the LF is taken later */
    assert_int_equal(csv_feed(r, in + 4, 3), 0);      /* a record waits */
    struct csv_record rec;
    assert_int_equal(csv_next(r, &rec), CSV_RECORD);
    assert_int_equal(rec.nfields, 2);
    assert_int_equal(rec.index, 1);
    assert_string_equal(rec.fields[1], "b");
    assert_int_equal(csv_next(r, &rec), CSV_NEED_MORE);
    assert_int_equal(csv_feed(r, in + 4, 3), 3); /* "\nc\n" */
    assert_int_equal(csv_next(r, &rec), CSV_RECORD);
    assert_string_equal(rec.fields[0], "c");
    assert_int_equal(rec.index, 2);
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_finish(r), 0);
    assert_int_equal(csv_next(r, &rec), CSV_END);
    assert_int_equal(csv_feed(r, "x", 1), 0); /* nothing after finish */
    csv_reader_free(r);
}

static void test_error_messages(void **state)
{
    (void)state;
    char err[CSV_ERRSTR_SIZE];
    assert_int_equal(csv_parse("x\n\"abc\ndef", 10, NULL, on_record, &(struct transcript){.n = 0},
                               err, sizeof(err)),
                     CSV_ERR_UNTERMINATED);
    assert_non_null(strstr(err, "opened on line 2"));
    struct csv_limits lim = {.max_field = 4};
    assert_int_equal(
        csv_parse("abcdef\n", 7, &lim, on_record, &(struct transcript){.n = 0}, err, sizeof(err)),
        CSV_ERR_FIELD_TOO_LONG);
    assert_string_equal(err, "line 1: field 1 is longer than 4 bytes (max_field)");
}

static int stop_at_first(void *arg, const struct csv_record *rec)
{
    (void)rec;
    (*(int *)arg)++;
    return 7;
}

static void test_callback_stops(void **state)
{
    (void)state;
    int calls = 0;
    assert_int_equal(csv_parse("a\nb\n", 4, NULL, stop_at_first, &calls, NULL, 0), 7);
    assert_int_equal(calls, 1);
}

/* ---- seeded round trips through an independent writer ---- */

#define RT_MAX_RECORDS 12
#define RT_MAX_FIELDS  6
#define RT_MAX_FIELD   24

struct rt_table {
    size_t nrec;
    size_t nf[RT_MAX_RECORDS];
    char f[RT_MAX_RECORDS][RT_MAX_FIELDS][RT_MAX_FIELD * 4 + 1];
};

static const char *const pieces[] = {"a",    "Z",  "0",  " ",  ",", "\"", "\r", "\n",
                                     "\r\n", "张", "三", "号", "é", ";",  "'",  "\t"};

static void rt_generate(struct rng *rng, struct rt_table *t)
{
    t->nrec = rng_range(rng, 1, RT_MAX_RECORDS);
    for (size_t r = 0; r < t->nrec; r++) {
        t->nf[r] = rng_range(rng, 1, RT_MAX_FIELDS);
        for (size_t i = 0; i < t->nf[r]; i++) {
            char *s = t->f[r][i];
            s[0] = '\0';
            size_t n = rng_range(rng, 0, RT_MAX_FIELD / 3);
            for (size_t k = 0; k < n; k++)
                strcat(s, pieces[rng_range(rng, 0, sizeof(pieces) / sizeof(pieces[0]) - 1)]);
        }
    }
}

/* The writer: quotes a field when it must (or at random), doubles quotes, ends records with
 * CRLF or LF at random, and sometimes leaves the last line end out. */
static size_t rt_write(struct rng *rng, const struct rt_table *t, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t r = 0; r < t->nrec; r++) {
        for (size_t i = 0; i < t->nf[r]; i++) {
            const char *s = t->f[r][i];
            int lone_empty = t->nf[r] == 1 && s[0] == '\0'; /* else an empty line: skipped */
            int must = strpbrk(s, ",\"\r\n") != NULL || lone_empty;
            int quote = must || rng_range(rng, 0, 3) == 0;
            if (i)
                out[n++] = ',';
            if (quote)
                out[n++] = '"';
            for (; *s; s++) {
                if (*s == '"')
                    out[n++] = '"';
                out[n++] = *s;
            }
            if (quote)
                out[n++] = '"';
            assert_true(n < cap - 8);
        }
        if (r + 1 < t->nrec || rng_range(rng, 0, 1)) {
            if (rng_range(rng, 0, 1))
                out[n++] = '\r';
            out[n++] = '\n';
        }
    }
    return n;
}

struct rt_check {
    const struct rt_table *t;
    size_t next;
};

static int rt_on_record(void *arg, const struct csv_record *rec)
{
    struct rt_check *c = arg;
    assert_true(c->next < c->t->nrec);
    assert_int_equal(rec->nfields, c->t->nf[c->next]);
    for (size_t i = 0; i < rec->nfields; i++)
        assert_string_equal(rec->fields[i], c->t->f[c->next][i]);
    c->next++;
    return 0;
}

static void test_round_trips(void **state)
{
    (void)state;
    static struct rt_table t;
    static char buf[OUT_CAP];
    static struct transcript whole, bytes;
    for (size_t s = 0; s < seed_count(); s++) {
        struct rng rng = {seed_at(s)};
        for (int round = 0; round < ROUNDTRIP_ROUNDS; round++) {
            rt_generate(&rng, &t);
            size_t n = rt_write(&rng, &t, buf, sizeof(buf));
            struct rt_check c = {&t, 0};
            char err[CSV_ERRSTR_SIZE];
            int rc = csv_parse(buf, n, NULL, rt_on_record, &c, err, sizeof(err));
            if (rc != 0)
                fail_msg("seed %" PRIu64 " round %d: %s", seed_at(s), round, err);
            assert_int_equal(c.next, t.nrec);
            /* Chunking changes nothing. */
            decode_whole(&whole, buf, n, NULL);
            decode_chunked(&bytes, buf, n, NULL, &rng, 1 + round % 9);
            assert_string_equal(whole.s, bytes.s);
        }
    }
}

/* Random garbage over the characters that matter: never crashes, and every chunking agrees. */
static void test_garbage_agrees(void **state)
{
    (void)state;
    static const char alphabet[] = {'a', ',', '"', '\r', '\n', '\xE5', '\xBC', '\xA0', '\0'};
    static char buf[512];
    static struct transcript whole, chunked;
    struct csv_limits lim = {.max_field = 16, .max_columns = 5, .max_records = 20};
    for (size_t s = 0; s < seed_count(); s++) {
        struct rng rng = {seed_at(s)};
        for (int round = 0; round < ROUNDTRIP_ROUNDS; round++) {
            size_t n = rng_range(&rng, 0, sizeof(buf));
            for (size_t i = 0; i < n; i++)
                buf[i] = alphabet[rng_range(&rng, 0, sizeof(alphabet) - 1)];
            decode_whole(&whole, buf, n, &lim);
            decode_chunked(&chunked, buf, n, &lim, &rng, 1 + round % 13);
            if (strcmp(whole.s, chunked.s) != 0)
                fail_msg("seed %" PRIu64 " round %d: whole and chunked differ", seed_at(s), round);
        }
    }
}

int main(void)
{
    const char *env = getenv("LPG_TEST_SEED");
    if (env && *env) {
        fresh_seed = strtoull(env, NULL, 0);
        seed_from_env = 1;
    } else {
        fresh_seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    }
    printf("test_csv: fresh seed %" PRIu64 " (replay with LPG_TEST_SEED=%" PRIu64 ")\n", fresh_seed,
           fresh_seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),        cmocka_unit_test(test_feed_stops_at_record_end),
        cmocka_unit_test(test_error_messages), cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_round_trips),    cmocka_unit_test(test_garbage_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
