/* alert_reads.h -- reading a vehicle's stored alerts (docs/redis-keys.md, "Alerts"), for the
 * daily summaries (http_v1_summary.c). Conventions of every read: store/reads.h.
 */
#ifndef LPG_ALERT_READS_H
#define LPG_ALERT_READS_H

#include "store/reads.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* One page of the vehicle's alerts: n_ids ids were read from the index (a full page, n_ids ==
 * the count asked, means there may be more), and alerts[i] is the record of the i-th id, parsed,
 * or NULL when it has expired or does not parse. Valid during the callback only (the read owns
 * the JSON: json_incref what you keep). */
struct alert_page {
    size_t n_ids;
    size_t n_alerts; /* entries of alerts: n_ids */
    json_t *const *alerts;
};
/* page is NULL when err is set; err is STORE_READ_NOMEM when the read ran out of memory. */
typedef void alert_page_fn(void *arg, const struct alert_page *page, const char *err);

/* Reads the ids of {p}alerts:vehicle:{vehicle} scored from min_ms on (ZRANGE ... BYSCORE LIMIT
 * offset count), then their records (MGET {p}alert:{id}...). 0 when sent; -1 (with *why, fn not
 * called) when not. */
int alert_read_vehicle_page(struct store *st, const char *vehicle, int64_t min_ms, uint64_t offset,
                            int count, alert_page_fn *fn, void *arg, const char **why);

#endif
