/* route_seal.h -- sealed routes (issue 14 item 1; docs/audit.md, "Sealed routes"): a vehicle's
 * route day -- its fixes of one LOCAL day of its enterprise (core/route_seal.h), read from the
 * two UTC-day sets {p}route:{vehicle}:{yyyymmdd} it spans -- becomes part of the tamper-evident
 * record.
 *
 * - Every position batch appends the fingerprints of the fixes it stores to the day's log
 *   ({p}route-log:..., core/route_seal.h) and marks the day pending, in the batch's own
 *   transaction (route_seal_batch, called by ingest): O(batch), no read.
 * - route_seal_grace after the local day ends, the day is sealed: one audit entry route_sealed
 *   (vehicle, local date, utc_offset_min, from_ms, to_ms, digest over its fixes in canonical
 *   order, their number) and the seal {p}route-seal:... in one transaction, exactly once (the
 *   seal key says it is done, across restarts). Checked at start (route_seal_start) and then by
 *   a timer; the check over the day's fixes (hashing) runs on the work pool (service.h
 *   hash_pool), over a copy of the day.
 * - A fix of a sealed day is still stored (the source's data is kept), and the next check
 *   appends one route_late_after_seal entry for what arrived since, so a sealed day never
 *   changes silently; the seal's digest keeps covering exactly what was sealed.
 * - route_seal_verify re-reads a day and holds it against its log, the seal and the seal's
 *   audit entry (GET /v1/vehicles/{id}/route/verify); the hashing runs on the work pool, at most
 *   ROUTE_SEAL_VERIFY_MAX at once.
 */
#ifndef LPG_APP_ROUTE_SEAL_H
#define LPG_APP_ROUTE_SEAL_H

#include "app/service.h"
#include "core/route_member.h"
#include "core/route_seal.h"

#include <stddef.h>
#include <stdint.h>

struct store_txn;

/* Adds to txn what a batch storing n fixes of the vehicle records: pairs holds the ZADD's
 * arguments (score, member, score, member, ...; 2n strings), of any days. Each fix goes into the
 * log of its route day (the vehicle's enterprise's local day), which is marked pending until
 * route_seal_grace after that day ends. 0, or -1 when out of memory. */
int route_seal_batch(struct service *d, struct store_txn *txn, const char *vehicle,
                     const char *const *pairs, size_t n);

/* The UTC offset (minutes east) of the vehicle's enterprise, LPG_DEFAULT_UTC_OFFSET_MIN when it
 * has none: what its route days are. */
int32_t route_seal_vehicle_offset(const struct service *d, const char *vehicle);

/* The module's state (d->route_seals): 0, or -1 when out of memory. */
int route_seal_init(struct service *d);
void route_seal_free(struct service *d);
/* Once loaded: a check now, and from then on by the timer. */
void route_seal_start(struct service *d);

/* For /metrics and tests. */
struct route_seal_stats {
    unsigned long long sealed;     /* route_sealed entries stored */
    unsigned long long late_fixes; /* fixes recorded by route_late_after_seal entries */
    unsigned long long checks;     /* checks of the pending days that ended */
    unsigned long long failures;   /* seals or records that could not be stored (retried) */
};
const struct route_seal_stats *route_seal_stats(const struct service *d);

/* What GET /v1/vehicles/{id}/route/verify answers (docs/tracking-api.md, "Verifying a day"). */
struct route_seal_verdict {
    struct route_seal_day day; /* the day verified: the local day, or (nothing recorded under it)
                                  the UTC day of the date, as days were sealed before */
    int sealed;
    size_t fixes;                                 /* members of the day set now */
    size_t recorded;                              /* distinct fingerprints in the log */
    char digest[ROUTE_DIGEST_HEX_LEN + 1];        /* over the set minus late fixes after the seal */
    size_t digest_fixes;                          /* members that digest covers */
    size_t late_after_seal;                       /* distinct fixes recorded after the seal */
    char sealed_digest[ROUTE_DIGEST_HEX_LEN + 1]; /* from the audit entry ("" unsealed) */
    int64_t sealed_fixes;                         /* from the audit entry (-1 unsealed) */
    int64_t seal_seq;                             /* the route_sealed entry's seq (0 none) */
    int ok;
    /* The first difference (ok 0): what is "edited", "removed", "inserted", "log_broken",
     * "digest" (the set agrees with its log but not with the seal: both were rewritten) or
     * "seal" (the seal key disagrees with its audit entry). */
    const char *what;
    int has_time;
    int64_t time_ms;
    int has_seq;
    uint64_t seq;
    const char *member; /* the stored member text concerned, or NULL */
    char detail[200];
};
/* Verifications in flight at once (read from Redis, then checked): each reads a whole day into
 * memory (~5 MB for 86,400 fixes) and hashes it for 100-300 ms on a worker thread of the
 * password pool (service.h hash_pool), so a burst of them is refused at once beyond this
 * (503 busy, docs/tracking-api.md "Verifying a day") instead of piling up memory and delaying
 * logins. */
#define ROUTE_SEAL_VERIFY_MAX 2
/* The *why (or err) of a verification refused because ROUTE_SEAL_VERIFY_MAX are in flight or the
 * worker queue is full: callers compare the pointer. */
extern const char route_seal_busy_[];
#define ROUTE_SEAL_BUSY route_seal_busy_
/* v is NULL when err is set; valid during the callback. */
typedef void route_seal_verify_fn(void *arg, const struct route_seal_verdict *v, const char *err);
/* Verifies the vehicle's route day of local date `day` (its enterprise's offset). 0 when
 * started; -1 (with *why, fn not called) when the store is not up or out of memory. */
int route_seal_verify(struct service *d, const char *vehicle, int32_t day, route_seal_verify_fn *fn,
                      void *arg, const char **why);

#endif
