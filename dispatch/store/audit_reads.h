/* audit_reads.h -- reading the stored text of the tamper-evident record's entries
 * (docs/redis-keys.md, "The tamper-evident record"; the log itself is audit_log.h), for
 * GET /v1/audit/entries (http_v1_audit.c). Conventions of every read: store/reads.h.
 */
#ifndef LPG_AUDIT_READS_H
#define LPG_AUDIT_READS_H

#include "store/reads.h"

#include <stddef.h>
#include <stdint.h>

struct store;

/* The texts read, entry from_seq first; valid during the callback. */
struct audit_texts;
size_t audit_texts_count(const struct audit_texts *t);
/* The stored text of the i-th entry read (entry from_seq + i); "" (len 0) when Redis gave
 * something else than a string. */
void audit_texts_get(const struct audit_texts *t, size_t i, const char **text, size_t *len);

/* texts is NULL when err is set. */
typedef void audit_texts_fn(void *arg, const struct audit_texts *texts, const char *err);
/* Reads the texts of entries [from_seq, to_seq] (numbers from 1; fewer when the log is shorter).
 * 0 when sent; -1 (with *why, fn not called) when not. */
int audit_read_entries(struct store *st, int64_t from_seq, int64_t to_seq, audit_texts_fn *fn,
                       void *arg, const char **why);

#endif
