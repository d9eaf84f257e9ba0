/* refusal_counts.h -- the month's refusals of an enterprise by reason,
 * {p}refusals:{enterprise_id}:{YYYY-MM} (docs/redis-keys.md): a hash of refusal code -> count,
 * for the month's compliance table (GET /v1/reports/compliance, http_v1_reports.c). Written by
 * app/delivery.c in the transaction of each scan_refused audit entry, so the count and the
 * chain never disagree; read here. Conventions of the read: store/reads.h.
 */
#ifndef LPG_STORE_REFUSAL_COUNTS_H
#define LPG_STORE_REFUSAL_COUNTS_H

#include "store/reads.h"

#include <jansson.h>
#include <stdint.h>

struct store;
struct store_txn;

/* Most reasons read back: far more than the refusal codes there are (docs/compliance.md); a
 * hash with more fields was not written by us, and the rest are left out. */
#define REFUSAL_COUNTS_MAX 256
/* Longest reason read back: a refusal code (app/refusal.h, REFUSAL_CODE_MAX) is shorter. */
#define REFUSAL_REASON_MAX 63

/* "YYYY-MM" of the local month (utc_offset_min east of UTC) of instant ms into out. */
void refusal_counts_month(int64_t ms, int32_t utc_offset_min, char out[8]);

/* Adds to txn: HINCRBY {p}refusals:{enterprise}:{month} reason 1. 0, or -1 (key too long, or
 * out of memory: the txn is then poisoned, store.h). */
int refusal_counts_add(struct store *st, struct store_txn *txn, const char *enterprise,
                       const char *month, const char *reason);

/* by_reason: {"<reason>": n, ...} ({} when none; fields that are not a reason of ours, [a-z0-9_]
 * of at most REFUSAL_REASON_MAX, or not a count, are left out), the read's: json_incref to keep it;
 * NULL when err is set. */
typedef void refusal_counts_fn(void *arg, json_t *by_reason, const char *err);

/* Reads the month's counts (HGETALL). 0 when sent; -1 (with *why, fn not called) when not. */
int refusal_counts_read(struct store *st, const char *enterprise, const char *month,
                        refusal_counts_fn *fn, void *arg, const char **why);

#endif
