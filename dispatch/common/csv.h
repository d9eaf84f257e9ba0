/* csv.h -- an RFC 4180 CSV reader: bytes in, records out.
 *
 * Pure: no I/O, no libevent, no logging. Like the frame codec (proto/frame.h) and hiredis'
 * reader, the caller feeds bytes and pulls records, and the first error is sticky, so the
 * reader can be tested byte by byte and fuzzed without a network.
 *
 * Dialect (RFC 4180, with the tolerances spreadsheets need):
 *   - fields are separated by ',' and records end with CRLF, LF or a lone CR;
 *   - a field that starts with '"' is quoted: it may contain ',', CR, LF and '""' (one '"'),
 *     and ends at the next lone '"', which must be followed by ',', a line end or the end of
 *     the input; a '"' inside an unquoted field is an error (CSV_ERR_QUOTE);
 *   - spaces are data (never trimmed); an empty field is "" (the caller decides what it means);
 *   - a completely empty line (no byte between two line ends) is skipped, so a trailing line
 *     end or blank lines produce no record; a line holding only "" is one empty field;
 *   - the last record need not end with a line end (csv_finish() completes it);
 *   - a UTF-8 byte order mark at the very start of the input is dropped (Excel writes one);
 *   - every field must be valid UTF-8 (CSV_ERR_UTF8: e.g. a GBK file) and hold no NUL byte
 *     (CSV_ERR_NUL), so fields can be handed on as C strings.
 *
 * Bounded memory: one record is buffered at a time, at most max_columns fields of at most
 * max_field bytes each (after unquoting); at most max_records records are accepted. Each cap
 * is checked before the buffer grows past it.
 *
 * Typical use:
 *
 *     struct csv_reader *r = csv_reader_new(NULL);        // default limits
 *     while (len > 0 || !done) {
 *         size_t n = csv_feed(r, p, len);                  // consumes up to a record's end
 *         p += n, len -= n;
 *         if (len == 0 && !done) { csv_finish(r); done = 1; }
 *         struct csv_record rec;
 *         int rc;
 *         while ((rc = csv_next(r, &rec)) == CSV_RECORD)
 *             handle(&rec);                                // rec dies at the next reader call
 *         if (rc < 0) { report(csv_errstr(r)); break; }    // "line 3: a '\"' inside ..."
 *         if (rc == CSV_END) break;
 *     }
 *     csv_reader_free(r);
 *
 * csv_parse() does that loop over a whole buffer with a callback.
 *
 * Ownership: the reader owns its record buffer; a record returned by csv_next() (its fields,
 * their lengths) is valid until the next call on the reader. Thread safety: none.
 */
#ifndef LPG_CSV_H
#define LPG_CSV_H

#include <stddef.h>

#define CSV_MAX_FIELD   4096   /* bytes of one field after unquoting (default cap) */
#define CSV_MAX_COLUMNS 64     /* fields in one record (default cap) */
#define CSV_MAX_RECORDS 100000 /* records, the header included (default cap) */
#define CSV_ERRSTR_SIZE 160    /* bytes of csv_errstr() incl. the NUL */

/* Results: 0 / positive are states, negative are errors (csv_strerror() names them all). */
enum {
    CSV_NEED_MORE = 0, /* next: no complete record yet; feed more bytes or finish */
    CSV_RECORD = 1,    /* next: *rec holds one record */
    CSV_END = 2,       /* next: finished and every record was handed out */
    CSV_ERR_FIELD_TOO_LONG = -1,
    CSV_ERR_TOO_MANY_COLUMNS = -2,
    CSV_ERR_TOO_MANY_RECORDS = -3,
    CSV_ERR_QUOTE = -4,        /* '"' inside an unquoted field, or data after a closing '"' */
    CSV_ERR_UNTERMINATED = -5, /* the input ended inside a quoted field */
    CSV_ERR_UTF8 = -6,         /* a field is not valid UTF-8 */
    CSV_ERR_NUL = -7,          /* a NUL byte in a field */
    CSV_ERR_NOMEM = -8,
};

struct csv_limits {
    size_t max_field;   /* bytes; 0: CSV_MAX_FIELD */
    size_t max_columns; /* 0: CSV_MAX_COLUMNS */
    size_t max_records; /* 0: CSV_MAX_RECORDS */
};

struct csv_record {
    size_t nfields;            /* >= 1 */
    const char *const *fields; /* nfields NUL-terminated strings */
    const size_t *lens;        /* their lengths in bytes */
    size_t index;              /* 1-based number of the record (the header is 1) */
    size_t line;               /* 1-based line of the input where the record starts */
};

struct csv_reader;

/* A reader with the given limits (NULL: the defaults). NULL on out-of-memory. */
struct csv_reader *csv_reader_new(const struct csv_limits *limits);
void csv_reader_free(struct csv_reader *r);

/* Consumes bytes up to the end of the next record (so that at most one record is buffered)
 * and returns how many it took; 0 while a complete record waits for csv_next(), after
 * csv_finish(), or in error. */
size_t csv_feed(struct csv_reader *r, const char *buf, size_t len);
/* The input is complete: the last record without a line end is completed. Returns 0, or the
 * (sticky) error, e.g. CSV_ERR_UNTERMINATED. */
int csv_finish(struct csv_reader *r);
/* CSV_RECORD with *rec filled, CSV_NEED_MORE, CSV_END (after csv_finish, when every record
 * was handed out), or the sticky error. */
int csv_next(struct csv_reader *r, struct csv_record *rec);

/* The sticky error: its code (0 when none) and a message naming the line, e.g.
 * "line 7: field of 4097 bytes exceeds 4096 (max_field)". */
int csv_error(const struct csv_reader *r);
const char *csv_errstr(const struct csv_reader *r);
/* The name of a result code, e.g. "quote" for CSV_ERR_QUOTE. */
const char *csv_strerror(int code);

/* Parses a whole buffer, calling fn for every record (stop early by returning non-zero: that
 * value is returned). Returns 0 when every record was handed out, the callback's value, or a
 * negative CSV_ERR_* with the message in errbuf (may be NULL). */
typedef int csv_record_fn(void *arg, const struct csv_record *rec);
int csv_parse(const char *buf, size_t len, const struct csv_limits *limits, csv_record_fn *fn,
              void *arg, char *errbuf, size_t errlen);

#endif
