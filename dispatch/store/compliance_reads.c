/* compliance_reads.c -- reading delivery compliance records (compliance_reads.h). */
#include "store/compliance_reads.h"

#include "store/store.h"

#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>

struct list_read {
    struct store *st;
    union {
        compliance_list_fn *list;
        compliance_check_fn *check;
    } fn;
    void *arg;
};

static struct list_read *read_new(struct store *st, void *arg, const char **why)
{
    struct list_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        *why = STORE_READ_NOMEM;
        return NULL;
    }
    rd->st = st;
    rd->arg = arg;
    return rd;
}

/* {p} + the key `name` gives id. */
static int id_key(struct store *st, char *key, size_t cap, keys_id_fn *name, const char *id,
                  const char **why)
{
    char rel[KEYS_REL_MAX];
    if (name(rel, sizeof(rel), id) < 0 || store_key(st, key, cap, rel) < 0) {
        *why = "id too long for a key";
        return -1;
    }
    return 0;
}

/* The array reply of JSON texts (LRANGE, MGET) as a JSON array to the list callback. */
static void on_json_list(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        rd->fn.list(rd->arg, NULL, err ? err : STORE_READ_UNEXPECTED);
        free(rd);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < reply->elements; i++) {
        const struct redisReply *r = reply->element[i];
        json_t *ev = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
        if (ev)
            json_array_append_new(items, ev);
    }
    if (items)
        rd->fn.list(rd->arg, items, NULL);
    else
        rd->fn.list(rd->arg, NULL, STORE_READ_NOMEM);
    json_decref(items);
    free(rd);
}

/* LRANGE key 0 max-1 into the list callback (rd is the reply's). */
static int lrange(struct list_read *rd, const char *key, long max, store_reply_fn *cb,
                  const char **why)
{
    char stop[24];
    snprintf(stop, sizeof(stop), "%ld", max - 1);
    const char *argv[] = {"LRANGE", key, "0", stop};
    if (store_command_argv(rd->st, cb, rd, 4, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}

/* The first `max` elements of the list named by key_of(id), handed to `then`. */
static int list_read(struct store *st, keys_id_fn *key_of, const char *id, long max,
                     store_reply_fn *then, compliance_list_fn *fn, void *arg, const char **why)
{
    char key[256];
    if (id_key(st, key, sizeof(key), key_of, id, why) != 0)
        return -1;
    struct list_read *rd = read_new(st, arg, why);
    if (rd == NULL)
        return -1;
    rd->fn.list = fn;
    return lrange(rd, key, max, then, why);
}

int compliance_read_cylinder_history(struct store *st, const char *cylinder_id, long max,
                                     compliance_list_fn *fn, void *arg, const char **why)
{
    return list_read(st, keys_cylinder_history, cylinder_id, max, on_json_list, fn, arg, why);
}

int compliance_read_order_history(struct store *st, const char *order_id, long max,
                                  compliance_list_fn *fn, void *arg, const char **why)
{
    return list_read(st, keys_order_history, order_id, max, on_json_list, fn, arg, why);
}

/* LRANGE of the order's check ids answered: fetch the records. */
static void on_check_ids(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_read *rd = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        rd->fn.list(rd->arg, NULL, err ? err : STORE_READ_UNEXPECTED);
        free(rd);
        return;
    }
    if (reply->elements == 0) {
        json_t *none = json_array();
        rd->fn.list(rd->arg, none, none ? NULL : STORE_READ_NOMEM);
        json_decref(none);
        free(rd);
        return;
    }
    size_t n = reply->elements;
    const char **argv = calloc(n + 1, sizeof(*argv));
    char(*keys)[128] = calloc(n, sizeof(*keys));
    const char *why = STORE_READ_NOMEM;
    int rc = argv && keys ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct redisReply *r = reply->element[i];
        char rel[KEYS_REL_MAX];
        keys_check(rel, sizeof(rel), r->type == REDIS_REPLY_STRING ? r->str : "");
        store_key(rd->st, keys[i], sizeof(keys[i]), rel);
        argv[i + 1] = keys[i];
    }
    if (rc == 0) {
        argv[0] = "MGET";
        rc = store_command_argv(rd->st, on_json_list, rd, (int)n + 1, argv, NULL, &why);
    }
    free(argv);
    free(keys);
    if (rc != 0) {
        rd->fn.list(rd->arg, NULL, why);
        free(rd);
    }
}

int compliance_read_order_checks(struct store *st, const char *order_id, long max,
                                 compliance_list_fn *fn, void *arg, const char **why)
{
    return list_read(st, keys_order_checks, order_id, max, on_check_ids, fn, arg, why);
}

static void on_check(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_read *rd = arg;
    if (err || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        rd->fn.check(rd->arg, NULL, err ? err : STORE_READ_UNEXPECTED);
    } else {
        json_t *j =
            reply->type == REDIS_REPLY_STRING ? json_loadb(reply->str, reply->len, 0, NULL) : NULL;
        rd->fn.check(rd->arg, j, NULL);
        json_decref(j);
    }
    free(rd);
}

int compliance_read_check(struct store *st, const char *check_id, compliance_check_fn *fn,
                          void *arg, const char **why)
{
    char key[256];
    if (id_key(st, key, sizeof(key), keys_check, check_id, why) != 0)
        return -1;
    struct list_read *rd = read_new(st, arg, why);
    if (rd == NULL)
        return -1;
    rd->fn.check = fn;
    const char *argv[] = {"GET", key};
    if (store_command_argv(st, on_check, rd, 2, argv, NULL, why) != 0) {
        free(rd);
        return -1;
    }
    return 0;
}
