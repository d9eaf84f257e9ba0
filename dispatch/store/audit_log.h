/* audit_log.h -- the tamper-evident record (issue 5 item 7): an append-only log in Redis whose
 * entries are chained by SHA-256. Every assignment, scan, refusal, safety check, ledger change
 * and alert is appended, in the same Redis transaction as the change it records, so the record
 * and the change are applied together or not at all.
 *
 * Entry n (n = 1, 2, ...) is a canonical JSON object (keys sorted, compact, UTF-8):
 *   {"seq":n,"at_ms":...,"kind":"...","actor":"...","subject":"...","data":{...},"prev":"<hex>"}
 * and its hash is SHA-256(canonical text) in lower-case hex; "prev" is the hash of entry n-1
 * (64 zeros for entry 1). Changing, removing or reordering any entry breaks a link that the
 * verifier finds (audit_log_verify_*).
 *
 * Ordering: one event loop appends, so the chain head (seq, hash) lives in memory and advances
 * when an entry is added to a transaction. Transactions are sent in order on one connection, so
 * what Redis applies is always a prefix of what was appended; when a commit's outcome is unknown
 * (connection lost), the head is re-read from Redis before the next append (audit_log_reload).
 * One instance appends (the writer's owner; docs/scaling.md).
 */
#ifndef LPG_AUDIT_LOG_H
#define LPG_AUDIT_LOG_H
#include "core/audit_chain.h" /* struct audit_entry, AUDIT_HASH_HEX_LEN, the verify result */

#include <jansson.h>
#include <stdint.h>
struct store;
struct store_txn;
struct audit_log;
/* Adds the commands that append *e to txn. Returns 0, or -1 when the head is not known yet
 * (still loading, or reloading after an unknown outcome) or out of memory: the caller must then
 * refuse its change as "store unavailable" rather than write it unrecorded. */
int audit_log_append(struct audit_log *a, struct store_txn *txn, const struct audit_entry *e);

/* ---- added by the audit module (the lead's declaration above is unchanged) ----
 *
 * Contract of audit_log_append: the transaction must be sent (writer_commit / store_txn_exec)
 * or freed before control returns to the event loop, so that transactions reach Redis in the
 * order their entries were numbered. The append watches its transaction's outcome
 * (store_txn_observe): a transaction never sent gives its numbers back, and one lost with the
 * connection, discarded, or with a failed audit command makes the head unknown until it is
 * re-read from Redis (appends fail meanwhile): at once when Redis answered, and after a lost
 * connection when the owner calls audit_log_reload once the store is up again (dispatchd.c
 * does). Several appends may share one transaction.
 *
 * In a running dispatchd the log is `d->audit` (struct service, dispatchd.h); it is ready
 * once d->loaded is set.
 *
 * Keys (named by store/keys.h; docs/redis-keys.md, docs/audit.md):
 *   {p}audit:entries  list: entry n's canonical text at index n-1 (RPUSH only)
 *   {p}audit:head     string: {"hash":"<hex>","seq":n}, written with every append
 */

#include <stdbool.h>

/* The log of store st (which must outlive it). Head unknown until audit_log_reload. */
struct audit_log *audit_log_new(struct store *st);
/* Frees the log. Free the store first (its pending transactions report to the log). */
void audit_log_free(struct audit_log *a);

/* Re-reads the head from Redis (at start, and after an unknown outcome), asynchronously; done
 * (may be NULL) runs with err NULL once appends may go on, else why not (the head stays
 * unknown; call again later). Returns 0 when started or already under way (done is then not
 * called for the earlier start), -1 when the store is not up (done not called).
 * The head is taken from the list itself (its length and the hash of its last text); when the
 * head key disagrees (an edit of Redis), an error is logged and the next append first records
 * an "audit_head_mismatch" entry with what the head key said, so the evidence is kept. */
typedef void audit_log_done_fn(void *arg, const char *err);
int audit_log_reload(struct audit_log *a, audit_log_done_fn *done, void *arg);
/* Whether the head is known (appends can succeed). */
bool audit_log_ready(const struct audit_log *a);
/* The head: seq of the last entry appended (0 for an empty log) and its hash (64 zeros for
 * none). Meaningful only when ready. */
int64_t audit_log_head_seq(const struct audit_log *a);
const char *audit_log_head_hash(const struct audit_log *a);

/* Verification of entries [from_seq, to_seq] against Redis (to_seq <= 0 or beyond the head:
 * up to the head), read in bounded chunks on the event loop. The result is valid during the
 * callback only; err is set (and r NULL) when Redis could not be read. */
typedef void audit_log_verify_fn(void *arg, const struct audit_verify_result *r, const char *err);
/* Returns 0 when started; -1 when the store is not up or out of memory (fn not called). */
int audit_log_verify(struct audit_log *a, int64_t from_seq, int64_t to_seq, audit_log_verify_fn *fn,
                     void *arg);

/* The entries' key with the prefix (KEYS_AUDIT_ENTRIES, store/keys.h); readers above the store
 * use store/audit_reads.h. */
int audit_log_entries_key(const struct audit_log *a, char *buf, size_t cap);

struct audit_log_stats {
    uint64_t appended;      /* entries added to transactions */
    uint64_t refused;       /* appends refused: head unknown or out of memory */
    uint64_t given_back;    /* entries of transactions never sent (numbers reused) */
    uint64_t reloads;       /* head re-read from Redis */
    uint64_t verifications; /* verifications run */
};
const struct audit_log_stats *audit_log_stats(const struct audit_log *a);

#endif
