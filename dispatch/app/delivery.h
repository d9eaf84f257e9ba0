/* delivery.h -- delivery compliance, from plain commands (docs/compliance.md): cylinder
 * scans (load at the station, hand-over and empty collection at the customer, return to stock),
 * the safety check of every cylinder handed over, delivery confirmation, and the load
 * reconciliation when the vehicle is back at the station.
 *
 * Every request is one writer job: it is decided against the registry as it is (the pure rules
 * of delivery_rules.h and safety_check.h), and its outcome -- the movement, or the refusal --
 * is committed in one Redis transaction together with the cylinder's life events, the order's
 * history, the safety-check record, the hazard notice, the alert and the audit-log entries
 * (audit_log.h). Only then is the caller answered (handset_delivery.c: Ack, Error REFUSED with
 * the rule's code, or LoadReconciliation). A refused hand-over or collection is a suspected
 * roadside sale: an alert to the enterprise's dispatchers, kept with the violations.
 *
 * Keys (docs/redis-keys.md), besides the registry's records of cylinders, hazards, orders,
 * vehicles and customers:
 *   {p}check:{id}                string: a safety-check record as JSON (kept for good)
 *   {p}order:{id}:checks         list: the ids of the order's checks, oldest first
 *   {p}customer:{id}:checks      sorted set: the customer's check ids by time (ms)
 *   {p}cylinder:{id}:history     list: the cylinder's life events (registry_store.h)
 */
#ifndef LPG_DELIVERY_H
#define LPG_DELIVERY_H

#include "app/refusal.h"
#include "app/service.h"
#include "core/model.h"
#include "core/safety_check.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum delivery_kind { DELIVERY_SCAN, DELIVERY_CHECK, DELIVERY_CONFIRM, DELIVERY_RETURN };

/* What a scan records. */
enum delivery_action {
    DELIVERY_LOAD,          /* on the vehicle, for order_id, at the station */
    DELIVERY_HAND_OVER,     /* to order_id's customer */
    DELIVERY_COLLECT_EMPTY, /* an empty from order_id's customer */
    DELIVERY_RETURN_FULL    /* back to stock, undelivered */
};

#define DELIVERY_CHECK_KEY_MAX 40

/* One answer of a safety check. */
struct delivery_check_answer {
    char key[DELIVERY_CHECK_KEY_MAX + 1];
    enum check_result result;
    char note[SAFETY_CHECK_NOTE_MAX + 1];
};

/* A request of a person, in plain fields (the transport has checked their form: ids valid,
 * text whole UTF-8 within the sizes). Fields a kind does not use are left empty. */
struct delivery_command {
    enum delivery_kind kind;
    char staff_id[LPG_ID_MAX + 1];    /* who: the person logged in */
    char device_id[LPG_ID_MAX + 1];   /* on which device */
    enum delivery_action action;      /* SCAN */
    char order_id[LPG_ID_MAX + 1];    /* SCAN (but RETURN_FULL), CHECK, CONFIRM */
    char cylinder_id[LPG_ID_MAX + 1]; /* SCAN; CHECK: "" for a re-inspection visit */
    int64_t device_time_ms;           /* the device's own time; 0 when it gave none */
    bool has_pos;                     /* the device's own position, for the record */
    struct geo_point pos;
    struct delivery_check_answer items[SAFETY_CHECK_ITEMS_MAX]; /* CHECK */
    size_t n_items;
    char customer_name[LPG_NAME_MAX + 1]; /* CHECK: the customer's confirmation */
    char signature_ref[LPG_TEXT_MAX + 1];
    char customer_pin[16];
};

/* A station return's load reconciliation. */
struct delivery_reconciliation {
    uint32_t loaded, handed_over, returned_full, empties;
    const char *const *missing; /* cylinder codes unaccounted for */
    size_t n_missing;
    bool balanced;
};

/* The outcome, borrowed for the callback. Exactly one of: success (refusal and store_err
 * NULL; reconciliation set for a RETURN), refusal (kind REFUSAL_RULE with the rule's stable
 * code: recorded in the audit log; or REFUSAL_UNAVAILABLE: nothing was recorded), store_err
 * (the store refused or lost the commit: its reason), cancelled (the service shut down before
 * the job ran: only release what the caller holds). */
struct delivery_result {
    const struct refusal *refusal;
    const char *store_err;
    const struct delivery_reconciliation *reconciliation;
    bool cancelled;
};

typedef void delivery_done_fn(void *arg, const struct delivery_result *res);

/* Delivery compliance counters, for /metrics. */
struct delivery_stats {
    uint64_t scans_accepted, scans_refused, checks_passed, checks_failed, delivered,
        reconciliations, reconciliation_mismatches;
};

/* The delivery module's own state (s->delivery): its counters. 0, or -1 out of memory. A
 * service without it (a use-case test) answers the same and counts nothing. */
int delivery_init(struct service *s);
void delivery_free(struct service *s);
/* Its counters (zeros when delivery is not wired). */
const struct delivery_stats *delivery_stats(const struct service *s);

/* Queues the command. Returns 0: done(arg, ...) is called exactly once, later. Returns -1 with
 * *r filled (out of memory) when nothing was queued: done is not called. */
int delivery_submit(struct service *s, const struct delivery_command *cmd, delivery_done_fn *done,
                    void *arg, struct refusal *r);

/* One life event of a cylinder as JSON: {"at", "event", "actor", "order_id", "vehicle_id",
 * "customer_id", "note"}; shared with the station's events. New reference. */
json_t *delivery_cylinder_event(int64_t at_ms, const char *event, const char *actor,
                                const struct lpg_cylinder *c, const char *note);

#endif
