/* orders.c -- the order use cases (orders.h): decide against the registry, commit the order
 * with its history and audit entries in one transaction, then update the registry, publish
 * and answer. The one implementation of every order transition a person or a user asks for.
 */
#define LOG_TAG "orders"
#include "app/refuse_from.h"
#include "app/orders.h"

#include "app/dispatcher.h"
#include "app/events.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/match.h"
#include "core/model_json.h"
#include "core/order_fsm.h"
#include "core/order_rules.h"
#include "core/registry.h"
#include "store/registry_store.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define ORDERS_EVENTS_MAX 2 /* transitions one request makes (created, then assigned) */

struct orders_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    orders_done_fn *done;
    void *arg;
    enum orders_op op;
    bool by_user;
    struct auth_principal user;
    char staff_id[LPG_ID_MAX + 1]; /* the device's person */
    char order_id[LPG_ID_MAX + 1];
    char previous[LPG_ID_MAX + 1]; /* who held the order before this request ("" if none) */
    char *assignee;                /* owned; NULL when absent */
    char *reason;                  /* owned; NULL when absent */
    json_t *body;                  /* CREATE: owned reference */
    bool on_duty;
    enum lpg_order_state track_from, track_to; /* TRACK */
    int64_t track_at_ms;
    struct lpg_order *order;         /* the new version (owned until committed) */
    struct lpg_staff *staff;         /* DUTY: the new version */
    char *events[ORDERS_EVENTS_MAX]; /* JSON of the transitions this write makes */
    size_t n_events;
};

static void job_free(struct usecase_job *base)
{
    struct orders_job *job = (struct orders_job *)base;
    free(job->order);
    free(job->staff);
    for (size_t i = 0; i < job->n_events; i++)
        free(job->events[i]);
    free(job->assignee);
    free(job->reason);
    json_decref(job->body);
    free(job);
}

static void job_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct orders_job *job = (struct orders_job *)base;
    struct orders_result res = {.cancelled = f->cancelled};
    if (f->store_err)
        res.store_err = f->store_err;
    else
        res.refusal = f->refusal;
    job->done(job->arg, &res);
}

static int add_event(struct orders_job *job, const struct order_event *ev)
{
    char *text = lpg_order_event_text(ev);
    if (text == NULL || job->n_events == ORDERS_EVENTS_MAX) {
        free(text);
        return -1;
    }
    job->events[job->n_events++] = text;
    return 0;
}

/* ---- after the commit ---- */

static void job_applied(struct usecase_job *base)
{
    struct orders_job *job = (struct orders_job *)base;
    struct service *s = job->base.s;
    struct orders_result res = {0};
    bool rematch;
    if (job->op == ORDERS_DUTY) {
        log_info("%s is %s duty", job->staff_id, job->staff->on_duty ? "on" : "off");
        /* The registry takes a copy: the job's version is the answer's. */
        struct lpg_staff *put = lpg_staff_dup(job->staff);
        if (put == NULL || registry_put_staff(s->registry, put) != 0)
            log_error("out of memory applying a staff record to the registry");
        res.staff = job->staff;
        rematch = true; /* someone coming on duty may take waiting orders */
    } else {
        struct lpg_order *o = job->order;
        if (job->by_user)
            log_info("order %s: %s%s%s", o->id, lpg_order_state_name(o->state),
                     o->staff_id[0] ? " to " : (o->reason[0] ? ": " : ""),
                     o->staff_id[0] ? o->staff_id : o->reason);
        else if (job->op == ORDERS_TRACK)
            log_info("order %s %s (from the track of %s)", o->id, lpg_order_state_name(o->state),
                     o->vehicle_id);
        else
            log_info("order %s %s by %s", o->id, job->op == ORDERS_ACCEPT ? "accepted" : "rejected",
                     job->staff_id);
        struct lpg_order *put = lpg_order_dup(o);
        if (put == NULL || registry_put_order(s->registry, put) != 0)
            log_error("out of memory applying an order to the registry");
        else
            dispatcher_order_changed(s, o->id);
        res.order = o;
        res.created = job->op == ORDERS_CREATE;
        /* Taken from the person who held it by a dispatcher (cancelled or failed: it keeps
         * their staff_id; unassigned; given to someone else): their handset must drop it
         * (handset/ tells it). */
        if (job->by_user && job->previous[0] &&
            !(order_fsm_is_active(o->state) && strcmp(job->previous, o->staff_id) == 0)) {
            struct service_event ev = {.kind = EV_ORDER_WITHDRAWN,
                                       .enterprise_id = o->enterprise_id,
                                       .order_id = o->id,
                                       .staff_id = job->previous,
                                       .order = o,
                                       .reason = job->reason};
            event_bus_publish(s->bus, &ev);
        }
        /* An order leaving a person (rejected, unassigned, cancelled, failed, reassigned) frees
         * capacity for others; a new one was matched already, an accepted one stays. */
        rematch = (job->op != ORDERS_CREATE && job->op != ORDERS_ACCEPT &&
                   job->op != ORDERS_TRACK && o->state != LPG_ORDER_ASSIGNED) ||
                  (job->op == ORDERS_ASSIGN && job->previous[0]);
    }
    job->done(job->arg, &res);
    if (rematch)
        dispatcher_rematch(s);
    else
        dispatcher_rearm(s); /* a new window, a window's end, a delivery: the next instant moves */
}

/* ---- deciding ---- */

/* Creation: the rules, then an immediate match. */
static int prepare_create(struct orders_job *job, int64_t now)
{
    struct service *s = job->base.s;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    job->order = calloc(1, sizeof(*job->order));
    if (job->order == NULL)
        return usecase_job_out_of_memory(&job->base);
    if (lpg_json_to_order(job->body, job->order, &err) != 0) {
        bool internal = err.code && strcmp(err.code, "internal") == 0;
        return usecase_job_refuse(&job->base, internal ? REFUSAL_INTERNAL : REFUSAL_INVALID,
                                  err.code ? err.code : "invalid_field",
                                  err.field[0] ? err.field : NULL, "%s", err.message);
    }
    struct lpg_order *o = job->order;
    if (registry_order(s->registry, o->id))
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "already_exists", "id",
                                  "an order with this id exists");
    const struct lpg_enterprise *e = registry_enterprise(s->registry, o->enterprise_id);
    const struct lpg_customer *c = registry_customer(s->registry, o->customer_id);
    /* Another enterprise's customer is answered exactly like a missing one: an order names
     * its own enterprise's customers only, and the answer must not tell which ids exist
     * elsewhere (nor, as customer_not_in_enterprise once did, whose they are). */
    if (c && strcmp(c->enterprise_id, o->enterprise_id) != 0)
        c = NULL;
    if (e == NULL)
        return usecase_job_refuse(&job->base, REFUSAL_RULE, "unknown_reference", "enterprise_id",
                                  "no enterprise with id %s", o->enterprise_id);
    if (c == NULL)
        return usecase_job_refuse(&job->base, REFUSAL_RULE, "unknown_reference", "customer_id",
                                  "no customer with id %s in enterprise %s", o->customer_id,
                                  o->enterprise_id);
    struct order_refusal refusal;
    if (order_rules_check(e, c, o, now, &refusal) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_RULE, refusal.code, refusal.field, "%s",
                                  refusal.message);
    o->state = LPG_ORDER_CREATED;
    o->created_ms = o->updated_ms = now;
    struct order_event created = {.at_ms = now,
                                  .from = LPG_ORDER_CREATED,
                                  .to = LPG_ORDER_CREATED,
                                  .actor = ORDER_ACTOR_DISPATCHER};
    snprintf(created.actor_id, sizeof(created.actor_id), "%s", job->user.user);
    struct order_event assigned;
    bool ok = add_event(job, &created) == 0;
    if (ok && dispatcher_try_assign(s, o, now, &assigned))
        ok = add_event(job, &assigned) == 0;
    return ok ? 0 : usecase_job_out_of_memory(&job->base);
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n\v\f")] == '\0';
}

/* A dispatcher gives an assigned or accepted order to another person: back to waiting, then
 * to them (two history entries), as if unassigned and assigned at once; the person it is
 * taken from gets OrderWithdrawn REASSIGNED. Loaded and later orders carry cylinders on the
 * holder's vehicle: those stay refused (illegal_transition). */
static int prepare_reassign(struct orders_job *job, const struct lpg_staff *st, int64_t now)
{
    struct service *s = job->base.s;
    struct lpg_order *o = job->order;
    char why[300];
    char reason[LPG_TEXT_MAX + 1];
    if (job->reason && !blank(job->reason))
        snprintf(reason, sizeof(reason), "%s", job->reason);
    else
        snprintf(reason, sizeof(reason), "reassigned to %s", st->id);
    if (job->reason && strlen(job->reason) > LPG_TEXT_MAX)
        return usecase_job_refuse(&job->base, REFUSAL_INVALID, "invalid_field", "reason",
                                  "reason is longer than 255 bytes");
    struct lpg_order probe = *o;
    struct order_event back, given;
    if (order_fsm_apply(&probe, LPG_ORDER_CREATED, ORDER_ACTOR_DISPATCHER, job->user.user, reason,
                        now, &back, why, sizeof(why)) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", NULL, "%s",
                                  why);
    if (!match_staff_eligible(s->registry, &probe, st, now, why, sizeof(why)))
        return usecase_job_refuse(&job->base, REFUSAL_RULE, "not_eligible", "staff_id", "%s", why);
    if (order_fsm_apply(&probe, LPG_ORDER_ASSIGNED, ORDER_ACTOR_DISPATCHER, job->user.user, NULL,
                        now, &given, why, sizeof(why)) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", NULL, "%s",
                                  why);
    snprintf(probe.staff_id, sizeof(probe.staff_id), "%s", st->id);
    snprintf(probe.vehicle_id, sizeof(probe.vehicle_id), "%s", st->vehicle_id);
    *o = probe;
    if (job->reason == NULL) {
        job->reason = strdup(reason); /* the withdrawal's message quotes it */
        if (job->reason == NULL)
            return usecase_job_out_of_memory(&job->base);
    }
    return add_event(job, &back) == 0 && add_event(job, &given) == 0
               ? 0
               : usecase_job_out_of_memory(&job->base);
}

/* A transition of an existing order: by a user (assign, unassign, cancel, fail) or by the
 * assignee's device (accept, reject). */
static int prepare_transition(struct orders_job *job, int64_t now)
{
    struct service *s = job->base.s;
    const struct lpg_order *cur = registry_order(s->registry, job->order_id);
    if (!job->by_user) {
        /* A device answers only what is assigned to its person; anything else, whether it
         * exists or not, is answered the same. */
        if (cur == NULL || strcmp(cur->staff_id, job->staff_id) != 0)
            return usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_your_order", NULL,
                                      "order %s is not assigned to you", job->order_id);
    } else {
        /* Another enterprise's order: exactly like a missing one. */
        if (cur && hidden_from(&job->user, cur->enterprise_id))
            cur = NULL;
        if (cur == NULL)
            return usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_found", NULL,
                                      "no order with id %s", job->order_id);
        struct refusal denied;
        if (refuse_unless_allowed(&denied, &job->user, AUTH_WRITE, cur->enterprise_id) != 0)
            return usecase_job_refused(&job->base, &denied);
    }
    job->order = lpg_order_dup(cur);
    if (job->order == NULL)
        return usecase_job_out_of_memory(&job->base);
    struct lpg_order *o = job->order;
    snprintf(job->previous, sizeof(job->previous), "%s", o->staff_id);
    enum lpg_order_state to = LPG_ORDER_CREATED;
    const struct lpg_staff *st = NULL;
    char why[300];
    switch (job->op) {
    case ORDERS_ASSIGN:
        st = job->assignee ? registry_staff(s->registry, job->assignee) : NULL;
        if (st && strcmp(st->enterprise_id, o->enterprise_id) != 0)
            st = NULL; /* another enterprise's person: never named, never assignable */
        if (job->assignee == NULL)
            return usecase_job_refuse(&job->base, REFUSAL_INVALID, "missing_field", "staff_id",
                                      "staff_id is required");
        if (st == NULL)
            return usecase_job_refuse(&job->base, REFUSAL_RULE, "unknown_reference", "staff_id",
                                      "no such staff member");
        if (st && (o->state == LPG_ORDER_ASSIGNED || o->state == LPG_ORDER_ACCEPTED) &&
            strcmp(o->staff_id, st->id) != 0)
            return prepare_reassign(job, st, now);
        if (o->state == LPG_ORDER_CREATED &&
            !match_staff_eligible(s->registry, o, st, now, why, sizeof(why)))
            return usecase_job_refuse(&job->base, REFUSAL_RULE, "not_eligible", "staff_id", "%s",
                                      why);
        to = LPG_ORDER_ASSIGNED;
        break;
    case ORDERS_CANCEL:
        to = LPG_ORDER_CANCELLED;
        break;
    case ORDERS_FAIL:
        to = LPG_ORDER_FAILED;
        break;
    case ORDERS_ACCEPT:
        to = LPG_ORDER_ACCEPTED;
        break;
    default: /* UNASSIGN, REJECT: back to waiting */
        break;
    }
    /* A user's reason is checked here; a device's by its transport (which refuses a missing or
     * oversized one before it gets here), the state machine saying the rest. */
    if (job->by_user) {
        if (to != LPG_ORDER_ASSIGNED && order_fsm_reason_required(o->state, to) &&
            (job->reason == NULL || blank(job->reason)))
            return usecase_job_refuse(&job->base, REFUSAL_INVALID, "missing_field", "reason",
                                      "a reason is required");
        if (job->reason && strlen(job->reason) > LPG_TEXT_MAX)
            return usecase_job_refuse(&job->base, REFUSAL_INVALID, "invalid_field", "reason",
                                      "reason is longer than 255 bytes");
    }
    const char *previous = job->previous;
    struct order_event ev;
    const char *actor_id = job->by_user ? job->user.user : job->staff_id;
    const char *reason = job->by_user || job->op == ORDERS_REJECT ? job->reason : NULL;
    if (order_fsm_apply(o, to, job->by_user ? ORDER_ACTOR_DISPATCHER : ORDER_ACTOR_DEVICE, actor_id,
                        reason, now, &ev, why, sizeof(why)) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", NULL, "%s",
                                  why);
    /* Taken away from someone, or refused by them: matching must not hand it straight back. */
    if (job->op == ORDERS_UNASSIGN && previous[0])
        lpg_order_add_rejection(o, previous);
    if (job->op == ORDERS_REJECT)
        lpg_order_add_rejection(o, job->staff_id);
    if (st) {
        snprintf(o->staff_id, sizeof(o->staff_id), "%s", st->id);
        snprintf(o->vehicle_id, sizeof(o->vehicle_id), "%s", st->vehicle_id);
    }
    return add_event(job, &ev) == 0 ? 0 : usecase_job_out_of_memory(&job->base);
}

/* The track moved the order (ingest, depot_watch.h): only from the state it saw, so a change
 * made meanwhile (a hand-over, a cancellation) is never undone. */
static int prepare_track(struct orders_job *job)
{
    const struct lpg_order *cur = registry_order(job->base.s->registry, job->order_id);
    if (cur == NULL || cur->state != job->track_from)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", NULL,
                                  "order %s is no longer %s", job->order_id,
                                  lpg_order_state_name(job->track_from));
    job->order = lpg_order_dup(cur);
    if (job->order == NULL)
        return usecase_job_out_of_memory(&job->base);
    struct order_event ev;
    char why[300];
    if (order_fsm_apply(job->order, job->track_to, ORDER_ACTOR_SYSTEM, "track", NULL,
                        job->track_at_ms, &ev, why, sizeof(why)) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", NULL, "%s",
                                  why);
    return add_event(job, &ev) == 0 ? 0 : usecase_job_out_of_memory(&job->base);
}

/* A person's duty: their staff record's on_duty. */
static int prepare_duty(struct orders_job *job)
{
    const struct lpg_staff *cur = registry_staff(job->base.s->registry, job->staff_id);
    if (cur == NULL)
        return usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_found", NULL,
                                  "your staff record no longer exists");
    job->staff = lpg_staff_dup(cur);
    if (job->staff == NULL)
        return usecase_job_out_of_memory(&job->base);
    job->staff->on_duty = job->on_duty;
    return 0;
}

/* The new version of the record, its history and audit entries, in one transaction. */
static int build_txn(struct orders_job *job, struct store_txn *txn)
{
    struct service *s = job->base.s;
    json_t *rec = job->order ? lpg_json_from_order(job->order) : lpg_json_from_staff(job->staff);
    char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(rec);
    int rc =
        text ? registry_store_save(s->store, txn, job->order ? RS_ORDER : RS_STAFF,
                                   job->order ? job->order->id : job->staff->id, text, strlen(text))
             : -1;
    free(text);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < job->n_events; i++)
        if (dispatcher_store_order_event(s, txn, job->order, job->events[i]) != 0)
            return -2;
    return 0;
}

static void run_job(struct usecase_job *base)
{
    struct orders_job *job = (struct orders_job *)base;
    int64_t now = lpg_now_ms();
    int rc = job->op == ORDERS_CREATE  ? prepare_create(job, now)
             : job->op == ORDERS_DUTY  ? prepare_duty(job)
             : job->op == ORDERS_TRACK ? prepare_track(job)
                                       : prepare_transition(job, now);
    if (rc != 0)
        return; /* answered and freed */
    struct store_txn *txn = store_txn_new();
    rc = txn ? build_txn(job, txn) : -1;
    if (rc != 0) {
        store_txn_free(txn);
        if (rc == -1)
            usecase_job_out_of_memory(&job->base);
        else /* nothing changes unrecorded: refused like a store outage */
            usecase_job_refuse(&job->base, REFUSAL_UNAVAILABLE, "store_unavailable", NULL,
                               "the change could not be recorded in the audit log; retry later");
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops orders_job_ops = {
    .run = run_job,
    .applied = job_applied,
    .failed = job_failed,
    .free = job_free,
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int orders_submit(struct service *s, const struct orders_request *req, orders_done_fn *done,
                  void *arg, struct refusal *r)
{
    struct orders_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    usecase_job_init(&job->base, &orders_job_ops, s);
    job->done = done;
    job->arg = arg;
    job->op = req->op;
    job->by_user = req->user != NULL;
    if (req->user)
        job->user = *req->user;
    job->on_duty = req->on_duty;
    job->track_from = req->from;
    job->track_to = req->to;
    job->track_at_ms = req->at_ms;
    snprintf(job->staff_id, sizeof(job->staff_id), "%s", req->staff_id ? req->staff_id : "");
    snprintf(job->order_id, sizeof(job->order_id), "%s", req->order_id ? req->order_id : "");
    job->assignee = dup_or_null(req->assignee);
    job->reason = dup_or_null(req->reason);
    job->body = json_incref(req->order);
    if ((req->assignee && job->assignee == NULL) || (req->reason && job->reason == NULL) ||
        usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}

void orders_new_id(char out[LPG_ID_MAX + 1])
{
    int64_t now = lpg_now_ms();
    char stamp[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(now, stamp);
    unsigned char rnd[3] = {0, 0, 0};
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        rnd[0] = (unsigned char)(now & 0xff);
    char digits[20];
    size_t n = 0;
    for (const char *p = stamp; *p && n < 17; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    digits[n] = '\0';
    snprintf(out, LPG_ID_MAX + 1, "o-%s-%02x%02x%02x", digits, rnd[0], rnd[1], rnd[2]);
}
