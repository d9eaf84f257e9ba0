/* audit_reads.c -- reading the audit entries' texts (audit_reads.h). */
#include "store/audit_reads.h"

#include "store/store.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* The texts are the array reply itself. */
size_t audit_texts_count(const struct audit_texts *t)
{
    return ((const struct redisReply *)t)->elements;
}

void audit_texts_get(const struct audit_texts *t, size_t i, const char **text, size_t *len)
{
    const struct redisReply *r = ((const struct redisReply *)t)->element[i];
    *text = r->type == REDIS_REPLY_STRING ? r->str : "";
    *len = r->type == REDIS_REPLY_STRING ? r->len : 0;
}

struct texts_read {
    audit_texts_fn *fn;
    void *arg;
};

static void on_texts(void *arg, const struct redisReply *reply, const char *err)
{
    struct texts_read rd = *(struct texts_read *)arg;
    free(arg);
    if (err || reply->type != REDIS_REPLY_ARRAY)
        rd.fn(rd.arg, NULL, err ? err : STORE_READ_UNEXPECTED);
    else
        rd.fn(rd.arg, (const struct audit_texts *)reply, NULL);
}

int audit_read_entries(struct store *st, int64_t from_seq, int64_t to_seq, audit_texts_fn *fn,
                       void *arg, const char **why)
{
    char k[256], a1[24], a2[24];
    store_key(st, k, sizeof(k), KEYS_AUDIT_ENTRIES);
    /* Entry n is at index n - 1. */
    snprintf(a1, sizeof(a1), "%" PRId64, from_seq - 1);
    snprintf(a2, sizeof(a2), "%" PRId64, to_seq - 1);
    struct texts_read *rd = malloc(sizeof(*rd));
    if (rd == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    rd->fn = fn;
    rd->arg = arg;
    const char *argv[] = {"LRANGE", k, a1, a2};
    if (store_command_argv(st, on_texts, rd, 4, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
