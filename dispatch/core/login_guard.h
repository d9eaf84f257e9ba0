/* login_guard.h -- the limits on failed logins of dispatchd: HTTP logins (by account name and by
 * source address) and handset Hellos (by device id and by source address), each a throttle
 * (throttle.h: growing delays, then a temporary lock, in a table of bounded size), with the
 * counters /metrics shows and a rate limit on the log lines failures write. Pure (time passed
 * in), loop thread only.
 *
 * An attempt is refused when either of its keys is blocked; a failure counts against both; a
 * success forgets the account's (device's) failures, not the address's, so that an attacker
 * who knows one password cannot wash out the failures of its guesses on other accounts.
 * Unknown account names and device ids are tracked like known ones: a refusal says nothing
 * about which names exist. An IPv6 source counts by its /64 (an IPv4-mapped one as IPv4).
 */
#ifndef LPG_LOGIN_GUARD_H
#define LPG_LOGIN_GUARD_H

#include "common/throttle.h"

#include <stddef.h>
#include <stdint.h>

enum login_kind { LOGIN_HTTP = 0, LOGIN_HELLO = 1, LOGIN_KIND_COUNT };

/* Outcomes of a login attempt, for /metrics (lpg_login_attempts_total{outcome}). */
enum login_outcome {
    LOGIN_OK,        /* right password */
    LOGIN_WRONG,     /* wrong password, unknown or disabled user */
    LOGIN_THROTTLED, /* refused untried: account or address in a delay */
    LOGIN_LOCKED,    /* refused untried: account or address locked */
    LOGIN_BUSY,      /* refused untried: the hashing queue is full */
    LOGIN_OUTCOME_COUNT
};
const char *login_outcome_name(enum login_outcome o);

struct login_guard_options {
    int max_failures;         /* per account / device */
    int max_failures_address; /* per source address */
    int64_t delay_ms;         /* first delay */
    int64_t lock_ms;          /* longest delay: the lock */
    size_t track_max;         /* keys per table (four tables) */
};

struct login_guard_stats {
    uint64_t logins[LOGIN_OUTCOME_COUNT];
    uint64_t hello_failed;    /* Hellos refused for a wrong credential or unknown device */
    uint64_t hello_throttled; /* Hellos refused untried (device or address blocked) */
    uint64_t log_suppressed;  /* failure log lines left out by the rate limit */
};

struct login_guard;

struct login_guard *login_guard_new(const struct login_guard_options *opt, uint64_t seed);
void login_guard_free(struct login_guard *g);

/* Whether an attempt of `who` (account name or device id) from `addr` may be tried now:
 * THROTTLE_ALLOW, or the refusal with *retry_ms > 0 (the longer of the two waits). */
enum throttle_verdict login_guard_check(struct login_guard *g, enum login_kind kind,
                                        const char *who, const char *addr, int64_t now_ms,
                                        int64_t *retry_ms);
/* An attempt let through whose outcome comes later (an HTTP login's password check on a worker
 * thread): counted as a failure to come until login_guard_failed, _succeeded or _abandoned
 * (throttle_begin), so that concurrent guesses cannot overshoot the limits. */
void login_guard_began(struct login_guard *g, enum login_kind kind, const char *who,
                       const char *addr, int64_t now_ms);
/* The outcome of an attempt (begun or not). */
void login_guard_failed(struct login_guard *g, enum login_kind kind, const char *who,
                        const char *addr, int64_t now_ms);
void login_guard_succeeded(struct login_guard *g, enum login_kind kind, const char *who,
                           const char *addr);
/* A begun attempt that was never tried (e.g. the hashing queue was full). */
void login_guard_abandoned(struct login_guard *g, enum login_kind kind, const char *who,
                           const char *addr);

/* Rate limit of the failure log: 1 when the caller should write its line now (at most
 * LOGIN_GUARD_LOG_BURST lines per LOGIN_GUARD_LOG_WINDOW_MS per kind); *suppressed receives how
 * many lines were left out since the last one written (to say so in it). 0: leave it out. */
#define LOGIN_GUARD_LOG_BURST     5
#define LOGIN_GUARD_LOG_WINDOW_MS 10000
int login_guard_should_log(struct login_guard *g, enum login_kind kind, int64_t now_ms,
                           uint64_t *suppressed);

struct login_guard_stats *login_guard_stats(struct login_guard *g);
/* Keys tracked in all tables, and keys evicted to make room. */
size_t login_guard_tracked(const struct login_guard *g);
uint64_t login_guard_evictions(const struct login_guard *g);

/* Seconds for a Retry-After header: retry_ms rounded up, at least 1. */
int64_t login_guard_retry_s(int64_t retry_ms);

#endif
