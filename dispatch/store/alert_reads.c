/* alert_reads.c -- reading a vehicle's alerts (alert_reads.h). */
#include "store/alert_reads.h"

#include "store/store.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct page_read {
    struct store *st;
    alert_page_fn *fn;
    void *arg;
    size_t n_ids;
};

static void page_fail(struct page_read *rd, const char *err)
{
    rd->fn(rd->arg, NULL, err);
    free(rd);
}

static void on_bodies(void *arg, const struct redisReply *reply, const char *err)
{
    struct page_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        page_fail(rd, err ? err : STORE_READ_UNEXPECTED);
        return;
    }
    json_t **alerts = calloc(reply->elements ? reply->elements : 1, sizeof(*alerts));
    if (alerts == NULL) {
        page_fail(rd, STORE_READ_NOMEM);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const struct redisReply *r = reply->element[i];
        /* expired alerts are simply absent */
        alerts[i] = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
    }
    struct alert_page page = {rd->n_ids, reply->elements, alerts};
    rd->fn(rd->arg, &page, NULL);
    for (size_t i = 0; i < reply->elements; i++)
        json_decref(alerts[i]);
    free(alerts);
    free(rd);
}

static void on_ids(void *arg, const struct redisReply *reply, const char *err)
{
    struct page_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        page_fail(rd, err ? err : STORE_READ_UNEXPECTED);
        return;
    }
    size_t n = reply->elements;
    if (n == 0) {
        struct alert_page page = {0, 0, NULL};
        rd->fn(rd->arg, &page, NULL);
        free(rd);
        return;
    }
    const char **argv = calloc(n + 1, sizeof(char *));
    char(*keys)[256] = calloc(n, sizeof(*keys));
    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        page_fail(rd, STORE_READ_NOMEM);
        return;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        const struct redisReply *e = reply->element[i];
        char rel[KEYS_REL_MAX];
        keys_alert(rel, sizeof(rel), e->type == REDIS_REPLY_STRING ? e->str : "");
        store_key(rd->st, keys[i], sizeof(keys[i]), rel);
        argv[i + 1] = keys[i];
    }
    rd->n_ids = n;
    const char *why;
    int rc = store_command_argv(rd->st, on_bodies, rd, (int)n + 1, argv, NULL, &why);
    free(argv);
    free(keys);
    if (rc != 0)
        page_fail(rd, why);
}

int alert_read_vehicle_page(struct store *st, const char *vehicle, int64_t min_ms, uint64_t offset,
                            int count, alert_page_fn *fn, void *arg, const char **why)
{
    char rel[KEYS_REL_MAX], key[256], min[24], off[24], cnt[24];
    if (keys_alerts_vehicle(rel, sizeof(rel), vehicle) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0) {
        *why = "vehicle id too long for a key";
        return -1;
    }
    struct page_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    rd->st = st;
    rd->fn = fn;
    rd->arg = arg;
    snprintf(min, sizeof(min), "%" PRId64, min_ms);
    snprintf(off, sizeof(off), "%" PRIu64, offset);
    snprintf(cnt, sizeof(cnt), "%d", count);
    const char *argv[] = {"ZRANGE", key, min, "+inf", "BYSCORE", "LIMIT", off, cnt};
    if (store_command_argv(st, on_ids, rd, 8, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
