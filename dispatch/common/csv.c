/* csv.c -- the RFC 4180 CSV reader (csv.h).
 *
 * A byte-at-a-time state machine over four states (the start of a field, inside an unquoted
 * field, inside a quoted field, just after a '"' inside a quoted field). The current record is
 * kept in one buffer, fields one after the other, each followed by a NUL; offs[] holds where
 * each starts. Pointers are made only when the record is handed out, because the buffer may
 * move while it grows.
 */
#include "common/csv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum csv_state {
    ST_FIELD_START, /* nothing of the current field read yet */
    ST_UNQUOTED,
    ST_QUOTED,
    ST_QUOTE_IN_QUOTED, /* a '"' inside a quoted field: the close, or the first of '""' */
};

struct csv_reader {
    struct csv_limits lim;
    enum csv_state st;
    char *buf; /* the current record: fields, each NUL-terminated */
    size_t len, cap;
    size_t field_start; /* offset in buf of the current field */
    size_t *offs;       /* offsets of the completed fields of the record */
    size_t nfields;     /* completed fields of the current record */
    const char **ptrs;  /* handed-out record: max_columns pointers */
    size_t *lens;       /* and lengths */
    size_t records;     /* records completed so far */
    size_t line;        /* current line, 1-based */
    size_t rec_line;    /* line where the current record starts */
    size_t quote_line;  /* line where the open quoted field started */
    int in_record;      /* a byte of the current record has been read */
    int ready;          /* a complete record waits for csv_next */
    int finished;       /* csv_finish was called */
    int prev_cr;        /* the previous byte was CR (line counting) */
    int skip_lf;        /* a record ended at CR: a following LF belongs to it */
    int bom_done;       /* past the point where a byte order mark could be */
    int err;
    char errstr[CSV_ERRSTR_SIZE];
};

static int set_error(struct csv_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_error(struct csv_reader *r, int code, const char *fmt, ...)
{
    if (r->err)
        return r->err;
    r->err = code;
    int n = snprintf(r->errstr, sizeof(r->errstr), "line %zu: ", r->line);
    if (n < 0 || (size_t)n >= sizeof(r->errstr))
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errstr + n, sizeof(r->errstr) - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

struct csv_reader *csv_reader_new(const struct csv_limits *limits)
{
    struct csv_reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    if (limits)
        r->lim = *limits;
    if (r->lim.max_field == 0)
        r->lim.max_field = CSV_MAX_FIELD;
    if (r->lim.max_columns == 0)
        r->lim.max_columns = CSV_MAX_COLUMNS;
    if (r->lim.max_records == 0)
        r->lim.max_records = CSV_MAX_RECORDS;
    r->offs = calloc(r->lim.max_columns, sizeof(*r->offs));
    r->ptrs = calloc(r->lim.max_columns, sizeof(*r->ptrs));
    r->lens = calloc(r->lim.max_columns, sizeof(*r->lens));
    if (r->offs == NULL || r->ptrs == NULL || r->lens == NULL) {
        csv_reader_free(r);
        return NULL;
    }
    r->line = 1;
    return r;
}

void csv_reader_free(struct csv_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r->offs);
    free(r->ptrs);
    free(r->lens);
    free(r);
}

static int put_byte(struct csv_reader *r, char c)
{
    if (r->len == r->cap) {
        /* Bounded by the caps: at most max_columns fields of max_field bytes plus NULs. */
        size_t cap = r->cap ? r->cap * 2 : 256;
        char *bigger = realloc(r->buf, cap);
        if (bigger == NULL)
            return set_error(r, CSV_ERR_NOMEM, "out of memory");
        r->buf = bigger;
        r->cap = cap;
    }
    r->buf[r->len++] = c;
    return 0;
}

/* Appends one byte of field data. */
static int field_byte(struct csv_reader *r, char c)
{
    if (c == '\0')
        return set_error(r, CSV_ERR_NUL, "a NUL byte in field %zu", r->nfields + 1);
    if (r->len - r->field_start >= r->lim.max_field)
        return set_error(r, CSV_ERR_FIELD_TOO_LONG,
                         "field %zu is longer than %zu bytes (max_field)", r->nfields + 1,
                         r->lim.max_field);
    return put_byte(r, c);
}

/* Whether s[0..n) is valid UTF-8 (no overlong forms, surrogates or code points > U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1Fu, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0Fu, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int end_field(struct csv_reader *r)
{
    r->bom_done = 1;
    size_t n = r->len - r->field_start;
    /* n == 0 with no buffer yet (a first field that is empty): buf is NULL, and NULL + 0 is
     * undefined behaviour (found by tests/fuzz/fuzz_csv). */
    if (n > 0 && !utf8_valid((const unsigned char *)r->buf + r->field_start, n))
        return set_error(r, CSV_ERR_UTF8,
                         "field %zu is not valid UTF-8 (is the file in another encoding?)",
                         r->nfields + 1);
    if (r->nfields == r->lim.max_columns)
        return set_error(r, CSV_ERR_TOO_MANY_COLUMNS, "more than %zu fields (max_columns)",
                         r->lim.max_columns);
    if (put_byte(r, '\0') != 0)
        return r->err;
    r->offs[r->nfields++] = r->field_start;
    r->field_start = r->len;
    r->st = ST_FIELD_START;
    return 0;
}

static int end_record(struct csv_reader *r)
{
    if (end_field(r) != 0)
        return r->err;
    if (r->records == r->lim.max_records)
        return set_error(r, CSV_ERR_TOO_MANY_RECORDS, "more than %zu records (max_records)",
                         r->lim.max_records);
    r->records++;
    r->ready = 1;
    r->in_record = 0;
    return 0;
}

/* Consumes one byte. Returns 0 or the error. */
static int step_state(struct csv_reader *r, char c)
{
    if (r->skip_lf) {
        r->skip_lf = 0;
        if (c == '\n')
            return 0;
    }
    if (!r->in_record && c != '\r' && c != '\n') {
        r->in_record = 1;
        r->rec_line = r->line;
    }
    switch (r->st) {
    case ST_FIELD_START:
        if (c == '"') {
            r->bom_done = 1;
            r->st = ST_QUOTED;
            r->quote_line = r->line;
            return 0;
        }
        if (c == ',')
            return end_field(r);
        if (c == '\r' || c == '\n') {
            r->skip_lf = c == '\r';
            if (r->nfields == 0) {
                r->bom_done = 1;
                return 0; /* an empty line: no record */
            }
            return end_record(r); /* after a ',': the last field is empty */
        }
        r->st = ST_UNQUOTED;
        return field_byte(r, c);
    case ST_UNQUOTED:
        if (c == ',')
            return end_field(r);
        if (c == '\r' || c == '\n') {
            r->skip_lf = c == '\r';
            return end_record(r);
        }
        if (c == '"')
            return set_error(r, CSV_ERR_QUOTE,
                             "a '\"' inside unquoted field %zu (quote the whole field and "
                             "double the '\"')",
                             r->nfields + 1);
        if (field_byte(r, c) != 0)
            return r->err;
        if (!r->bom_done && r->records == 0 && r->nfields == 0 && r->len == 3) {
            r->bom_done = 1;
            if (memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
                r->len = 0; /* a byte order mark: dropped, the field starts afresh */
                r->st = ST_FIELD_START;
                r->in_record = 0;
            }
        }
        return 0;
    case ST_QUOTED:
        if (c == '"') {
            r->st = ST_QUOTE_IN_QUOTED;
            return 0;
        }
        return field_byte(r, c);
    case ST_QUOTE_IN_QUOTED:
        if (c == '"') {
            r->st = ST_QUOTED;
            return field_byte(r, '"');
        }
        if (c == ',')
            return end_field(r);
        if (c == '\r' || c == '\n') {
            r->skip_lf = c == '\r';
            return end_record(r);
        }
        return set_error(r, CSV_ERR_QUOTE,
                         "data after the closing '\"' of field %zu (a '\"' inside a quoted field "
                         "is written '\"\"')",
                         r->nfields + 1);
    }
    return 0;
}

static int step(struct csv_reader *r, char c)
{
    int rc = step_state(r, c);
    /* Lines are counted whatever the state: CR, LF and CRLF each end one. Counted after the
     * byte, so that an error found at a line end names the line it ends. */
    if (c == '\r' || (c == '\n' && !r->prev_cr))
        r->line++;
    r->prev_cr = c == '\r';
    return rc;
}

size_t csv_feed(struct csv_reader *r, const char *buf, size_t len)
{
    if (r->err || r->finished || r->ready)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (step(r, buf[i]) != 0)
            return i + 1;
        if (r->ready)
            return i + 1;
    }
    return len;
}

int csv_finish(struct csv_reader *r)
{
    if (r->err || r->finished)
        return r->err;
    r->finished = 1;
    if (r->st == ST_QUOTED)
        return set_error(r, CSV_ERR_UNTERMINATED,
                         "the input ends inside the quoted field %zu opened on line %zu",
                         r->nfields + 1, r->quote_line);
    if (r->in_record)
        return end_record(r);
    return 0;
}

int csv_next(struct csv_reader *r, struct csv_record *rec)
{
    if (r->err)
        return r->err;
    if (!r->ready)
        return r->finished ? CSV_END : CSV_NEED_MORE;
    for (size_t i = 0; i < r->nfields; i++) {
        r->ptrs[i] = r->buf + r->offs[i];
        size_t end = i + 1 < r->nfields ? r->offs[i + 1] : r->len;
        r->lens[i] = end - r->offs[i] - 1; /* without the NUL */
    }
    rec->nfields = r->nfields;
    rec->fields = r->ptrs;
    rec->lens = r->lens;
    rec->index = r->records;
    rec->line = r->rec_line;
    /* The bytes stay where they are until the next csv_feed overwrites them. */
    r->ready = 0;
    r->nfields = 0;
    r->len = 0;
    r->field_start = 0;
    return CSV_RECORD;
}

int csv_error(const struct csv_reader *r)
{
    return r->err;
}

const char *csv_errstr(const struct csv_reader *r)
{
    return r->err ? r->errstr : "";
}

const char *csv_strerror(int code)
{
    switch (code) {
    case CSV_NEED_MORE:
        return "need_more";
    case CSV_RECORD:
        return "record";
    case CSV_END:
        return "end";
    case CSV_ERR_FIELD_TOO_LONG:
        return "field_too_long";
    case CSV_ERR_TOO_MANY_COLUMNS:
        return "too_many_columns";
    case CSV_ERR_TOO_MANY_RECORDS:
        return "too_many_records";
    case CSV_ERR_QUOTE:
        return "quote";
    case CSV_ERR_UNTERMINATED:
        return "unterminated";
    case CSV_ERR_UTF8:
        return "utf8";
    case CSV_ERR_NUL:
        return "nul";
    case CSV_ERR_NOMEM:
        return "nomem";
    }
    return "unknown";
}

int csv_parse(const char *buf, size_t len, const struct csv_limits *limits, csv_record_fn *fn,
              void *arg, char *errbuf, size_t errlen)
{
    struct csv_reader *r = csv_reader_new(limits);
    if (r == NULL) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return CSV_ERR_NOMEM;
    }
    int rc = 0;
    for (;;) {
        size_t n = csv_feed(r, buf, len);
        buf += n;
        len -= n;
        if (len == 0)
            csv_finish(r);
        struct csv_record rec;
        while ((rc = csv_next(r, &rec)) == CSV_RECORD) {
            int stop = fn(arg, &rec);
            if (stop != 0) {
                csv_reader_free(r);
                return stop;
            }
        }
        if (rc < 0 || rc == CSV_END)
            break;
    }
    if (rc < 0 && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", csv_errstr(r));
    csv_reader_free(r);
    return rc < 0 ? rc : 0;
}
