/* expiring.c -- `expiring` alerts, once per document and expiry (expiring.h). */
#define LOG_TAG "expiring"
#include "app/expiring.h"

#include "app/alerts.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/expiring.h"
#include "core/registry.h"
#include "store/keys.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

/* A raised-key outlives its document by this much: a restart long after the expiry does not
 * find the document expiring any more anyway. */
#define RAISED_KEEP_DAYS 400

/* One expiring document, copied out of the registry (the chain outlives the scan). */
struct rec {
    char kind[16];
    char document[16];
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];
    char vehicle_id[LPG_ID_MAX + 1];
    char message[LPG_TEXT_MAX + 1];
    int32_t day;
    int32_t days_left;
};

struct gather {
    struct rec *v;
    size_t n, cap;
    size_t skipped; /* beyond EXPIRING_CHECK_MAX */
};

static void gather_one(const struct expiring_item *it, void *arg)
{
    struct gather *g = arg;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        if (cap > EXPIRING_CHECK_MAX)
            cap = EXPIRING_CHECK_MAX;
        struct rec *v = g->n < cap ? realloc(g->v, cap * sizeof(*v)) : NULL;
        if (v == NULL) {
            g->skipped++;
            return;
        }
        g->v = v;
        g->cap = cap;
    }
    struct rec *r = &g->v[g->n++];
    snprintf(r->kind, sizeof(r->kind), "%s", it->kind);
    snprintf(r->document, sizeof(r->document), "%s", it->document);
    snprintf(r->id, sizeof(r->id), "%s", it->id);
    snprintf(r->enterprise_id, sizeof(r->enterprise_id), "%s", it->enterprise_id);
    snprintf(r->staff_id, sizeof(r->staff_id), "%s", it->staff_id);
    snprintf(r->vehicle_id, sizeof(r->vehicle_id), "%s", it->vehicle_id);
    expiring_message(it, r->message, sizeof(r->message));
    r->day = it->day;
    r->days_left = it->days_left;
}

struct expiring_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    struct expiring_stats *stats;
    struct rec *recs; /* owned by the job of the chain that holds it */
    size_t n, from, batch;
    struct lpg_alert alerts[EXPIRING_PER_TXN]; /* stored by this job's transaction */
    size_t n_alerts;
};

static int submit_from(struct service *d, struct expiring_stats *stats, struct rec *recs, size_t n,
                       size_t from);

static void job_free(struct usecase_job *base)
{
    struct expiring_job *job = (struct expiring_job *)base;
    free(job->recs);
    free(job);
}

/* The chain goes on with the next batch (taking the records), or ends here. */
static void next_or_done(struct expiring_job *job)
{
    size_t from = job->from + job->batch;
    if (from < job->n) {
        if (submit_from(job->base.s, job->stats, job->recs, job->n, from) == 0) {
            job->recs = NULL; /* the next job owns them */
            return;
        }
        log_warn("expiring check stopped after %zu of %zu documents: out of memory", from, job->n);
    }
    job->stats->checks++;
}

/* Nobody waits for a check: logged; the next check (midnight, or a restart) raises what this
 * one did not. */
static void job_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    (void)base;
    if (!f->cancelled)
        log_warn("expiring check stopped: %s", f->store_err ? f->store_err : f->refusal->message);
}

static void on_stored(struct usecase_job *base)
{
    struct expiring_job *job = (struct expiring_job *)base;
    for (size_t i = 0; i < job->n_alerts; i++)
        alerts_raised(job->base.s, &job->alerts[i], NULL);
    job->stats->raised += job->n_alerts;
    next_or_done(job);
}

static void raised_key(const struct service *d, const struct rec *r, char *out, size_t cap)
{
    char day[11], rel[LPG_ID_MAX * 2 + 64];
    lpg_day_format(r->day, day);
    keys_expiring(rel, sizeof(rel), r->kind, r->id, r->document, day);
    store_key(d->store, out, cap, rel);
}

/* Where the alert is shown on a map: the vehicle's newest fix, else the enterprise's area. */
static struct geo_point where(const struct service *d, const struct rec *r)
{
    const struct lpg_vehicle *v =
        r->vehicle_id[0] ? registry_vehicle(d->registry, r->vehicle_id) : NULL;
    if (v != NULL && v->has_position)
        return v->position;
    const struct lpg_enterprise *e = registry_enterprise(d->registry, r->enterprise_id);
    return e ? e->area.inside : (struct geo_point){0, 0};
}

static void on_raised_keys(void *arg, const struct redisReply *reply, const char *err)
{
    struct expiring_job *job = arg;
    struct service *d = job->base.s;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != job->batch) {
        usecase_job_store_failed(&job->base, err ? err : "unexpected reply to MGET");
        return;
    }
    struct store_txn *txn = store_txn_new();
    int rc = txn ? 0 : -1;
    int64_t now = lpg_now_ms();
    for (size_t i = 0; rc == 0 && i < job->batch; i++) {
        if (reply->element[i]->type != REDIS_REPLY_NIL)
            continue; /* raised before */
        const struct rec *r = &job->recs[job->from + i];
        struct lpg_alert *a = &job->alerts[job->n_alerts];
        alerts_compliance(a, "expiring", r->enterprise_id, r->vehicle_id, r->staff_id, where(d, r),
                          r->message, now);
        snprintf(a->subject_kind, sizeof(a->subject_kind), "%s", r->kind);
        snprintf(a->subject_id, sizeof(a->subject_id), "%s", r->id);
        snprintf(a->document, sizeof(a->document), "%s", r->document);
        a->expiry_day = r->day;
        char key[512], ttl[24];
        raised_key(d, r, key, sizeof(key));
        snprintf(ttl, sizeof(ttl), "%" PRId64, ((int64_t)r->days_left + RAISED_KEEP_DAYS) * 86400);
        rc = alerts_store(d, txn, a) == 0 &&
                     store_txn_addv(txn, "SET", key, a->id, "EX", ttl, NULL) == 0
                 ? 0
                 : -1;
        job->n_alerts++;
    }
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "out of memory, or the audit record is unavailable");
        return;
    }
    if (job->n_alerts == 0) {
        store_txn_free(txn);
        next_or_done(job);
        usecase_job_end(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static void run_batch(struct usecase_job *base)
{
    struct expiring_job *job = (struct expiring_job *)base;
    struct service *d = job->base.s;
    const char *argv[EXPIRING_PER_TXN + 1];
    char keys[EXPIRING_PER_TXN][512];
    argv[0] = "MGET";
    for (size_t i = 0; i < job->batch; i++) {
        raised_key(d, &job->recs[job->from + i], keys[i], sizeof(keys[i]));
        argv[i + 1] = keys[i];
    }
    const char *why;
    /* Read, then commit, inside the writer's turn: two checks never raise one alert twice. */
    if (store_command_argv(d->store, on_raised_keys, job, (int)job->batch + 1, argv, NULL, &why) !=
        0)
        usecase_job_store_failed(&job->base, why);
}

static const struct usecase_job_ops expiring_job_ops = {
    .run = run_batch,
    .applied = on_stored,
    .failed = job_failed,
    .free = job_free,
};

/* 0: submitted (the job owns recs); -1: nothing submitted (the caller keeps recs). */
static int submit_from(struct service *d, struct expiring_stats *stats, struct rec *recs, size_t n,
                       size_t from)
{
    struct expiring_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return -1;
    usecase_job_init(&job->base, &expiring_job_ops, d);
    job->stats = stats;
    job->recs = recs;
    job->n = n;
    job->from = from;
    job->batch = n - from < EXPIRING_PER_TXN ? n - from : EXPIRING_PER_TXN;
    if (usecase_job_submit(&job->base) != 0) {
        job->recs = NULL;
        usecase_job_discard(&job->base);
        return -1;
    }
    return 0;
}

void expiring_check(struct service *d, struct expiring_stats *stats)
{
    if (!d->loaded || stats == NULL)
        return;
    struct gather g = {0};
    expiring_scan(d->registry, lpg_now_ms(), (int32_t)d->cfg.expiry_alert_days, &d->delivery_cfg,
                  gather_one, &g);
    if (g.skipped > 0)
        log_warn("%zu expiring documents left for the next check (at most %d per check)", g.skipped,
                 EXPIRING_CHECK_MAX);
    if (g.n == 0 || submit_from(d, stats, g.v, g.n, 0) != 0) {
        free(g.v);
        stats->checks++;
    }
}
