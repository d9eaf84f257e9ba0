/* throttle.c -- growing delays and a temporary lock per key, in a bounded table (throttle.h). */
#include "common/throttle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char key[THROTTLE_KEY_MAX + 1];
    uint32_t failures;
    uint32_t pending; /* attempts in flight (throttle_begin) */
    int64_t last_fail_ms;
    int64_t until_ms;            /* blocked before this instant */
    int64_t block_ms;            /* length of the current (or last) block */
    struct entry *hnext;         /* hash chain */
    struct entry *newer, *older; /* recency list: newest at t->newest */
};

struct throttle {
    struct throttle_policy policy;
    uint64_t seed;
    size_t cap, count;
    uint64_t evictions;
    struct entry *slots; /* cap entries, allocated once: the table never grows */
    struct entry *free_list;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct entry *newest, *oldest;
};

/* FNV-1a over the key, started from the seed: cheap, and keyed so that a flood of chosen names
 * cannot be aimed at one chain without knowing the seed. */
static size_t bucket_of(const struct throttle *t, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return (size_t)(h & (t->nbuckets - 1));
}

struct throttle *throttle_new(size_t cap, const struct throttle_policy *policy, uint64_t seed)
{
    if (cap == 0 || policy == NULL || policy->max_failures < 1 || policy->delay_ms <= 0 ||
        policy->lock_ms < policy->delay_ms)
        return NULL;
    struct throttle *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->policy = *policy;
    t->seed = seed;
    t->cap = cap;
    t->nbuckets = 16;
    while (t->nbuckets < cap && t->nbuckets < ((size_t)1 << 30))
        t->nbuckets <<= 1;
    t->slots = calloc(cap, sizeof(*t->slots));
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    if (t->slots == NULL || t->buckets == NULL) {
        throttle_free(t);
        return NULL;
    }
    for (size_t i = cap; i-- > 0;) {
        t->slots[i].hnext = t->free_list;
        t->free_list = &t->slots[i];
    }
    return t;
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t->buckets);
    free(t);
}

static void copy_key(char out[THROTTLE_KEY_MAX + 1], const char *key)
{
    size_t n = strnlen(key, THROTTLE_KEY_MAX);
    memcpy(out, key, n);
    out[n] = '\0';
}

static struct entry *find(const struct throttle *t, const char *k)
{
    for (struct entry *e = t->buckets[bucket_of(t, k)]; e; e = e->hnext)
        if (strcmp(e->key, k) == 0)
            return e;
    return NULL;
}

static void list_unlink(struct throttle *t, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void list_push_newest(struct throttle *t, struct entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest)
        t->newest->newer = e;
    t->newest = e;
    if (t->oldest == NULL)
        t->oldest = e;
}

static void remove_entry(struct throttle *t, struct entry *e)
{
    struct entry **pp = &t->buckets[bucket_of(t, e->key)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_unlink(t, e);
    memset(e, 0, sizeof(*e));
    e->hnext = t->free_list;
    t->free_list = e;
    t->count--;
}

static struct entry *insert(struct throttle *t, const char *k)
{
    if (t->free_list == NULL) {
        remove_entry(t, t->oldest);
        t->evictions++;
    }
    struct entry *e = t->free_list;
    t->free_list = e->hnext;
    memset(e, 0, sizeof(*e));
    memcpy(e->key, k, sizeof(e->key));
    size_t b = bucket_of(t, k);
    e->hnext = t->buckets[b];
    t->buckets[b] = e;
    list_push_newest(t, e);
    t->count++;
    return e;
}

static enum throttle_verdict blocked_verdict(const struct throttle *t, const struct entry *e,
                                             int64_t now_ms, int64_t *retry_ms)
{
    if (now_ms >= e->until_ms)
        return THROTTLE_ALLOW;
    if (retry_ms)
        *retry_ms = e->until_ms - now_ms;
    return e->block_ms >= t->policy.lock_ms ? THROTTLE_LOCKED : THROTTLE_DELAYED;
}

enum throttle_verdict throttle_check(struct throttle *t, const char *key, int64_t now_ms,
                                     int64_t *retry_ms)
{
    char k[THROTTLE_KEY_MAX + 1];
    copy_key(k, key);
    struct entry *e = find(t, k);
    if (e == NULL)
        return THROTTLE_ALLOW;
    list_unlink(t, e); /* touched: the last to be evicted */
    list_push_newest(t, e);
    enum throttle_verdict v = blocked_verdict(t, e, now_ms, retry_ms);
    if (v == THROTTLE_ALLOW && e->pending > 0) {
        /* Failures to come count: forgotten ones (quiet for a lock period) do not. */
        int64_t quiet_since = e->until_ms > e->last_fail_ms ? e->until_ms : e->last_fail_ms;
        uint64_t failures = now_ms - quiet_since >= t->policy.lock_ms ? 0 : e->failures;
        if (failures + e->pending >= (uint64_t)t->policy.max_failures) {
            if (retry_ms)
                *retry_ms = t->policy.delay_ms;
            v = THROTTLE_DELAYED;
        }
    }
    return v;
}

void throttle_begin(struct throttle *t, const char *key, int64_t now_ms)
{
    (void)now_ms;
    char k[THROTTLE_KEY_MAX + 1];
    copy_key(k, key);
    struct entry *e = find(t, k);
    if (e == NULL) {
        e = insert(t, k);
    } else {
        list_unlink(t, e);
        list_push_newest(t, e);
    }
    if (e->pending < UINT32_MAX)
        e->pending++;
}

void throttle_end(struct throttle *t, const char *key)
{
    char k[THROTTLE_KEY_MAX + 1];
    copy_key(k, key);
    struct entry *e = find(t, k); /* evicted meanwhile: nothing to do */
    if (e == NULL || e->pending == 0)
        return;
    e->pending--;
    if (e->pending == 0 && e->failures == 0 && e->until_ms == 0)
        remove_entry(t, e);
}

enum throttle_verdict throttle_fail(struct throttle *t, const char *key, int64_t now_ms)
{
    char k[THROTTLE_KEY_MAX + 1];
    copy_key(k, key);
    const struct throttle_policy *p = &t->policy;
    struct entry *e = find(t, k);
    if (e == NULL) {
        e = insert(t, k);
    } else {
        list_unlink(t, e);
        list_push_newest(t, e);
        /* Quiet for a whole lock period after the last failure and after its block ended:
         * start afresh. (Counting from the failure alone would hand a fresh set of free
         * guesses to whoever waits out each lock.) */
        int64_t quiet_since = e->until_ms > e->last_fail_ms ? e->until_ms : e->last_fail_ms;
        if (now_ms - quiet_since >= p->lock_ms)
            e->failures = 0;
    }
    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_fail_ms = now_ms;
    if (e->failures >= (uint32_t)p->max_failures) {
        uint32_t doublings = e->failures - (uint32_t)p->max_failures;
        int64_t delay = p->delay_ms;
        while (doublings-- > 0 && delay < p->lock_ms)
            delay = delay > INT64_MAX / 2 ? INT64_MAX : delay * 2;
        if (delay > p->lock_ms)
            delay = p->lock_ms;
        e->block_ms = delay;
        /* Concurrent attempts that were let through may fail after a block began: a block only
         * ever ends later, never earlier. */
        if (now_ms + delay > e->until_ms)
            e->until_ms = now_ms + delay;
    }
    return blocked_verdict(t, e, now_ms, NULL);
}

void throttle_forget(struct throttle *t, const char *key)
{
    char k[THROTTLE_KEY_MAX + 1];
    copy_key(k, key);
    struct entry *e = find(t, k);
    if (e)
        remove_entry(t, e);
}

size_t throttle_count(const struct throttle *t)
{
    return t->count;
}

uint64_t throttle_evictions(const struct throttle *t)
{
    return t->evictions;
}
