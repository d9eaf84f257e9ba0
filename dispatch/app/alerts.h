/* alerts.h -- alerts raised by the tracking rules (rules.h): stored in Redis with the batch
 * that caused them, published once stored (EV_ALERT_RAISED, events.h: the live feed pushes them
 * to the enterprise's dispatchers as event "alert", the handset transport to the reporting
 * device as an Alert message), listed for dispatchers and auditors, and acknowledged by a
 * dispatcher with a note (the use cases of GET /v1/alerts and POST /v1/alerts/{id}/ack, whose
 * HTTP side is http/http_v1_alerts.c).
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

#include "app/refusal.h"
#include "app/service.h"
#include "core/auth.h"
#include "core/model.h"
#include "core/rules.h"
#include "store/store.h"

#include <jansson.h>

#define ALERT_RETENTION_DAYS 1100 /* 3 years and some: violation records are kept 3 years */

/* Compliance alerts (delivery.c) are not raised by a tracking rule: their `source` names
 * what raised them ("roadside_sale", "load_mismatch", "hazard") and ev.rule is unused. So do a
 * terminal's own alarms ("terminal_sos", ..., core/terminal_alarms.h), whose JSON also says
 * "source": "terminal". */
#define ALERT_SOURCE_MAX 31

struct lpg_alert {
    char id[LPG_ID_MAX + 1];
    char source[ALERT_SOURCE_MAX + 1]; /* "" for a tracking rule's alert */
    char enterprise_id[LPG_ID_MAX + 1];
    char vehicle_id[LPG_ID_MAX + 1];
    char staff_id[LPG_ID_MAX + 1];
    struct rule_event ev;
    int64_t created_ms;
    /* Source "expiring" (app/expiring.h): the document that runs out; "" / 0 otherwise. The
     * JSON names them "subject_kind", "subject_id", "document", "expires". */
    char subject_kind[16]; /* "staff", "vehicle", "cylinder", "enterprise" */
    char subject_id[LPG_ID_MAX + 1];
    char document[16]; /* "qualification", "training", "permit", "inspection", "licence" */
    int32_t expiry_day;
};

void alerts_from_event(struct lpg_alert *a, const struct rule_event *ev, const char *enterprise,
                       const char *vehicle, const char *staff, int64_t now_ms);
/* A compliance violation (always a live alert, never late), at pos. */
void alerts_compliance(struct lpg_alert *a, const char *source, const char *enterprise,
                       const char *vehicle, const char *staff, struct geo_point pos,
                       const char *message, int64_t now_ms);
/* Makes a an alert of the terminal's alarm `name` (a terminal_alarms entry): its rule is the
 * name, its JSON says "source": "terminal". */
void alerts_set_terminal(struct lpg_alert *a, const char *name);
/* Whether name is a tracking rule's, a compliance source's or a terminal alarm's (the `rule` of
 * alerts). */
bool alerts_rule_known(const char *name);
/* The name in the alert's "rule" field: the tracking rule, or the compliance source. */
const char *alerts_rule_name(const struct lpg_alert *a);
/* Adds the commands that store a (new) alert. 0 or -1 (OOM). */
int alerts_store(struct service *d, struct store_txn *txn, const struct lpg_alert *a);
/* After the alert is stored: logs it and, unless late, publishes it (EV_ALERT_RAISED) for the
 * dispatchers' live feed and for the device device_id (the one whose fixes raised it; NULL:
 * no device is told). */
void alerts_raised(struct service *d, const struct lpg_alert *a, const char *device_id);
json_t *alerts_to_json(const struct lpg_alert *a);

/* A system alert for the admins (not a tracking rule, no enterprise): e.g. source
 * "redis_memory". Logged (warn), published at once (EV_ALERT_RAISED, enterprise "", alert
 * NULL): the live feed sends it as event "alert" to the streams that see every enterprise (admins,
 * auditors; never a dispatcher's), and its record added to txn (may be NULL: not recorded):
 *   {p}alert:{id}      the alert as JSON {id, kind:"system", rule, message, created_at},
 *                      expires after ALERT_RETENTION_DAYS
 *   {p}alerts:system   sorted set: ids by creation time (ms)
 * Returns 0, or -1 when the record could not be added to txn. */
int alerts_system(struct service *d, const char *source, const char *message,
                  struct store_txn *txn);

/* ---- listing and acknowledging (the HTTP side parses, checks the caller, maps) ---- */

#define ALERTS_PAGE_MAX 500 /* alerts returned by one list request, at most */

/* A page's position: the event time of the next alert to list, and how many alerts of that
 * very time were already listed (alerts of one batch share it). Text form "<ms>.<skip>". */
struct alerts_cursor {
    int64_t ms;
    uint64_t skip;
};
/* Parses the text form; 0, or -1 when it is not one. */
int alerts_cursor_parse(const char *s, struct alerts_cursor *c);

/* One page of an index, by event time: a vehicle's (vehicle_id set) or an enterprise's, all
 * rules or one (rule: a name alerts_rule_known accepts). The caller checked the scope. */
struct alerts_query {
    const char *enterprise_id; /* used when vehicle_id is NULL */
    const char *vehicle_id;
    const char *rule;        /* NULL: every rule */
    int64_t to_ms;           /* exclusive */
    struct alerts_cursor at; /* where the page starts (at.ms >= the from bound) */
    int limit;               /* 1..ALERTS_PAGE_MAX */
};
/* page {"items": [...], "next": "<cursor>" (when a full page)} is the callee's to free; NULL
 * with the refusal r (store_unavailable, internal). Called once, now or later. */
typedef void alerts_page_fn(void *arg, json_t *page, const struct refusal *r);
void alerts_list(struct service *d, const struct alerts_query *q, alerts_page_fn *done, void *arg);

/* Acknowledges alert id with a note (1..LPG_TEXT_MAX bytes, checked by the caller) for
 * principal p, through the writer, with its audit entry. acked: the alert as now stored (the
 * callee's to free); NULL with the refusal: not_found (missing, or another enterprise's for a
 * dispatcher), the auth_check denial, already_acknowledged, store_unavailable /
 * store_outcome_unknown, internal. Called once -- except when the service is torn down with
 * the request queued, which drops it unanswered. */
typedef void alerts_ack_fn(void *arg, json_t *acked, const struct refusal *r);
void alerts_acknowledge(struct service *d, const struct auth_principal *p, const char *id,
                        const char *note, alerts_ack_fn *done, void *arg);

#endif
