/* backoff.c - exponential reconnection delays with jitter (see backoff.h). */
#include "common/backoff.h"

#include <stdlib.h>

void backoff_init(struct backoff *b, int min_ms, int max_ms)
{
    b->min_ms = min_ms > 0 ? min_ms : 1;
    b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
    b->cur_ms = b->min_ms;
}

int backoff_next(struct backoff *b)
{
    int delay = b->cur_ms / 2 + (int)((unsigned)rand() % (unsigned)(b->cur_ms / 2 + 1));
    if (b->cur_ms < b->max_ms)
        b->cur_ms = b->cur_ms > b->max_ms / 2 ? b->max_ms : b->cur_ms * 2;
    return delay;
}

void backoff_reset(struct backoff *b)
{
    b->cur_ms = b->min_ms;
}
