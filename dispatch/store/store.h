/* store.h -- the Redis connection of dispatchd (the store of record).
 *
 * One hiredis async context on the service's libevent loop, with:
 *   - connect timeout, and reconnection with exponential backoff and jitter;
 *   - a PING heartbeat, so that a Redis that stops answering is declared down within
 *     ping_interval + command_timeout even when its TCP connection stays open;
 *   - an explicit up/down state: while down, store_command*() refuses the command (returns
 *     -1 and sets *why) instead of queueing it, so callers can refuse writes with a clear
 *     error rather than lose them.
 *
 * This is the only module that talks to hiredis. Every key is named by store/keys.h (included
 * here, so that every user of the store names its keys there) and documented in
 * docs/redis-keys.md; all of them start with the configured prefix (store_key()).
 *
 * Error convention: functions returning int give 0 on success and -1 on failure.
 */
#ifndef LPG_STORE_H
#define LPG_STORE_H

#include "store/keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;

struct store;

struct store_options {
    const char *host;
    int port;
    int connect_timeout_ms; /* also the deadline for a PING reply */
    int ping_interval_ms;   /* heartbeat period while connected */
    int reconnect_min_ms;   /* first retry delay after a failure */
    int reconnect_max_ms;   /* backoff ceiling */
    const char *key_prefix; /* every key starts with it, e.g. "lpg:" */
    const char *user;       /* Redis ACL user for AUTH; NULL or "" for the default user */
    const char *password;   /* AUTH after every connect; NULL or "": no AUTH */
};

enum store_state {
    STORE_CONNECTING, /* a connection attempt is in progress (also at start) */
    STORE_UP,         /* connected and answering */
    STORE_DOWN,       /* not connected; a retry is scheduled */
};

/* Called on every change of state, after the change. `detail` is a human-readable reason
 * (valid only during the call). */
typedef void store_state_fn(void *arg, enum store_state state, const char *detail);

/* The two errors of a command that was sent but not answered: nothing is known about whether
 * Redis executed it. Compare with store_err_outcome_unknown(). */
#define STORE_ERR_LOST     store_err_lost_
#define STORE_ERR_SHUTDOWN store_err_shutdown_
extern const char store_err_lost_[];     /* "connection to Redis lost before it answered" */
extern const char store_err_shutdown_[]; /* "store shutting down" */
/* Whether err (from a reply callback) means "sent, outcome unknown". */
bool store_err_outcome_unknown(const char *err);

/* Reply to a command. Exactly one of `reply` and `err` is non-NULL:
 *   reply: the Redis reply (may be of type REDIS_REPLY_ERROR; see store_reply_error()),
 *          valid only during the call -- copy what you need, never free it;
 *   err:   the command was lost with the connection (nothing is known about whether Redis
 *          executed it), valid only during the call.
 * The callback is always called exactly once for an accepted command, including at
 * store_free(), where it gets err = "store shutting down". */
typedef void store_reply_fn(void *arg, const struct redisReply *reply, const char *err);

/* Creates the store and starts connecting. Never fails for an unreachable Redis (it retries);
 * returns NULL only on allocation failure or a missing host. */
struct store *store_new(struct event_base *base, const struct store_options *opt);

/* Frees pending commands (their callbacks run with an error), the connection and timers. */
void store_free(struct store *st);

void store_set_state_callback(struct store *st, store_state_fn *fn, void *arg);

enum store_state store_state(const struct store *st);
const char *store_state_name(enum store_state s);
/* Human-readable reason of the last failure ("" when none). */
const char *store_last_error(const struct store *st);

/* Sends a command given as an argument vector (binary-safe; no format-string pitfalls such
 * as %f rounding). Returns 0 when sent; -1 when the store is not up or the command could not
 * be queued, with *why set to a static human-readable reason, and the callback not called. */
int store_command_argv(struct store *st, store_reply_fn *cb, void *arg, int argc, const char **argv,
                       const size_t *argvlen, const char **why);

/* ---- transactions: several commands applied atomically (MULTI ... EXEC) ---- */

/* A transaction under construction; owns copies of its arguments. */
struct store_txn;
struct store_txn *store_txn_new(void);
void store_txn_free(struct store_txn *txn);
/* Appends one command (arguments copied). Returns 0, or -1 on out-of-memory (the transaction is
 * then poisoned: store_txn_exec refuses it). */
int store_txn_add(struct store_txn *txn, int argc, const char **argv, const size_t *argvlen);
/* printf-free convenience: a NULL-terminated list of C strings. */
int store_txn_addv(struct store_txn *txn, const char *arg0, ...);
size_t store_txn_count(const struct store_txn *txn);
/* An observer of a transaction's outcome, for a module that keeps state in step with what the
 * transaction writes (audit_log.c: the chain head). It is called exactly once, before the
 * transaction's own callback: with the EXEC reply (reply, err NULL), with err when the
 * transaction was lost with the connection (store_err_outcome_unknown), or with
 * err = STORE_ERR_NOT_SENT when it was never sent (refused by store_txn_exec, or freed
 * unsent). At most one observer per transaction: returns 0, or -1 when another is set. */
typedef void store_txn_observer_fn(void *arg, const struct redisReply *reply, const char *err);
int store_txn_observe(struct store_txn *txn, store_txn_observer_fn *fn, void *arg);
/* The observer's arg when fn observes txn, else NULL. */
void *store_txn_observer_arg(const struct store_txn *txn, store_txn_observer_fn *fn);
#define STORE_ERR_NOT_SENT store_err_not_sent_
extern const char store_err_not_sent_[]; /* "transaction not sent" */
/* Sends MULTI, the commands and EXEC; the callback gets the EXEC reply (an array with one
 * reply per command, or a nil/error reply when the transaction was discarded) or err.
 * Takes ownership of txn in every case. Returns 0 when sent; -1 (with *why) when the store is
 * not up, and the callback is not called. */
int store_txn_exec(struct store *st, struct store_txn *txn, store_reply_fn *cb, void *arg,
                   const char **why);

/* Commands sent and not yet answered; graceful shutdown waits for this to reach zero. */
size_t store_inflight(const struct store *st);

/* Writes prefix + suffix into buf (suffix: a key named by keys.h). Returns the length, or -1
 * when it does not fit. */
int store_key(const struct store *st, char *buf, size_t cap, const char *suffix);

/* Counters for /metrics. */
struct store_stats {
    uint64_t connects;         /* successful connections */
    uint64_t connect_failures; /* failed attempts (refused, timeout, lost) */
    uint64_t commands_sent;
    uint64_t commands_failed;  /* lost with a connection */
    uint64_t commands_refused; /* refused because the store was not up */
};
const struct store_stats *store_stats(const struct store *st);

/* When the reply is a Redis error, returns its message; otherwise NULL. */
const char *store_reply_error(const struct redisReply *reply);

#endif
