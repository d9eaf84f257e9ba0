/* drives.c -- the person's sign-on index (drives.h). */
#include "store/drives.h"

#include "store/keys.h"
#include "store/store.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS ((int64_t)86400000)

static int key_of(struct store *st, const char *staff, char *key, size_t cap)
{
    char rel[KEYS_REL_MAX];
    if (keys_staff_drives(rel, sizeof(rel), staff) < 0)
        return -1;
    return store_key(st, key, cap, rel) < 0 ? -1 : 0;
}

int drives_add(struct store *st, struct store_txn *txn, const char *staff, int64_t at_ms, int on,
               const char *vehicle, int retention_days)
{
    char key[256], score[24], member[LPG_ID_MAX + 40], cut[24], ttl[24];
    if (key_of(st, staff, key, sizeof(key)) != 0)
        return -1;
    if (retention_days < 1)
        retention_days = 1;
    snprintf(score, sizeof(score), "%" PRId64, at_ms);
    snprintf(member, sizeof(member), "%" PRId64 ":%s:%s", at_ms, on ? "on" : "off", vehicle);
    snprintf(cut, sizeof(cut), "(%" PRId64, at_ms - (int64_t)retention_days * DAY_MS);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ((int64_t)retention_days + 1) * (int64_t)86400);
    if (store_txn_addv(txn, "ZADD", key, score, member, NULL) != 0 ||
        store_txn_addv(txn, "ZREMRANGEBYSCORE", key, "-inf", cut, NULL) != 0 ||
        store_txn_addv(txn, "EXPIRE", key, ttl, NULL) != 0)
        return -1;
    return 0;
}

struct drives_read {
    drives_fn *fn;
    void *arg;
};

/* "<ms>:on|off:<vehicle>"; 0 or -1. */
static int parse_member(const char *s, size_t len, struct drive_event *e)
{
    char buf[LPG_ID_MAX + 40];
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    long long ms = strtoll(buf, &end, 10);
    if (end == buf || *end != ':')
        return -1;
    const char *rest = end + 1;
    if (strncmp(rest, "on:", 3) == 0) {
        e->on = 1;
        rest += 3;
    } else if (strncmp(rest, "off:", 4) == 0) {
        e->on = 0;
        rest += 4;
    } else {
        return -1;
    }
    if (strlen(rest) > LPG_ID_MAX)
        return -1;
    e->at_ms = (int64_t)ms;
    snprintf(e->vehicle, sizeof(e->vehicle), "%s", rest);
    return 0;
}

static void on_range(void *arg, const struct redisReply *reply, const char *err)
{
    struct drives_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        rd->fn(rd->arg, NULL, 0, err ? err : STORE_READ_UNEXPECTED);
        free(rd);
        return;
    }
    size_t n = reply->elements;
    struct drive_event *ev = calloc(n ? n : 1, sizeof(*ev));
    if (ev == NULL) {
        rd->fn(rd->arg, NULL, 0, STORE_READ_NOMEM);
        free(rd);
        return;
    }
    size_t k = 0;
    /* newest first in the reply: oldest first to the caller */
    for (size_t i = n; i-- > 0;) {
        const struct redisReply *r = reply->element[i];
        if (r->type == REDIS_REPLY_STRING && parse_member(r->str, r->len, &ev[k]) == 0)
            k++;
    }
    rd->fn(rd->arg, ev, k, NULL);
    free(ev);
    free(rd);
}

int drives_read(struct store *st, const char *staff, int64_t max_ms, int count, drives_fn *fn,
                void *arg, const char **why)
{
    char key[256], max[24], cnt[24];
    if (key_of(st, staff, key, sizeof(key)) != 0) {
        *why = "staff id too long for a key";
        return -1;
    }
    struct drives_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        *why = STORE_READ_NOMEM;
        return -1;
    }
    rd->fn = fn;
    rd->arg = arg;
    snprintf(max, sizeof(max), "%" PRId64, max_ms);
    snprintf(cnt, sizeof(cnt), "%d", count);
    const char *argv[] = {"ZRANGE", key, max, "-inf", "BYSCORE", "REV", "LIMIT", "0", cnt};
    if (store_command_argv(st, on_range, rd, 9, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
