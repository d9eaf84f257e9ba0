/*
 * backoff.h - reconnection delays (prefix backoff_): exponential from a minimum to a maximum,
 * each delay jittered to 50..100% so that many clients (dispatchd instances, vehicle agents)
 * do not reconnect in lockstep after an outage. Pure; uses rand() for the jitter (not a
 * security use; seed it once at startup).
 */
#ifndef LPG_BACKOFF_H
#define LPG_BACKOFF_H

struct backoff {
    int min_ms, max_ms; /* min_ms >= 1, max_ms >= min_ms */
    int cur_ms;         /* the next delay before jitter */
};

void backoff_init(struct backoff *b, int min_ms, int max_ms);
/* The delay before the next attempt (cur jittered to 50..100%); then cur doubles up to max. */
int backoff_next(struct backoff *b);
/* After a success: the next failure waits min_ms again. */
void backoff_reset(struct backoff *b);

#endif /* LPG_BACKOFF_H */
