/* compliance_reads.h -- reading delivery compliance records (docs/redis-keys.md, "Registry and
 * orders"; docs/compliance.md): a cylinder's life events, an order's history, the safety checks
 * of an order, one safety check. For the read handlers of http_v1_compliance.c. Conventions of
 * every read: store/reads.h.
 */
#ifndef LPG_COMPLIANCE_READS_H
#define LPG_COMPLIANCE_READS_H

#include "store/reads.h"

#include <jansson.h>

struct store;

/* A list of stored JSON records, oldest first; records that are missing or do not parse are left
 * out. items (a JSON array) is NULL when err is set; it is the read's: json_incref to keep it. */
typedef void compliance_list_fn(void *arg, json_t *items, const char *err);

/* The first `max` life events of the cylinder ({p}cylinder:{id}:history). */
int compliance_read_cylinder_history(struct store *st, const char *cylinder_id, long max,
                                     compliance_list_fn *fn, void *arg, const char **why);

/* The first `max` events of the order's history ({p}order:{id}:history, oldest first). */
int compliance_read_order_history(struct store *st, const char *order_id, long max,
                                  compliance_list_fn *fn, void *arg, const char **why);

/* The safety checks of the order ({p}order:{id}:checks, then each {p}check:{id}), at most
 * `max`. */
int compliance_read_order_checks(struct store *st, const char *order_id, long max,
                                 compliance_list_fn *fn, void *arg, const char **why);

/* One safety check ({p}check:{id}): check is NULL (and err NULL) when there is none or its
 * record does not parse; it is the read's: json_incref to keep it. */
typedef void compliance_check_fn(void *arg, json_t *check, const char *err);
int compliance_read_check(struct store *st, const char *check_id, compliance_check_fn *fn,
                          void *arg, const char **why);

#endif
