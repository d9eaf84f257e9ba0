/* route_seals.c -- reading sealed routes' keys (route_seals.h). */
#include "store/route_seals.h"

#include "core/model.h"
#include "store/keys.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct day_job {
    route_seal_snapshot_fn *fn;
    void *arg;
};

static const char *failure(const struct redisReply *reply, const char *err)
{
    const char *e = err ? err : store_reply_error(reply);
    return e ? e : STORE_READ_UNEXPECTED;
}

/* A UTC set's part of the day, as ZRANGEBYSCORE ... WITHSCORES answered: members appended to m
 * (room enough). 0, or -1 when the reply is not one. */
static int add_members(const redisReply *set, struct route_seal_member *m, size_t *n)
{
    if (set->type != REDIS_REPLY_ARRAY || set->elements % 2 != 0)
        return -1;
    for (size_t i = 0; i < set->elements / 2; i++) {
        const redisReply *t = set->element[2 * i], *sc = set->element[2 * i + 1];
        char *end = NULL;
        long long v = sc->type == REDIS_REPLY_STRING ? strtoll(sc->str, &end, 10) : 0;
        if (t->type != REDIS_REPLY_STRING || end == NULL || end == sc->str)
            return -1;
        /* A score is a fix time in ms, written as an integer; one edited to a fraction reads
         * as its integer part and so differs from the recorded time all the same. */
        m[(*n)++] = (struct route_seal_member){(int64_t)v, t->str, t->len};
    }
    return 0;
}

static void on_day(void *arg, const struct redisReply *reply, const char *err)
{
    struct day_job job = *(struct day_job *)arg;
    free(arg);
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        job.fn(job.arg, NULL, failure(reply, err));
        return;
    }
    const redisReply *seal = reply->element[0], *log = reply->element[1];
    size_t total = 0;
    for (size_t i = 2; i < reply->elements; i++)
        total += reply->element[i]->type == REDIS_REPLY_ARRAY ? reply->element[i]->elements / 2 : 0;
    if ((seal->type != REDIS_REPLY_STRING && seal->type != REDIS_REPLY_NIL) ||
        (log->type != REDIS_REPLY_STRING && log->type != REDIS_REPLY_NIL)) {
        job.fn(job.arg, NULL, failure(seal->type == REDIS_REPLY_ERROR ? seal : log, NULL));
        return;
    }
    struct route_seal_member *m = malloc((total ? total : 1) * sizeof(*m));
    if (m == NULL) {
        job.fn(job.arg, NULL, STORE_READ_NOMEM);
        return;
    }
    size_t n = 0;
    for (size_t i = 2; i < reply->elements; i++) {
        if (add_members(reply->element[i], m, &n) != 0) {
            free(m);
            job.fn(job.arg, NULL, failure(reply->element[i], NULL));
            return;
        }
    }
    struct route_seal_snapshot s = {
        .seal = seal->type == REDIS_REPLY_STRING ? seal->str : NULL,
        .seal_len = seal->type == REDIS_REPLY_STRING ? seal->len : 0,
        .log = log->type == REDIS_REPLY_STRING ? log->str : "",
        .log_len = log->type == REDIS_REPLY_STRING ? log->len : 0,
        .members = m,
        .n = n,
    };
    job.fn(job.arg, &s, NULL);
    free(m);
}

int route_seals_read_day(struct store *st, const char *vehicle, const struct route_seal_day *rd,
                         route_seal_snapshot_fn *fn, void *arg, const char **why)
{
    /* The UTC sets the day spans: the one of its first instant and the one of its last (the
     * same when the offset is 0). */
    int32_t utc[2] = {lpg_local_day(rd->from_ms, 0), lpg_local_day(rd->to_ms - 1, 0)};
    int sets = utc[1] != utc[0] ? 2 : 1;
    char rel[LPG_ID_MAX + 32], k_seal[256], k_log[256], k_set[2][256], from[24], to[24];
    if (keys_route_seal(rel, sizeof(rel), vehicle, rd) < 0 ||
        store_key(st, k_seal, sizeof(k_seal), rel) < 0 ||
        keys_route_log(rel, sizeof(rel), vehicle, rd) < 0 ||
        store_key(st, k_log, sizeof(k_log), rel) < 0) {
        *why = "key too long";
        return -1;
    }
    for (int i = 0; i < sets; i++) {
        if (keys_route_day(rel, sizeof(rel), vehicle, utc[i]) < 0 ||
            store_key(st, k_set[i], sizeof(k_set[i]), rel) < 0) {
            *why = "key too long";
            return -1;
        }
    }
    snprintf(from, sizeof(from), "%" PRId64, rd->from_ms);
    snprintf(to, sizeof(to), "(%" PRId64, rd->to_ms);
    struct day_job *job = malloc(sizeof(*job));
    struct store_txn *txn = store_txn_new();
    int rc = job && txn ? 0 : -1;
    if (rc == 0)
        rc = store_txn_addv(txn, "GET", k_seal, NULL);
    if (rc == 0)
        rc = store_txn_addv(txn, "GET", k_log, NULL);
    /* Each set restricted to the day's span: the rest of a UTC set is another local day's. */
    for (int i = 0; rc == 0 && i < sets; i++)
        rc = store_txn_addv(txn, "ZRANGEBYSCORE", k_set[i], from, to, "WITHSCORES", NULL);
    if (rc != 0) {
        free(job);
        store_txn_free(txn);
        *why = STORE_READ_NOMEM;
        return -1;
    }
    job->fn = fn;
    job->arg = arg;
    /* store_txn_exec owns txn from here, whatever it returns. */
    if (store_txn_exec(st, txn, on_day, job, why) != 0) {
        free(job);
        return -1;
    }
    return 0;
}

struct due_job {
    route_seals_due_fn *fn;
    void *arg;
};

static void on_due(void *arg, const struct redisReply *reply, const char *err)
{
    struct due_job job = *(struct due_job *)arg;
    free(arg);
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        job.fn(job.arg, NULL, 0, failure(reply, err));
        return;
    }
    const char **names = malloc((reply->elements ? reply->elements : 1) * sizeof(*names));
    if (names == NULL) {
        job.fn(job.arg, NULL, 0, STORE_READ_NOMEM);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            names[n++] = reply->element[i]->str;
    job.fn(job.arg, names, n, NULL);
    free(names);
}

int route_seals_read_due(struct store *st, int64_t now_ms, int count, route_seals_due_fn *fn,
                         void *arg, const char **why)
{
    char key[256], max[24], cnt[16];
    if (store_key(st, key, sizeof(key), KEYS_ROUTE_SEALS_PENDING) < 0) {
        *why = "key too long";
        return -1;
    }
    snprintf(max, sizeof(max), "%" PRId64, now_ms);
    snprintf(cnt, sizeof(cnt), "%d", count);
    struct due_job *job = malloc(sizeof(*job));
    if (job == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    job->fn = fn;
    job->arg = arg;
    const char *argv[] = {"ZRANGEBYSCORE", key, "-inf", max, "LIMIT", "0", cnt};
    if (store_command_argv(st, on_due, job, 7, argv, NULL, why) != 0) {
        free(job);
        return -1;
    }
    return 0;
}
