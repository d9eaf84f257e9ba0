/* registry_store.c -- saving entities to Redis and loading them back (registry_store.h). */
#define LOG_TAG "registry"
#include "store/registry_store.h"

#include "common/log.h"
#include "core/model_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

/* Ids fetched per MGET while loading: bounds one reply's size and the loop's pause. */
#define RS_LOAD_BATCH 500

static const char *const kind_names[RS_KIND_COUNT] = {
    "enterprise", "zone", "staff", "vehicle", "customer", "order", "cylinder", "hazard", "station"};

const char *rs_kind_name(enum rs_kind k)
{
    return (unsigned)k < RS_KIND_COUNT ? kind_names[k] : "?";
}

static int entity_key(const struct store *st, char *buf, size_t cap, enum rs_kind k, const char *id)
{
    char rel[KEYS_REL_MAX];
    if (keys_record(rel, sizeof(rel), kind_names[k], id) < 0)
        return -1;
    return store_key(st, buf, cap, rel);
}

/* {p} + the key `name` gives id (keys.h). */
static int id_key(const struct store *st, char *buf, size_t cap, keys_id_fn *name, const char *id)
{
    char rel[KEYS_REL_MAX];
    if (name(rel, sizeof(rel), id) < 0)
        return -1;
    return store_key(st, buf, cap, rel);
}

static int index_key(const struct store *st, char *buf, size_t cap, enum rs_kind k)
{
    char rel[64];
    if (keys_index(rel, sizeof(rel), kind_names[k]) < 0)
        return -1;
    return store_key(st, buf, cap, rel);
}

int registry_store_save(const struct store *st, struct store_txn *txn, enum rs_kind kind,
                        const char *id, const char *json, size_t json_len)
{
    char key[256], idx[128];
    if (entity_key(st, key, sizeof(key), kind, id) < 0 || index_key(st, idx, sizeof(idx), kind) < 0)
        return -1;
    const char *set[] = {"SET", key, json};
    const size_t setlen[] = {3, strlen(key), json_len};
    const char *sadd[] = {"SADD", idx, id};
    if (store_txn_add(txn, 3, set, setlen) != 0 || store_txn_add(txn, 3, sadd, NULL) != 0)
        return -1;
    return 0;
}

int registry_store_delete(const struct store *st, struct store_txn *txn, enum rs_kind kind,
                          const char *id)
{
    char key[256], idx[128];
    if (entity_key(st, key, sizeof(key), kind, id) < 0 || index_key(st, idx, sizeof(idx), kind) < 0)
        return -1;
    return store_txn_addv(txn, "DEL", key, NULL) || store_txn_addv(txn, "SREM", idx, id, NULL);
}

int registry_store_order_event(const struct store *st, struct store_txn *txn, const char *order_id,
                               const char *event_json, size_t len)
{
    char key[256];
    if (id_key(st, key, sizeof(key), keys_order_history, order_id) < 0)
        return -1;
    const char *argv[] = {"RPUSH", key, event_json};
    const size_t argvlen[] = {5, strlen(key), len};
    return store_txn_add(txn, 3, argv, argvlen);
}

int registry_store_cylinder_event(const struct store *st, struct store_txn *txn,
                                  const char *cylinder_id, const char *event_json, size_t len)
{
    char key[256];
    if (id_key(st, key, sizeof(key), keys_cylinder_history, cylinder_id) < 0)
        return -1;
    const char *argv[] = {"RPUSH", key, event_json};
    const size_t argvlen[] = {5, strlen(key), len};
    return store_txn_add(txn, 3, argv, argvlen);
}

/* ---- loading ---- */

/* Parses one stored record and puts it into the registry. */
typedef int load_one_fn(struct registry *reg, const json_t *json, struct lpg_json_error *err);

#define LOADER(kind, type, put)                                                                    \
    static int load_##kind(struct registry *reg, const json_t *json, struct lpg_json_error *err)   \
    {                                                                                              \
        struct type *e = calloc(1, sizeof(*e));                                                    \
        if (e == NULL)                                                                             \
            return -1;                                                                             \
        if (lpg_json_load_##kind(json, e, err) != 0) {                                             \
            free(e);                                                                               \
            return -1;                                                                             \
        }                                                                                          \
        return put(reg, e);                                                                        \
    }

LOADER(enterprise, lpg_enterprise, registry_put_enterprise)
LOADER(zone, lpg_zone, registry_put_zone)
LOADER(staff, lpg_staff, registry_put_staff)
LOADER(vehicle, lpg_vehicle, registry_put_vehicle)
LOADER(customer, lpg_customer, registry_put_customer)
LOADER(order, lpg_order, registry_put_order)
LOADER(cylinder, lpg_cylinder, registry_put_cylinder)
LOADER(hazard, lpg_hazard, registry_put_hazard)
LOADER(station, lpg_station, registry_put_station)

/* Dependency order: orders last, since putting one updates staff and vehicle counters. */
static const struct {
    enum rs_kind kind;
    load_one_fn *load;
} load_plan[] = {
    {RS_ENTERPRISE, load_enterprise}, {RS_ZONE, load_zone},         {RS_VEHICLE, load_vehicle},
    {RS_STAFF, load_staff},           {RS_CUSTOMER, load_customer}, {RS_ORDER, load_order},
    {RS_CYLINDER, load_cylinder},     {RS_HAZARD, load_hazard},     {RS_STATION, load_station},
};
#define LOAD_STEPS (sizeof(load_plan) / sizeof(load_plan[0]))

struct rs_loader {
    struct store *st;
    struct registry *reg;
    registry_load_fn *done;
    void *arg;
    size_t step; /* index into load_plan */
    char **ids;  /* ids of the current kind (owned) */
    size_t n_ids;
    size_t pos; /* next id to fetch */
};

static void loader_next_kind(struct rs_loader *ld);

static void loader_finish(struct rs_loader *ld, const char *err)
{
    for (size_t i = 0; i < ld->n_ids; i++)
        free(ld->ids[i]);
    free(ld->ids);
    struct registry_counts counts;
    registry_counts(ld->reg, &counts);
    ld->done(ld->arg, err, err ? NULL : &counts);
    free(ld);
}

static void loader_fail(struct rs_loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void loader_fail(struct rs_loader *ld, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    loader_finish(ld, msg);
}

static void loader_fetch(struct rs_loader *ld);

static void on_mget(void *arg, const struct redisReply *reply, const char *err)
{
    struct rs_loader *ld = arg;
    enum rs_kind kind = load_plan[ld->step].kind;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        loader_fail(ld, "loading %s records failed: %s", kind_names[kind],
                    err ? err
                        : (store_reply_error(reply) ? store_reply_error(reply) : "bad reply"));
        return;
    }
    size_t first = ld->pos - reply->elements;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *r = reply->element[i];
        const char *id = ld->ids[first + i];
        if (r->type != REDIS_REPLY_STRING) {
            /* In the index but gone: a deletion raced nothing (one writer), so say it. */
            log_warn("%s %s is in the index but has no record; skipped", kind_names[kind], id);
            continue;
        }
        json_error_t jerr;
        json_t *json = json_loadb(r->str, r->len, 0, &jerr);
        struct lpg_json_error verr;
        memset(&verr, 0, sizeof(verr));
        if (json == NULL) {
            loader_fail(ld, "stored %s is not JSON: %s", id, jerr.text);
            return;
        }
        int rc = load_plan[ld->step].load(ld->reg, json, &verr);
        json_decref(json);
        if (rc != 0) {
            char what[LPG_ID_MAX + 32];
            snprintf(what, sizeof(what), "%s %s", kind_names[kind], id);
            loader_fail(ld, "stored %s does not load: %s", what,
                        verr.message[0] ? verr.message : "out of memory");
            return;
        }
    }
    loader_fetch(ld);
}

static void loader_fetch(struct rs_loader *ld)
{
    if (ld->pos >= ld->n_ids) {
        ld->step++;
        loader_next_kind(ld);
        return;
    }
    enum rs_kind kind = load_plan[ld->step].kind;
    size_t n = ld->n_ids - ld->pos;
    if (n > RS_LOAD_BATCH)
        n = RS_LOAD_BATCH;
    const char **argv = calloc(n + 1, sizeof(char *));
    char(*keys)[256] = calloc(n, sizeof(*keys));
    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        loader_finish(ld, "out of memory loading the registry");
        return;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        entity_key(ld->st, keys[i], sizeof(keys[i]), kind, ld->ids[ld->pos + i]);
        argv[i + 1] = keys[i];
    }
    const char *why;
    int rc = store_command_argv(ld->st, on_mget, ld, (int)(n + 1), argv, NULL, &why);
    free(argv);
    free(keys);
    if (rc != 0) {
        loader_fail(ld, "loading %s records failed: %s", kind_names[kind], why);
        return;
    }
    ld->pos += n;
}

static void on_index(void *arg, const struct redisReply *reply, const char *err)
{
    struct rs_loader *ld = arg;
    enum rs_kind kind = load_plan[ld->step].kind;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        loader_fail(ld, "reading the %s index failed: %s", kind_names[kind],
                    err ? err
                        : (store_reply_error(reply) ? store_reply_error(reply) : "bad reply"));
        return;
    }
    ld->ids = calloc(reply->elements ? reply->elements : 1, sizeof(char *));
    if (ld->ids == NULL) {
        loader_finish(ld, "out of memory loading the registry");
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        ld->ids[i] = strdup(reply->element[i]->str ? reply->element[i]->str : "");
        if (ld->ids[i] == NULL) {
            ld->n_ids = i;
            loader_finish(ld, "out of memory loading the registry");
            return;
        }
    }
    ld->n_ids = reply->elements;
    ld->pos = 0;
    loader_fetch(ld);
}

static void loader_next_kind(struct rs_loader *ld)
{
    for (size_t i = 0; i < ld->n_ids; i++)
        free(ld->ids[i]);
    free(ld->ids);
    ld->ids = NULL;
    ld->n_ids = 0;
    if (ld->step == LOAD_STEPS) {
        loader_finish(ld, NULL);
        return;
    }
    char idx[128];
    index_key(ld->st, idx, sizeof(idx), load_plan[ld->step].kind);
    const char *argv[] = {"SMEMBERS", idx};
    const char *why;
    if (store_command_argv(ld->st, on_index, ld, 2, argv, NULL, &why) != 0)
        loader_fail(ld, "reading the %s index failed: %s", kind_names[load_plan[ld->step].kind],
                    why);
}

int registry_store_load(struct store *st, struct registry *reg, registry_load_fn *done, void *arg)
{
    if (store_state(st) != STORE_UP)
        return -1;
    struct rs_loader *ld = calloc(1, sizeof(*ld));
    if (ld == NULL)
        return -1;
    ld->st = st;
    ld->reg = reg;
    ld->done = done;
    ld->arg = arg;
    loader_next_kind(ld);
    return 0;
}
