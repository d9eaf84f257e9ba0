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
    int stop; /* the round was cut short (work queue full): the next waits for the timer */
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

int32_t route_seal_vehicle_offset(const struct service *d, const char *vehicle)
{
    const struct lpg_vehicle *v = registry_vehicle(d->registry, vehicle);
    const struct lpg_enterprise *e =
        v && v->enterprise_id[0] ? registry_enterprise(d->registry, v->enterprise_id) : NULL;
    return e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN;
}

/* The EXPIREAT (s) of a day's log and seal: the later of its UTC sets', so that they last as
 * long as any of the day's fixes (ingest.c flush_day: retention days after the set's UTC day). */
static int64_t day_expire_s(const struct service *d, const struct route_seal_day *rd)
{
    int32_t last = lpg_local_day(rd->to_ms - 1, 0);
    return ((int64_t)last + 1) * (DAY_MS / 1000) + (int64_t)d->cfg.route_retention_days * 86400;
}

/* "{vehicle}:{tag}", the member of {p}route-seals:pending (tag: core/route_seal.h). */
static void pending_name(char *out, size_t cap, const char *vehicle,
                         const struct route_seal_day *rd)
{
    char tag[ROUTE_DAY_TAG_MAX];
    route_seal_day_tag(rd, tag);
    snprintf(out, cap, "%s:%s", vehicle, tag);
}

static int parse_pending(const char *name, char vehicle[LPG_ID_MAX + 1], struct route_seal_day *rd)
{
    const char *c = strrchr(name, ':');
    if (c == NULL || (size_t)(c - name) > LPG_ID_MAX)
        return -1;
    memcpy(vehicle, name, (size_t)(c - name));
    vehicle[c - name] = '\0';
    return lpg_id_valid(vehicle) && route_seal_day_parse_tag(c + 1, rd) == 0 ? 0 : -1;
}

/* The fingerprints of one route day's fixes in log (len bytes) recorded in txn: appended to its
 * log, and the day marked pending until it closes. */
static int record_day(struct service *d, struct store_txn *txn, const char *vehicle,
                      const struct route_seal_day *rd, const char *log, size_t len)
{
    char rel[LPG_ID_MAX + 32], key[256], pend[256], name[LPG_ID_MAX + 32], exp[24], close[24];
    keys_route_log(rel, sizeof(rel), vehicle, rd);
    store_key(d->store, key, sizeof(key), rel);
    store_key(d->store, pend, sizeof(pend), KEYS_ROUTE_SEALS_PENDING);
    pending_name(name, sizeof(name), vehicle, rd);
    snprintf(exp, sizeof(exp), "%" PRId64, day_expire_s(d, rd));
    snprintf(close, sizeof(close), "%" PRId64, rd->to_ms + grace_ms(d));
    int rc = len == 0 ? 0 : store_txn_addv(txn, "APPEND", key, log, NULL);
    if (rc == 0 && len > 0)
        rc = store_txn_addv(txn, "EXPIREAT", key, exp, NULL);
    /* The day is examined when it closes; a batch after that makes it due at once (its score
     * is already past), which records the late fixes. */
    if (rc == 0)
        rc = store_txn_addv(txn, "ZADD", pend, close, name, NULL);
    return rc;
}

int route_seal_batch(struct service *d, struct store_txn *txn, const char *vehicle,
                     const char *const *pairs, size_t n)
{
    if (n == 0)
        return 0;
    int32_t off = route_seal_vehicle_offset(d, vehicle);
    char *log = malloc(n * ROUTE_FP_LEN + 1);
    unsigned char *done = calloc(n, 1);
    int rc = log && done ? 0 : -1;
    /* The fixes of one UTC set belong to at most two local days: each day's fingerprints are
     * gathered in one pass over the fixes not yet taken. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (done[i])
            continue;
        struct route_seal_day rd;
        route_seal_day_at(strtoll(pairs[2 * i], NULL, 10), off, &rd);
        size_t len = 0;
        for (size_t j = i; j < n; j++) {
            int64_t t = strtoll(pairs[2 * j], NULL, 10);
            if (done[j] || t < rd.from_ms || t >= rd.to_ms)
                continue;
            done[j] = 1;
            if (route_seal_fingerprint(rd.from_ms, t, pairs[2 * j + 1], strlen(pairs[2 * j + 1]),
                                       log + len) == 0)
                len += ROUTE_FP_LEN;
        }
        log[len] = '\0';
        rc = record_day(d, txn, vehicle, &rd, log, len);
    }
    free(log);
    free(done);
    return rc;
}

/* ---- a day's bytes, copied for a worker thread ---- */

/* The members, their texts in one buffer, the log: owned, so that the hashing can run on the
 * work pool after the reply they were read from is gone. */
struct day_copy {
    struct route_seal_member *members;
    size_t n;
    char *texts;
    char *log;
    size_t log_len;
};

static void day_copy_free(struct day_copy *c)
{
    free(c->members);
    free(c->texts);
    free(c->log);
    memset(c, 0, sizeof(*c));
}

/* 0, or -1 when out of memory (c then empty). A memcpy of a few MB for a full day, against
 * 100-300 ms of hashing that would stall the loop. */
static int day_copy_take(struct day_copy *c, const struct route_seal_snapshot *s)
{
    size_t bytes = 0;
    for (size_t i = 0; i < s->n; i++)
        bytes += s->members[i].len;
    c->n = s->n;
    c->members = calloc(s->n ? s->n : 1, sizeof(*c->members));
    c->texts = malloc(bytes ? bytes : 1);
    c->log = malloc(s->log_len ? s->log_len : 1);
    if (c->members == NULL || c->texts == NULL || c->log == NULL) {
        day_copy_free(c);
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i < s->n; i++) {
        memcpy(c->texts + at, s->members[i].text, s->members[i].len);
        c->members[i] = s->members[i];
        c->members[i].text = c->texts + at;
        at += s->members[i].len;
    }
    memcpy(c->log, s->log, s->log_len);
    c->log_len = s->log_len;
    return 0;
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
    int full = rs->n == SEAL_PAGE && !rs->stop;
    rs->n = rs->at = 0;
    rs->stop = 0;
    rs->busy = 0;
    rs->stats.checks++;
    /* A full page: more may be due. */
    if (full && rs->d->loaded && !rs->d->shutting_down)
        event_active(rs->timer, EV_TIMEOUT, 0);
}

/* What one pending day's write needs after Redis answered. */
struct seal_write {
    struct route_seals *rs;
    char name[LPG_ID_MAX + 32];
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

/* The seal's own record: {"checked_bytes","date","digest","fixes","from_ms","log_bytes","seq",
 * "sealed_ms","to_ms","utc_offset_min"}. */
static char *seal_text(const char *date, const struct route_seal_day *rd, const char *digest,
                       size_t fixes, size_t log_bytes, size_t checked, int64_t seq,
                       int64_t sealed_ms)
{
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "checked_bytes", (json_int_t)checked,
                  "date", date, "digest", digest, "fixes", (json_int_t)fixes, "from_ms",
                  (json_int_t)rd->from_ms, "log_bytes", (json_int_t)log_bytes, "seq",
                  (json_int_t)seq, "sealed_ms", (json_int_t)sealed_ms, "to_ms",
                  (json_int_t)rd->to_ms, "utc_offset_min", (int)rd->utc_offset_min);
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return t;
}

/* One pending day of a round: read, then (not sealed yet) hashed on the work pool, then
 * written. */
struct seal_job {
    struct service *d;
    struct route_seals *rs;
    char vehicle[LPG_ID_MAX + 1];
    struct route_seal_day rd;
    char name[LPG_ID_MAX + 32];
    struct day_copy day; /* the day as read, for the worker */
    struct route_seal_check c;
    int check_rc;
};

static void seal_job_free(struct seal_job *j)
{
    day_copy_free(&j->day);
    free(j);
}

/* The write of one day, on the loop: sealed now (c, the check over the whole day, made on the
 * worker), or already sealed (seal: its JSON; the late fixes since the last check are
 * recorded). log / log_len: the log as read. Then the round goes on. */
static void seal_write(struct seal_job *j, const struct route_seal_check *c, const char *seal_json,
                       size_t seal_len, const char *log, size_t log_len)
{
    struct route_seals *rs = j->rs;
    struct service *d = j->d;
    char date[11], rel[LPG_ID_MAX + 32], k_seal[256], k_pend[256], k_log[256], exp[24];
    lpg_day_format(j->rd.day, date);
    keys_route_seal(rel, sizeof(rel), j->vehicle, &j->rd);
    store_key(d->store, k_seal, sizeof(k_seal), rel);
    keys_route_log(rel, sizeof(rel), j->vehicle, &j->rd);
    store_key(d->store, k_log, sizeof(k_log), rel);
    store_key(d->store, k_pend, sizeof(k_pend), KEYS_ROUTE_SEALS_PENDING);
    snprintf(exp, sizeof(exp), "%" PRId64, day_expire_s(d, &j->rd));
    const struct lpg_vehicle *v = registry_vehicle(d->registry, j->vehicle);
    const char *ent = v && v->enterprise_id[0] ? v->enterprise_id : NULL;
    int64_t now = lpg_now_ms();
    struct store_txn *txn = store_txn_new();
    json_t *data = NULL;
    char *text = NULL;
    int rc = txn ? 0 : -1;
    int wrote = 0; /* 1: the seal is updated, 2: the day is sealed */
    size_t late = 0;
    if (rc == 0 && c != NULL) {
        /* Sealed as stored; a set that already disagreed with its log is said so in the
         * entry (unmatched_*), not made to agree. */
        data = json_pack("{s:s,s:s,s:i,s:I,s:I,s:s,s:I,s:I,s:I,s:I}", "vehicle_id", j->vehicle,
                         "date", date, "utc_offset_min", (int)j->rd.utc_offset_min, "from_ms",
                         (json_int_t)j->rd.from_ms, "to_ms", (json_int_t)j->rd.to_ms, "digest",
                         c->digest, "fixes", (json_int_t)c->sealed_fixes, "recorded",
                         (json_int_t)c->recorded, "unmatched_set", (json_int_t)c->unmatched_set,
                         "unmatched_log", (json_int_t)c->unmatched_log);
        struct audit_entry e = {now, "route_sealed", "system", j->vehicle, ent, data};
        rc = data ? audit_log_append(d->audit, txn, &e) : -1;
        if (rc == 0)
            text = seal_text(date, &j->rd, c->digest, c->sealed_fixes, log_len, log_len,
                             audit_log_head_seq(d->audit), now);
        if (rc == 0 && text == NULL)
            rc = -1;
        if (rc == 0)
            rc = store_txn_addv(txn, "SET", k_seal, text, "EXAT", exp, NULL);
        wrote = 2;
    } else if (rc == 0) {
        json_t *seal = json_loadb(seal_json, seal_len, 0, NULL);
        json_int_t log_bytes = json_integer_value(json_object_get(seal, "log_bytes"));
        json_int_t checked = json_integer_value(json_object_get(seal, "checked_bytes"));
        size_t n = 0;
        int64_t first = 0, last = 0;
        if (seal == NULL || log_bytes < 0 || checked < log_bytes || (size_t)checked > log_len ||
            route_seal_late(log, log_len, (size_t)log_bytes, (size_t)checked, &n, &first, &last) !=
                0) {
            /* The seal or the log was edited: verify says so; nothing to add here. */
            log_error("route seal: %s: the seal or its log is not as written; see verify", j->name);
        } else if ((size_t)checked < log_len) {
            if (n > 0) {
                data = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I}", "vehicle_id", j->vehicle, "date",
                                 date, "utc_offset_min", (int)j->rd.utc_offset_min, "fixes",
                                 (json_int_t)n, "first_ms", (json_int_t)(j->rd.from_ms + first),
                                 "last_ms", (json_int_t)(j->rd.from_ms + last), "seal_seq",
                                 json_integer_value(json_object_get(seal, "seq")));
                struct audit_entry e = {now, "route_late_after_seal", "system", j->vehicle, ent,
                                        data};
                rc = data ? audit_log_append(d->audit, txn, &e) : -1;
                late = n;
            }
            json_object_set_new(seal, "checked_bytes", json_integer((json_int_t)log_len));
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
        rc = store_txn_addv(txn, "ZREM", k_pend, j->name, NULL);
    if (rc == 0)
        rc = store_txn_addv(txn, "STRLEN", k_log, NULL);
    struct seal_write *w = rc == 0 ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL) {
        /* Audit head unknown, or out of memory: the day stays pending for the next round. */
        store_txn_free(txn);
        rs->stats.failures++;
        seal_job_free(j);
        round_next(rs);
        return;
    }
    w->rs = rs;
    snprintf(w->name, sizeof(w->name), "%s", j->name);
    w->log_len = log_len;
    w->sealed = wrote == 2;
    w->late = late;
    seal_job_free(j);
    const char *why;
    if (store_txn_exec(d->store, txn, on_written, w, &why) != 0) {
        rs->stats.failures++;
        log_error("route seal: %s could not be stored: %s", w->name, why);
        free(w);
        round_next(rs);
    }
}

/* On a worker thread: only the job's own bytes (the day's copy). */
static void run_seal_check(void *arg)
{
    struct seal_job *j = arg;
    j->check_rc = route_seal_check(j->rd.from_ms, j->day.members, j->day.n, j->day.log,
                                   j->day.log_len, j->day.log_len, &j->c);
}

/* Shutdown with the check still queued: the module is gone by then (route_seal_free runs
 * first), the day stays pending for the next start. */
static void cancel_seal_check(void *arg)
{
    seal_job_free(arg);
}

static void on_seal_checked(void *arg)
{
    struct seal_job *j = arg;
    struct route_seals *rs = j->rs;
    if (j->d->route_seals != rs) { /* torn down meanwhile */
        seal_job_free(j);
        return;
    }
    if (j->check_rc != 0) {
        rs->stats.failures++;
        log_error("route seal: %s could not be checked (out of memory); it stays pending", j->name);
        seal_job_free(j);
        round_next(rs);
        return;
    }
    seal_write(j, &j->c, NULL, 0, j->day.log, j->day.log_len);
}

static void on_day_read(void *arg, const struct route_seal_snapshot *s, const char *err)
{
    struct seal_job *j = arg;
    struct route_seals *rs = j->rs;
    if (j->d->route_seals != rs) {
        seal_job_free(j);
        return;
    }
    if (err) {
        rs->stats.failures++;
        log_error("route seal: %s could not be read: %s", j->name, err);
        seal_job_free(j);
        round_next(rs);
        return;
    }
    if (s->seal != NULL) {
        /* Already sealed: only the late fixes since the last check, from the log (no hashing
         * of the day). */
        seal_write(j, NULL, s->seal, s->seal_len, s->log, s->log_len);
        return;
    }
    /* The check hashes every member of the day (100-300 ms for a full one): on the work pool,
     * off the loop, over a copy of the day. */
    if (day_copy_take(&j->day, s) != 0) {
        rs->stats.failures++;
        log_error("route seal: %s: out of memory; it stays pending", j->name);
        seal_job_free(j);
        round_next(rs);
        return;
    }
    if (j->d->hash_pool == NULL) { /* no pool (tools, unit tests): here */
        run_seal_check(j);
        on_seal_checked(j);
        return;
    }
    if (work_pool_submit(j->d->hash_pool, run_seal_check, on_seal_checked, cancel_seal_check, j) !=
        0) {
        /* The queue is full (a burst of logins): the day stays pending for the next round. */
        rs->stats.failures++;
        log_error("route seal: %s: the work queue is full; it stays pending", j->name);
        seal_job_free(j);
        rs->stop = 1;
        round_end(rs);
    }
}

static void round_next(struct route_seals *rs)
{
    struct service *d = rs->d;
    while (rs->at < rs->n) {
        const char *name = rs->names[rs->at++];
        struct seal_job *j = calloc(1, sizeof(*j));
        if (j == NULL)
            break;
        j->d = d;
        j->rs = rs;
        snprintf(j->name, sizeof(j->name), "%s", name);
        if (parse_pending(name, j->vehicle, &j->rd) != 0) {
            log_error("route seal: pending entry %s is not a vehicle day; dropped", name);
            char pend[256];
            store_key(d->store, pend, sizeof(pend), KEYS_ROUTE_SEALS_PENDING);
            const char *argv[] = {"ZREM", pend, name};
            const char *why;
            store_command_argv(d->store, on_repend, NULL, 3, argv, NULL, &why);
            free(j);
            continue;
        }
        const char *why;
        if (route_seals_read_day(d->store, j->vehicle, &j->rd, on_day_read, j, &why) == 0)
            return;
        free(j);
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
    int32_t date;           /* the date asked for */
    int32_t utc_offset_min; /* the enterprise's */
    /* Which read: 0 the enterprise's local day; 1 nothing was recorded under it, so the UTC day
     * of the same date, as days were kept before seals followed the local day (docs/audit.md,
     * "Upgrading"); 2 nothing there either, the local day again (what verify reports then). */
    int attempt;
    struct route_seal_verdict v;
    char member[ROUTE_MEMBER_MAX + 1];
    /* the seal key as read */
    char seal_digest[ROUTE_DIGEST_HEX_LEN + 1];
    int64_t seal_fixes;
    struct day_copy day; /* the day as read, for the worker thread */
    size_t seal_len;
    struct route_seal_check c;
    int check_rc;
};

static void verify_job_free(struct verify_job *j)
{
    day_copy_free(&j->day);
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
    lpg_day_format(j->date, date);
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const char *dv = json_string_value(json_object_get(data, "vehicle_id"));
    const char *dd = json_string_value(json_object_get(data, "date"));
    const char *dg = json_string_value(json_object_get(data, "digest"));
    json_t *df = json_object_get(data, "fixes");
    /* An entry written when seals were kept per UTC day has no offset: 0. */
    json_int_t doff = json_integer_value(json_object_get(data, "utc_offset_min"));
    if (kind && strcmp(kind, "route_sealed") == 0 && dv && strcmp(dv, j->vehicle) == 0 && dd &&
        strcmp(dd, date) == 0 && doff == v->day.utc_offset_min && dg &&
        strlen(dg) == ROUTE_DIGEST_HEX_LEN && json_is_integer(df)) {
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
    j->check_rc = route_seal_check(j->v.day.from_ms, j->day.members, j->day.n, j->day.log,
                                   j->day.log_len, j->seal_len, &j->c);
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
    if (s->seal == NULL && s->log_len == 0 && j->attempt < 2 &&
        (j->attempt == 1 || j->utc_offset_min != 0)) {
        /* Nothing recorded under this day: the UTC day of the date (kept so before the
         * upgrade), or back to the local day when that has nothing either. */
        const char *why;
        j->attempt++;
        route_seal_day_of(j->date, j->attempt == 1 ? 0 : j->utc_offset_min, &v->day);
        if (route_seals_read_day(j->d->store, j->vehicle, &v->day, on_verify_read, j, &why) != 0)
            verify_fail(j, why);
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
    /* The reply is valid during this callback only: the day is copied for the worker. */
    if (day_copy_take(&j->day, s) != 0) {
        verify_fail(j, STORE_READ_NOMEM);
        return;
    }
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
            const struct route_seal_member *m = &j->day.members[c.member];
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
    j->date = day;
    j->utc_offset_min = route_seal_vehicle_offset(d, vehicle);
    route_seal_day_of(day, j->utc_offset_min, &j->v.day);
    j->v.sealed_fixes = -1;
    j->seal_fixes = -1;
    if (rs)
        rs->verifying++;
    if (route_seals_read_day(d->store, vehicle, &j->v.day, on_verify_read, j, why) != 0) {
        free(j);
        verify_release(d);
        return -1;
    }
    return 0;
}
