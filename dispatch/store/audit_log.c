/* audit_log.c -- the tamper-evident record in Redis (audit_log.h): owns the chain head, appends
 * entries to the caller's transaction, re-reads the head, and verifies ranges of the log in
 * bounded chunks. The canonical form, hashing and link checks are in audit_chain.c (pure).
 */
#define LOG_TAG "audit"
#include "store/audit_log.h"

#include "core/audit_chain.h"
#include "common/log.h"
#include "store/store.h"

#include <assert.h>
#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries read from Redis per verification step: bounds the memory of one reply. */
#define AUDIT_VERIFY_CHUNK 256
#define AUDIT_KEY_MAX      256

struct audit_log {
    struct store *store;
    bool known;   /* the head matches what Redis holds once every sent transaction applies */
    bool loading; /* a reload is under way */
    int64_t seq;  /* last entry appended */
    char hash[AUDIT_HASH_HEX_LEN + 1];
    /* Bumped whenever the head is forgotten or re-read: outcomes of older transactions, and
     * verifications started before, no longer speak about the current head. */
    uint64_t epoch;
    json_t *note; /* what a disagreeing head key said, recorded by the next append; owned */
    audit_log_done_fn *done;
    void *done_arg;
    struct audit_log_stats stats;
};

/* One per transaction that carries entries: what to undo or re-read when it fails. */
struct txn_mark {
    struct audit_log *a;
    uint64_t epoch;
    int64_t seq_before, last_seq;
    char hash_before[AUDIT_HASH_HEX_LEN + 1];
    json_t *note; /* the note this transaction records (owned), given back if never sent */
};

static int key(const struct audit_log *a, char *buf, size_t cap, const char *suffix)
{
    return store_key(a->store, buf, cap, suffix);
}

int audit_log_entries_key(const struct audit_log *a, char *buf, size_t cap)
{
    return key(a, buf, cap, KEYS_AUDIT_ENTRIES);
}

struct audit_log *audit_log_new(struct store *st)
{
    struct audit_log *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->store = st;
    memcpy(a->hash, AUDIT_ZERO_HASH, sizeof(a->hash));
    return a;
}

void audit_log_free(struct audit_log *a)
{
    if (a == NULL)
        return;
    json_decref(a->note);
    free(a);
}

bool audit_log_ready(const struct audit_log *a)
{
    return a->known;
}

int64_t audit_log_head_seq(const struct audit_log *a)
{
    return a->seq;
}

const char *audit_log_head_hash(const struct audit_log *a)
{
    return a->hash;
}

const struct audit_log_stats *audit_log_stats(const struct audit_log *a)
{
    return &a->stats;
}

static void forget_head(struct audit_log *a, const char *why)
{
    if (a->known)
        log_warn("audit head unknown (%s): appends wait until it is re-read from Redis", why);
    a->known = false;
    a->epoch++;
}

/* ---- appending ---- */

static void on_txn_outcome(void *arg, const struct redisReply *reply, const char *err)
{
    struct txn_mark *mk = arg;
    struct audit_log *a = mk->a;
    if (mk->epoch != a->epoch) {
        /* The head was re-read since: it already reflects this transaction, or is unknown. */
    } else if (err == STORE_ERR_NOT_SENT) {
        if (a->known && a->seq == mk->last_seq) {
            assert(mk->seq_before <= mk->last_seq);
            /* Nothing later was numbered: give the numbers back. */
            a->stats.given_back += (uint64_t)(mk->last_seq - mk->seq_before);
            a->seq = mk->seq_before;
            memcpy(a->hash, mk->hash_before, sizeof(a->hash));
            if (mk->note && a->note == NULL) {
                a->note = mk->note;
                mk->note = NULL;
            }
        } else {
            forget_head(a, "a transaction with entries was not sent");
        }
    } else if (err != NULL) {
        forget_head(a, err);
    } else if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        forget_head(a, "a transaction with entries was discarded");
        log_error("a transaction with audit entries %" PRId64 "..%" PRId64 " was discarded by "
                  "Redis (%s)",
                  mk->seq_before + 1, mk->last_seq,
                  store_reply_error(reply) ? store_reply_error(reply) : "nil reply");
    } else {
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                /* Redis applies the other commands of a transaction even when one fails:
                 * the audit list may not hold what was numbered. */
                log_error("a command of a transaction with audit entries %" PRId64 "..%" PRId64
                          " failed: %s",
                          mk->seq_before + 1, mk->last_seq, reply->element[i]->str);
                forget_head(a, "a command of a transaction with entries failed");
                break;
            }
    }
    /* Redis answered (or the transaction never left): the connection is good, and a read sent
     * now goes behind everything in flight, so it sees it all. After a lost connection the
     * owner reads the head again once Redis is back (dispatchd.c, on the store's "up"). */
    if (!a->known && !a->loading && (err == NULL || err == STORE_ERR_NOT_SENT) &&
        store_state(a->store) == STORE_UP)
        audit_log_reload(a, NULL, NULL);
    json_decref(mk->note);
    free(mk);
}

/* Numbers e as the next entry and adds RPUSH entries + SET head to txn. */
static int append_one(struct audit_log *a, struct store_txn *txn, const struct audit_entry *e)
{
    char *text = audit_chain_canonical(e, a->seq + 1, a->hash);
    char h[AUDIT_HASH_HEX_LEN + 1], head[AUDIT_HASH_HEX_LEN + 64], k_entries[AUDIT_KEY_MAX],
        k_head[AUDIT_KEY_MAX];
    int rc = text && audit_chain_hash(text, strlen(text), h) == 0 &&
                     audit_log_entries_key(a, k_entries, sizeof(k_entries)) > 0 &&
                     key(a, k_head, sizeof(k_head), KEYS_AUDIT_HEAD) > 0
                 ? 0
                 : -1;
    if (rc == 0) {
        snprintf(head, sizeof(head), "{\"hash\":\"%s\",\"seq\":%" PRId64 "}", h, a->seq + 1);
        rc = store_txn_addv(txn, "RPUSH", k_entries, text, NULL) ||
                     store_txn_addv(txn, "SET", k_head, head, NULL)
                 ? -1
                 : 0;
    }
    free(text);
    if (rc != 0)
        return -1;
    a->seq++;
    memcpy(a->hash, h, sizeof(h));
    a->stats.appended++;
    return 0;
}

int audit_log_append(struct audit_log *a, struct store_txn *txn, const struct audit_entry *e)
{
    if (!a->known) {
        a->stats.refused++;
        return -1;
    }
    struct txn_mark *mk = store_txn_observer_arg(txn, on_txn_outcome);
    if (mk == NULL) {
        mk = calloc(1, sizeof(*mk));
        if (mk == NULL || store_txn_observe(txn, on_txn_outcome, mk) != 0) {
            free(mk);
            a->stats.refused++;
            return -1;
        }
        mk->a = a;
        mk->epoch = a->epoch;
        mk->seq_before = a->seq;
        memcpy(mk->hash_before, a->hash, sizeof(a->hash));
    }
    /* A transaction's entries belong to one log, numbered without a gap from its mark. */
    assert(mk->a == a && a->seq >= mk->seq_before);
    if (a->note) {
        struct audit_entry n = {e->at_ms, "audit_head_mismatch", "system", "audit", NULL, a->note};
        if (append_one(a, txn, &n) != 0)
            goto fail;
        mk->note = a->note;
        a->note = NULL;
    }
    if (append_one(a, txn, e) != 0)
        goto fail;
    mk->last_seq = a->seq;
    return 0;
fail:
    /* A command may already be in txn: the caller frees it unsent, and the observer then gives
     * the numbers back (or, if nothing was numbered yet, has nothing to undo). */
    mk->last_seq = a->seq;
    a->stats.refused++;
    return -1;
}

/* ---- re-reading the head ---- */

static const char *reply_str(const redisReply *r, size_t *len)
{
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        return NULL;
    *len = r->len;
    return r->str;
}

static void reload_finish(struct audit_log *a, const char *err)
{
    a->loading = false;
    audit_log_done_fn *done = a->done;
    void *arg = a->done_arg;
    a->done = NULL;
    a->done_arg = NULL;
    if (err)
        log_error("reading the audit head failed: %s", err);
    if (done)
        done(arg, err);
}

static void on_reload(void *arg, const struct redisReply *reply, const char *err)
{
    struct audit_log *a = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        reload_finish(a, err ? err : "unexpected reply");
        return;
    }
    size_t head_len = 0, last_len = 0;
    const char *head = reply_str(reply->element[0], &head_len);
    const char *last = reply_str(reply->element[2], &last_len);
    int64_t n = (int64_t)reply->element[1]->integer;
    char h[AUDIT_HASH_HEX_LEN + 1];
    memcpy(h, AUDIT_ZERO_HASH, sizeof(h));
    if (n > 0 && (last == NULL || audit_chain_hash(last, last_len, h) != 0)) {
        reload_finish(a, "the last audit entry could not be read");
        return;
    }
    /* The list is what the chain continues from; the head key must say the same. */
    char expect[AUDIT_HASH_HEX_LEN + 64];
    snprintf(expect, sizeof(expect), "{\"hash\":\"%s\",\"seq\":%" PRId64 "}", h, n);
    bool agree = head ? head_len == strlen(expect) && memcmp(head, expect, head_len) == 0 : n == 0;
    if (!agree) {
        log_error("the audit head key (%.*s) disagrees with the log (%" PRId64 " entries, last "
                  "hash %s): Redis was edited; the next entry records this",
                  head ? (int)(head_len > 200 ? 200 : head_len) : 6, head ? head : "absent", n, h);
        json_decref(a->note);
        a->note = json_pack("{s:s%, s:I, s:s}", "head_key", head ? head : "", head ? head_len : 0,
                            "entries", (json_int_t)n, "last_hash", h);
    }
    a->seq = n;
    memcpy(a->hash, h, sizeof(h));
    a->known = true;
    a->epoch++;
    a->stats.reloads++;
    log_info("audit head: seq %" PRId64 ", hash %s", n, h);
    reload_finish(a, NULL);
}

int audit_log_reload(struct audit_log *a, audit_log_done_fn *done, void *arg)
{
    if (a->loading) {
        /* One read under way: its outcome serves this caller too. */
        if (a->done == NULL || (a->done == done && a->done_arg == arg)) {
            a->done = done;
            a->done_arg = arg;
            return 0;
        }
        return -1;
    }
    char k_entries[AUDIT_KEY_MAX], k_head[AUDIT_KEY_MAX];
    if (audit_log_entries_key(a, k_entries, sizeof(k_entries)) < 0 ||
        key(a, k_head, sizeof(k_head), KEYS_AUDIT_HEAD) < 0)
        return -1;
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || store_txn_addv(txn, "GET", k_head, NULL) ||
        store_txn_addv(txn, "LLEN", k_entries, NULL) ||
        store_txn_addv(txn, "LINDEX", k_entries, "-1", NULL)) {
        store_txn_free(txn);
        return -1;
    }
    forget_head(a, "re-reading it");
    const char *why;
    if (store_txn_exec(a->store, txn, on_reload, a, &why) != 0)
        return -1;
    a->loading = true;
    a->done = done;
    a->done_arg = arg;
    return 0;
}

/* ---- verification ---- */

struct verify_job {
    struct audit_log *a;
    audit_log_verify_fn *fn;
    void *arg;
    int64_t from, to;
    /* The service's own head when the verification began (trusted over the head key). */
    bool mem_known;
    uint64_t epoch;
    int64_t mem_seq;
    char mem_hash[AUDIT_HASH_HEX_LEN + 1];
    /* The head key and list length as stored. */
    bool stored_ok;
    int64_t stored_seq, llen;
    char stored_hash[AUDIT_HASH_HEX_LEN + 1];
    /* The head the entries are checked against. */
    int64_t head_seq;
    char head_hash[AUDIT_HASH_HEX_LEN + 1];
    int64_t next_index; /* list index of the next entry to read */
    int64_t last_index; /* last index worth reading (entry to+2) */
    struct audit_verifier v;
};

static void verify_end(struct verify_job *job, const char *err)
{
    struct audit_verify_result *r = &job->v.r;
    if (err == NULL && r->reason == AUDIT_OK) {
        /* The entries agree with the head they were checked against; now the head key. */
        if (job->mem_known && (!job->stored_ok || job->stored_seq != job->mem_seq ||
                               strcmp(job->stored_hash, job->mem_hash) != 0)) {
            int64_t s = job->stored_seq < job->mem_seq ? job->stored_seq : job->mem_seq;
            r->reason = AUDIT_HEAD_MISMATCH;
            r->first_broken_seq = job->stored_ok && job->stored_seq == job->mem_seq ? s : s + 1;
            snprintf(r->detail, sizeof(r->detail),
                     "the head key (seq %" PRId64 ") is not the service's head (seq %" PRId64
                     ", hash %.12s...)",
                     job->stored_seq, job->mem_seq, job->mem_hash);
        } else if (!job->mem_known && !job->stored_ok && job->llen > 0) {
            r->reason = AUDIT_HEAD_MISMATCH;
            r->first_broken_seq = 1;
            snprintf(r->detail, sizeof(r->detail), "the head key is absent or unreadable");
        } else if (job->llen > job->head_seq) {
            r->reason = AUDIT_HEAD_MISMATCH;
            r->first_broken_seq = job->head_seq + 1;
            snprintf(r->detail, sizeof(r->detail),
                     "the log holds %" PRId64 " entries beyond the head (seq %" PRId64 ")",
                     job->llen - job->head_seq, job->head_seq);
        } else if (job->llen < job->head_seq) {
            r->reason = AUDIT_MISSING;
            r->first_broken_seq = job->llen + 1;
            snprintf(r->detail, sizeof(r->detail),
                     "entries %" PRId64 "..%" PRId64 " are missing (the log was cut short)",
                     job->llen + 1, job->head_seq);
        }
    }
    r->head_seq = job->head_seq;
    memcpy(r->head_hash, job->head_hash, sizeof(r->head_hash));
    job->fn(job->arg, err ? NULL : r, err);
    free(job);
}

static void verify_read_next(struct verify_job *job);

static void on_verify_chunk(void *arg, const struct redisReply *reply, const char *err)
{
    struct verify_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        verify_end(job, err ? err : "unexpected reply reading the log");
        return;
    }
    bool more = true;
    for (size_t i = 0; more && i < reply->elements; i++) {
        size_t len = 0;
        const char *t = reply_str(reply->element[i], &len);
        more = audit_verifier_feed(&job->v, t ? t : "", t ? len : 0);
    }
    job->next_index += (int64_t)reply->elements;
    if (more && reply->elements > 0 && job->next_index <= job->last_index) {
        verify_read_next(job);
        return;
    }
    if (more)
        audit_verifier_end(&job->v, job->head_seq, job->head_hash);
    verify_end(job, NULL);
}

static void verify_read_next(struct verify_job *job)
{
    char k[AUDIT_KEY_MAX], start[24], stop[24];
    int64_t last = job->next_index + AUDIT_VERIFY_CHUNK - 1;
    if (last > job->last_index)
        last = job->last_index;
    snprintf(start, sizeof(start), "%" PRId64, job->next_index);
    snprintf(stop, sizeof(stop), "%" PRId64, last);
    audit_log_entries_key(job->a, k, sizeof(k));
    const char *argv[] = {"LRANGE", k, start, stop}, *why;
    if (store_command_argv(job->a->store, on_verify_chunk, job, 4, argv, NULL, &why) != 0)
        verify_end(job, why);
}

static void on_verify_anchor(void *arg, const struct redisReply *reply, const char *err)
{
    struct verify_job *job = arg;
    if (err) {
        verify_end(job, err);
        return;
    }
    size_t len = 0;
    const char *t = reply_str(reply, &len);
    char h[AUDIT_HASH_HEX_LEN + 1];
    if (t == NULL || audit_chain_hash(t, len, h) != 0) {
        audit_verifier_begin(&job->v, job->from, job->to, AUDIT_ZERO_HASH);
        job->v.r.reason = AUDIT_MISSING;
        job->v.r.first_broken_seq = job->from - 1;
        snprintf(job->v.r.detail, sizeof(job->v.r.detail),
                 "the anchor, entry %" PRId64 ", is missing", job->from - 1);
        job->v.done = true;
        verify_end(job, NULL);
        return;
    }
    audit_verifier_begin(&job->v, job->from, job->to, h);
    verify_read_next(job);
}

static int parse_head(const char *text, size_t len, int64_t *seq, char hash[AUDIT_HASH_HEX_LEN + 1])
{
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    json_t *s = json_object_get(j, "seq");
    const char *h = json_string_value(json_object_get(j, "hash"));
    int rc = -1;
    if (json_is_integer(s) && json_integer_value(s) >= 0 && h && strlen(h) == AUDIT_HASH_HEX_LEN) {
        *seq = (int64_t)json_integer_value(s);
        memcpy(hash, h, AUDIT_HASH_HEX_LEN + 1);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static void on_verify_head(void *arg, const struct redisReply *reply, const char *err)
{
    struct verify_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        verify_end(job, err ? err : "unexpected reply reading the head");
        return;
    }
    size_t len = 0;
    const char *head = reply_str(reply->element[0], &len);
    job->llen = (int64_t)reply->element[1]->integer;
    job->stored_ok =
        head ? parse_head(head, len, &job->stored_seq, job->stored_hash) == 0 : job->llen == 0;
    if (head == NULL && job->llen == 0) {
        job->stored_seq = 0;
        memcpy(job->stored_hash, AUDIT_ZERO_HASH, sizeof(job->stored_hash));
    }
    /* A transaction that failed since the snapshot of the service's head voids it. */
    if (job->epoch != job->a->epoch)
        job->mem_known = false;
    if (job->mem_known) {
        job->head_seq = job->mem_seq;
        memcpy(job->head_hash, job->mem_hash, sizeof(job->head_hash));
    } else if (job->stored_ok) {
        job->head_seq = job->stored_seq;
        memcpy(job->head_hash, job->stored_hash, sizeof(job->head_hash));
    } else {
        job->head_seq = 0;
        memcpy(job->head_hash, AUDIT_ZERO_HASH, sizeof(job->head_hash));
    }
    if (job->to <= 0 || job->to > job->head_seq)
        job->to = job->head_seq;
    job->next_index = job->from - 1;
    /* Up to entry to+2 (evidence for the last links), never beyond the head: entries past it
     * are the head check's business (verify_end). */
    job->last_index = job->to + 1 < job->head_seq - 1 ? job->to + 1 : job->head_seq - 1;
    if (job->from > job->to) {
        audit_verifier_begin(&job->v, job->from, job->to, AUDIT_ZERO_HASH);
        verify_end(job, NULL);
        return;
    }
    if (job->from == 1) {
        audit_verifier_begin(&job->v, job->from, job->to, AUDIT_ZERO_HASH);
        verify_read_next(job);
        return;
    }
    char k[AUDIT_KEY_MAX], idx[24];
    audit_log_entries_key(job->a, k, sizeof(k));
    snprintf(idx, sizeof(idx), "%" PRId64, job->from - 2);
    const char *argv[] = {"LINDEX", k, idx}, *why;
    if (store_command_argv(job->a->store, on_verify_anchor, job, 3, argv, NULL, &why) != 0)
        verify_end(job, why);
}

int audit_log_verify(struct audit_log *a, int64_t from_seq, int64_t to_seq, audit_log_verify_fn *fn,
                     void *arg)
{
    char k_entries[AUDIT_KEY_MAX], k_head[AUDIT_KEY_MAX];
    if (audit_log_entries_key(a, k_entries, sizeof(k_entries)) < 0 ||
        key(a, k_head, sizeof(k_head), KEYS_AUDIT_HEAD) < 0)
        return -1;
    struct verify_job *job = calloc(1, sizeof(*job));
    struct store_txn *txn = job ? store_txn_new() : NULL;
    if (txn == NULL || store_txn_addv(txn, "GET", k_head, NULL) ||
        store_txn_addv(txn, "LLEN", k_entries, NULL)) {
        store_txn_free(txn);
        free(job);
        return -1;
    }
    job->a = a;
    job->fn = fn;
    job->arg = arg;
    job->from = from_seq < 1 ? 1 : from_seq;
    job->to = to_seq;
    /* Every entry numbered so far is in a transaction already sent on this connection, ahead
     * of this read: the stored head must equal the service's once they apply. */
    job->mem_known = a->known;
    job->epoch = a->epoch;
    job->mem_seq = a->seq;
    memcpy(job->mem_hash, a->hash, sizeof(job->mem_hash));
    const char *why;
    if (store_txn_exec(a->store, txn, on_verify_head, job, &why) != 0) {
        free(job);
        return -1;
    }
    a->stats.verifications++;
    return 0;
}
