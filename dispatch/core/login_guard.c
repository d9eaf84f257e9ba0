/* login_guard.c -- limits on failed logins and Hellos (login_guard.h). */
#include "core/login_guard.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct log_window {
    int64_t start_ms;
    int lines;
    uint64_t suppressed; /* since the last line written */
};

struct login_guard {
    struct throttle *who[LOGIN_KIND_COUNT];  /* account names, device ids */
    struct throttle *addr[LOGIN_KIND_COUNT]; /* source addresses */
    struct log_window log[LOGIN_KIND_COUNT];
    struct login_guard_stats stats;
};

static const char *const outcome_names[LOGIN_OUTCOME_COUNT] = {
    [LOGIN_OK] = "ok",         [LOGIN_WRONG] = "wrong", [LOGIN_THROTTLED] = "throttled",
    [LOGIN_LOCKED] = "locked", [LOGIN_BUSY] = "busy",
};

const char *login_outcome_name(enum login_outcome o)
{
    return (int)o >= 0 && o < LOGIN_OUTCOME_COUNT ? outcome_names[o] : "?";
}

struct login_guard *login_guard_new(const struct login_guard_options *opt, uint64_t seed)
{
    struct login_guard *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    struct throttle_policy who = {opt->max_failures, opt->delay_ms, opt->lock_ms};
    struct throttle_policy addr = {opt->max_failures_address, opt->delay_ms, opt->lock_ms};
    for (int k = 0; k < LOGIN_KIND_COUNT; k++) {
        /* Distinct seeds: a collision found in one table says nothing about another. */
        g->who[k] =
            throttle_new(opt->track_max, &who, seed ^ (0x9e3779b97f4a7c15ULL * (2u * k + 1)));
        g->addr[k] =
            throttle_new(opt->track_max, &addr, seed ^ (0x9e3779b97f4a7c15ULL * (2u * k + 2)));
        if (g->who[k] == NULL || g->addr[k] == NULL) {
            login_guard_free(g);
            return NULL;
        }
    }
    return g;
}

void login_guard_free(struct login_guard *g)
{
    if (g == NULL)
        return;
    for (int k = 0; k < LOGIN_KIND_COUNT; k++) {
        throttle_free(g->who[k]);
        throttle_free(g->addr[k]);
    }
    free(g);
}

/* The throttle key of a source address: an IPv4 address as it is; an IPv6 address by its /64
 * (one subscriber's network usually gets a whole /64, so counting single IPv6 addresses would
 * give a guesser 2^64 fresh ones); an IPv4-mapped IPv6 address as the IPv4 address. */
static const char *address_key(const char *addr, char out[THROTTLE_KEY_MAX + 1])
{
    unsigned char a[16];
    if (addr == NULL || strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, a) != 1)
        return addr ? addr : "?";
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, sizeof(mapped)) == 0) {
        snprintf(out, THROTTLE_KEY_MAX + 1, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        return out;
    }
    memset(a + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
        return addr;
    snprintf(out, THROTTLE_KEY_MAX + 1, "%s/64", text);
    return out;
}

enum throttle_verdict login_guard_check(struct login_guard *g, enum login_kind kind,
                                        const char *who, const char *addr, int64_t now_ms,
                                        int64_t *retry_ms)
{
    int64_t r_who = 0, r_addr = 0;
    enum throttle_verdict v_who = throttle_check(g->who[kind], who, now_ms, &r_who);
    char key[THROTTLE_KEY_MAX + 1];
    enum throttle_verdict v_addr =
        throttle_check(g->addr[kind], address_key(addr, key), now_ms, &r_addr);
    enum throttle_verdict v = v_who > v_addr ? v_who : v_addr;
    if (retry_ms)
        *retry_ms = r_who > r_addr ? r_who : r_addr;
    return v;
}

void login_guard_began(struct login_guard *g, enum login_kind kind, const char *who,
                       const char *addr, int64_t now_ms)
{
    char key[THROTTLE_KEY_MAX + 1];
    throttle_begin(g->who[kind], who, now_ms);
    throttle_begin(g->addr[kind], address_key(addr, key), now_ms);
}

void login_guard_abandoned(struct login_guard *g, enum login_kind kind, const char *who,
                           const char *addr)
{
    char key[THROTTLE_KEY_MAX + 1];
    throttle_end(g->who[kind], who);
    throttle_end(g->addr[kind], address_key(addr, key));
}

void login_guard_failed(struct login_guard *g, enum login_kind kind, const char *who,
                        const char *addr, int64_t now_ms)
{
    char key[THROTTLE_KEY_MAX + 1];
    const char *akey = address_key(addr, key);
    throttle_end(g->who[kind], who);
    throttle_end(g->addr[kind], akey);
    throttle_fail(g->who[kind], who, now_ms);
    throttle_fail(g->addr[kind], akey, now_ms);
}

void login_guard_succeeded(struct login_guard *g, enum login_kind kind, const char *who,
                           const char *addr)
{
    login_guard_abandoned(g, kind, who, addr);
    throttle_forget(g->who[kind], who);
}

int login_guard_should_log(struct login_guard *g, enum login_kind kind, int64_t now_ms,
                           uint64_t *suppressed)
{
    struct log_window *w = &g->log[kind];
    if (now_ms - w->start_ms >= LOGIN_GUARD_LOG_WINDOW_MS || now_ms < w->start_ms) {
        w->start_ms = now_ms;
        w->lines = 0;
    }
    if (w->lines >= LOGIN_GUARD_LOG_BURST) {
        w->suppressed++;
        g->stats.log_suppressed++;
        return 0;
    }
    w->lines++;
    *suppressed = w->suppressed;
    w->suppressed = 0;
    return 1;
}

struct login_guard_stats *login_guard_stats(struct login_guard *g)
{
    return &g->stats;
}

size_t login_guard_tracked(const struct login_guard *g)
{
    size_t n = 0;
    for (int k = 0; k < LOGIN_KIND_COUNT; k++)
        n += throttle_count(g->who[k]) + throttle_count(g->addr[k]);
    return n;
}

uint64_t login_guard_evictions(const struct login_guard *g)
{
    uint64_t n = 0;
    for (int k = 0; k < LOGIN_KIND_COUNT; k++)
        n += throttle_evictions(g->who[k]) + throttle_evictions(g->addr[k]);
    return n;
}

int64_t login_guard_retry_s(int64_t retry_ms)
{
    int64_t s = (retry_ms + 999) / 1000;
    return s < 1 ? 1 : s;
}
