/* clock.h -- the wall clock of the service, in one place (tests run it under libfaketime). */
#ifndef LPG_CLOCK_H
#define LPG_CLOCK_H

#include <stdint.h>

/* Wall-clock now, UTC milliseconds since the epoch. */
int64_t lpg_now_ms(void);

#endif
