/* timeval_ms.h - milliseconds as the struct timeval libevent timers take (one conversion for
 * every module that arms a timer from a setting in ms). ms must be >= 0. */
#ifndef LPG_TIMEVAL_MS_H
#define LPG_TIMEVAL_MS_H

#include <stdint.h>
#include <sys/time.h>

static inline struct timeval timeval_from_ms(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

#endif /* LPG_TIMEVAL_MS_H */
