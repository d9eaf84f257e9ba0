/* route_seal.c -- sealed routes (route_seal.h). */
#include "app/route_seal.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/work_pool.h"
#include "core/audit_chain.h"
#include "core/model.h"
#include "core/registry.h"
#include "store/audit_log.h"
#include "store/audit_reads.h"
#include "store/keys.h"
#include "store/route_seals.h"
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
/* Pending days examined per read: a long outage leaves many due at once; each is read whole, so
 * they are taken a few at a time, one after the other. */
#define SEAL_PAGE 16

struct route_seals {
    struct service *d;
    struct event *timer;
    int busy; /* a round is under way: the timer does not start another */
    int started;
    char **names; /* the round's due days (owned), and where it is */
    size_t n, at;
    struct route_seal_stats stats;
    int verifying; /* verifications started and not yet answered (ROUTE_SEAL_VERIFY_MAX) */
};

const char route_seal_busy_[] = "too many route days are being verified at once";

static int64_t grace_ms(const struct service *d)
{
    return d->cfg.route_seal_grace * 1000;
}

/* "{vehicle}:{yyyymmdd}", the member of {p}route-seals:pending. */
static void pending_name(char *out, size_t cap, const char *vehicle, int32_t day)
{
    char date[11];
    lpg_day_format(day, date);
    snprintf(out, cap, "%s:%.4s%.2s%.2s", vehicle, date, date + 5, date + 8);
}

static int parse_pending(const char *name, char vehicle[LPG_ID_MAX + 1], int32_t *day)
{
    const char *c = strrchr(name, ':');
    if (c == NULL || (size_t)(c - name) > LPG_ID_MAX || strlen(c + 1) != 8)
        return -1;
    memcpy(vehicle, name, (size_t)(c - name));
    vehicle[c - name] = '\0';
    char date[11];
    snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", c + 1, c + 5, c + 7);
    return lpg_id_valid(vehicle) && lpg_day_parse(date, day) == 0 ? 0 : -1;
}

int route_seal_batch(struct service *d, struct store_txn *txn, const char *vehicle, int32_t day,
                     const char *const *pairs, size_t n, int64_t expire_at_s)
{
    if (n == 0)
        return 0;
    char *log = malloc(n * ROUTE_FP_LEN + 1);
    if (log == NULL)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t = strtoll(pairs[2 * i], NULL, 10);
        /* Ingest puts a fix into the set of its own time's day, so this cannot fail; were it
         * to, the fix would be named "inserted" by verify rather than silently skipped here. */
        if (route_seal_fingerprint(day, t, pairs[2 * i + 1], strlen(pairs[2 * i + 1]), log + len) ==
            0)
            len += ROUTE_FP_LEN;
    }
    log[len] = '\0';
    char rel[LPG_ID_MAX + 32], key[256], pend[256], name[LPG_ID_MAX + 16], exp[24], close[24];
    keys_route_log(rel, sizeof(rel), vehicle, day);
    store_key(d->store, key, sizeof(key), rel);
    store_key(d->store, pend, sizeof(pend), KEYS_ROUTE_SEALS_PENDING);
    pending_name(name, sizeof(name), vehicle, day);
    snprintf(exp, sizeof(exp), "%" PRId64, expire_at_s);
    snprintf(close, sizeof(close), "%lld", (long long)(((int64_t)day + 1) * DAY_MS + grace_ms(d)));
    int rc = len == 0 ? 0 : store_txn_addv(txn, "APPEND", key, log, NULL);
    free(log);
    if (rc == 0 && len > 0)
        rc = store_txn_addv(txn, "EXPIREAT", key, exp, NULL);
    /* The day is examined when it closes; a batch after that makes it due at once (its score
     * is already past), which records the late fixes. */
    if (rc == 0)
        rc = store_txn_addv(txn, "ZADD", pend, close, name, NULL);
    return rc;
}

/* ---- the seal ---- */

/* The answer to a pending mark put back or taken away: only a failure is worth saying (the day
 * then waits for its next batch, and verify still tells the truth about it). */
static void on_repend(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    const char *e = err ? err : store_reply_error(reply);
    if (e)
        log_error("route seal: the pending mark could not be changed: %s", e);
}

static void round_next(struct route_seals *rs);

static void round_end(struct route_seals *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->names[i]);
    free(rs->names);
    rs->names = NULL;
    int full = rs->n == SEAL_PAGE;
    rs->n = rs->at = 0;
    rs->busy = 0;
    rs->stats.checks++;
    /* A full page: more may be due. */
    if (full && rs->d->loaded && !rs->d->shutting_down)
        event_active(rs->timer, EV_TIMEOUT, 0);
}

/* What one pending day's write needs after Redis answered. */
struct seal_write {
    struct route_seals *rs;
    char name[LPG_ID_MAX + 16];
    size_t log_len; /* the log as read */
    int sealed;     /* the write seals the day */
    size_t late;    /* late fixes it records */
};

static void on_written(void *arg, const struct redisReply *reply, const char *err)
{
    struct seal_write *w = arg;
    struct route_seals *rs = w->rs;
    const redisReply *last = NULL;
    int failed = err != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0;
    for (size_t i = 0; !failed && i < reply->elements; i++)
        failed = reply->element[i]->type == REDIS_REPLY_ERROR;
    if (!failed)
        last = reply->element[reply->elements - 1];
    if (last == NULL || last->type != REDIS_REPLY_INTEGER) {
        rs->stats.failures++;
        log_error("a route seal could not be stored for %s: %s; it stays pending", w->name,
                  err ? err : "Redis refused the transaction");
    } else {
        rs->stats.sealed += (unsigned long long)w->sealed;
        rs->stats.late_fixes += w->late;
    }
    if (last == NULL || last->type != REDIS_REPLY_INTEGER || (size_t)last->integer > w->log_len) {
        /* Not stored (a command of it failed, or the outcome is unknown), or fixes were stored
         * between the read and this write, whose ZREM took their pending mark away: mark the
         * day again so that the next round sees it. */
        char pend[256];
        store_key(rs->d->store, pend, sizeof(pend), KEYS_ROUTE_SEALS_PENDING);
        const char *argv[] = {"ZADD", pend, "0", w->name};
        const char *why;
        if (store_command_argv(rs->d->store, on_repend, NULL, 4, argv, NULL, &why) != 0)
            log_error("%s could not be marked pending again: %s", w->name, why);
    }
    free(w);
    if (rs->d->route_seals == rs) /* not torn down meanwhile */
        round_next(rs);
}

/* The seal's own record: {"checked_bytes","date","digest","fixes","log_bytes","seq","sealed_ms"}.
 */
static char *seal_text(const char *date, const char *digest, size_t fixes, size_t log_bytes,
                       size_t checked, int64_t seq, int64_t sealed_ms)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I}", "checked_bytes", (json_int_t)checked,
                          "date", date, "digest", digest, "fixes", (json_int_t)fixes, "log_bytes",
                          (json_int_t)log_bytes, "seq", (json_int_t)seq, "sealed_ms",
                          (json_int_t)sealed_ms);
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return t;
}

struct seal_read {
    struct route_seals *rs;
    char vehicle[LPG_ID_MAX + 1];
    int32_t day;
    char name[LPG_ID_MAX + 16];
};

static void on_day_read(void *arg, const struct route_seal_snapshot *s, const char *err)
{
    struct seal_read r = *(struct seal_read *)arg;
    free(arg);
    struct route_seals *rs = r.rs;
    struct service *d = rs->d;
    if (d->route_seals != rs)
        return;
    if (err) {
        rs->stats.failures++;
        log_error("route seal: %s could not be read: %s", r.name, err);
        round_next(rs);
        return;
    }
    char date[11], rel[LPG_ID_MAX + 32], k_seal[256], k_pend[256], k_log[256], exp[24];
    lpg_day_format(r.day, date);
    keys_route_seal(rel, sizeof(rel), r.vehicle, r.day);
    store_key(d->store, k_seal, sizeof(k_seal), rel);
    keys_route_log(rel, sizeof(rel), r.vehicle, r.day);
    store_key(d->store, k_log, sizeof(k_log), rel);
    store_key(d->store, k_pend, sizeof(k_pend), KEYS_ROUTE_SEALS_PENDING);
    snprintf(
        exp, sizeof(exp), "%lld",
        (long long)(((int64_t)r.day + 1) * (DAY_MS / 1000) + d->cfg.route_retention_days * 86400));
    const struct lpg_vehicle *v = registry_vehicle(d->registry, r.vehicle);
    const char *ent = v && v->enterprise_id[0] ? v->enterprise_id : NULL;
    int64_t now = lpg_now_ms();
    struct store_txn *txn = store_txn_new();
    json_t *data = NULL;
    char *text = NULL;
    int rc = txn ? 0 : -1;
    int wrote = 0; /* 1: the seal is updated, 2: the day is sealed */
    size_t late = 0;
    if (rc == 0 && s->seal == NULL) {
        struct route_seal_check c;
        rc = route_seal_check(r.day, s->members, s->n, s->log, s->log_len, s->log_len, &c);
        /* Sealed as stored; a set that already disagreed with its log is said so in the
         * entry (unmatched_*), not made to agree. */
        data = rc == 0 ? json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "vehicle_id", r.vehicle, "date",
                                   date, "digest", c.digest, "fixes", (json_int_t)c.sealed_fixes,
                                   "recorded", (json_int_t)c.recorded, "unmatched_set",
                                   (json_int_t)c.unmatched_set, "unmatched_log",
                                   (json_int_t)c.unmatched_log)
                       : NULL;
        struct audit_entry e = {now, "route_sealed", "system", r.vehicle, ent, data};
        rc = data ? audit_log_append(d->audit, txn, &e) : -1;
        if (rc == 0)
            text = seal_text(date, c.digest, c.sealed_fixes, s->log_len, s->log_len,
                             audit_log_head_seq(d->audit), now);
        if (rc == 0 && text == NULL)
            rc = -1;
        if (rc == 0)
            rc = store_txn_addv(txn, "SET", k_seal, text, "EXAT", exp, NULL);
        wrote = 2;
    } else if (rc == 0) {
        json_t *seal = json_loadb(s->seal, s->seal_len, 0, NULL);
        json_int_t log_bytes = json_integer_value(json_object_get(seal, "log_bytes"));
        json_int_t checked = json_integer_value(json_object_get(seal, "checked_bytes"));
        size_t n = 0;
        int64_t first = 0, last = 0;
        if (seal == NULL || log_bytes < 0 || checked < log_bytes || (size_t)checked > s->log_len ||
            route_seal_late(s->log, s->log_len, (size_t)log_bytes, (size_t)checked, &n, &first,
                            &last) != 0) {
            /* The seal or the log was edited: verify says so; nothing to add here. */
            log_error("route seal: %s: the seal or its log is not as written; see verify", r.name);
        } else if ((size_t)checked < s->log_len) {
            if (n > 0) {
                int64_t base = (int64_t)r.day * DAY_MS;
                data = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "vehicle_id", r.vehicle, "date", date,
                                 "fixes", (json_int_t)n, "first_ms", (json_int_t)(base + first),
                                 "last_ms", (json_int_t)(base + last), "seal_seq",
                                 json_integer_value(json_object_get(seal, "seq")));
                struct audit_entry e = {now, "route_late_after_seal", "system", r.vehicle, ent,
                                        data};
                rc = data ? audit_log_append(d->audit, txn, &e) : -1;
                late = n;
            }
            json_object_set_new(seal, "checked_bytes", json_integer((json_int_t)s->log_len));
            text = rc == 0 ? json_dumps(seal, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            rc = text ? store_txn_addv(txn, "SET", k_seal, text, "KEEPTTL", NULL) : -1;
            wrote = 1;
        }
        json_decref(seal);
    }
    json_decref(data);
    free(text);
    /* Done with the day (for now): taken off the pending set in the same transaction, and the
     * log's length read there too -- a batch stored since the read shows in it. */
    if (rc == 0)
        rc = store_txn_addv(txn, "ZREM", k_pend, r.name, NULL);
    if (rc == 0)
        rc = store_txn_addv(txn, "STRLEN", k_log, NULL);
    struct seal_write *w = rc == 0 ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL) {
        /* Audit head unknown, or out of memory: the day stays pending for the next round. */
        store_txn_free(txn);
        rs->stats.failures++;
        round_next(rs);
        return;
    }
    w->rs = rs;
    snprintf(w->name, sizeof(w->name), "%s", r.name);
    w->log_len = s->log_len;
    w->sealed = wrote == 2;
    w->late = late;
    const char *why;
    if (store_txn_exec(d->store, txn, on_written, w, &why) != 0) {
        rs->stats.failures++;
        log_error("route seal: %s could not be stored: %s", r.name, why);
        free(w);
        round_next(rs);
    }
}

static void round_next(struct route_seals *rs)
{
    struct service *d = rs->d;
    while (rs->at < rs->n) {
        const char *name = rs->names[rs->at++];
        struct seal_read *r = calloc(1, sizeof(*r));
        if (r == NULL)
            break;
        r->rs = rs;
        snprintf(r->name, sizeof(r->name), "%s", name);
        if (parse_pending(name, r->vehicle, &r->day) != 0) {
            log_error("route seal: pending entry %s is not a vehicle day; dropped", name);
            char pend[256];
            store_key(d->store, pend, sizeof(pend), KEYS_ROUTE_SEALS_PENDING);
            const char *argv[] = {"ZREM", pend, name};
            const char *why;
            store_command_argv(d->store, on_repend, NULL, 3, argv, NULL, &why);
            free(r);
            continue;
        }
        const char *why;
        if (route_seals_read_day(d->store, r->vehicle, r->day, on_day_read, r, &why) == 0)
            return;
        free(r);
        break;
    }
    round_end(rs);
}

static void on_due(void *arg, const char *const *names, size_t n, const char *err)
{
    struct route_seals *rs = arg;
    if (err) {
        rs->stats.failures++;
        rs->busy = 0;
        return;
    }
    rs->names = calloc(n ? n : 1, sizeof(*rs->names));
    for (size_t i = 0; rs->names && i < n; i++)
        if ((rs->names[rs->n] = strdup(names[i])) != NULL)
            rs->n++;
    if (rs->names == NULL) {
        rs->busy = 0;
        return;
    }
    round_next(rs);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct route_seals *rs = arg;
    struct service *d = rs->d;
    if (rs->busy || !d->loaded || d->shutting_down || !audit_log_ready(d->audit))
        return;
    const char *why;
    rs->busy = 1;
    if (route_seals_read_due(d->store, lpg_now_ms(), SEAL_PAGE, on_due, rs, &why) != 0)
        rs->busy = 0;
}

int route_seal_init(struct service *d)
{
    struct route_seals *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return -1;
    rs->d = d;
    rs->timer = event_new(d->base, -1, EV_PERSIST, on_timer, rs);
    if (rs->timer == NULL) {
        free(rs);
        return -1;
    }
    d->route_seals = rs;
    return 0;
}

void route_seal_free(struct service *d)
{
    struct route_seals *rs = d->route_seals;
    if (rs == NULL)
        return;
    event_free(rs->timer);
    for (size_t i = 0; i < rs->n; i++)
        free(rs->names[i]);
    free(rs->names);
    free(rs);
    d->route_seals = NULL;
}

void route_seal_start(struct service *d)
{
    struct route_seals *rs = d->route_seals;
    if (rs == NULL)
        return;
    if (!rs->started) {
        /* Often enough that a day is sealed soon after its grace, never busier than 1/5 s. */
        int64_t every = grace_ms(d) / 4;
        every = every < 200 ? 200 : every > 60000 ? 60000 : every;
        struct timeval tv = {(time_t)(every / 1000), (suseconds_t)(every % 1000 * 1000)};
        if (event_add(rs->timer, &tv) != 0)
            log_error("route seal: the timer could not be armed");
        rs->started = 1;
    }
    event_active(rs->timer, EV_TIMEOUT, 0);
}

const struct route_seal_stats *route_seal_stats(const struct service *d)
{
    static const struct route_seal_stats none;
    return d->route_seals ? &d->route_seals->stats : &none;
}

/* ---- verification ---- */

struct verify_job {
    struct service *d;
    route_seal_verify_fn *fn;
    void *arg;
    char vehicle[LPG_ID_MAX + 1];
    int32_t day;
    struct route_seal_verdict v;
    char member[ROUTE_MEMBER_MAX + 1];
    /* the seal key as read */
    char seal_digest[ROUTE_DIGEST_HEX_LEN + 1];
    int64_t seal_fixes;
    /* The day as read, copied out of the reply for the worker thread (owned): the members, their
     * texts in one buffer, the log. */
    struct route_seal_member *members;
    size_t n;
    char *texts;
    char *log;
    size_t log_len, seal_len;
    struct route_seal_check c;
    int check_rc;
};

static void verify_job_free(struct verify_job *j)
{
    free(j->members);
    free(j->texts);
    free(j->log);
    free(j);
}

/* The verification is over (answered or dropped): its place under the cap is free. */
static void verify_release(struct service *d)
{
    if (d->route_seals && d->route_seals->verifying > 0)
        d->route_seals->verifying--;
}

static void verify_fail(struct verify_job *j, const char *err)
{
    struct service *d = j->d;
    j->fn(j->arg, NULL, err);
    verify_job_free(j);
    verify_release(d);
}

static void verify_end(struct verify_job *j)
{
    struct service *d = j->d;
    struct route_seal_verdict *v = &j->v;
    v->ok = v->what == NULL;
    j->fn(j->arg, v, NULL);
    verify_job_free(j);
    verify_release(d);
}

static void on_seal_entry(void *arg, const struct audit_texts *texts, const char *err)
{
    struct verify_job *j = arg;
    struct route_seal_verdict *v = &j->v;
    if (err) {
        verify_fail(j, err);
        return;
    }
    const char *text = "";
    size_t len = 0;
    if (audit_texts_count(texts) == 1)
        audit_texts_get(texts, 0, &text, &len);
    json_t *e = json_loadb(text, len, 0, NULL);
    json_t *data = json_object_get(e, "data");
    char date[11];
    lpg_day_format(j->day, date);
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const char *dv = json_string_value(json_object_get(data, "vehicle_id"));
    const char *dd = json_string_value(json_object_get(data, "date"));
    const char *dg = json_string_value(json_object_get(data, "digest"));
    json_t *df = json_object_get(data, "fixes");
    if (kind && strcmp(kind, "route_sealed") == 0 && dv && strcmp(dv, j->vehicle) == 0 && dd &&
        strcmp(dd, date) == 0 && dg && strlen(dg) == ROUTE_DIGEST_HEX_LEN && json_is_integer(df)) {
        snprintf(v->sealed_digest, sizeof(v->sealed_digest), "%s", dg);
        v->sealed_fixes = json_integer_value(df);
    }
    json_decref(e);
    if (v->what == NULL && v->sealed_fixes < 0) {
        v->what = "seal";
        snprintf(v->detail, sizeof(v->detail),
                 "audit entry %" PRId64 " is not this day's route_sealed entry", v->seal_seq);
    } else if (v->what == NULL && (strcmp(v->sealed_digest, v->digest) != 0 ||
                                   v->sealed_fixes != (int64_t)v->digest_fixes)) {
        v->what = "digest";
        snprintf(v->detail, sizeof(v->detail),
                 "the fixes agree with their log but not with the seal (audit entry %" PRId64
                 "): both were rewritten",
                 v->seal_seq);
    } else if (v->what == NULL && (strcmp(j->seal_digest, v->sealed_digest) != 0 ||
                                   j->seal_fixes != v->sealed_fixes)) {
        v->what = "seal";
        snprintf(v->detail, sizeof(v->detail),
                 "the stored seal disagrees with audit entry %" PRId64, v->seal_seq);
    }
    verify_end(j);
}

/* On a worker thread: only the job's own bytes (the day's copy). */
static void run_verify_check(void *arg)
{
    struct verify_job *j = arg;
    j->check_rc =
        route_seal_check(j->day, j->members, j->n, j->log, j->log_len, j->seal_len, &j->c);
}

/* Shutdown with the check still queued: answered, so the caller is not left waiting. The module
 * is gone by then (route_seal_free runs first): nothing to release. */
static void cancel_verify_check(void *arg)
{
    struct verify_job *j = arg;
    j->fn(j->arg, NULL, "the service is stopping");
    verify_job_free(j);
}

static void on_verify_checked(void *arg);

static void on_verify_read(void *arg, const struct route_seal_snapshot *s, const char *err)
{
    struct verify_job *j = arg;
    struct route_seal_verdict *v = &j->v;
    if (err) {
        verify_fail(j, err);
        return;
    }
    size_t seal_len = s->log_len;
    if (s->seal) {
        json_t *seal = json_loadb(s->seal, s->seal_len, 0, NULL);
        json_int_t lb = json_integer_value(json_object_get(seal, "log_bytes"));
        v->sealed = 1;
        v->seal_seq = json_integer_value(json_object_get(seal, "seq"));
        j->seal_fixes = json_integer_value(json_object_get(seal, "fixes"));
        snprintf(j->seal_digest, sizeof(j->seal_digest), "%s",
                 json_string_value(json_object_get(seal, "digest"))
                     ? json_string_value(json_object_get(seal, "digest"))
                     : "");
        json_decref(seal);
        seal_len = lb >= 0 && (size_t)lb <= s->log_len ? (size_t)lb : s->log_len;
    }
    /* The reply is valid during this callback only: the day is copied for the worker (a memcpy
     * of a few MB for a full day, against 100-300 ms of hashing that would stall the loop). */
    size_t bytes = 0;
    for (size_t i = 0; i < s->n; i++)
        bytes += s->members[i].len;
    j->n = s->n;
    j->members = calloc(s->n ? s->n : 1, sizeof(*j->members));
    j->texts = malloc(bytes ? bytes : 1);
    j->log = malloc(s->log_len ? s->log_len : 1);
    if (j->members == NULL || j->texts == NULL || j->log == NULL) {
        verify_fail(j, STORE_READ_NOMEM);
        return;
    }
    size_t at = 0;
    for (size_t i = 0; i < s->n; i++) {
        memcpy(j->texts + at, s->members[i].text, s->members[i].len);
        j->members[i] = s->members[i];
        j->members[i].text = j->texts + at;
        at += s->members[i].len;
    }
    memcpy(j->log, s->log, s->log_len);
    j->log_len = s->log_len;
    j->seal_len = seal_len;
    if (j->d->hash_pool == NULL) { /* no pool (tools, unit tests): here */
        run_verify_check(j);
        on_verify_checked(j);
        return;
    }
    if (work_pool_submit(j->d->hash_pool, run_verify_check, on_verify_checked, cancel_verify_check,
                         j) != 0)
        verify_fail(j, route_seal_busy_);
}

static void on_verify_checked(void *arg)
{
    struct verify_job *j = arg;
    struct route_seal_verdict *v = &j->v;
    const struct route_seal_check c = j->c;
    if (j->check_rc != 0) {
        verify_fail(j, STORE_READ_NOMEM);
        return;
    }
    v->fixes = c.fixes;
    v->recorded = c.recorded;
    snprintf(v->digest, sizeof(v->digest), "%s", c.digest);
    v->digest_fixes = c.sealed_fixes;
    v->late_after_seal = v->sealed ? c.late_after_seal : 0;
    if (c.what != ROUTE_SEAL_SAME) {
        v->what = route_seal_what_name(c.what);
        if (c.what != ROUTE_SEAL_LOG_BROKEN) {
            v->has_time = 1;
            v->time_ms = c.time_ms;
        }
        if (c.member >= 0) {
            const struct route_seal_member *m = &j->members[c.member];
            size_t l = m->len < ROUTE_MEMBER_MAX ? m->len : ROUTE_MEMBER_MAX;
            memcpy(j->member, m->text, l);
            j->member[l] = '\0';
            v->member = j->member;
            struct route_fix f;
            if (route_member_parse(m->text, m->len, &f) == 0) {
                v->has_seq = 1;
                v->seq = f.seq;
            }
        }
        switch (c.what) {
        case ROUTE_SEAL_EDITED:
            snprintf(v->detail, sizeof(v->detail),
                     "the fix stored at this time is not the one recorded (%zu unmatched in the "
                     "set, %zu in the log)",
                     c.unmatched_set, c.unmatched_log);
            break;
        case ROUTE_SEAL_REMOVED:
            snprintf(v->detail, sizeof(v->detail),
                     "a fix recorded at this time is not in the set (%zu unmatched in the set, "
                     "%zu in the log)",
                     c.unmatched_set, c.unmatched_log);
            break;
        case ROUTE_SEAL_INSERTED:
            snprintf(v->detail, sizeof(v->detail),
                     "this fix was never recorded (%zu unmatched in the set, %zu in the log)",
                     c.unmatched_set, c.unmatched_log);
            break;
        default:
            snprintf(v->detail, sizeof(v->detail),
                     "the fingerprint log is not a sequence of fingerprints: it was edited");
            break;
        }
    }
    if (!v->sealed) {
        verify_end(j);
        return;
    }
    const char *why;
    if (v->seal_seq < 1 ||
        audit_read_entries(j->d->store, v->seal_seq, v->seal_seq, on_seal_entry, j, &why) != 0) {
        if (v->seal_seq >= 1) {
            verify_fail(j, why);
            return;
        }
        if (v->what == NULL) {
            v->what = "seal";
            snprintf(v->detail, sizeof(v->detail), "the stored seal names no audit entry");
        }
        verify_end(j);
    }
}

int route_seal_verify(struct service *d, const char *vehicle, int32_t day, route_seal_verify_fn *fn,
                      void *arg, const char **why)
{
    struct route_seals *rs = d->route_seals;
    if (rs && rs->verifying >= ROUTE_SEAL_VERIFY_MAX) {
        *why = ROUTE_SEAL_BUSY;
        return -1;
    }
    struct verify_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    j->d = d;
    j->fn = fn;
    j->arg = arg;
    snprintf(j->vehicle, sizeof(j->vehicle), "%s", vehicle);
    j->day = day;
    j->v.sealed_fixes = -1;
    j->seal_fixes = -1;
    if (rs)
        rs->verifying++;
    if (route_seals_read_day(d->store, vehicle, day, on_verify_read, j, why) != 0) {
        free(j);
        verify_release(d);
        return -1;
    }
    return 0;
}
