/* throttle.h -- failed-login bookkeeping: growing delays and a temporary lock per key (an
 * account name, a device id or a source address), in a table of bounded size. Pure (libc only,
 * time passed in), single-threaded (the event loop's).
 *
 * Policy, per key:
 *   - the first max_failures - 1 failures cost nothing;
 *   - the max_failures-th failure blocks the key for delay_ms, each further one for twice as
 *     long as the previous, up to lock_ms; a block of lock_ms is the "lock";
 *   - while blocked, attempts are refused without being tried (and without counting: a client
 *     that keeps hammering does not lengthen its own lock, but gets nothing either);
 *   - failures are forgotten once the key has been quiet for lock_ms after its last failure
 *     and after its last block ended (so a guesser who waits out a lock gets one try per lock
 *     period, not a fresh set of free ones), and at once by throttle_forget (a successful
 *     login resets its account).
 *
 * Bounded memory: the table holds at most `cap` keys; adding one more evicts the key touched
 * least recently (so an attacker with endless names or addresses recycles the table instead of
 * growing it; the price is that such a flood can make the table forget an old lock, which the
 * per-address limit and the cost of each attempt make expensive). Keys are looked up through a
 * hash seeded at creation, so chosen names cannot be aimed at one bucket without knowing the
 * seed; a chain is at worst `cap` long.
 */
#ifndef LPG_THROTTLE_H
#define LPG_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

/* Longest key kept, in bytes (an id is at most 64; an IPv6 address text at most 45). Longer
 * keys are cut to this length. */
#define THROTTLE_KEY_MAX 64

struct throttle_policy {
    int max_failures; /* >= 1: the failure that starts the delays */
    int64_t delay_ms; /* > 0: the first delay */
    int64_t lock_ms;  /* >= delay_ms: the longest delay (the lock), and the forgetting time */
};

enum throttle_verdict {
    THROTTLE_ALLOW = 0,   /* try it */
    THROTTLE_DELAYED = 1, /* refuse: blocked for a while shorter than the lock */
    THROTTLE_LOCKED = 2,  /* refuse: blocked for the whole lock period */
};

struct throttle;

/* A table of at most cap (>= 1) keys. NULL on out of memory or an invalid policy. */
struct throttle *throttle_new(size_t cap, const struct throttle_policy *policy, uint64_t seed);
void throttle_free(struct throttle *t);

/* Whether an attempt for key may be tried at now_ms. When refused, *retry_ms (may be NULL)
 * receives how long until it may (> 0). Does not add the key. */
enum throttle_verdict throttle_check(struct throttle *t, const char *key, int64_t now_ms,
                                     int64_t *retry_ms);
/* Records a failed attempt for key at now_ms (adding the key, evicting the least recently
 * touched one when full). Returns the verdict the next attempt would get now. */
enum throttle_verdict throttle_fail(struct throttle *t, const char *key, int64_t now_ms);
/* Drops key's failures (after a success). */
void throttle_forget(struct throttle *t, const char *key);

/* Attempts in flight (checked and let through, outcome not known yet: a password being hashed on
 * a worker thread). throttle_check counts them as failures to come: once failures + attempts in
 * flight reach max_failures, further attempts are refused (THROTTLE_DELAYED, retry in delay_ms)
 * until those end, so concurrent guesses cannot overshoot the limit. throttle_begin adds the key
 * if needed; throttle_end (before throttle_fail or throttle_forget, or alone when the attempt
 * was abandoned) drops the mark, and the key itself when nothing else is left of it. */
void throttle_begin(struct throttle *t, const char *key, int64_t now_ms);
void throttle_end(struct throttle *t, const char *key);

/* Keys held, and keys evicted to make room since creation. */
size_t throttle_count(const struct throttle *t);
uint64_t throttle_evictions(const struct throttle *t);

#endif
