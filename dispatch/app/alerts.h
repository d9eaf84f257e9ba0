/* alerts.h -- alerts raised by the tracking rules (rules.h): stored in Redis with the batch
 * that caused them, pushed to the enterprise's dispatchers on the live feed (event "alert")
 * and to the driver's handset (Alert message), listed for dispatchers and auditors, and
 * acknowledged by a dispatcher with a note.
 *
 * Keys (docs/redis-keys.md):
 *   {p}alert:{id}               string: the alert as JSON; expires after ALERT_RETENTION_DAYS
 *                               (violation records: at least 3 years by regulation)
 *   {p}alerts:{enterprise}      sorted set: alert ids by the event's time (ms: its `end`, the
 *                               instant it was decided or the episode ended)
 *   {p}alerts:vehicle:{vehicle} sorted set: the same, per vehicle
 *   {p}alerts-by-rule:{rule}:{enterprise}, {p}alerts-by-rule:{rule}:vehicle:{vehicle}
 *                               the same, per rule (GET /v1/alerts?rule=)
 * Late events (from fixes a unit buffered while offline) are stored and listed, marked late,
 * but not pushed as live alerts.
 */
#ifndef LPG_ALERTS_H
#define LPG_ALERTS_H

#include "app/service.h"
#include "handset/handset_server.h"
#include "core/model.h"
#include "core/rules.h"
#include "store/store.h"

#include <jansson.h>

#define ALERT_RETENTION_DAYS 1100 /* 3 years and some: violation records are kept 3 years */

/* Compliance alerts (delivery.c) are not raised by a tracking rule: their `source` names
 * what raised them ("roadside_sale", "load_mismatch", "hazard") and ev.rule is unused. */
#define ALERT_SOURCE_MAX 23

struct lpg_alert {
    char id[LPG_ID_MAX + 1];
    char source[ALERT_SOURCE_MAX + 1]; /* "" for a tracking rule's alert */
    char enterprise_id[LPG_ID_MAX + 1];
    char vehicle_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];
    struct rule_event ev;
    int64_t created_ms;
};

void alerts_from_event(struct lpg_alert *a, const struct rule_event *ev, const char *enterprise,
                       const char *vehicle, const char *staff, int64_t now_ms);
/* A compliance violation (always a live alert, never late), at pos. */
void alerts_compliance(struct lpg_alert *a, const char *source, const char *enterprise,
                       const char *vehicle, const char *staff, struct geo_point pos,
                       const char *message, int64_t now_ms);
/* Whether name is a tracking rule's or a compliance source's (the `rule` of alerts). */
bool alerts_rule_known(const char *name);
/* The name in the alert's "rule" field: the tracking rule, or the compliance source. */
const char *alerts_rule_name(const struct lpg_alert *a);
/* Adds the commands that store a (new) alert. 0 or -1 (OOM). */
int alerts_store(struct service *d, struct store_txn *txn, const struct lpg_alert *a);
/* After the alert is stored: logs it and, unless late, pushes it to the dispatchers' live
 * feed and to the handset `c` (the driver's; may be NULL). */
void alerts_raised(struct service *d, const struct lpg_alert *a, struct handset_conn *c);
json_t *alerts_to_json(const struct lpg_alert *a);

/* A system alert for the admins (not a tracking rule, no enterprise): e.g. source
 * "redis_memory". Logged (warn), published at once on the live feed as event "alert" to the
 * streams that see every enterprise (admins, auditors; never a dispatcher's), and its record
 * added to txn (may be NULL: not recorded):
 *   {p}alert:{id}      the alert as JSON {id, kind:"system", rule, message, created_at},
 *                      expires after ALERT_RETENTION_DAYS
 *   {p}alerts:system   sorted set: ids by creation time (ms)
 * Returns 0, or -1 when the record could not be added to txn. */
int alerts_system(struct service *d, const char *source, const char *message,
                  struct store_txn *txn);

#endif
