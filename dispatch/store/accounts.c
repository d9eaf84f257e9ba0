/* accounts.c -- users and sessions: in-memory tables, Redis persistence, loading. */
#define LOG_TAG "accounts"
#include "store/accounts.h"

#include "common/log.h"
#include "store/terminals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

/* Records fetched per MGET while loading (see acc_fetch). */
#define ACC_LOAD_BATCH 1000

/* Buckets of the chained hash tables; a power of two. Users and sessions number in the
 * thousands at most, so chains stay short without resizing. */
#define ACC_BUCKETS 1024u

struct user_node {
    struct user_node *next;
    struct auth_user user;
};

struct session_node {
    struct session_node *next;
    char digest[AUTH_DIGEST_HEX_LEN + 1];
    struct auth_principal principal;
};

struct device_node {
    struct device_node *next;
    struct device_record dev;
};

struct accounts {
    struct device_node *devices[ACC_BUCKETS];
    struct user_node *users[ACC_BUCKETS];
    struct session_node *sessions[ACC_BUCKETS];
    size_t n_users, n_sessions, n_devices;
    struct terminal_table *terminals; /* JT/T 808 terminals (store/terminals.h) */
    unsigned refreshing;              /* accounts_refresh_user reads in flight */
};

static unsigned bucket_of(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (ACC_BUCKETS - 1);
}

struct accounts *accounts_new(void)
{
    struct accounts *acc = calloc(1, sizeof(struct accounts));
    if (acc && (acc->terminals = terminal_table_new()) == NULL) {
        free(acc);
        return NULL;
    }
    return acc;
}

struct terminal_table *accounts_terminals(const struct accounts *acc)
{
    return acc->terminals;
}

void accounts_free(struct accounts *acc)
{
    if (acc == NULL)
        return;
    for (unsigned b = 0; b < ACC_BUCKETS; b++) {
        for (struct user_node *n = acc->users[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
        for (struct session_node *n = acc->sessions[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
        for (struct device_node *n = acc->devices[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    terminal_table_free(acc->terminals);
    free(acc);
}

const struct auth_user *accounts_user(const struct accounts *acc, const char *name)
{
    for (struct user_node *n = acc->users[bucket_of(name)]; n; n = n->next)
        if (strcmp(n->user.name, name) == 0)
            return &n->user;
    return NULL;
}

int accounts_put_user(struct accounts *acc, const struct auth_user *u)
{
    unsigned b = bucket_of(u->name);
    for (struct user_node *n = acc->users[b]; n; n = n->next)
        if (strcmp(n->user.name, u->name) == 0) {
            n->user = *u;
            return 0;
        }
    struct user_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -1;
    n->user = *u;
    n->next = acc->users[b];
    acc->users[b] = n;
    acc->n_users++;
    return 0;
}

size_t accounts_user_count(const struct accounts *acc)
{
    return acc->n_users;
}

/* Users are few: a selection pass per page is simpler than keeping a sorted index. */
size_t accounts_list_users(const struct accounts *acc, const char *after, size_t limit,
                           const struct auth_user **out)
{
    size_t n = 0;
    const char *floor = after ? after : "";
    while (n < limit) {
        const struct auth_user *best = NULL;
        for (unsigned b = 0; b < ACC_BUCKETS; b++)
            for (struct user_node *u = acc->users[b]; u; u = u->next)
                if (strcmp(u->user.name, floor) > 0 &&
                    (best == NULL || strcmp(u->user.name, best->name) < 0))
                    best = &u->user;
        if (best == NULL)
            break;
        out[n++] = best;
        floor = best->name;
    }
    return n;
}

const struct device_record *accounts_device(const struct accounts *acc, const char *device_id)
{
    for (struct device_node *n = acc->devices[bucket_of(device_id)]; n; n = n->next)
        if (strcmp(n->dev.device_id, device_id) == 0)
            return &n->dev;
    return NULL;
}

const struct device_record *accounts_device_lookup(const void *acc, const char *device_id)
{
    return accounts_device(acc, device_id);
}

int accounts_put_device(struct accounts *acc, const struct device_record *dev)
{
    unsigned b = bucket_of(dev->device_id);
    for (struct device_node *n = acc->devices[b]; n; n = n->next)
        if (strcmp(n->dev.device_id, dev->device_id) == 0) {
            n->dev = *dev;
            return 0;
        }
    struct device_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -1;
    n->dev = *dev;
    n->next = acc->devices[b];
    acc->devices[b] = n;
    acc->n_devices++;
    return 0;
}

/* A person's device is stored as before vehicle units existed (staff_id, no vehicle_id), so
 * an older dispatchd still loads it; a vehicle's has vehicle_id and no staff_id. */
static json_t *device_to_json(const struct device_record *dev)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "device_id", dev->device_id, "enterprise_id",
                          dev->enterprise_id, "secret_digest", dev->secret_digest, "created_ms",
                          (json_int_t)dev->created_ms);
    const char *key = dev->vehicle_id[0] ? "vehicle_id" : "staff_id";
    if (j && json_object_set_new(
                 j, key, json_string(dev->vehicle_id[0] ? dev->vehicle_id : dev->staff_id)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int device_from_json(const json_t *j, struct device_record *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    const char *id = json_string_value(json_object_get(j, "device_id"));
    const char *staff = json_string_value(json_object_get(j, "staff_id"));
    const char *vehicle = json_string_value(json_object_get(j, "vehicle_id"));
    const char *ent = json_string_value(json_object_get(j, "enterprise_id"));
    const char *dig = json_string_value(json_object_get(j, "secret_digest"));
    json_t *created = json_object_get(j, "created_ms");
    /* Exactly one owner: a person or a vehicle. */
    int owner_ok =
        staff ? lpg_id_valid(staff) && vehicle == NULL : vehicle && lpg_id_valid(vehicle);
    if (!id || !lpg_id_valid(id) || !owner_ok || !ent || !lpg_id_valid(ent) || !dig ||
        strlen(dig) != AUTH_DIGEST_HEX_LEN || !json_is_integer(created)) {
        snprintf(why, cap,
                 "a device record needs device_id, staff_id or vehicle_id (one of them), "
                 "enterprise_id, secret_digest (64 hex) and created_ms");
        return -1;
    }
    snprintf(out->device_id, sizeof(out->device_id), "%s", id);
    snprintf(out->staff_id, sizeof(out->staff_id), "%s", staff ? staff : "");
    snprintf(out->vehicle_id, sizeof(out->vehicle_id), "%s", vehicle ? vehicle : "");
    snprintf(out->enterprise_id, sizeof(out->enterprise_id), "%s", ent);
    snprintf(out->secret_digest, sizeof(out->secret_digest), "%s", dig);
    out->created_ms = (int64_t)json_integer_value(created);
    return 0;
}

const struct auth_principal *accounts_session(struct accounts *acc, const char *digest,
                                              int64_t now_ms)
{
    unsigned b = bucket_of(digest);
    for (struct session_node **pp = &acc->sessions[b]; *pp; pp = &(*pp)->next) {
        struct session_node *n = *pp;
        if (strcmp(n->digest, digest) != 0)
            continue;
        if (now_ms >= n->principal.expires_ms) {
            *pp = n->next;
            free(n);
            acc->n_sessions--;
            return NULL;
        }
        return &n->principal;
    }
    return NULL;
}

int accounts_put_session(struct accounts *acc, const char *digest, const struct auth_principal *p)
{
    struct session_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -1;
    snprintf(n->digest, sizeof(n->digest), "%s", digest);
    n->principal = *p;
    unsigned b = bucket_of(digest);
    n->next = acc->sessions[b];
    acc->sessions[b] = n;
    acc->n_sessions++;
    return 0;
}

void accounts_remove_session(struct accounts *acc, const char *digest)
{
    unsigned b = bucket_of(digest);
    for (struct session_node **pp = &acc->sessions[b]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->digest, digest) == 0) {
            struct session_node *n = *pp;
            *pp = n->next;
            free(n);
            acc->n_sessions--;
            return;
        }
    }
}

/* ---- persistence ---- */

static int save_json(const struct store *st, struct store_txn *txn, const char *kind,
                     const char *id, json_t *json, int64_t expire_at_ms)
{
    char rel[160], key[256], idx[96], exp[24];
    char idxrel[64];
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (text == NULL || keys_record(rel, sizeof(rel), kind, id) < 0 ||
        keys_index(idxrel, sizeof(idxrel), kind) < 0 || store_key(st, key, sizeof(key), rel) < 0 ||
        store_key(st, idx, sizeof(idx), idxrel) < 0) {
        free(text);
        return -1;
    }
    int rc =
        store_txn_addv(txn, "SET", key, text, NULL) || store_txn_addv(txn, "SADD", idx, id, NULL);
    if (rc == 0 && expire_at_ms > 0) {
        snprintf(exp, sizeof(exp), "%lld", (long long)expire_at_ms);
        rc = store_txn_addv(txn, "PEXPIREAT", key, exp, NULL);
    }
    free(text);
    return rc ? -1 : 0;
}

int accounts_store_user(const struct store *st, struct store_txn *txn, const struct auth_user *u)
{
    return save_json(st, txn, "user", u->name, auth_user_to_store_json(u), 0);
}

int accounts_store_device(const struct store *st, struct store_txn *txn,
                          const struct device_record *dev)
{
    return save_json(st, txn, "device", dev->device_id, device_to_json(dev), 0);
}

int accounts_store_session(const struct store *st, struct store_txn *txn, const char *digest,
                           const struct auth_principal *p)
{
    return save_json(st, txn, "session", digest, auth_principal_to_json(p), p->expires_ms);
}

int accounts_store_session_end(const struct store *st, struct store_txn *txn, const char *digest)
{
    char rel[160], key[256], idx[96];
    if (keys_record(rel, sizeof(rel), "session", digest) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0 ||
        store_key(st, idx, sizeof(idx), KEYS_INDEX("session")) < 0)
        return -1;
    return (store_txn_addv(txn, "DEL", key, NULL) || store_txn_addv(txn, "SREM", idx, digest, NULL))
               ? -1
               : 0;
}

/* ---- one user read again (accounts_refresh_user) ---- */

struct user_refresh {
    struct accounts *acc;
    char name[LPG_ID_MAX + 1];
    accounts_refresh_fn *done;
    void *arg;
};

static void on_user_read(void *arg, const struct redisReply *reply, const char *err)
{
    struct user_refresh *r = arg;
    r->acc->refreshing--;
    if (err == NULL && reply->type == REDIS_REPLY_STRING) {
        json_t *j = json_loadb(reply->str, reply->len, 0, NULL);
        struct auth_user u;
        char why[160] = "not JSON";
        if (j && auth_user_from_json(j, &u, why, sizeof(why)) == 0 &&
            strcmp(u.name, r->name) == 0) {
            const struct auth_user *cur = accounts_user(r->acc, u.name);
            if (cur == NULL || strcmp(cur->password_hash, u.password_hash) != 0 ||
                cur->role != u.role || cur->disabled != u.disabled)
                log_info("user %s %s from the store", u.name, cur ? "reloaded" : "loaded");
            if (accounts_put_user(r->acc, &u) != 0)
                log_error("out of memory loading user %s", u.name);
        } else {
            log_warn("stored user %s does not load: %s", r->name, why);
        }
        json_decref(j);
    }
    accounts_refresh_fn *done = r->done;
    void *done_arg = r->arg;
    free(r);
    done(done_arg, err);
}

int accounts_refresh_user(struct store *st, struct accounts *acc, const char *name,
                          accounts_refresh_fn *done, void *arg)
{
    /* A cap, so that a flood of logins cannot queue unbounded reads. */
    if (acc->refreshing >= ACCOUNTS_REFRESH_MAX || strlen(name) > LPG_ID_MAX)
        return -1;
    char rel[LPG_ID_MAX + 8], key[256];
    struct user_refresh *r = calloc(1, sizeof(*r));
    if (r == NULL || keys_record(rel, sizeof(rel), "user", name) < 0 ||
        store_key(st, key, sizeof(key), rel) < 0) {
        free(r);
        return -1;
    }
    r->acc = acc;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->done = done;
    r->arg = arg;
    const char *argv[] = {"GET", key};
    const char *why;
    if (store_command_argv(st, on_user_read, r, 2, argv, NULL, &why) != 0) {
        free(r);
        return -1;
    }
    acc->refreshing++;
    return 0;
}

/* ---- loading: users, sessions, devices, terminals; each as SMEMBERS index, then MGETs of
 * ACC_LOAD_BATCH ---- */

static const char *const phase_kind[] = {"user", "session", "device", "terminal"};
static const char *const phase_index[] = {KEYS_INDEX("user"), KEYS_INDEX("session"),
                                          KEYS_INDEX("device"), KEYS_INDEX("terminal")};

struct acc_loader {
    struct store *st;
    struct accounts *acc;
    int64_t now_ms;
    accounts_load_fn *done;
    void *arg;
    int phase; /* 0 users, 1 sessions, 2 devices, 3 terminals */
    char **ids;
    size_t n_ids;
    size_t done_ids; /* of ids, those fetched and loaded */
};

static void acc_loader_end(struct acc_loader *ld, const char *err)
{
    for (size_t i = 0; i < ld->n_ids; i++)
        free(ld->ids[i]);
    free(ld->ids);
    ld->done(ld->arg, err);
    free(ld);
}

static void acc_load_phase(struct acc_loader *ld);

static void on_ignored_reply(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    (void)err;
}

static void acc_fetch(struct acc_loader *ld);

static void on_acc_mget(void *arg, const struct redisReply *reply, const char *err)
{
    struct acc_loader *ld = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements > ld->n_ids - ld->done_ids) {
        acc_loader_end(ld, err ? err : "unexpected reply loading accounts");
        return;
    }
    size_t stale = 0;
    for (size_t k = 0; k < reply->elements; k++) {
        size_t i = ld->done_ids + k;
        const redisReply *r = reply->element[k];
        if (r->type != REDIS_REPLY_STRING) {
            /* An expired session: Redis dropped its key; drop its index entry too. Idempotent
             * housekeeping, so it need not go through the writer. */
            stale++;
            char idx[96];
            const char *why;
            store_key(ld->st, idx, sizeof(idx), phase_index[ld->phase]);
            const char *srem[] = {"SREM", idx, ld->ids[i]};
            if (store_command_argv(ld->st, on_ignored_reply, NULL, 3, srem, NULL, &why) != 0)
                log_debug("could not remove a stale index entry: %s", why);
            continue;
        }
        json_t *j = json_loadb(r->str, r->len, 0, NULL);
        char why[160] = "not JSON";
        int rc = -1;
        if (j && ld->phase == 0) {
            struct auth_user u;
            rc = auth_user_from_json(j, &u, why, sizeof(why));
            if (rc == 0)
                rc = accounts_put_user(ld->acc, &u);
        } else if (j && ld->phase == 1) {
            struct auth_principal p;
            rc = auth_principal_from_json(j, &p, why, sizeof(why));
            if (rc == 0 && p.expires_ms > ld->now_ms)
                rc = accounts_put_session(ld->acc, ld->ids[i], &p);
        } else if (j && ld->phase == 3) {
            struct terminal_record t;
            rc = terminal_from_json(j, &t, why, sizeof(why));
            if (rc == 0)
                rc = terminal_table_put(ld->acc->terminals, &t);
        } else if (j) {
            struct device_record dev;
            rc = device_from_json(j, &dev, why, sizeof(why));
            if (rc == 0)
                rc = accounts_put_device(ld->acc, &dev);
        }
        json_decref(j);
        if (rc != 0) {
            char msg[300];
            snprintf(msg, sizeof(msg), "stored %s %.64s does not load: %s", phase_kind[ld->phase],
                     ld->ids[i], why);
            acc_loader_end(ld, msg);
            return;
        }
    }
    if (stale)
        log_debug("%zu stale index entries removed", stale);
    ld->done_ids += reply->elements;
    if (ld->done_ids < ld->n_ids) {
        acc_fetch(ld);
        return;
    }
    for (size_t i = 0; i < ld->n_ids; i++)
        free(ld->ids[i]);
    free(ld->ids);
    ld->ids = NULL;
    ld->n_ids = ld->done_ids = 0;
    ld->phase++;
    acc_load_phase(ld);
}

/* The next ACC_LOAD_BATCH records of the phase: one MGET each, so that 100,000 terminals are
 * not one command that holds Redis (and one reply that holds the loop) for a second. */
static void acc_fetch(struct acc_loader *ld)
{
    size_t n = ld->n_ids - ld->done_ids;
    if (n > ACC_LOAD_BATCH)
        n = ACC_LOAD_BATCH;
    const char **argv = calloc(n + 1, sizeof(*argv));
    char(*keys)[160] = calloc(n, sizeof(*keys)); /* the command copies them */
    const char *why = "out of memory loading accounts";
    int rc = argv && keys ? 0 : -1;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        char rel[140], id[101];
        /* At most 100 bytes of a (damaged) index member: its record is then simply missing. */
        snprintf(id, sizeof(id), "%s", ld->ids[ld->done_ids + k]);
        rc = keys_record(rel, sizeof(rel), phase_kind[ld->phase], id) < 0 ||
                     store_key(ld->st, keys[k], sizeof(keys[k]), rel) < 0
                 ? -1
                 : 0;
        argv[k + 1] = keys[k];
    }
    if (rc == 0) {
        argv[0] = "MGET";
        rc = store_command_argv(ld->st, on_acc_mget, ld, (int)(n + 1), argv, NULL, &why);
    }
    free(argv);
    free(keys);
    if (rc != 0)
        acc_loader_end(ld, why);
}

static void on_acc_index(void *arg, const struct redisReply *reply, const char *err)
{
    struct acc_loader *ld = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        acc_loader_end(ld, err ? err : "unexpected reply loading accounts");
        return;
    }
    if (reply->elements == 0) {
        ld->phase++;
        acc_load_phase(ld);
        return;
    }
    size_t n = reply->elements;
    ld->ids = calloc(n, sizeof(char *));
    if (ld->ids == NULL) {
        acc_loader_end(ld, "out of memory loading accounts");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ld->ids[i] = strdup(reply->element[i]->str ? reply->element[i]->str : "");
        if (ld->ids[i] == NULL) {
            acc_loader_end(ld, "out of memory loading accounts");
            return;
        }
        ld->n_ids = i + 1;
    }
    ld->done_ids = 0;
    acc_fetch(ld);
}

static void acc_load_phase(struct acc_loader *ld)
{
    if (ld->phase == 4) {
        log_info("accounts loaded: %zu users, %zu live sessions, %zu devices, %zu terminals",
                 ld->acc->n_users, ld->acc->n_sessions, ld->acc->n_devices,
                 terminal_table_count(ld->acc->terminals));
        acc_loader_end(ld, NULL);
        return;
    }
    char idx[96];
    store_key(ld->st, idx, sizeof(idx), phase_index[ld->phase]);
    const char *argv[] = {"SMEMBERS", idx};
    const char *why;
    if (store_command_argv(ld->st, on_acc_index, ld, 2, argv, NULL, &why) != 0)
        acc_loader_end(ld, why);
}

int accounts_load(struct store *st, struct accounts *acc, int64_t now_ms, accounts_load_fn *done,
                  void *arg)
{
    struct acc_loader *ld = calloc(1, sizeof(*ld));
    if (ld == NULL)
        return -1;
    ld->st = st;
    ld->acc = acc;
    ld->now_ms = now_ms;
    ld->done = done;
    ld->arg = arg;
    acc_load_phase(ld);
    return 0;
}
