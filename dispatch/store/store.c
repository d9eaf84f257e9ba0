/* store.c -- dispatchd's Redis connection: hiredis async on the libevent loop, with
 * connect timeout, heartbeat, and reconnection with exponential backoff and jitter.
 *
 * hiredis 0.14 rules this file lives by (see docs/stack-notes in the design notes):
 *   - when a connection fails, hiredis runs every pending callback with a NULL reply and
 *     frees the context itself: we never free or disconnect from inside a hiredis callback;
 *   - after a failed connect callback the context is freed by hiredis on return;
 *   - hiredis has no connect or command timeout: our own timers provide them, and they may
 *     call redisAsyncFree() because they do not run inside a hiredis callback.
 * Every context we abandon is detached from `st->ac` first, so that late callbacks from it
 * (disconnect, NULL replies) are recognised and cannot touch the current connection.
 */
#define LOG_TAG "store"
#include "store/store.h"

#include "common/backoff.h"
#include "common/log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

/* While Redis stays down, one log line per this many failed attempts. */
#define STORE_LOG_EVERY_N_FAILURES 10

const char store_err_lost_[] = "connection to Redis lost before it answered";
const char store_err_shutdown_[] = "store shutting down";

struct store {
    struct event_base *base;
    struct store_options opt; /* strings below are our own copies */
    char *host;
    char *prefix;
    char *user;        /* NULL: the default user */
    char *password;    /* NULL: no AUTH; never logged */
    char refused[128]; /* why Redis refused the connection's first commands ("" when it did not) */

    redisAsyncContext *ac; /* current context, NULL while down */
    enum store_state state;
    char last_error[160];

    struct event *retry_timer;     /* fires the next connection attempt */
    struct event *connect_timer;   /* deadline of the attempt in progress */
    struct event *heartbeat_timer; /* periodic PING while up */
    int ping_outstanding;          /* a PING is waiting for its reply */
    struct timeval ping_sent;
    struct timeval last_reply; /* when Redis last answered anything (a sign of life) */

    struct backoff backoff;   /* delay before the next attempt */
    unsigned failed_attempts; /* since the store was last up */
    size_t inflight;
    int freeing;

    store_state_fn *state_cb;
    void *state_arg;
    struct store_stats stats;
};

/* One accepted command, the privdata handed to hiredis. */
struct store_op {
    struct store *st;
    store_reply_fn *cb;
    void *arg;
};

static void store_connect(struct store *st);

static void ms_to_tv(int ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

static void store_set_state(struct store *st, enum store_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void store_set_state(struct store *st, enum store_state s, const char *fmt, ...)
{
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);

    if (s == STORE_DOWN) {
        snprintf(st->last_error, sizeof(st->last_error), "%s", detail);
        st->failed_attempts++;
        /* While down, every retry fails the same way: say so now and then, not each time. */
        if (s == st->state && st->failed_attempts % STORE_LOG_EVERY_N_FAILURES == 0)
            log_warn("redis %s:%d still down after %u attempts: %s", st->host, st->opt.port,
                     st->failed_attempts, detail);
    } else if (s == STORE_UP) {
        st->failed_attempts = 0;
    }
    if (s == st->state)
        return;
    st->state = s;
    if (s == STORE_UP)
        log_info("redis %s:%d is up", st->host, st->opt.port);
    else if (s == STORE_DOWN)
        log_warn("redis %s:%d is down: %s; writes are refused until it is back", st->host,
                 st->opt.port, detail);
    if (st->state_cb)
        st->state_cb(st->state_arg, s, detail);
}

/* Schedules the next attempt: delay doubles from reconnect_min up to reconnect_max, and is
 * jittered to 50..100% so that many instances do not reconnect in lockstep. */
static void store_schedule_retry(struct store *st)
{
    if (st->freeing)
        return;
    int delay = backoff_next(&st->backoff);
    struct timeval tv;
    ms_to_tv(delay, &tv);
    evtimer_add(st->retry_timer, &tv);
    log_debug("next connection attempt in %d ms", delay);
}

/* Abandons the current context from outside any hiredis callback (timers only). Pending
 * commands get their NULL-reply callbacks during redisAsyncFree(). */
static void store_drop_connection(struct store *st, const char *why)
{
    redisAsyncContext *ac = st->ac;
    st->ac = NULL;
    st->ping_outstanding = 0;
    evtimer_del(st->connect_timer);
    evtimer_del(st->heartbeat_timer);
    if (ac)
        redisAsyncFree(ac);
    st->stats.connect_failures++;
    store_set_state(st, STORE_DOWN, "%s", why);
    store_schedule_retry(st);
}

/* The reply to AUTH, pipelined before the first PING: a refusal is kept for the PING's
 * callback to report (Redis' message names no secret). */
static void on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    struct store *st = privdata;
    const redisReply *reply = r;
    if (reply == NULL || st->freeing || ac != st->ac)
        return;
    if (reply->type == REDIS_REPLY_ERROR)
        snprintf(st->refused, sizeof(st->refused), "AUTH refused: %s", reply->str);
}

static void on_first_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    struct store *st = privdata;
    const redisReply *reply = r;
    if (r == NULL || st->freeing || ac != st->ac)
        return; /* lost: the disconnect path (or the timer) handles the state */
    if (reply->type == REDIS_REPLY_ERROR || st->refused[0] != '\0') {
        /* Wrong or missing password (NOAUTH, WRONGPASS): not up. The connection is dropped
         * by the connect timer's handler, run now from the loop (not from inside hiredis). */
        if (st->refused[0] == '\0')
            snprintf(st->refused, sizeof(st->refused), "%s", reply->str);
        event_active(st->connect_timer, EV_TIMEOUT, 1);
        return;
    }
    evtimer_del(st->connect_timer);
    st->stats.connects++;
    backoff_reset(&st->backoff);
    struct timeval tv;
    ms_to_tv(st->opt.ping_interval_ms, &tv);
    evtimer_add(st->heartbeat_timer, &tv);
    store_set_state(st, STORE_UP, "connected and answering");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct store *st = ac->data;
    if (st == NULL || ac != st->ac)
        return; /* a context we already abandoned */
    evtimer_del(st->connect_timer);
    if (status != REDIS_OK) {
        /* hiredis frees the context when we return. */
        st->ac = NULL;
        st->stats.connect_failures++;
        store_set_state(st, STORE_DOWN, "connect to %s:%d failed: %s", st->host, st->opt.port,
                        ac->errstr[0] ? ac->errstr : "unknown error");
        store_schedule_retry(st);
        return;
    }
    /* Connected is not yet answering (a stopped Redis accepts connections from its backlog):
     * up only once a first PING is answered, within the same connect timeout. */
    /* hiredis 0.14 has no connect options: AUTH is simply the first command, on every new
     * connection (reconnections included). */
    st->refused[0] = '\0';
    if (st->password != NULL) {
        const char *auth[] = {"AUTH", st->user ? st->user : st->password, st->password};
        if (redisAsyncCommandArgv(st->ac, on_auth, st, st->user ? 3 : 2, auth, NULL) != REDIS_OK) {
            log_warn("could not send AUTH to redis %s:%d", st->host, st->opt.port);
            return; /* the connect timer drops the connection */
        }
    }
    static const char *ping[] = {"PING"};
    if (redisAsyncCommandArgv(st->ac, on_first_pong, st, 1, ping, NULL) != REDIS_OK) {
        log_warn("could not send the first PING to redis %s:%d", st->host, st->opt.port);
        return; /* the connect timer drops the connection */
    }
    struct timeval tv;
    ms_to_tv(st->opt.connect_timeout_ms, &tv);
    evtimer_add(st->connect_timer, &tv);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct store *st = ac->data;
    if (st == NULL || ac != st->ac)
        return;
    /* hiredis frees the context when we return. */
    st->ac = NULL;
    st->ping_outstanding = 0;
    evtimer_del(st->heartbeat_timer);
    evtimer_del(st->connect_timer);
    st->stats.connect_failures++;
    store_set_state(st, STORE_DOWN, "connection lost: %s",
                    status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "error"));
    store_schedule_retry(st);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store *st = arg;
    char why[200];
    if (st->refused[0] != '\0')
        snprintf(why, sizeof(why), "redis %s:%d refused the connection: %s", st->host, st->opt.port,
                 st->refused);
    else
        snprintf(why, sizeof(why), "connect to %s:%d timed out after %d ms (no answer)", st->host,
                 st->opt.port, st->opt.connect_timeout_ms);
    store_drop_connection(st, why);
}

static void store_connect(struct store *st)
{
    /* A retry while down stays "down": only the first attempt is reported as connecting. */
    if (st->state != STORE_DOWN || st->stats.connect_failures == 0)
        store_set_state(st, STORE_CONNECTING, "connecting");
    redisAsyncContext *ac = redisAsyncConnect(st->host, st->opt.port);
    if (ac == NULL) {
        st->stats.connect_failures++;
        store_set_state(st, STORE_DOWN, "out of memory creating a Redis context");
        store_schedule_retry(st);
        return;
    }
    if (ac->err) {
        st->stats.connect_failures++;
        store_set_state(st, STORE_DOWN, "connect to %s:%d failed: %s", st->host, st->opt.port,
                        ac->errstr);
        redisAsyncFree(ac);
        store_schedule_retry(st);
        return;
    }
    ac->data = st;
    if (redisLibeventAttach(ac, st->base) != REDIS_OK) {
        redisAsyncFree(ac);
        st->stats.connect_failures++;
        store_set_state(st, STORE_DOWN, "could not attach Redis context to the event loop");
        store_schedule_retry(st);
        return;
    }
    st->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    struct timeval tv;
    ms_to_tv(st->opt.connect_timeout_ms, &tv);
    evtimer_add(st->connect_timer, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_connect(arg);
}

static void on_ping_reply(void *arg, const struct redisReply *reply, const char *err)
{
    struct store *st = arg;
    (void)reply;
    if (err != NULL)
        return; /* the connection is gone; the disconnect path handles state */
    st->ping_outstanding = 0;
}

/* Heartbeat: sends PING every ping_interval; a PING unanswered after connect_timeout, with no
 * other reply meanwhile, means the server is hung (or the network is), which TCP alone would not
 * tell us for minutes. Replies come in order: under a heavy write load the PING waits behind
 * seconds of queued commands while their replies keep arriving, and that is a live server, not
 * a dead one (dropping it would fail every batch in flight; found by bench-ingest). */
static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store *st = arg;
    if (st->state != STORE_UP)
        return;
    struct timeval now, tv;
    evutil_gettimeofday(&now, NULL);
    if (st->ping_outstanding) {
        const struct timeval *since =
            evutil_timercmp(&st->last_reply, &st->ping_sent, >) ? &st->last_reply : &st->ping_sent;
        long waited_ms =
            (long)(now.tv_sec - since->tv_sec) * 1000 + (long)(now.tv_usec - since->tv_usec) / 1000;
        if (waited_ms >= st->opt.connect_timeout_ms) {
            char why[96];
            snprintf(why, sizeof(why), "no reply from redis for %ld ms (PING pending)", waited_ms);
            store_drop_connection(st, why);
            return;
        }
    } else {
        static const char *argv[] = {"PING"};
        static const size_t argvlen[] = {4};
        const char *why;
        if (store_command_argv(st, on_ping_reply, st, 1, argv, argvlen, &why) == 0) {
            st->ping_outstanding = 1;
            st->ping_sent = now;
        }
    }
    /* Check again at the sooner of the next PING and the pending PING's deadline. */
    int next = st->opt.ping_interval_ms;
    if (st->ping_outstanding && st->opt.connect_timeout_ms < next)
        next = st->opt.connect_timeout_ms;
    ms_to_tv(next, &tv);
    evtimer_add(st->heartbeat_timer, &tv);
}

struct store *store_new(struct event_base *base, const struct store_options *opt)
{
    if (opt->host == NULL || opt->host[0] == '\0')
        return NULL;
    struct store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->base = base;
    st->opt = *opt;
    st->host = strdup(opt->host);
    st->prefix = strdup(opt->key_prefix ? opt->key_prefix : "");
    int with_user = opt->user != NULL && opt->user[0] != '\0';
    int with_password = opt->password != NULL && opt->password[0] != '\0';
    st->user = with_user ? strdup(opt->user) : NULL;
    st->password = with_password ? strdup(opt->password) : NULL;
    st->retry_timer = evtimer_new(base, on_retry, st);
    st->connect_timer = evtimer_new(base, on_connect_timeout, st);
    st->heartbeat_timer = evtimer_new(base, on_heartbeat, st);
    if (!st->host || !st->prefix || !st->retry_timer || !st->connect_timer ||
        !st->heartbeat_timer || (with_user && !st->user) || (with_password && !st->password)) {
        store_free(st);
        return NULL;
    }
    st->opt.host = st->host;
    st->opt.key_prefix = st->prefix;
    st->opt.user = st->user;
    st->opt.password = st->password;
    backoff_init(&st->backoff, opt->reconnect_min_ms > 0 ? opt->reconnect_min_ms : 100,
                 opt->reconnect_max_ms);
    st->state = STORE_DOWN; /* store_connect() moves it to CONNECTING */
    store_connect(st);
    return st;
}

void store_free(struct store *st)
{
    if (st == NULL)
        return;
    st->freeing = 1;
    st->state_cb = NULL;
    if (st->ac) {
        redisAsyncContext *ac = st->ac;
        st->ac = NULL;
        redisAsyncFree(ac); /* runs pending callbacks with an error */
    }
    if (st->retry_timer)
        event_free(st->retry_timer);
    if (st->connect_timer)
        event_free(st->connect_timer);
    if (st->heartbeat_timer)
        event_free(st->heartbeat_timer);
    free(st->host);
    free(st->prefix);
    free(st->user);
    if (st->password != NULL)
        memset(st->password, 0, strlen(st->password));
    free(st->password);
    free(st);
}

void store_set_state_callback(struct store *st, store_state_fn *fn, void *arg)
{
    st->state_cb = fn;
    st->state_arg = arg;
}

enum store_state store_state(const struct store *st)
{
    return st->state;
}

const char *store_state_name(enum store_state s)
{
    switch (s) {
    case STORE_CONNECTING:
        return "connecting";
    case STORE_UP:
        return "up";
    case STORE_DOWN:
        return "down";
    }
    return "unknown";
}

const char *store_last_error(const struct store *st)
{
    return st->last_error;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct store_op *op = privdata;
    struct store *st = op->st;
    assert(st->inflight > 0); /* every reply answers a command counted when sent */
    st->inflight--;
    if (r != NULL)
        evutil_gettimeofday(&st->last_reply, NULL);
    if (r == NULL) {
        st->stats.commands_failed++;
        op->cb(op->arg, NULL, st->freeing ? STORE_ERR_SHUTDOWN : STORE_ERR_LOST);
    } else {
        op->cb(op->arg, r, NULL);
    }
    free(op);
}

int store_command_argv(struct store *st, store_reply_fn *cb, void *arg, int argc, const char **argv,
                       const size_t *argvlen, const char **why)
{
    if (st->state != STORE_UP || st->ac == NULL) {
        st->stats.commands_refused++;
        *why = "the store (Redis) is unavailable";
        return -1;
    }
    struct store_op *op = malloc(sizeof(*op));
    if (op == NULL) {
        *why = "out of memory";
        return -1;
    }
    op->st = st;
    op->cb = cb;
    op->arg = arg;
    if (redisAsyncCommandArgv(st->ac, on_reply, op, argc, argv, argvlen) != REDIS_OK) {
        free(op);
        st->stats.commands_refused++;
        *why = "the store (Redis) connection is closing";
        return -1;
    }
    st->inflight++;
    st->stats.commands_sent++;
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

bool store_err_outcome_unknown(const char *err)
{
    return err == STORE_ERR_LOST || err == STORE_ERR_SHUTDOWN;
}

const char *store_reply_error(const struct redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        return reply->str;
    return NULL;
}

/* ---- transactions ---- */

struct store_cmd {
    int argc;
    char **argv;
    size_t *argvlen;
};

struct store_txn {
    struct store_cmd *cmds;
    size_t n, cap;
    int poisoned;
    store_txn_observer_fn *observer; /* NULL when none, or once handed to the EXEC callback */
    void *observer_arg;
};

const char store_err_not_sent_[] = "transaction not sent";

int store_txn_observe(struct store_txn *txn, store_txn_observer_fn *fn, void *arg)
{
    if (txn->observer != NULL && (txn->observer != fn || txn->observer_arg != arg))
        return -1;
    txn->observer = fn;
    txn->observer_arg = arg;
    return 0;
}

void *store_txn_observer_arg(const struct store_txn *txn, store_txn_observer_fn *fn)
{
    return txn->observer == fn ? txn->observer_arg : NULL;
}

/* The EXEC callback of an observed transaction: the observer first, then the caller's. */
struct observed_exec {
    store_txn_observer_fn *observer;
    void *observer_arg;
    store_reply_fn *cb;
    void *arg;
};

static void on_observed_exec(void *arg, const struct redisReply *reply, const char *err)
{
    struct observed_exec *o = arg;
    o->observer(o->observer_arg, reply, err);
    o->cb(o->arg, reply, err);
    free(o);
}

struct store_txn *store_txn_new(void)
{
    return calloc(1, sizeof(struct store_txn));
}

void store_txn_free(struct store_txn *txn)
{
    if (txn == NULL)
        return;
    if (txn->observer)
        txn->observer(txn->observer_arg, NULL, STORE_ERR_NOT_SENT);
    for (size_t i = 0; i < txn->n; i++) {
        for (int a = 0; a < txn->cmds[i].argc; a++)
            free(txn->cmds[i].argv[a]);
        free(txn->cmds[i].argv);
        free(txn->cmds[i].argvlen);
    }
    free(txn->cmds);
    free(txn);
}

int store_txn_add(struct store_txn *txn, int argc, const char **argv, const size_t *argvlen)
{
    if (txn->poisoned)
        return -1;
    if (txn->n == txn->cap) {
        size_t cap = txn->cap ? txn->cap * 2 : 8;
        struct store_cmd *bigger = realloc(txn->cmds, cap * sizeof(*bigger));
        if (bigger == NULL)
            goto oom;
        txn->cmds = bigger;
        txn->cap = cap;
    }
    struct store_cmd *c = &txn->cmds[txn->n];
    c->argc = 0;
    c->argv = calloc((size_t)argc, sizeof(char *));
    c->argvlen = calloc((size_t)argc, sizeof(size_t));
    if (c->argv == NULL || c->argvlen == NULL) {
        free(c->argv);
        free(c->argvlen);
        goto oom;
    }
    txn->n++; /* from here on store_txn_free releases what was copied */
    for (int a = 0; a < argc; a++) {
        size_t len = argvlen ? argvlen[a] : strlen(argv[a]);
        c->argv[a] = malloc(len + 1);
        if (c->argv[a] == NULL)
            goto oom;
        memcpy(c->argv[a], argv[a], len);
        c->argv[a][len] = '\0';
        c->argvlen[a] = len;
        c->argc++;
    }
    return 0;
oom:
    txn->poisoned = 1;
    return -1;
}

int store_txn_addv(struct store_txn *txn, const char *arg0, ...)
{
    const char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && argc < 32; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    return store_txn_add(txn, argc, argv, NULL);
}

size_t store_txn_count(const struct store_txn *txn)
{
    return txn->n;
}

static void on_txn_step(void *arg, const struct redisReply *reply, const char *err)
{
    /* MULTI and the QUEUED replies carry nothing we need: a queuing error makes EXEC fail,
     * and EXEC's callback reports it. */
    (void)arg;
    (void)reply;
    (void)err;
}

int store_txn_exec(struct store *st, struct store_txn *txn, store_reply_fn *cb, void *arg,
                   const char **why)
{
    if (txn->poisoned || txn->n == 0) {
        *why = txn->poisoned ? "out of memory building a transaction" : "empty transaction";
        store_txn_free(txn);
        return -1;
    }
    if (st->state != STORE_UP || st->ac == NULL) {
        st->stats.commands_refused++;
        *why = "the store (Redis) is unavailable";
        store_txn_free(txn);
        return -1;
    }
    /* hiredis queues the whole pipeline in its output buffer before anything is written, so
     * either all of MULTI..EXEC is sent on this connection or, if it drops, none of it is
     * executed (Redis discards an unfinished MULTI). */
    struct observed_exec *obs = NULL;
    if (txn->observer) {
        obs = malloc(sizeof(*obs));
        if (obs == NULL) {
            *why = "out of memory sending a transaction";
            store_txn_free(txn);
            return -1;
        }
        *obs = (struct observed_exec){txn->observer, txn->observer_arg, cb, arg};
        cb = on_observed_exec;
        arg = obs;
    }
    static const char *multi[] = {"MULTI"};
    static const char *exec[] = {"EXEC"};
    int rc = store_command_argv(st, on_txn_step, NULL, 1, multi, NULL, why);
    for (size_t i = 0; rc == 0 && i < txn->n; i++)
        rc = store_command_argv(st, on_txn_step, NULL, txn->cmds[i].argc,
                                (const char **)txn->cmds[i].argv, txn->cmds[i].argvlen, why);
    if (rc == 0)
        rc = store_command_argv(st, cb, arg, 1, exec, NULL, why);
    if (rc != 0 && st->ac != NULL) {
        /* MULTI went out but the rest did not (out of memory, or the connection is closing):
         * leave no open transaction behind for the next commands to fall into. */
        static const char *discard[] = {"DISCARD"};
        const char *ignored;
        if (store_command_argv(st, on_txn_step, NULL, 1, discard, NULL, &ignored) != 0)
            log_error("could not discard a half-sent transaction: %s", ignored);
    }
    if (rc == 0)
        txn->observer = NULL; /* handed to on_observed_exec */
    else
        free(obs); /* EXEC was not queued: store_txn_free tells the observer "not sent" */
    store_txn_free(txn);
    return rc;
}
