/* pushes.c -- a person's handset pushes kept until acknowledged (pushes.h): a sorted set per
 * person, scored by push id, each member the packed push.
 */
#define LOG_TAG "pushes"
#include "app/pushes.h"

#include "common/clock.h"
#include "common/log.h"
#include "store/keys.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t pushes_next_id(void)
{
    static uint64_t last;
    uint64_t id = (uint64_t)lpg_now_ms() * 1000u;
    if (id <= last)
        id = last + 1;
    last = id;
    return id;
}

static int key_of(struct service *s, const char *staff_id, char *out, size_t cap)
{
    char rel[LPG_ID_MAX + 32];
    if (keys_staff_pushes(rel, sizeof(rel), staff_id) < 0)
        return -1;
    return store_key(s->store, out, cap, rel) < 0 ? -1 : 0;
}

static void on_written(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    const char *why = err ? err : store_reply_error(reply);
    if (why)
        log_warn("a handset push was not kept or dropped: %s", why);
}

int pushes_keep(struct service *s, const char *staff_id, uint64_t push_id, const void *bytes,
                size_t len, const char **why)
{
    char key[256], score[24], trim[24], ttl[24];
    if (key_of(s, staff_id, key, sizeof(key)) != 0) {
        *why = "key too long";
        return -1;
    }
    snprintf(score, sizeof(score), "%" PRIu64, push_id);
    snprintf(trim, sizeof(trim), "%d", -(PUSHES_MAX + 1));
    snprintf(ttl, sizeof(ttl), "%d", PUSHES_TTL_S);
    const char *add[] = {"ZADD", key, score, bytes};
    size_t add_len[] = {4, strlen(key), strlen(score), len};
    const char *cut[] = {"ZREMRANGEBYRANK", key, "0", trim};
    const char *exp[] = {"EXPIRE", key, ttl};
    if (store_command_argv(s->store, on_written, NULL, 4, add, add_len, why) != 0)
        return -1;
    const char *ignored;
    if (store_command_argv(s->store, on_written, NULL, 4, cut, NULL, &ignored) != 0 ||
        store_command_argv(s->store, on_written, NULL, 3, exp, NULL, &ignored) != 0)
        log_warn("pending pushes of %s not trimmed: %s", staff_id, ignored);
    return 0;
}

struct read_wait {
    pushes_read_fn *fn;
    void *arg;
};

static void on_read(void *arg, const struct redisReply *reply, const char *err)
{
    struct read_wait *w = arg;
    const char *why = err ? err : store_reply_error(reply);
    struct pushes_item items[PUSHES_MAX];
    size_t n = 0;
    if (why == NULL && reply->type != REDIS_REPLY_ARRAY)
        why = "unexpected reply from Redis";
    for (size_t i = 0; why == NULL && i < reply->elements && n < PUSHES_MAX; i++) {
        const redisReply *m = reply->element[i];
        if (m->type == REDIS_REPLY_STRING)
            items[n++] = (struct pushes_item){m->str, m->len};
    }
    w->fn(w->arg, items, n, why);
    free(w);
}

int pushes_read(struct service *s, const char *staff_id, pushes_read_fn *fn, void *arg,
                const char **why)
{
    char key[256], last[24];
    struct read_wait *w = malloc(sizeof(*w));
    if (w == NULL || key_of(s, staff_id, key, sizeof(key)) != 0) {
        *why = w ? "key too long" : "out of memory";
        free(w);
        return -1;
    }
    w->fn = fn;
    w->arg = arg;
    snprintf(last, sizeof(last), "%d", PUSHES_MAX - 1);
    const char *argv[] = {"ZRANGE", key, "0", last};
    if (store_command_argv(s->store, on_read, w, 4, argv, NULL, why) != 0) {
        free(w);
        return -1;
    }
    return 0;
}

void pushes_forget(struct service *s, const char *staff_id, const void *bytes, size_t len)
{
    char key[256];
    const char *why = "key too long";
    if (key_of(s, staff_id, key, sizeof(key)) == 0) {
        const char *argv[] = {"ZREM", key, bytes};
        size_t argv_len[] = {4, strlen(key), len};
        if (store_command_argv(s->store, on_written, NULL, 3, argv, argv_len, &why) == 0)
            return;
    }
    log_warn("a moot push of %s not dropped: %s", staff_id, why);
}

struct ack_wait {
    pushes_done_fn *fn;
    void *arg;
};

static void on_acked(void *arg, const struct redisReply *reply, const char *err)
{
    struct ack_wait *w = arg;
    if (err)
        w->fn(w->arg, false, err);
    else
        w->fn(w->arg, store_reply_error(reply) == NULL, NULL);
    free(w);
}

int pushes_ack(struct service *s, const char *staff_id, uint64_t push_id, pushes_done_fn *fn,
               void *arg, const char **why)
{
    char key[256], score[24];
    struct ack_wait *w = malloc(sizeof(*w));
    if (w == NULL || key_of(s, staff_id, key, sizeof(key)) != 0) {
        *why = w ? "key too long" : "out of memory";
        free(w);
        return -1;
    }
    w->fn = fn;
    w->arg = arg;
    snprintf(score, sizeof(score), "%" PRIu64, push_id);
    const char *argv[] = {"ZREMRANGEBYSCORE", key, score, score};
    if (store_command_argv(s->store, on_acked, w, 4, argv, NULL, why) != 0) {
        free(w);
        return -1;
    }
    return 0;
}
