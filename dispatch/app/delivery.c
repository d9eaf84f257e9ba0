/* delivery.c -- cylinder scans, safety checks, delivery confirmation and load reconciliation
 * (delivery.h), from plain commands. Decisions come from the pure rules (delivery_rules.h,
 * safety_check.h); this file looks up the entities, builds the new versions and the records,
 * commits them in one transaction through the writer, and answers through the callback.
 */
#define LOG_TAG "delivery"
#include "app/delivery.h"
#include "common/clock.h"

#include "app/alerts.h"
#include "store/audit_log.h"
#include "app/dispatcher.h"
#include "app/usecase_job.h"
#include "store/entity.h"
#include "geo_sphere.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/order_fsm.h"
#include "core/order_rules.h"
#include "core/registry.h"
#include "store/refusal_counts.h"
#include "store/registry_store.h"
#include "core/safety_check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

/* What only delivery writes: /metrics reads it through delivery_stats(). */
struct delivery {
    struct delivery_stats stats;
};

#define WHY_MAX          320
#define ORDER_EVENTS_MAX 3 /* transitions one request may make (accepted->arrived->delivered) */

struct delivery_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    delivery_done_fn *done;
    void *arg;
    int64_t now_ms;
    struct delivery_command cmd; /* the request */
    /* the outcome, committed together */
    const char *refusal; /* NULL: accepted */
    char why[WHY_MAX];
    struct changeset cs;
    char *order_events[ORDER_EVENTS_MAX]; /* JSON, for the order in order_id */
    size_t n_order_events;
    json_t *cylinder_events; /* [[cylinder id, event JSON], ...] */
    json_t *audit;           /* [{kind, subject, data}, ...] */
    json_t *check;           /* the safety-check record, or NULL */
    char check_id[LPG_ID_MAX + 1];
    struct lpg_alert *alert;       /* a compliance alert, or NULL */
    int orders_changed;            /* order_id changed: publish it once stored */
    int suspension_changed;        /* a customer's supply was suspended or lifted: re-match */
    struct delivery_stats counted; /* added to the service's counters once stored */
    /* reconciliation reply */
    uint32_t rec_loaded, rec_handed, rec_returned, rec_empties;
    json_t *rec_missing; /* array of codes */
};

/* ---- helpers: ids, JSON, the entity being changed ---- */

static void make_id(char *out, size_t cap, const char *prefix, int64_t now_ms)
{
    unsigned char rnd[4] = {0, 0, 0, 0};
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        rnd[0] = (unsigned char)now_ms;
    snprintf(out, cap, "%s-%" PRId64 "-%02x%02x%02x%02x", prefix, now_ms, rnd[0], rnd[1], rnd[2],
             rnd[3]);
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *delivery_cylinder_event(int64_t at_ms, const char *event, const char *actor,
                                const struct lpg_cylinder *c, const char *note)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "at", lpg_json_instant(at_ms),
                     "event", event, "actor", actor, "status", lpg_cylinder_status_name(c->status),
                     "order_id", str_or_null(c->order_id), "vehicle_id", str_or_null(c->vehicle_id),
                     "customer_id", str_or_null(c->customer_id), "note", str_or_null(note));
}

/* The version of an entity this job changes: the pending one, else a copy of the registry's
 * (added to the changeset). NULL when absent or out of memory. */
static void *edit(struct delivery_job *job, enum rs_kind kind, const char *id)
{
    void *e = changeset_find(&job->cs, kind, id);
    if (e)
        return e;
    const void *cur = entity_ops[kind].get(job->base.s->registry, id);
    e = cur ? entity_ops[kind].dup(cur) : NULL;
    if (e == NULL || changeset_add(&job->cs, kind, e) != 0)
        return NULL;
    return e;
}

static int add_audit(struct delivery_job *job, const char *kind, const char *subject,
                     json_t *data /* stolen */)
{
    json_t *e = json_pack("{s:s, s:s, s:o}", "kind", kind, "subject", subject ? subject : "",
                          "data", data ? data : json_object());
    return e ? json_array_append_new(job->audit, e) : -1;
}

static int cylinder_moved(struct delivery_job *job, const struct lpg_cylinder *c, const char *event,
                          const char *note)
{
    json_t *ev = delivery_cylinder_event(job->now_ms, event, job->cmd.staff_id, c, note);
    json_t *pair = ev ? json_pack("[s, o]", c->id, ev) : NULL;
    return pair ? json_array_append_new(job->cylinder_events, pair) : -1;
}

/* Moves the job's order (already in the changeset) to `to` as its device. */
static int order_move(struct delivery_job *job, struct lpg_order *o, enum lpg_order_state to,
                      const char *reason)
{
    struct order_event ev;
    char why[200];
    if (job->n_order_events == ORDER_EVENTS_MAX ||
        order_fsm_apply(o, to, ORDER_ACTOR_DEVICE, job->cmd.staff_id, reason, job->now_ms, &ev, why,
                        sizeof(why)) != 0) {
        log_error("order %s: %s", o->id, why);
        return -1;
    }
    job->order_events[job->n_order_events] = lpg_order_event_text(&ev);
    if (job->order_events[job->n_order_events] == NULL)
        return -1;
    job->n_order_events++;
    job->orders_changed = 1;
    return 0;
}

static struct vehicle_fix vehicle_fix_of(const struct lpg_vehicle *v)
{
    struct vehicle_fix f = {false, {0, 0}, 0, -1};
    if (v && v->has_position) {
        f.known = true;
        f.pos = v->position;
        f.time_ms = v->position_ms;
        f.speed_cm_s = v->position_speed_cm_s;
    }
    return f;
}

/* ---- what a vehicle carries and what an order has loaded (registry groups) ---- */

/* Cylinders one order may hold at the customer: the order rules' bound on its items. */
#define ORDER_CYLINDERS_MAX 512
_Static_assert(LPG_ORDER_ITEMS_MAX *ORDER_RULES_ITEM_COUNT_MAX <= ORDER_CYLINDERS_MAX,
               "an order's cylinders fit the buffers below");

static size_t on_vehicle(const struct registry *reg, const struct lpg_vehicle *v)
{
    return registry_cylinders_on_vehicle(reg, v->id, NULL, 0);
}

/* The cylinders of order o in `status` (and of `spec` unless NULL), into out (cap entries);
 * returns how many there are. */
static size_t of_order(const struct registry *reg, const struct lpg_order *o,
                       enum lpg_cylinder_status status, const char *spec,
                       const struct lpg_cylinder **out, size_t cap)
{
    size_t n = registry_cylinders_of_order(reg, o->id, NULL, 0);
    const struct lpg_cylinder **all = calloc(n ? n : 1, sizeof(*all));
    size_t found = 0;
    if (all == NULL)
        return 0;
    registry_cylinders_of_order(reg, o->id, all, n);
    for (size_t i = 0; i < n; i++) {
        if (all[i]->status != status || (spec && strcmp(all[i]->spec, spec) != 0))
            continue;
        if (out && found < cap)
            out[found] = all[i];
        found++;
    }
    free(all);
    return found;
}

/* ---- refusals ---- */

static int record_refusal(struct delivery_job *job, const char *what)
{
    /* A refusal names what it was about: the cylinder, else the order, else (a station
     * return, which names neither) the person who asked. Never "": the audit chain refuses an
     * empty subject, and the refusal would then come back as "retry later". */
    const char *subject = job->cmd.cylinder_id[0] ? job->cmd.cylinder_id
                          : job->cmd.order_id[0]  ? job->cmd.order_id
                                                  : job->cmd.staff_id;
    return add_audit(job, "scan_refused", subject,
                     json_pack("{s:s, s:s, s:s, s:s}", "action", what, "order_id",
                               job->cmd.order_id, "refusal", job->refusal, "reason", job->why));
}

/* A refused hand-over or collection (action "hand_over", "collect_empty"): recorded as a
 * refusal and as a suspected roadside sale, alerted to the dispatchers. */
static int roadside_sale(struct delivery_job *job, const struct lpg_vehicle *v, const char *action)
{
    const struct lpg_staff *s = registry_staff(job->base.s->registry, job->cmd.staff_id);
    job->alert = calloc(1, sizeof(*job->alert));
    if (job->alert == NULL || s == NULL || record_refusal(job, action) != 0)
        return -1;
    char msg[RULE_EVENT_MESSAGE_MAX];
    snprintf(msg, sizeof(msg), "suspected roadside sale: %s of %s refused (%s)", action,
             job->cmd.cylinder_id, job->refusal);
    struct vehicle_fix fix = vehicle_fix_of(v);
    alerts_compliance(job->alert, "roadside_sale", s->enterprise_id, v ? v->id : "", s->id, fix.pos,
                      msg, job->now_ms);
    return add_audit(job, "roadside_sale_suspected", job->cmd.cylinder_id,
                     json_pack("{s:s, s:s, s:s}", "order_id", job->cmd.order_id, "vehicle_id",
                               v ? v->id : "", "alert_id", job->alert->id));
}

/* ---- scans ---- */

static const char *action_name(enum delivery_action a)
{
    switch (a) {
    case DELIVERY_LOAD:
        return "load";
    case DELIVERY_HAND_OVER:
        return "hand_over";
    case DELIVERY_COLLECT_EMPTY:
        return "collect_empty";
    case DELIVERY_RETURN_FULL:
        return "return_full";
    default:
        return "unknown";
    }
}

static int32_t today_of(const struct service *d, const char *enterprise, int64_t now_ms)
{
    const struct lpg_enterprise *e = registry_enterprise(d->registry, enterprise);
    return lpg_local_day(now_ms, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
}

static int scan_load(struct delivery_job *job, const struct lpg_staff *s,
                     const struct lpg_vehicle *v, const struct lpg_order *o,
                     const struct lpg_cylinder *c)
{
    struct service *d = job->base.s;
    int32_t today = today_of(d, s->enterprise_id, job->now_ms);
    struct load_counts n = {0, 0};
    if (c == NULL) {
        job->refusal = "unknown_cylinder";
        snprintf(job->why, sizeof(job->why), "no cylinder with code %s", job->cmd.cylinder_id);
        return record_refusal(job, "load");
    }
    if (v && o) {
        n.on_vehicle = (int32_t)on_vehicle(d->registry, v);
        n.loaded_of_spec = (int32_t)of_order(d->registry, o, LPG_CYL_LOADED, c->spec, NULL, 0);
    }
    job->refusal = load_check(o, s, v, c, &n, today, &d->delivery_cfg, job->why, sizeof(job->why));
    if (job->refusal == NULL) {
        /* Loading happens at the vehicle's station only (docs/http-api.md, "Stations"). */
        struct vehicle_fix fix = vehicle_fix_of(v);
        job->refusal = station_check(v, registry_station(d->registry, v->station_id), &fix,
                                     job->now_ms, &d->delivery_cfg, job->why, sizeof(job->why));
    }
    if (job->refusal)
        return record_refusal(job, "load");
    struct lpg_cylinder *cy = edit(job, RS_CYLINDER, c->id);
    struct lpg_vehicle *ve = edit(job, RS_VEHICLE, v->id);
    struct lpg_order *oe = edit(job, RS_ORDER, o->id);
    if (cy == NULL || ve == NULL || oe == NULL)
        return -1;
    cy->status = LPG_CYL_LOADED;
    snprintf(cy->vehicle_id, sizeof(cy->vehicle_id), "%s", v->id);
    snprintf(cy->order_id, sizeof(cy->order_id), "%s", o->id);
    cy->customer_id[0] = cy->check_id[0] = '\0';
    cy->updated_ms = job->now_ms;
    if (ve->trip_started_ms == 0) {
        ve->trip_started_ms = job->now_ms;
        ve->trip_loaded = ve->trip_handed_over = ve->trip_returned_full = ve->trip_empties = 0;
    }
    ve->trip_loaded++;
    /* The order is loaded once every cylinder it needs is aboard. */
    size_t loaded = of_order(d->registry, o, LPG_CYL_LOADED, NULL, NULL, 0) + 1;
    if ((int32_t)loaded >= lpg_order_cylinders(o) && order_move(job, oe, LPG_ORDER_LOADED, NULL))
        return -1;
    if (cylinder_moved(job, cy, "loaded", NULL) != 0)
        return -1;
    return add_audit(job, "cylinder_loaded", c->id,
                     json_pack("{s:s, s:s, s:s, s:i}", "order_id", o->id, "vehicle_id", v->id,
                               "spec", c->spec, "loaded_for_order", (int)loaded));
}

static int scan_hand_over(struct delivery_job *job, const struct lpg_staff *s,
                          const struct lpg_vehicle *v, const struct lpg_order *o,
                          const struct lpg_cylinder *c)
{
    struct service *d = job->base.s;
    const struct lpg_customer *cu = o ? registry_customer(d->registry, o->customer_id) : NULL;
    struct vehicle_fix fix = vehicle_fix_of(v);
    int32_t today = today_of(d, s->enterprise_id, job->now_ms);
    job->refusal = handover_check(o, s, v, cu, c, &fix, job->now_ms, today, &d->delivery_cfg,
                                  job->why, sizeof(job->why));
    if (job->refusal)
        return roadside_sale(job, v, "hand_over");
    struct lpg_cylinder *cy = edit(job, RS_CYLINDER, c->id);
    struct lpg_vehicle *ve = edit(job, RS_VEHICLE, v->id);
    struct lpg_order *oe = edit(job, RS_ORDER, o->id);
    if (cy == NULL || ve == NULL || oe == NULL)
        return -1;
    cy->status = LPG_CYL_AT_CUSTOMER;
    snprintf(cy->customer_id, sizeof(cy->customer_id), "%s", cu->id);
    cy->vehicle_id[0] = cy->check_id[0] = '\0';
    cy->updated_ms = job->now_ms;
    ve->trip_handed_over++;
    /* The hand-over at the customer proves arrival. */
    if (oe->state != LPG_ORDER_ARRIVED && order_move(job, oe, LPG_ORDER_ARRIVED, NULL) != 0)
        return -1;
    if (cylinder_moved(job, cy, "handed_over", NULL) != 0)
        return -1;
    double dist = geo_distance_m(fix.pos, cu->location);
    return add_audit(job, "cylinder_handed_over", c->id,
                     /* integers only in audit data (canonical text, audit_log.h) */
                     json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}", "order_id", o->id, "customer_id",
                               cu->id, "vehicle_id", v->id, "distance_m", (int)lround(dist),
                               "lon_e7", (json_int_t)llround(fix.pos.lon * 1e7), "lat_e7",
                               (json_int_t)llround(fix.pos.lat * 1e7)));
}

static int scan_collect(struct delivery_job *job, const struct lpg_staff *s,
                        const struct lpg_vehicle *v, const struct lpg_order *o,
                        const struct lpg_cylinder *c)
{
    struct service *d = job->base.s;
    const struct lpg_customer *cu = o ? registry_customer(d->registry, o->customer_id) : NULL;
    struct vehicle_fix fix = vehicle_fix_of(v);
    int32_t aboard = v ? (int32_t)on_vehicle(d->registry, v) : 0;
    job->refusal = collect_check(o, s, v, cu, c, &fix, aboard, job->now_ms, &d->delivery_cfg,
                                 job->why, sizeof(job->why));
    if (job->refusal)
        return roadside_sale(job, v, "collect_empty");
    struct lpg_cylinder *cy = edit(job, RS_CYLINDER, c->id);
    struct lpg_vehicle *ve = edit(job, RS_VEHICLE, v->id);
    if (cy == NULL || ve == NULL)
        return -1;
    cy->status = LPG_CYL_COLLECTED_EMPTY;
    snprintf(cy->vehicle_id, sizeof(cy->vehicle_id), "%s", v->id);
    snprintf(cy->order_id, sizeof(cy->order_id), "%s", o->id);
    cy->customer_id[0] = cy->check_id[0] = '\0';
    cy->updated_ms = job->now_ms;
    if (ve->trip_started_ms == 0)
        ve->trip_started_ms = job->now_ms;
    ve->trip_empties++;
    if (cylinder_moved(job, cy, "collected_empty", NULL) != 0)
        return -1;
    return add_audit(job, "empty_collected", c->id,
                     json_pack("{s:s, s:s, s:s}", "order_id", o->id, "customer_id", cu->id,
                               "vehicle_id", v->id));
}

static int scan_return_full(struct delivery_job *job, const struct lpg_vehicle *v,
                            const struct lpg_cylinder *c)
{
    if (v == NULL) {
        job->refusal = "no_vehicle";
        snprintf(job->why, sizeof(job->why), "you are not bound to a vehicle (人车对应)");
    } else if (c == NULL || c->status != LPG_CYL_LOADED || strcmp(c->vehicle_id, v->id) != 0) {
        job->refusal = "cylinder_not_on_vehicle";
        snprintf(job->why, sizeof(job->why), "cylinder %s is not loaded on your vehicle %s",
                 job->cmd.cylinder_id, v->id);
    }
    if (job->refusal)
        return record_refusal(job, "return_full");
    struct lpg_cylinder *cy = edit(job, RS_CYLINDER, c->id);
    struct lpg_vehicle *ve = edit(job, RS_VEHICLE, v->id);
    if (cy == NULL || ve == NULL)
        return -1;
    char order[LPG_ID_MAX + 1];
    snprintf(order, sizeof(order), "%s", cy->order_id);
    cy->status = LPG_CYL_IN_STOCK;
    cy->vehicle_id[0] = cy->order_id[0] = cy->customer_id[0] = cy->check_id[0] = '\0';
    cy->updated_ms = job->now_ms;
    ve->trip_returned_full++;
    if (cylinder_moved(job, cy, "returned_full", NULL) != 0)
        return -1;
    return add_audit(job, "cylinder_returned", c->id,
                     json_pack("{s:s, s:s}", "vehicle_id", v->id, "order_id", order));
}

static int run_scan(struct delivery_job *job)
{
    const struct registry *reg = job->base.s->registry;
    const struct lpg_staff *s = registry_staff(reg, job->cmd.staff_id);
    const struct lpg_vehicle *v =
        s && s->vehicle_id[0] ? registry_vehicle(reg, s->vehicle_id) : NULL;
    const struct lpg_order *o =
        job->cmd.order_id[0] ? registry_order(reg, job->cmd.order_id) : NULL;
    const struct lpg_cylinder *c = registry_cylinder(reg, job->cmd.cylinder_id);
    /* Another enterprise's order looks exactly like a missing one. */
    if (o && s && strcmp(o->enterprise_id, s->enterprise_id) != 0)
        o = NULL;
    if (s == NULL)
        return -1;
    switch (job->cmd.action) {
    case DELIVERY_LOAD:
        return scan_load(job, s, v, o, c);
    case DELIVERY_HAND_OVER:
        return scan_hand_over(job, s, v, o, c);
    case DELIVERY_COLLECT_EMPTY:
        return scan_collect(job, s, v, o, c);
    default:
        return scan_return_full(job, v, c);
    }
}

/* ---- safety checks ---- */

static json_t *check_record(struct delivery_job *job, const struct lpg_order *o,
                            const struct lpg_customer *cu, const struct check_verdict *verdict,
                            struct geo_point pos)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < job->cmd.n_items; i++) {
        const struct checklist_item *it = safety_check_item(job->cmd.items[i].key);
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:b, s:o}", "item", job->cmd.items[i].key,
                                        "result", check_result_name(job->cmd.items[i].result),
                                        "required", safety_check_required(it, cu->kind), "note",
                                        str_or_null(job->cmd.items[i].note)));
    }
    const struct lpg_staff *s = registry_staff(job->base.s->registry, job->cmd.staff_id);
    /* The PIN itself is not kept: only that the customer confirmed with one. */
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:b, s:o, s:s, s:s, s:o, s:s, s:s, s:o, s:o, "
        "s:o, s:{s:f, s:f}}",
        "id", job->check_id, "enterprise_id", o->enterprise_id, "order_id", o->id, "order_kind",
        lpg_order_kind_name(o->kind), "cylinder_id", str_or_null(job->cmd.cylinder_id),
        "customer_id", cu->id, "customer_kind", lpg_customer_kind_name(cu->kind), "items", items,
        "passed", verdict->passed, "findings", str_or_null(verdict->findings), "customer_name",
        job->cmd.customer_name, "confirmation", job->cmd.signature_ref[0] ? "signature" : "pin",
        "signature_ref", str_or_null(job->cmd.signature_ref), "staff_id", job->cmd.staff_id,
        "device_id", job->cmd.device_id, "vehicle_id", str_or_null(s ? s->vehicle_id : ""), "time",
        lpg_json_instant(job->cmd.device_time_ms ? job->cmd.device_time_ms : job->now_ms),
        "received_at", lpg_json_instant(job->now_ms), "position", "lon", pos.lon, "lat", pos.lat);
}

/* Every cylinder of order o still at the customer goes back on the vehicle (not connected). */
static int cylinders_back_on_vehicle(struct delivery_job *job, const struct lpg_order *o)
{
    const struct lpg_cylinder *at[ORDER_CYLINDERS_MAX];
    size_t n =
        of_order(job->base.s->registry, o, LPG_CYL_AT_CUSTOMER, NULL, at, ORDER_CYLINDERS_MAX);
    struct lpg_vehicle *ve = o->vehicle_id[0] ? edit(job, RS_VEHICLE, o->vehicle_id) : NULL;
    if (n > ORDER_CYLINDERS_MAX || ve == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct lpg_cylinder *cy = edit(job, RS_CYLINDER, at[i]->id);
        if (cy == NULL)
            return -1;
        cy->status = LPG_CYL_LOADED;
        snprintf(cy->vehicle_id, sizeof(cy->vehicle_id), "%s", ve->id);
        cy->customer_id[0] = cy->check_id[0] = '\0';
        cy->updated_ms = job->now_ms;
        if (ve->trip_handed_over > 0)
            ve->trip_handed_over--;
        if (cylinder_moved(job, cy, "back_on_vehicle", "safety check failed: not connected"))
            return -1;
    }
    return 0;
}

static int issue_notice(struct delivery_job *job, const struct lpg_order *o,
                        const struct lpg_customer *cu, const struct check_verdict *verdict)
{
    struct lpg_hazard *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -1;
    make_id(h->id, sizeof(h->id), "hz", job->now_ms);
    snprintf(h->enterprise_id, sizeof(h->enterprise_id), "%s", o->enterprise_id);
    snprintf(h->customer_id, sizeof(h->customer_id), "%s", cu->id);
    snprintf(h->order_id, sizeof(h->order_id), "%s", o->id);
    snprintf(h->cylinder_id, sizeof(h->cylinder_id), "%s", job->cmd.cylinder_id);
    snprintf(h->check_id, sizeof(h->check_id), "%s", job->check_id);
    snprintf(h->hazard, sizeof(h->hazard), "%s", verdict->findings);
    snprintf(h->found_by, sizeof(h->found_by), "%s", job->cmd.staff_id);
    h->found_ms = h->created_ms = job->now_ms;
    snprintf(h->responsible, sizeof(h->responsible), "%s", cu->name);
    h->deadline_ms = job->now_ms + job->base.s->rectification_ms;
    h->status = LPG_HAZARD_OPEN;
    char id[LPG_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", h->id);
    if (changeset_add(&job->cs, RS_HAZARD, h) != 0)
        return -1;
    /* §四(一)2: supply suspended until the hazard is fixed. */
    struct lpg_customer *ce = edit(job, RS_CUSTOMER, cu->id);
    if (ce == NULL)
        return -1;
    int first = ce->status != LPG_CUSTOMER_SUSPENDED;
    ce->status = LPG_CUSTOMER_SUSPENDED;
    snprintf(ce->suspended_reason, sizeof(ce->suspended_reason), "hazard notice %s: %.160s", id,
             verdict->findings);
    job->suspension_changed = 1;
    char deadline[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(job->now_ms + job->base.s->rectification_ms, deadline);
    if (add_audit(job, "hazard_notice_issued", id,
                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "customer_id", cu->id, "order_id", o->id,
                            "check_id", job->check_id, "hazard", verdict->findings, "deadline",
                            deadline)) != 0)
        return -1;
    if (first && add_audit(job, "supply_suspended", cu->id, json_pack("{s:s}", "notice", id)))
        return -1;
    /* The dispatchers must know at once: a customer whose supply stops. */
    job->alert = calloc(1, sizeof(*job->alert));
    if (job->alert == NULL)
        return -1;
    char msg[WHY_MAX];
    snprintf(msg, sizeof(msg), "safety check failed at customer %s: supply suspended (%s)", cu->id,
             id);
    alerts_compliance(job->alert, "hazard", o->enterprise_id, o->vehicle_id, job->cmd.staff_id,
                      cu->location, msg, job->now_ms);
    return 0;
}

struct open_for {
    const char *customer_id;
};

static bool open_hazard_of(const void *e, void *arg)
{
    const struct lpg_hazard *h = e;
    const struct open_for *f = arg;
    return h->status == LPG_HAZARD_OPEN && strcmp(h->customer_id, f->customer_id) == 0;
}

/* A passing re-inspection: every open notice of the customer closes, supply resumes. */
static int close_notices(struct delivery_job *job, const struct lpg_order *o,
                         const struct lpg_customer *cu)
{
    const struct lpg_hazard *open[64];
    struct open_for f = {cu->id};
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    do {
        n = registry_list_hazards(job->base.s->registry, o->enterprise_id, after, 64,
                                  open_hazard_of, &f, open);
        for (size_t i = 0; i < n; i++) {
            struct lpg_hazard *h = edit(job, RS_HAZARD, open[i]->id);
            if (h == NULL)
                return -1;
            h->status = LPG_HAZARD_CLOSED;
            h->closed_ms = job->now_ms;
            snprintf(h->closed_by, sizeof(h->closed_by), "%s", job->cmd.staff_id);
            snprintf(h->closing_check_id, sizeof(h->closing_check_id), "%s", job->check_id);
            snprintf(h->closing_order_id, sizeof(h->closing_order_id), "%s", o->id);
            if (add_audit(job, "hazard_notice_closed", h->id,
                          json_pack("{s:s, s:s}", "check_id", job->check_id, "order_id", o->id)))
                return -1;
        }
        if (n)
            snprintf(after, sizeof(after), "%s", open[n - 1]->id);
    } while (n == 64);
    if (cu->status == LPG_CUSTOMER_SUSPENDED) {
        struct lpg_customer *ce = edit(job, RS_CUSTOMER, cu->id);
        if (ce == NULL)
            return -1;
        ce->status = LPG_CUSTOMER_ACTIVE;
        ce->suspended_reason[0] = '\0';
        job->suspension_changed = 1;
        if (add_audit(job, "supply_resumed", cu->id, json_pack("{s:s}", "check_id", job->check_id)))
            return -1;
    }
    return 0;
}

/* Refusals of a check are answered, and recorded in the audit log like a refused scan. */
__attribute__((format(printf, 3, 4))) static int
refuse_check(struct delivery_job *job, const char *code, const char *fmt, ...)
{
    job->refusal = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->why, sizeof(job->why), fmt, ap);
    va_end(ap);
    return record_refusal(job, job->cmd.kind == DELIVERY_CHECK     ? "safety_check"
                               : job->cmd.kind == DELIVERY_CONFIRM ? "delivery_confirm"
                                                                   : "station_return");
}

static int run_check(struct delivery_job *job)
{
    struct service *d = job->base.s;
    const struct registry *reg = d->registry;
    const struct lpg_staff *s = registry_staff(reg, job->cmd.staff_id);
    const struct lpg_order *o = registry_order(reg, job->cmd.order_id);
    if (s == NULL)
        return -1;
    if (o == NULL || strcmp(o->staff_id, s->id) != 0)
        return refuse_check(job, "not_your_order", "order %s is not assigned to you",
                            job->cmd.order_id);
    const struct lpg_customer *cu = registry_customer(reg, o->customer_id);
    const struct lpg_vehicle *v = s->vehicle_id[0] ? registry_vehicle(reg, s->vehicle_id) : NULL;
    bool visit = o->kind == LPG_ORDER_REINSPECTION;
    const struct lpg_cylinder *c = NULL;
    if (cu == NULL)
        return refuse_check(job, "not_at_customer", "the customer of order %s no longer exists",
                            o->id);
    if (visit) {
        if (job->cmd.cylinder_id[0])
            return refuse_check(job, "not_a_delivery",
                                "order %s is a re-inspection visit: its check has no cylinder",
                                o->id);
        if (o->state != LPG_ORDER_ACCEPTED && o->state != LPG_ORDER_ARRIVED)
            return refuse_check(job, "order_not_deliverable",
                                "re-inspection %s must be accepted before its check", o->id);
    } else {
        c = registry_cylinder(reg, job->cmd.cylinder_id);
        if (o->state != LPG_ORDER_ARRIVED)
            return refuse_check(job, "order_not_deliverable",
                                "order %s has no cylinder handed over yet", o->id);
        if (c == NULL || c->status != LPG_CYL_AT_CUSTOMER || strcmp(c->order_id, o->id) != 0)
            return refuse_check(job, "cylinder_not_handed_over",
                                "cylinder %s was not handed over on this order",
                                job->cmd.cylinder_id);
        if (c->check_id[0])
            return refuse_check(job, "already_checked", "cylinder %s has its check already", c->id);
    }
    /* Where the check was made: the device's position, else the vehicle's newest fix. */
    struct vehicle_fix fix = vehicle_fix_of(v);
    if (job->cmd.has_pos) {
        fix.known = true;
        fix.pos = job->cmd.pos;
        fix.time_ms = job->now_ms;
        fix.speed_cm_s = 0; /* a person on foot at the door */
    }
    job->refusal =
        at_customer_check(cu, &fix, job->now_ms, &d->delivery_cfg, job->why, sizeof(job->why));
    if (job->refusal)
        return record_refusal(job, "safety_check");

    struct check_answer answers[SAFETY_CHECK_ITEMS_MAX];
    for (size_t i = 0; i < job->cmd.n_items; i++)
        answers[i] = (struct check_answer){job->cmd.items[i].key, job->cmd.items[i].result,
                                           job->cmd.items[i].note};
    struct check_verdict verdict;
    char why[WHY_MAX];
    if (safety_check_evaluate(cu->kind, answers, job->cmd.n_items, job->cmd.customer_name,
                              job->cmd.signature_ref, job->cmd.customer_pin, &verdict, why,
                              sizeof(why)) != 0)
        return refuse_check(job, "invalid_check", "%s", why);

    make_id(job->check_id, sizeof(job->check_id), "chk", job->now_ms);
    job->check = check_record(job, o, cu, &verdict, fix.pos);
    struct lpg_order *oe = edit(job, RS_ORDER, o->id);
    if (job->check == NULL || oe == NULL)
        return -1;
    if (add_audit(job, "safety_check", job->check_id,
                  json_pack("{s:s, s:s, s:o, s:b, s:o}", "order_id", o->id, "customer_id", cu->id,
                            "cylinder_id", str_or_null(job->cmd.cylinder_id), "passed",
                            verdict.passed, "findings", str_or_null(verdict.findings))) != 0)
        return -1;
    if (visit && oe->state == LPG_ORDER_ACCEPTED && order_move(job, oe, LPG_ORDER_ARRIVED, NULL))
        return -1;
    if (!verdict.passed) {
        job->counted.checks_failed++;
        if (!visit && cylinders_back_on_vehicle(job, o) != 0)
            return -1;
        if (issue_notice(job, o, cu, &verdict) != 0)
            return -1;
        return order_move(job, oe, LPG_ORDER_FAILED, "hazard");
    }
    job->counted.checks_passed++;
    if (visit) {
        if (close_notices(job, o, cu) != 0)
            return -1;
        return order_move(job, oe, LPG_ORDER_DELIVERED, NULL);
    }
    struct lpg_cylinder *cy = edit(job, RS_CYLINDER, c->id);
    if (cy == NULL)
        return -1;
    snprintf(cy->check_id, sizeof(cy->check_id), "%s", job->check_id);
    cy->updated_ms = job->now_ms;
    return cylinder_moved(job, cy, "checked", NULL);
}

/* ---- delivery confirmation ---- */

static int run_confirm(struct delivery_job *job)
{
    const struct registry *reg = job->base.s->registry;
    const struct lpg_order *o = registry_order(reg, job->cmd.order_id);
    if (o == NULL || strcmp(o->staff_id, job->cmd.staff_id) != 0)
        return refuse_check(job, "not_your_order", "order %s is not assigned to you",
                            job->cmd.order_id);
    if (o->kind != LPG_ORDER_DELIVERY || o->state != LPG_ORDER_ARRIVED)
        return refuse_check(job, "order_not_deliverable",
                            "order %s has no cylinder handed over to confirm", o->id);
    const struct lpg_cylinder *at[ORDER_CYLINDERS_MAX];
    size_t n = of_order(reg, o, LPG_CYL_AT_CUSTOMER, NULL, at, ORDER_CYLINDERS_MAX);
    size_t unchecked = 0;
    for (size_t i = 0; i < n && i < ORDER_CYLINDERS_MAX; i++)
        unchecked += at[i]->check_id[0] == '\0';
    char msg[WHY_MAX];
    if ((int32_t)n < lpg_order_cylinders(o)) {
        snprintf(msg, sizeof(msg), "%zu of %d cylinders were handed over", n,
                 (int)lpg_order_cylinders(o));
        return refuse_check(job, "not_all_handed_over", "%s", msg);
    }
    if (unchecked > 0) {
        snprintf(msg, sizeof(msg), "%zu cylinders handed over have no safety check", unchecked);
        return refuse_check(job, "checks_missing", "%s", msg);
    }
    struct lpg_order *oe = edit(job, RS_ORDER, o->id);
    if (oe == NULL || order_move(job, oe, LPG_ORDER_DELIVERED, NULL) != 0)
        return -1;
    job->counted.delivered++;
    return add_audit(job, "order_delivered", o->id,
                     json_pack("{s:s, s:i}", "customer_id", o->customer_id, "cylinders", (int)n));
}

/* ---- reconciliation at the station ---- */

static int run_return(struct delivery_job *job)
{
    struct service *d = job->base.s;
    const struct registry *reg = d->registry;
    const struct lpg_staff *s = registry_staff(reg, job->cmd.staff_id);
    const struct lpg_vehicle *v =
        s && s->vehicle_id[0] ? registry_vehicle(reg, s->vehicle_id) : NULL;
    if (v == NULL)
        return refuse_check(job, "no_vehicle", "%s", "you are not bound to a vehicle (人车对应)");
    if (v->trip_started_ms == 0)
        return refuse_check(job, "no_trip", "vehicle %s has no trip to reconcile", v->id);
    /* The reconciliation counts what is unloaded at the station: only there. */
    struct vehicle_fix at = vehicle_fix_of(v);
    char why[WHY_MAX];
    const char *code = station_check(v, registry_station(reg, v->station_id), &at, job->now_ms,
                                     &d->delivery_cfg, why, sizeof(why));
    if (code)
        return refuse_check(job, code, "%s", why);
    struct lpg_vehicle *ve = edit(job, RS_VEHICLE, v->id);
    job->rec_missing = json_array();
    if (ve == NULL || job->rec_missing == NULL)
        return -1;
    /* What is still aboard: empties are unloaded; a full cylinder still aboard after the
     * returns is unaccounted for. */
    size_t n = on_vehicle(reg, v);
    const struct lpg_cylinder **aboard = calloc(n ? n : 1, sizeof(*aboard));
    if (aboard == NULL)
        return -1;
    registry_cylinders_on_vehicle(reg, v->id, aboard, n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct lpg_cylinder *cy = edit(job, RS_CYLINDER, aboard[i]->id);
        if (cy == NULL) {
            rc = -1;
            break;
        }
        bool empty = cy->status == LPG_CYL_COLLECTED_EMPTY;
        cy->status = empty ? LPG_CYL_RETURNED_EMPTY : LPG_CYL_LOST;
        cy->vehicle_id[0] = '\0';
        cy->updated_ms = job->now_ms;
        if (empty) {
            cy->order_id[0] = '\0';
            job->rec_empties++;
        } else {
            rc = json_array_append_new(job->rec_missing, json_string(cy->id));
        }
        if (rc == 0)
            rc = cylinder_moved(job, cy, empty ? "returned_empty" : "lost",
                                empty ? NULL : "unaccounted for at the load reconciliation");
    }
    free(aboard);
    if (rc != 0)
        return -1;
    job->rec_loaded = (uint32_t)v->trip_loaded;
    job->rec_handed = (uint32_t)v->trip_handed_over;
    job->rec_returned = (uint32_t)v->trip_returned_full;
    int32_t balance = v->trip_loaded - v->trip_handed_over - v->trip_returned_full;
    size_t missing = json_array_size(job->rec_missing);
    bool balanced = balance == 0 && missing == 0;
    job->counted.reconciliations++;
    json_t *data =
        json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:O, s:b, s:o}", "vehicle_id", v->id, "loaded",
                  (int)v->trip_loaded, "handed_over", (int)v->trip_handed_over, "returned_full",
                  (int)v->trip_returned_full, "empties", (int)job->rec_empties, "balance",
                  (int)balance, "missing", job->rec_missing, "balanced", balanced,
                  "trip_started_at", lpg_json_instant(v->trip_started_ms));
    if (add_audit(job, balanced ? "load_reconciled" : "load_mismatch", v->id, data) != 0)
        return -1;
    ve->trip_started_ms = 0;
    ve->trip_loaded = ve->trip_handed_over = ve->trip_returned_full = ve->trip_empties = 0;
    if (balanced)
        return 0;
    job->counted.reconciliation_mismatches++;
    job->alert = calloc(1, sizeof(*job->alert));
    if (job->alert == NULL)
        return -1;
    char msg[RULE_EVENT_MESSAGE_MAX];
    snprintf(msg, sizeof(msg),
             "load mismatch on vehicle %s: %d loaded, %d handed over, %d "
             "returned, %zu unaccounted for",
             v->id, (int)job->rec_loaded, (int)job->rec_handed, (int)job->rec_returned, missing);
    struct vehicle_fix fix = vehicle_fix_of(v);
    alerts_compliance(job->alert, "load_mismatch", v->enterprise_id, v->id, s->id, fix.pos, msg,
                      job->now_ms);
    return 0;
}

/* ---- the job: decide, commit, answer ---- */

static void job_free(struct usecase_job *base)
{
    struct delivery_job *job = (struct delivery_job *)base;
    changeset_discard(&job->cs);
    for (size_t i = 0; i < job->n_order_events; i++)
        free(job->order_events[i]);
    json_decref(job->cylinder_events);
    json_decref(job->audit);
    json_decref(job->check);
    json_decref(job->rec_missing);
    free(job->alert);
    free(job);
}

static void job_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct delivery_job *job = (struct delivery_job *)base;
    struct delivery_result res = {.cancelled = f->cancelled};
    if (f->store_err)
        res.store_err = f->store_err;
    else
        res.refusal = f->refusal;
    job->done(job->arg, &res);
}

static void answer(struct delivery_job *job)
{
    struct refusal r;
    struct delivery_result res = {0};
    if (job->refusal) {
        /* The rule's stable code; the message quotes the input, truncated to the refusal's. */
        refuse(&r, REFUSAL_RULE, job->refusal, NULL, "%s", job->why);
        res.refusal = &r;
        job->done(job->arg, &res);
        return;
    }
    if (job->cmd.kind != DELIVERY_RETURN) {
        job->done(job->arg, &res);
        return;
    }
    size_t n = json_array_size(job->rec_missing);
    const char **missing = calloc(n ? n : 1, sizeof(*missing));
    for (size_t i = 0; missing && i < n; i++)
        missing[i] = json_string_value(json_array_get(job->rec_missing, i));
    struct delivery_reconciliation rec = {
        .loaded = job->rec_loaded,
        .handed_over = job->rec_handed,
        .returned_full = job->rec_returned,
        .empties = job->rec_empties,
        .missing = missing,
        .n_missing = missing ? n : 0,
        .balanced = n == 0 && job->rec_loaded == job->rec_handed + job->rec_returned,
    };
    res.reconciliation = &rec;
    job->done(job->arg, &res);
    free(missing);
}

static void on_committed(struct usecase_job *base)
{
    struct delivery_job *job = (struct delivery_job *)base;
    struct service *d = job->base.s;
    if (changeset_apply(&job->cs, d->registry) != 0)
        log_error("out of memory applying a stored change to the registry");
    struct delivery_stats unwired = {0}, *st = d->delivery ? &d->delivery->stats : &unwired;
    st->checks_passed += job->counted.checks_passed;
    st->checks_failed += job->counted.checks_failed;
    st->delivered += job->counted.delivered;
    st->reconciliations += job->counted.reconciliations;
    st->reconciliation_mismatches += job->counted.reconciliation_mismatches;
    if (job->orders_changed)
        dispatcher_order_changed(d, job->cmd.order_id);
    if (job->alert)
        alerts_raised(d, job->alert, NULL); /* the dispatchers'; the handset gets the refusal */
    if (job->suspension_changed)
        dispatcher_rematch(d);
    if (job->refusal) {
        st->scans_refused += job->cmd.kind == DELIVERY_SCAN;
        log_info("%s refused for %s: %s (%s)",
                 job->cmd.kind == DELIVERY_SCAN ? action_name(job->cmd.action) : "request",
                 job->cmd.staff_id, job->refusal, job->why);
    } else if (job->cmd.kind != DELIVERY_RETURN) {
        st->scans_accepted += job->cmd.kind == DELIVERY_SCAN;
    }
    answer(job);
}

/* HINCRBY of the refusal's reason in its enterprise's local month of at_ms, the audit entry's
 * time (store/refusal_counts.h). */
static int count_refusal(struct service *d, struct store_txn *txn, const char *enterprise,
                         int64_t at_ms, const json_t *data)
{
    const char *reason = json_string_value(json_object_get(data, "refusal"));
    const struct lpg_enterprise *e = registry_enterprise(d->registry, enterprise);
    char month[8];
    refusal_counts_month(at_ms, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN, month);
    return reason ? refusal_counts_add(d->store, txn, enterprise, month, reason) : -1;
}

/* Everything the job decided, in one transaction. */
static int build_txn(struct delivery_job *job, struct store_txn *txn)
{
    struct service *d = job->base.s;
    const struct lpg_staff *s = registry_staff(d->registry, job->cmd.staff_id);
    if (changeset_save(&job->cs, d->store, txn) != 0)
        return -1;
    const struct lpg_order *o = changeset_find(&job->cs, RS_ORDER, job->cmd.order_id);
    for (size_t i = 0; i < job->n_order_events; i++)
        if (o == NULL || dispatcher_store_order_event(d, txn, o, job->order_events[i]) != 0)
            return -1;
    size_t i;
    json_t *pair;
    json_array_foreach(job->cylinder_events, i, pair)
    {
        char *text = json_dumps(json_array_get(pair, 1), JSON_COMPACT);
        int rc = text ? registry_store_cylinder_event(d->store, txn,
                                                      json_string_value(json_array_get(pair, 0)),
                                                      text, strlen(text))
                      : -1;
        free(text);
        if (rc != 0)
            return -1;
    }
    if (job->check) {
        char rel[LPG_ID_MAX * 2 + 32], k_check[256], k_order[256], k_cust[256], score[24];
        char *text = json_dumps(job->check, JSON_COMPACT | JSON_REAL_PRECISION(10));
        const char *cust = json_string_value(json_object_get(job->check, "customer_id"));
        keys_check(rel, sizeof(rel), job->check_id);
        store_key(d->store, k_check, sizeof(k_check), rel);
        keys_order_checks(rel, sizeof(rel), job->cmd.order_id);
        store_key(d->store, k_order, sizeof(k_order), rel);
        keys_customer_checks(rel, sizeof(rel), cust ? cust : "");
        store_key(d->store, k_cust, sizeof(k_cust), rel);
        snprintf(score, sizeof(score), "%" PRId64, job->now_ms);
        int rc = text == NULL || store_txn_addv(txn, "SET", k_check, text, NULL) ||
                 store_txn_addv(txn, "RPUSH", k_order, job->check_id, NULL) ||
                 store_txn_addv(txn, "ZADD", k_cust, score, job->check_id, NULL);
        free(text);
        if (rc)
            return -1;
    }
    if (job->alert && alerts_store(d, txn, job->alert) != 0)
        return -1;
    json_t *e;
    json_array_foreach(job->audit, i, e)
    {
        struct audit_entry ae = {
            .at_ms = job->now_ms,
            .kind = json_string_value(json_object_get(e, "kind")),
            .actor = job->cmd.staff_id,
            .subject = json_string_value(json_object_get(e, "subject")),
            .enterprise = s ? s->enterprise_id : NULL,
            .data = json_object_get(e, "data"),
        };
        if (audit_log_append(d->audit, txn, &ae) != 0)
            return -1;
        /* The month's compliance table counts the refusals by reason: counted with the entry
         * itself, in its transaction, so the table and the chain cannot disagree. */
        if (s && strcmp(ae.kind, "scan_refused") == 0 &&
            count_refusal(d, txn, s->enterprise_id, ae.at_ms, ae.data) != 0)
            return -1;
    }
    return 0;
}

static void run_job(struct usecase_job *base)
{
    struct delivery_job *job = (struct delivery_job *)base;
    job->now_ms = lpg_now_ms();
    int rc;
    switch (job->cmd.kind) {
    case DELIVERY_SCAN:
        rc = run_scan(job);
        break;
    case DELIVERY_CHECK:
        rc = run_check(job);
        break;
    case DELIVERY_CONFIRM:
        rc = run_confirm(job);
        break;
    default:
        rc = run_return(job);
        break;
    }
    struct store_txn *txn = rc == 0 ? store_txn_new() : NULL;
    if (txn == NULL || build_txn(job, txn) != 0) {
        store_txn_free(txn);
        usecase_job_refuse(&job->base, REFUSAL_UNAVAILABLE, "store_unavailable", NULL,
                           "the request could not be recorded (store or memory); nothing was "
                           "changed, retry later");
        return;
    }
    usecase_job_commit(&job->base, txn);
}

int delivery_init(struct service *s)
{
    s->delivery = calloc(1, sizeof(*s->delivery));
    return s->delivery ? 0 : -1;
}

void delivery_free(struct service *s)
{
    free(s->delivery);
    s->delivery = NULL;
}

const struct delivery_stats *delivery_stats(const struct service *s)
{
    static const struct delivery_stats none;
    return s->delivery ? &s->delivery->stats : &none;
}

static const struct usecase_job_ops delivery_job_ops = {
    .run = run_job,
    .applied = on_committed,
    .failed = job_failed,
    .free = job_free,
};

int delivery_submit(struct service *d, const struct delivery_command *cmd, delivery_done_fn *done,
                    void *arg, struct refusal *r)
{
    struct delivery_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    usecase_job_init(&job->base, &delivery_job_ops, d);
    job->done = done;
    job->arg = arg;
    job->cmd = *cmd;
    job->cylinder_events = json_array();
    job->audit = json_array();
    if (job->cylinder_events == NULL || job->audit == NULL || usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}
