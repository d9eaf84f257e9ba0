/* refusal_counts.c -- the month's refusals of an enterprise by reason (refusal_counts.h). */
#include "store/refusal_counts.h"

#include "core/model.h"
#include "store/keys.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void refusal_counts_month(int64_t ms, int32_t utc_offset_min, char out[8])
{
    char day[11];
    lpg_day_format(lpg_local_day(ms, utc_offset_min), day);
    memcpy(out, day, 7);
    out[7] = '\0';
}

static int key_of(struct store *st, const char *enterprise, const char *month, char *key,
                  size_t cap)
{
    char rel[KEYS_REL_MAX];
    if (keys_refusals_month(rel, sizeof(rel), enterprise, month) < 0)
        return -1;
    return store_key(st, key, cap, rel) < 0 ? -1 : 0;
}

int refusal_counts_add(struct store *st, struct store_txn *txn, const char *enterprise,
                       const char *month, const char *reason)
{
    char key[256];
    if (key_of(st, enterprise, month, key, sizeof(key)) != 0)
        return -1;
    return store_txn_addv(txn, "HINCRBY", key, reason, "1", NULL) != 0 ? -1 : 0;
}

/* A refusal code: [a-z0-9_] (so it is also safe in CSV and JSON as it is). */
static int is_reason(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

struct counts_read {
    refusal_counts_fn *fn;
    void *arg;
};

static void on_hash(void *arg, const struct redisReply *reply, const char *err)
{
    struct counts_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        rd->fn(rd->arg, NULL,
               err                                ? err
               : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                  : STORE_READ_UNEXPECTED);
        free(rd);
        return;
    }
    json_t *by = json_object();
    size_t pairs = reply->elements / 2;
    if (pairs > REFUSAL_COUNTS_MAX)
        pairs = REFUSAL_COUNTS_MAX;
    for (size_t i = 0; by && i < pairs; i++) {
        const struct redisReply *f = reply->element[2 * i], *v = reply->element[2 * i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || f->len == 0 ||
            f->len > REFUSAL_REASON_MAX || !is_reason(f->str, f->len))
            continue;
        char name[REFUSAL_REASON_MAX + 1], *end;
        memcpy(name, f->str, f->len);
        name[f->len] = '\0';
        long long n = strtoll(v->str, &end, 10);
        if (end == v->str || *end != '\0' || n < 0)
            continue; /* not a count we wrote */
        if (json_object_set_new(by, name, json_integer((json_int_t)n)) != 0) {
            json_decref(by);
            by = NULL;
        }
    }
    if (by)
        rd->fn(rd->arg, by, NULL);
    else
        rd->fn(rd->arg, NULL, STORE_READ_NOMEM);
    json_decref(by);
    free(rd);
}

int refusal_counts_read(struct store *st, const char *enterprise, const char *month,
                        refusal_counts_fn *fn, void *arg, const char **why)
{
    char key[256];
    if (key_of(st, enterprise, month, key, sizeof(key)) != 0) {
        *why = "id too long for a key";
        return -1;
    }
    struct counts_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    rd->fn = fn;
    rd->arg = arg;
    const char *argv[] = {"HGETALL", key};
    if (store_command_argv(st, on_hash, rd, 2, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
