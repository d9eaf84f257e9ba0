/* drives.h -- the person's sign-on index {p}staff:{id}:drives (docs/redis-keys.md): who drove
 * which vehicle when, for the driver's day report (http_v1_summary.c). Written by
 * app/driver_sign_on.c in the transaction of the sign-on or sign-off itself; read here.
 * Conventions of the read: store/reads.h.
 */
#ifndef LPG_STORE_DRIVES_H
#define LPG_STORE_DRIVES_H

#include "core/model.h"
#include "store/reads.h"

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_txn;

/* Adds to txn: ZADD of "<at_ms>:on|off:<vehicle>" scored at_ms, ZREMRANGEBYSCORE of the
 * members older than retention_days before at_ms, and EXPIRE retention_days + 1 day (a person
 * who stops driving leaves nothing behind). 0, or -1 (key too long, or out of memory: the txn
 * is then poisoned, store.h). */
int drives_add(struct store *st, struct store_txn *txn, const char *staff, int64_t at_ms, int on,
               const char *vehicle, int retention_days);

struct drive_event {
    int64_t at_ms;
    int on; /* 1 signed on, 0 signed off */
    char vehicle[LPG_ID_MAX + 1];
};
/* events in time order (oldest first); n at most the count asked. Valid during the call. */
typedef void drives_fn(void *arg, const struct drive_event *events, size_t n, const char *err);

/* Reads the newest `count` events scored at most max_ms (ZRANGE BYSCORE REV LIMIT 0 count):
 * the state before a day is the last event before it. Members not in the stored format are
 * skipped. 0 when sent; -1 (with *why, fn not called) when not. */
int drives_read(struct store *st, const char *staff, int64_t max_ms, int count, drives_fn *fn,
                void *arg, const char **why);

#endif
