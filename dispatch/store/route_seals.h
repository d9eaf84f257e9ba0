/* route_seals.h -- reading what sealed routes keep in Redis (docs/redis-keys.md, "Sealed
 * routes"; the pure part is core/route_seal.h, the use case app/route_seal.h): one route day at
 * a time, its seal, fingerprint log and members read in one transaction so that they agree, and
 * the vehicle-days due for sealing. Conventions of every read: store/reads.h.
 */
#ifndef LPG_ROUTE_SEALS_H
#define LPG_ROUTE_SEALS_H

#include "core/route_seal.h"
#include "store/reads.h"

#include <stddef.h>
#include <stdint.h>

struct store;

/* A day as one transaction saw it; valid during the callback. */
struct route_seal_snapshot {
    const char *seal; /* the seal's JSON ({p}route-seal:...), NULL when the day is not sealed */
    size_t seal_len;
    const char *log; /* the fingerprint log, "" when none */
    size_t log_len;
    const struct route_seal_member *members; /* the day's fixes, Redis' order in each UTC set */
    size_t n;
};
/* s is NULL when err is set. */
typedef void route_seal_snapshot_fn(void *arg, const struct route_seal_snapshot *s,
                                    const char *err);
/* Reads the seal, the log and every member of the vehicle's route day rd -- the members of its
 * one or two UTC sets whose score is in [rd->from_ms, rd->to_ms) -- in one MULTI/EXEC, so that
 * they agree. 0 when sent; -1 (with *why, fn not called). */
int route_seals_read_day(struct store *st, const char *vehicle, const struct route_seal_day *rd,
                         route_seal_snapshot_fn *fn, void *arg, const char **why);

/* The members of {p}route-seals:pending due at now_ms (score <= now_ms), at most count, earliest
 * first; names valid during the callback (NULL with err). */
typedef void route_seals_due_fn(void *arg, const char *const *names, size_t n, const char *err);
int route_seals_read_due(struct store *st, int64_t now_ms, int count, route_seals_due_fn *fn,
                         void *arg, const char **why);

#endif
