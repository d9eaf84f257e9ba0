/*
 * fuzz_csv.c - libFuzzer target for the RFC 4180 reader (dispatch/common/csv.c), the first stage of
 * every CSV import.
 *
 * Input: 1 configuration byte (small limits so that noise hits them, chunking seed), then the
 * bytes. They are parsed whole with csv_parse() and fed in seeded chunks through csv_feed /
 * csv_next / csv_finish; both must give the same records (fields, lengths, index, line) and the
 * same result, every field must be NUL-terminated at its length, and no field may exceed the
 * limit. Any mismatch aborts; ASan/UBSan catch the rest.
 */
#include "common/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The records of the whole-buffer parse, flattened: for each, nfields, index, line, then
 * every field's length and bytes. */
struct flat {
    uint8_t *buf;
    size_t len, cap;
    size_t records;
};

static void put(struct flat *f, const void *p, size_t n)
{
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n)
            cap *= 2;
        f->buf = realloc(f->buf, cap);
        if (f->buf == NULL)
            abort();
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
}

struct ctx {
    struct flat *f;
    size_t max_field;
};

static void flatten(struct ctx *c, const struct csv_record *rec)
{
    if (rec->nfields == 0 || rec->index == 0 || rec->line == 0)
        abort();
    put(c->f, &rec->nfields, sizeof(rec->nfields));
    put(c->f, &rec->index, sizeof(rec->index));
    put(c->f, &rec->line, sizeof(rec->line));
    for (size_t i = 0; i < rec->nfields; i++) {
        if (rec->lens[i] > c->max_field || rec->fields[i][rec->lens[i]] != '\0')
            abort();
        put(c->f, &rec->lens[i], sizeof(rec->lens[i]));
        put(c->f, rec->fields[i], rec->lens[i]);
    }
    c->f->records++;
}

static int on_record(void *arg, const struct csv_record *rec)
{
    flatten(arg, rec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    data++;
    size--;
    struct csv_limits lim = {0, 0, 0};
    if (cfg & 0x80) { /* small limits */
        lim.max_field = 1 + (cfg & 0x0f);
        lim.max_columns = 1 + ((cfg >> 4) & 0x07);
        lim.max_records = 1 + (cfg & 0x1f);
    }
    size_t max_field = lim.max_field ? lim.max_field : CSV_MAX_FIELD;

    struct flat whole = {0}, fed = {0};
    struct ctx cw = {&whole, max_field}, cf = {&fed, max_field};
    char err[CSV_ERRSTR_SIZE];
    int rc_whole = csv_parse((const char *)data, size, &lim, on_record, &cw, err, sizeof(err));

    struct csv_reader *r = csv_reader_new(&lim);
    if (r == NULL)
        abort();
    uint64_t s = cfg * 0x9e3779b97f4a7c15u + size;
    size_t off = 0;
    int rc;
    struct csv_record rec;
    for (;;) {
        while ((rc = csv_next(r, &rec)) == CSV_RECORD)
            flatten(&cf, &rec);
        if (rc != CSV_NEED_MORE)
            break;
        if (off == size) {
            csv_finish(r);
            continue;
        }
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t want = 1 + (size_t)(s % (s & 1 ? 7u : 300u));
        if (want > size - off)
            want = size - off;
        off += csv_feed(r, (const char *)data + off, want);
    }
    int rc_fed = rc == CSV_END ? 0 : rc;
    /* Same records and the same outcome, whatever the chunking. */
    if (rc_fed != rc_whole || whole.records != fed.records || whole.len != fed.len ||
        (whole.len && memcmp(whole.buf, fed.buf, whole.len) != 0))
        abort();
    if (rc_fed < 0 && (csv_error(r) != rc_fed || csv_errstr(r)[0] == '\0'))
        abort();
    csv_reader_free(r);
    free(whole.buf);
    free(fed.buf);
    return 0;
}
