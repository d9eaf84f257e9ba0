/* fake_store.c -- store.h without Redis, for the in-process fuzz targets (fuzz_handset,
 * fuzz_import). Replaces dispatch/store/store.c at link time.
 *
 * Why a fake rather than "no Redis": with the store down every Hello is refused (UNAVAILABLE),
 * so nothing after login would be reached. Here every command is answered from the event loop
 * (never from inside the call that sent it, like hiredis) with the reply a real Redis gives in
 * shape: strings set with SET are returned by GET and MGET (so a resent batch sees the
 * device's stored high-water mark), writes answer OK or 1, reads of anything else answer nil or
 * an empty array. The fuzz input scripts the failures (fake_store_script): each command or
 * transaction takes one byte that makes it succeed, be refused (store down), be lost with the
 * connection, or get an error reply, so the error paths of every caller are driven too.
 * Redis itself is trusted: replies are never malformed for their command.
 */
#include "fake_store.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

const char store_err_lost_[] = "connection to Redis lost before it answered";
const char store_err_shutdown_[] = "store shutting down";
const char store_err_not_sent_[] = "transaction not sent";

#define KV_MAX 256 /* string keys remembered; more are forgotten (GET answers nil) */

struct fake_cmd {
    int argc;
    char **argv;
    size_t *argvlen;
};

struct pending {
    struct pending *next;
    store_reply_fn *cb;
    void *arg;
    store_txn_observer_fn *obs;
    void *obs_arg;
    redisReply *reply; /* NULL: lost */
};

struct store {
    struct event_base *base;
    char *prefix;
    struct event *deliver;
    struct pending *head, *tail;
    size_t inflight;
    struct store_stats stats;
    store_state_fn *state_fn;
    void *state_arg;
    char *kv_key[KV_MAX], *kv_val[KV_MAX];
    size_t kv_len[KV_MAX];
    size_t kv_n;
};

struct store_txn {
    struct fake_cmd *cmds;
    size_t n, cap;
    int poisoned;
    store_txn_observer_fn *obs;
    void *obs_arg;
};

static const uint8_t *script_p;
static size_t script_n;

void fake_store_script(const uint8_t *bytes, size_t len)
{
    script_p = bytes;
    script_n = len;
}

/* What happens to the next command: scripted, then always success. */
enum outcome { OK_REPLY, REFUSED, LOST, ERR_REPLY };

static enum outcome next_outcome(void)
{
    if (script_n == 0)
        return OK_REPLY;
    uint8_t b = *script_p++;
    script_n--;
    switch (b & 0x0f) { /* mostly success, so that long sequences get through */
    case 1:
        return REFUSED;
    case 2:
        return LOST;
    case 3:
        return ERR_REPLY;
    default:
        return OK_REPLY;
    }
}

/* ---- replies ---- */

static redisReply *reply_new(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort(); /* the harness does not fuzz its own allocation failures */
    r->type = type;
    return r;
}

static redisReply *reply_str(int type, const char *s, size_t len)
{
    redisReply *r = reply_new(type);
    r->str = malloc(len + 1);
    if (r->str == NULL)
        abort();
    memcpy(r->str, s, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static redisReply *reply_int(long long v)
{
    redisReply *r = reply_new(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

static redisReply *reply_array(size_t n)
{
    redisReply *r = reply_new(REDIS_REPLY_ARRAY);
    r->elements = n;
    if (n) {
        r->element = calloc(n, sizeof(*r->element));
        if (r->element == NULL)
            abort();
    }
    return r;
}

static void reply_free(redisReply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->elements; i++)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static int kv_find(struct store *st, const char *key, size_t len)
{
    for (size_t i = 0; i < st->kv_n; i++)
        if (strlen(st->kv_key[i]) == len && memcmp(st->kv_key[i], key, len) == 0)
            return (int)i;
    return -1;
}

static redisReply *kv_get(struct store *st, const char *key, size_t len)
{
    int i = kv_find(st, key, len);
    if (i < 0)
        return reply_new(REDIS_REPLY_NIL);
    return reply_str(REDIS_REPLY_STRING, st->kv_val[i], st->kv_len[i]);
}

static void kv_set(struct store *st, const char *key, size_t klen, const char *val, size_t vlen)
{
    int i = kv_find(st, key, klen);
    if (i < 0) {
        if (st->kv_n == KV_MAX)
            return;
        i = (int)st->kv_n++;
        st->kv_key[i] = strndup(key, klen);
    } else {
        free(st->kv_val[i]);
    }
    st->kv_val[i] = malloc(vlen + 1);
    if (st->kv_key[i] == NULL || st->kv_val[i] == NULL)
        abort();
    memcpy(st->kv_val[i], val, vlen);
    st->kv_val[i][vlen] = '\0';
    st->kv_len[i] = vlen;
}

static int is(const struct fake_cmd *c, const char *name)
{
    return strcasecmp(c->argv[0], name) == 0;
}

/* The reply Redis gives to one command, in shape; SET is applied. */
static redisReply *answer(struct store *st, const struct fake_cmd *c)
{
    if (c->argc == 0)
        return reply_str(REDIS_REPLY_ERROR, "ERR empty command", 17);
    if (is(c, "GET") && c->argc == 2)
        return kv_get(st, c->argv[1], c->argvlen[1]);
    if (is(c, "MGET")) {
        redisReply *r = reply_array((size_t)c->argc - 1);
        for (int i = 1; i < c->argc; i++)
            r->element[i - 1] = kv_get(st, c->argv[i], c->argvlen[i]);
        return r;
    }
    if (is(c, "SET") && c->argc >= 3) {
        kv_set(st, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2]);
        return reply_str(REDIS_REPLY_STATUS, "OK", 2);
    }
    if (is(c, "PING"))
        return reply_str(REDIS_REPLY_STATUS, "PONG", 4);
    if (is(c, "TYPE"))
        return reply_str(REDIS_REPLY_STATUS, "none", 4);
    if (is(c, "LLEN") || is(c, "EXISTS"))
        return reply_int(0);
    if (is(c, "HGET") || is(c, "LINDEX"))
        return reply_new(REDIS_REPLY_NIL);
    if (is(c, "HMGET")) {
        redisReply *r = reply_array(c->argc > 2 ? (size_t)c->argc - 2 : 0);
        for (size_t i = 0; i < r->elements; i++)
            r->element[i] = reply_new(REDIS_REPLY_NIL);
        return r;
    }
    if (is(c, "HGETALL") || is(c, "LRANGE") || is(c, "ZRANGE") || is(c, "ZRANGEBYSCORE") ||
        is(c, "SMEMBERS") || is(c, "GEOSEARCH") || is(c, "KEYS"))
        return reply_array(0);
    if (is(c, "SCAN")) {
        redisReply *r = reply_array(2);
        r->element[0] = reply_str(REDIS_REPLY_STRING, "0", 1);
        r->element[1] = reply_array(0);
        return r;
    }
    /* writes: HSET, SADD, SREM, DEL, RPUSH, ZADD, GEOADD, EXPIREAT, PEXPIREAT, ... */
    return reply_int(1);
}

/* ---- delivery from the loop ---- */

static void queue(struct store *st, store_reply_fn *cb, void *arg, store_txn_observer_fn *obs,
                  void *obs_arg, redisReply *reply)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    p->cb = cb;
    p->arg = arg;
    p->obs = obs;
    p->obs_arg = obs_arg;
    p->reply = reply;
    if (st->tail)
        st->tail->next = p;
    else
        st->head = p;
    st->tail = p;
    st->inflight++;
    st->stats.commands_sent++;
    event_active(st->deliver, EV_TIMEOUT, 1);
}

static void run_one(struct store *st, struct pending *p, const char *err)
{
    st->inflight--;
    if (p->obs)
        p->obs(p->obs_arg, err ? NULL : p->reply, err);
    if (p->cb)
        p->cb(p->arg, err ? NULL : p->reply, err);
    reply_free(p->reply);
    free(p);
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store *st = arg;
    /* One reply per turn of the loop, as replies arrive from a socket: other events
     * (the peer's frames, timers) interleave with them. */
    struct pending *p = st->head;
    if (p == NULL)
        return;
    st->head = p->next;
    if (st->head == NULL)
        st->tail = NULL;
    else
        event_active(st->deliver, EV_TIMEOUT, 1);
    if (p->reply == NULL)
        st->stats.commands_failed++;
    run_one(st, p, p->reply ? NULL : STORE_ERR_LOST);
}

size_t fake_store_pending(const struct store *st)
{
    return st->inflight;
}

/* ---- store.h ---- */

bool store_err_outcome_unknown(const char *err)
{
    return err == store_err_lost_ || err == store_err_shutdown_ ||
           (err && (strcmp(err, store_err_lost_) == 0 || strcmp(err, store_err_shutdown_) == 0));
}

struct store *store_new(struct event_base *base, const struct store_options *opt)
{
    struct store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->base = base;
    st->prefix = strdup(opt && opt->key_prefix ? opt->key_prefix : "lpg:");
    st->deliver = event_new(base, -1, 0, on_deliver, st);
    if (st->prefix == NULL || st->deliver == NULL) {
        store_free(st);
        return NULL;
    }
    return st;
}

void store_free(struct store *st)
{
    if (st == NULL)
        return;
    while (st->head) {
        struct pending *p = st->head;
        st->head = p->next;
        run_one(st, p, STORE_ERR_SHUTDOWN);
    }
    st->tail = NULL;
    if (st->deliver)
        event_free(st->deliver);
    for (size_t i = 0; i < st->kv_n; i++) {
        free(st->kv_key[i]);
        free(st->kv_val[i]);
    }
    free(st->prefix);
    free(st);
}

void store_set_state_callback(struct store *st, store_state_fn *fn, void *arg)
{
    st->state_fn = fn;
    st->state_arg = arg;
}

enum store_state store_state(const struct store *st)
{
    (void)st;
    return STORE_UP;
}

const char *store_state_name(enum store_state s)
{
    return s == STORE_UP ? "up" : s == STORE_DOWN ? "down" : "connecting";
}

const char *store_last_error(const struct store *st)
{
    (void)st;
    return "";
}

static int copy_cmd(struct fake_cmd *c, int argc, const char **argv, const size_t *argvlen)
{
    c->argc = argc;
    c->argv = calloc((size_t)argc + 1, sizeof(*c->argv));
    c->argvlen = calloc((size_t)argc + 1, sizeof(*c->argvlen));
    if (c->argv == NULL || c->argvlen == NULL)
        return -1;
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        c->argv[i] = malloc(n + 1);
        if (c->argv[i] == NULL)
            return -1;
        memcpy(c->argv[i], argv[i], n);
        c->argv[i][n] = '\0';
        c->argvlen[i] = n;
    }
    return 0;
}

static void free_cmd(struct fake_cmd *c)
{
    for (int i = 0; c->argv && i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->argvlen);
}

static const char refused_why[] = "Redis is down (fuzz script)";

int store_command_argv(struct store *st, store_reply_fn *cb, void *arg, int argc, const char **argv,
                       const size_t *argvlen, const char **why)
{
    enum outcome o = next_outcome();
    if (o == REFUSED || argc <= 0) {
        st->stats.commands_refused++;
        if (why)
            *why = refused_why;
        return -1;
    }
    struct fake_cmd c;
    memset(&c, 0, sizeof(c));
    if (copy_cmd(&c, argc, argv, argvlen) != 0)
        abort();
    redisReply *r = o == LOST        ? NULL
                    : o == ERR_REPLY ? reply_str(REDIS_REPLY_ERROR, "ERR fuzz script", 15)
                                     : answer(st, &c);
    free_cmd(&c);
    queue(st, cb, arg, NULL, NULL, r);
    return 0;
}

struct store_txn *store_txn_new(void)
{
    return calloc(1, sizeof(struct store_txn));
}

void store_txn_free(struct store_txn *txn)
{
    if (txn == NULL)
        return;
    if (txn->obs)
        txn->obs(txn->obs_arg, NULL, STORE_ERR_NOT_SENT);
    for (size_t i = 0; i < txn->n; i++)
        free_cmd(&txn->cmds[i]);
    free(txn->cmds);
    free(txn);
}

int store_txn_add(struct store_txn *txn, int argc, const char **argv, const size_t *argvlen)
{
    if (txn->n == txn->cap) {
        size_t cap = txn->cap ? 2 * txn->cap : 8;
        struct fake_cmd *m = realloc(txn->cmds, cap * sizeof(*m));
        if (m == NULL) {
            txn->poisoned = 1;
            return -1;
        }
        txn->cmds = m;
        txn->cap = cap;
    }
    struct fake_cmd *c = &txn->cmds[txn->n];
    memset(c, 0, sizeof(*c));
    txn->n++;
    if (copy_cmd(c, argc, argv, argvlen) != 0) {
        txn->poisoned = 1;
        return -1;
    }
    return 0;
}

int store_txn_addv(struct store_txn *txn, const char *arg0, ...)
{
    const char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && argc < 64; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    return store_txn_add(txn, argc, argv, NULL);
}

size_t store_txn_count(const struct store_txn *txn)
{
    return txn->n;
}

int store_txn_observe(struct store_txn *txn, store_txn_observer_fn *fn, void *arg)
{
    if (txn->obs && (txn->obs != fn || txn->obs_arg != arg))
        return -1;
    txn->obs = fn;
    txn->obs_arg = arg;
    return 0;
}

void *store_txn_observer_arg(const struct store_txn *txn, store_txn_observer_fn *fn)
{
    return txn->obs == fn ? txn->obs_arg : NULL;
}

int store_txn_exec(struct store *st, struct store_txn *txn, store_reply_fn *cb, void *arg,
                   const char **why)
{
    enum outcome o = next_outcome();
    if (o == REFUSED || txn->poisoned || txn->n == 0) {
        st->stats.commands_refused++;
        if (why)
            *why = txn->poisoned ? "out of memory building the transaction" : refused_why;
        store_txn_free(txn);
        return -1;
    }
    redisReply *r = NULL;
    if (o == ERR_REPLY) {
        /* A command refused at queueing time: Redis discards the whole transaction. */
        r = reply_str(REDIS_REPLY_ERROR, "EXECABORT fuzz script", 21);
    } else if (o == OK_REPLY) {
        r = reply_array(txn->n);
        for (size_t i = 0; i < txn->n; i++)
            r->element[i] = answer(st, &txn->cmds[i]);
    }
    store_txn_observer_fn *obs = txn->obs;
    void *obs_arg = txn->obs_arg;
    txn->obs = NULL; /* sent: the observer hears the outcome, not "not sent" */
    store_txn_free(txn);
    queue(st, cb, arg, obs, obs_arg, r);
    return 0;
}

size_t store_inflight(const struct store *st)
{
    return st->inflight;
}

int store_key(const struct store *st, char *buf, size_t cap, const char *suffix)
{
    int n = snprintf(buf, cap, "%s%s", st->prefix, suffix);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return n;
}

const struct store_stats *store_stats(const struct store *st)
{
    return &st->stats;
}

const char *store_reply_error(const struct redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR ? reply->str : NULL;
}
