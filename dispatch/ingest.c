/* ingest.c -- PositionBatch: check, de-duplicate, store, acknowledge (ingest.h). */
#define LOG_TAG "ingest"
#include "ingest.h"

#include "log.h"
#include "registry.h"
#include "store.h"

#include "lpg/v1/envelope.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

/* A route member: "seq:time:lat:lon:speed:heading:acc:mode:flags", each field at most 20
 * characters. */
#define INGEST_MEMBER_MAX 200
#define DAY_MS 86400000LL

/* What a connection remembers between batches (handset_conn_data). */
struct ingest_conn {
    int loaded;          /* hwm and last_time read from the store */
    uint64_t hwm;        /* highest stored seq of this device */
    int64_t last_ms;     /* time of the vehicle's newest stored fix */
};

/* One batch on its way to the store. */
struct ingest_job {
    struct dispatchd *d;
    struct handset_conn *c;
    int has_req;
    uint64_t req;
    char device[LPG_ID_MAX + 1];
    char vehicle[LPG_ID_MAX + 1];
    Lpg__V1__PositionBatch *batch; /* a copy (unpacked from our own packing); owned */
};

static void job_end(struct ingest_job *job)
{
    if (job->batch)
        lpg__v1__position_batch__free_unpacked(job->batch, NULL);
    handset_conn_release(job->c);
    free(job);
}

static int fix_valid(const Lpg__V1__Fix *f, int64_t now_ms)
{
    (void)now_ms;
    if (!f->has_seq || f->seq == 0 || !f->has_time_ms || !f->has_lat_e7 || !f->has_lon_e7)
        return 0;
    if (f->lat_e7 < -900000000 || f->lat_e7 > 900000000 || f->lon_e7 < -1800000000 ||
        f->lon_e7 > 1800000000)
        return 0;
    if (f->time_ms < 946684800000ULL) /* before 2000: a receiver without a date */
        return 0;
    return 1;
}

static void day_key(const struct dispatchd *d, const char *vehicle, int64_t ms, char *out,
                    size_t cap)
{
    int32_t day = lpg_local_day(ms, 0);
    char date[11], rel[LPG_ID_MAX + 32];
    lpg_day_format(day, date);
    snprintf(rel, sizeof(rel), "route:%s:%.4s%.2s%.2s", vehicle, date, date + 5, date + 8);
    store_key(d->store, out, cap, rel);
}

static void opt_u(char *out, size_t cap, int has, uint64_t v)
{
    if (has)
        snprintf(out, cap, "%" PRIu64, v);
    else
        snprintf(out, cap, "-");
}

/* The batch is stored (or was entirely a resend): Ack with the device's high-water mark. */
static void send_ack(struct ingest_job *job)
{
    struct ingest_conn *ic = handset_conn_data(job->c);
    Lpg__V1__Ack ack = LPG__V1__ACK__INIT;
    ack.has_ack_seq = job->has_req;
    ack.ack_seq = job->req;
    ack.has_position_seq = 1;
    ack.position_seq = ic ? ic->hwm : 0;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    handset_conn_send(job->c, &env);
    job_end(job);
}

static void on_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct ingest_job *job = arg;
    struct ingest_conn *ic = handset_conn_data(job->c);
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s; %s", err ? err : "the store refused the batch",
                 store_err_outcome_unknown(err) ? "resend it (resending is always safe)"
                                                : "nothing was stored, resend later");
        if (ic)
            ic->loaded = 0; /* re-read the high-water mark before the next batch */
        handset_conn_error(job->c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, job->has_req,
                           job->req, 0);
        job_end(job);
        return;
    }
    send_ack(job);
}

/* With the high-water mark known: store what is new, in one transaction. */
static void store_batch(struct ingest_job *job)
{
    struct dispatchd *d = job->d;
    struct ingest_conn *ic = handset_conn_data(job->c);
    const Lpg__V1__PositionBatch *b = job->batch;
    int64_t now = dispatchd_now_ms();
    struct store_txn *txn = store_txn_new();
    uint64_t hwm = ic->hwm;
    int64_t newest = ic->last_ms;
    const Lpg__V1__Fix *newest_fix = NULL;
    size_t stored = 0, dup = 0, invalid = 0, late = 0;
    int rc = txn ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < b->n_fixes; i++) {
        const Lpg__V1__Fix *f = b->fixes[i];
        if (!fix_valid(f, now)) {
            invalid++;
            continue;
        }
        if (f->seq <= hwm) {
            dup++;
            continue;
        }
        hwm = f->seq;
        char key[256], score[24], member[INGEST_MEMBER_MAX];
        char speed[24], heading[24], acc[24];
        day_key(d, job->vehicle, (int64_t)f->time_ms, key, sizeof(key));
        opt_u(speed, sizeof(speed), f->has_speed_cm_s, f->speed_cm_s);
        opt_u(heading, sizeof(heading), f->has_heading_cdeg, f->heading_cdeg);
        opt_u(acc, sizeof(acc), f->has_accuracy_cm, f->accuracy_cm);
        snprintf(score, sizeof(score), "%" PRIu64, f->time_ms);
        snprintf(member, sizeof(member), "%" PRIu64 ":%" PRIu64 ":%d:%d:%s:%s:%s:%d:%d", f->seq,
                 f->time_ms, (int)f->lat_e7, (int)f->lon_e7, speed, heading, acc,
                 f->has_mode ? (int)f->mode : 0,
                 (f->has_speed_derived && f->speed_derived ? 1 : 0) | (b->late ? 2 : 0));
        /* The day set expires retention days after its day ends: trimming without a sweeper. */
        int64_t day_start = (int64_t)lpg_local_day((int64_t)f->time_ms, 0) * DAY_MS;
        char expire[24];
        snprintf(expire, sizeof(expire), "%lld",
                 (long long)((day_start + DAY_MS) / 1000 + d->cfg.route_retention_days * 86400));
        rc = store_txn_addv(txn, "ZADD", key, score, member, NULL) ||
             store_txn_addv(txn, "EXPIREAT", key, expire, NULL);
        stored++;
        if ((int64_t)f->time_ms > newest) {
            newest = (int64_t)f->time_ms;
            newest_fix = f;
        } else {
            late++;
        }
    }
    char rel[LPG_ID_MAX + 32], key[256], v[24];
    if (rc == 0 && stored > 0) {
        snprintf(rel, sizeof(rel), "device:%s:seq", job->device);
        store_key(d->store, key, sizeof(key), rel);
        snprintf(v, sizeof(v), "%" PRIu64, hwm);
        rc = store_txn_addv(txn, "SET", key, v, NULL);
    }
    if (rc == 0 && newest_fix) {
        char t[24], lat[24], lon[24], sp[24], glon[32], glat[32], geo[96];
        snprintf(rel, sizeof(rel), "vehicle:%s:last", job->vehicle);
        store_key(d->store, key, sizeof(key), rel);
        snprintf(t, sizeof(t), "%" PRIu64, newest_fix->time_ms);
        snprintf(lat, sizeof(lat), "%d", (int)newest_fix->lat_e7);
        snprintf(lon, sizeof(lon), "%d", (int)newest_fix->lon_e7);
        opt_u(sp, sizeof(sp), newest_fix->has_speed_cm_s, newest_fix->speed_cm_s);
        snprintf(v, sizeof(v), "%" PRIu64, newest_fix->seq);
        rc = store_txn_addv(txn, "HSET", key, "time_ms", t, "lat_e7", lat, "lon_e7", lon,
                            "speed_cm_s", sp, "seq", v, "device", job->device, NULL);
        /* Coordinates formatted by us: hiredis' %f would keep only 6 decimals. */
        snprintf(glon, sizeof(glon), "%.7f", newest_fix->lon_e7 / 1e7);
        snprintf(glat, sizeof(glat), "%.7f", newest_fix->lat_e7 / 1e7);
        store_key(d->store, geo, sizeof(geo), "geo:vehicles");
        /* GEO covers |lat| <= 85.05; such latitudes are far from any delivery. */
        if (rc == 0 && newest_fix->lat_e7 < 850500000 && newest_fix->lat_e7 > -850500000)
            rc = store_txn_addv(txn, "GEOADD", geo, glon, glat, job->vehicle, NULL);
    }
    d->ingest_stats.batches++;
    d->ingest_stats.fixes_duplicate += dup;
    d->ingest_stats.fixes_invalid += invalid;
    if (rc != 0) {
        store_txn_free(txn);
        handset_conn_error(job->c, LPG__V1__ERROR__CODE__UNAVAILABLE,
                           "out of memory storing the batch; resend later", job->has_req,
                           job->req, 0);
        job_end(job);
        return;
    }
    if (stored == 0) {
        /* Nothing new (a resend): acknowledge at once with the high-water mark. */
        store_txn_free(txn);
        send_ack(job);
        return;
    }
    const char *why;
    /* Remember the new mark and newest time now: the next batch waits for this one's reply
     * (the connection is held), and a failure resets `loaded`. */
    uint64_t old_hwm = ic->hwm;
    int64_t old_last = ic->last_ms;
    ic->hwm = hwm;
    ic->last_ms = newest;
    if (store_txn_exec(d->store, txn, on_stored, job, &why) != 0) {
        ic->hwm = old_hwm;
        ic->last_ms = old_last;
        char msg[200];
        snprintf(msg, sizeof(msg), "%s; nothing was stored, resend later", why);
        handset_conn_error(job->c, LPG__V1__ERROR__CODE__UNAVAILABLE, msg, job->has_req,
                           job->req, 0);
        job_end(job);
        return;
    }
    d->ingest_stats.fixes_stored += stored;
    d->ingest_stats.fixes_late += late;
}

static void on_marks(void *arg, const struct redisReply *reply, const char *err)
{
    struct ingest_job *job = arg;
    struct ingest_conn *ic = handset_conn_data(job->c);
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        handset_conn_error(job->c, LPG__V1__ERROR__CODE__UNAVAILABLE,
                           "could not read the device's position state; resend later",
                           job->has_req, job->req, 0);
        job_end(job);
        return;
    }
    const redisReply *h = reply->element[0], *t = reply->element[1];
    ic->hwm = h->type == REDIS_REPLY_STRING ? strtoull(h->str, NULL, 10) : 0;
    ic->last_ms = t->type == REDIS_REPLY_STRING ? strtoll(t->str, NULL, 10) : 0;
    ic->loaded = 1;
    store_batch(job);
}

void ingest_position_batch(struct dispatchd *d, struct handset_conn *c,
                           const Lpg__V1__Envelope *env)
{
    const Lpg__V1__PositionBatch *b = env->position_batch;
    const struct lpg_staff *s = registry_staff(d->registry, handset_conn_staff(c));
    const char *refusal = NULL;
    char msg[160];
    if (s == NULL || s->vehicle_id[0] == '\0') {
        refusal = "no vehicle is bound to you: positions are recorded per vehicle";
    } else if (b->n_fixes == 0 || b->n_fixes > (size_t)d->cfg.position_batch_max) {
        snprintf(msg, sizeof(msg), "a batch carries 1..%lld fixes (got %zu)",
                 (long long)d->cfg.position_batch_max, b->n_fixes);
        refusal = msg;
    }
    if (refusal) {
        d->ingest_stats.batches_refused++;
        handset_conn_error(c, LPG__V1__ERROR__CODE__INVALID_ARGUMENT, refusal,
                           env->has_request_id, env->request_id, 0);
        return;
    }
    struct ingest_conn *ic = handset_conn_data(c);
    if (ic == NULL) {
        ic = calloc(1, sizeof(*ic));
        if (ic == NULL) {
            handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory",
                               env->has_request_id, env->request_id, 0);
            return;
        }
        handset_conn_set_data(c, ic, free);
    }
    struct ingest_job *job = calloc(1, sizeof(*job));
    /* The envelope dies when this call returns: keep a copy of the batch (pack + unpack is the
     * protobuf-c way to deep-copy). */
    size_t len = lpg__v1__position_batch__get_packed_size(b);
    uint8_t *buf = job ? malloc(len ? len : 1) : NULL;
    if (buf) {
        lpg__v1__position_batch__pack(b, buf);
        job->batch = lpg__v1__position_batch__unpack(NULL, len, buf);
    }
    free(buf);
    if (job == NULL || job->batch == NULL) {
        free(job);
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, "out of memory",
                           env->has_request_id, env->request_id, 0);
        return;
    }
    job->d = d;
    job->c = c;
    job->has_req = env->has_request_id;
    job->req = env->request_id;
    snprintf(job->device, sizeof(job->device), "%s", handset_conn_device(c));
    snprintf(job->vehicle, sizeof(job->vehicle), "%s", s->vehicle_id);
    handset_conn_hold(c);
    if (ic->loaded) {
        store_batch(job);
        return;
    }
    /* First batch on this connection: read the device's mark and the vehicle's newest time. */
    char k1[256], k2[256], rel[LPG_ID_MAX + 32];
    snprintf(rel, sizeof(rel), "device:%s:seq", job->device);
    store_key(d->store, k1, sizeof(k1), rel);
    snprintf(rel, sizeof(rel), "vehicle:%s:last", job->vehicle);
    store_key(d->store, k2, sizeof(k2), rel);
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    if (txn == NULL || store_txn_addv(txn, "GET", k1, NULL) != 0 ||
        store_txn_addv(txn, "HGET", k2, "time_ms", NULL) != 0) {
        store_txn_free(txn);
        txn = NULL;
    }
    /* store_txn_exec owns txn from here, whatever it returns. */
    if (txn == NULL || store_txn_exec(d->store, txn, on_marks, job, &why) != 0) {
        char m[200];
        snprintf(m, sizeof(m), "%s; nothing was stored, resend later", why);
        handset_conn_error(c, LPG__V1__ERROR__CODE__UNAVAILABLE, m, job->has_req, job->req, 0);
        job_end(job);
    }
}
