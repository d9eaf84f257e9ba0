/* http_v1_orders.c -- orders over HTTP (docs/http-api.md, "Orders").
 *
 *   GET  /v1/orders                  list (scoped, paged, filterable: ?state=created)
 *   POST /v1/orders                  create: the rules (order_rules.h), then automatic
 *                                    assignment; 201 with the order, assigned or waiting with
 *                                    the reason; 422 with the rule's code when refused
 *   GET  /v1/orders/{id}             one
 *   GET  /v1/orders/{id}/history     its transitions, oldest first
 *   POST /v1/orders/{id}/assign      {"staff_id"}: by hand, to an eligible person only
 *   POST /v1/orders/{id}/unassign    {"reason"}: back to waiting (then re-matched)
 *   POST /v1/orders/{id}/cancel      {"reason"}
 *   POST /v1/orders/{id}/fail        {"reason"}
 *   GET  /v1/events                  live feed of order changes (server-sent events)
 * An illegal transition is 409 and changes nothing.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/dispatcher.h"
#include "common/clock.h"
#include "store/entity.h"
#include "http/live_feed.h"
#include "common/log.h"
#include "core/match.h"
#include "core/order_rules.h"
#include "core/registry.h"
#include "store/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/rand.h>

enum order_op { OP_CREATE, OP_ASSIGN, OP_UNASSIGN, OP_CANCEL, OP_FAIL };

struct order_job {
    struct service *d;
    struct http_call *call;
    struct auth_principal principal;
    enum order_op op;
    json_t *body;
    char id[LPG_ID_MAX + 1];
    struct lpg_order *order; /* the new version (owned until committed) */
    char *events[2];         /* JSON of the transitions this write makes */
    size_t n_events;
    int status; /* HTTP status on success */
};

static void order_job_free(struct order_job *job)
{
    free(job->order);
    for (size_t i = 0; i < job->n_events; i++)
        free(job->events[i]);
    json_decref(job->body);
    free(job);
}

static void cancel_order_job(void *arg)
{
    order_job_free(arg);
}

static int add_event(struct order_job *job, const struct order_event *ev)
{
    json_t *j = lpg_json_from_order_event(ev);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL || job->n_events == 2) {
        free(text);
        return -1;
    }
    job->events[job->n_events++] = text;
    return 0;
}

static void on_order_committed(void *arg, const struct redisReply *reply, const char *err)
{
    struct order_job *job = arg;
    struct service *d = job->d;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the change");
        order_job_free(job);
        return;
    }
    json_t *out = lpg_json_from_order(job->order);
    struct lpg_order *o = job->order;
    job->order = NULL;
    log_info("order %s: %s%s%s", o->id, lpg_order_state_name(o->state),
             o->staff_id[0] ? " to " : (o->reason[0] ? ": " : ""),
             o->staff_id[0] ? o->staff_id : o->reason);
    enum lpg_order_state state = o->state;
    char id[LPG_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", o->id);
    if (registry_put_order(d->registry, o) != 0)
        log_error("out of memory applying an order to the registry");
    else
        dispatcher_order_changed(d, id);
    http_reply_json(job->call, job->status, out);
    /* An order leaving a person (unassigned, cancelled, failed) frees capacity for others. */
    if (job->op != OP_CREATE && state != LPG_ORDER_ASSIGNED)
        dispatcher_rematch(d);
    order_job_free(job);
}

static void finish_with_error(struct writer *w, struct order_job *job, int status, const char *code,
                              const char *msg, const char *field)
{
    writer_finish(w);
    http_reply_error(job->call, status, code, msg, field);
    order_job_free(job);
}

/* Creation: rules, then an immediate match. */
static int prepare_create(struct order_job *job, struct writer *w, int64_t now)
{
    struct service *d = job->d;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    job->order = calloc(1, sizeof(*job->order));
    if (job->order == NULL || lpg_json_to_order(job->body, job->order, &err) != 0) {
        writer_finish(w);
        if (job->order == NULL)
            http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        else
            v1_reply_json_error(job->call, &err);
        order_job_free(job);
        return -1;
    }
    struct lpg_order *o = job->order;
    if (registry_order(d->registry, o->id)) {
        finish_with_error(w, job, 409, "already_exists", "an order with this id exists", "id");
        return -1;
    }
    const struct lpg_enterprise *e = registry_enterprise(d->registry, o->enterprise_id);
    const struct lpg_customer *c = registry_customer(d->registry, o->customer_id);
    /* Another enterprise's customer is answered exactly like a missing one: an order names
     * its own enterprise's customers only, and the answer must not tell which ids exist
     * elsewhere (nor, as customer_not_in_enterprise once did, whose they are). */
    if (c && strcmp(c->enterprise_id, o->enterprise_id) != 0)
        c = NULL;
    if (e == NULL || c == NULL) {
        char msg[200];
        if (e)
            snprintf(msg, sizeof(msg), "no customer with id %s in enterprise %s", o->customer_id,
                     o->enterprise_id);
        else
            snprintf(msg, sizeof(msg), "no enterprise with id %s", o->enterprise_id);
        finish_with_error(w, job, 422, "unknown_reference", msg,
                          e ? "customer_id" : "enterprise_id");
        return -1;
    }
    struct order_refusal refusal;
    if (order_rules_check(e, c, o, now, &refusal) != 0) {
        finish_with_error(w, job, 422, refusal.code, refusal.message, refusal.field);
        return -1;
    }
    o->state = LPG_ORDER_CREATED;
    o->created_ms = o->updated_ms = now;
    struct order_event created = {.at_ms = now,
                                  .from = LPG_ORDER_CREATED,
                                  .to = LPG_ORDER_CREATED,
                                  .actor = ORDER_ACTOR_DISPATCHER};
    snprintf(created.actor_id, sizeof(created.actor_id), "%s", job->principal.user);
    struct order_event assigned;
    int ok = add_event(job, &created) == 0;
    if (ok && dispatcher_try_assign(d, o, now, &assigned))
        ok = add_event(job, &assigned) == 0;
    if (!ok) {
        finish_with_error(w, job, 500, "internal", "out of memory", NULL);
        return -1;
    }
    job->status = 201;
    return 0;
}

/* A transition of an existing order by a dispatcher. */
static int prepare_transition(struct order_job *job, struct writer *w, int64_t now)
{
    struct service *d = job->d;
    const struct lpg_order *cur = registry_order(d->registry, job->id);
    if (cur && v1_hidden(&job->principal, cur->enterprise_id))
        cur = NULL; /* another enterprise's: exactly like a missing one */
    if (cur == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no order with id %s", job->id);
        finish_with_error(w, job, 404, "not_found", msg, NULL);
        return -1;
    }
    if (v1_allow(job->call, d, &job->principal, AUTH_WRITE, cur->enterprise_id) != 0) {
        writer_finish(w);
        order_job_free(job);
        return -1;
    }
    job->order = lpg_order_dup(cur);
    if (job->order == NULL) {
        finish_with_error(w, job, 500, "internal", "out of memory", NULL);
        return -1;
    }
    struct lpg_order *o = job->order;
    const char *reason = json_string_value(json_object_get(job->body, "reason"));
    enum lpg_order_state to = LPG_ORDER_CREATED;
    const struct lpg_staff *s = NULL;
    char why[300];
    if (job->op == OP_ASSIGN) {
        const char *staff_id = json_string_value(json_object_get(job->body, "staff_id"));
        s = staff_id ? registry_staff(d->registry, staff_id) : NULL;
        if (s && strcmp(s->enterprise_id, o->enterprise_id) != 0)
            s = NULL; /* another enterprise's person: never named, never assignable */
        if (s == NULL) {
            finish_with_error(
                w, job, staff_id ? 422 : 400, staff_id ? "unknown_reference" : "missing_field",
                staff_id ? "no such staff member" : "staff_id is required", "staff_id");
            return -1;
        }
        if (o->state == LPG_ORDER_CREATED &&
            !match_staff_eligible(d->registry, o, s, now, why, sizeof(why))) {
            finish_with_error(w, job, 422, "not_eligible", why, "staff_id");
            return -1;
        }
        to = LPG_ORDER_ASSIGNED;
    } else if (job->op == OP_CANCEL) {
        to = LPG_ORDER_CANCELLED;
    } else if (job->op == OP_FAIL) {
        to = LPG_ORDER_FAILED;
    }
    if (to != LPG_ORDER_ASSIGNED && order_fsm_reason_required(o->state, to) &&
        (reason == NULL || reason[strspn(reason, " \t\r\n\v\f")] == '\0')) {
        finish_with_error(w, job, 400, "missing_field", "a reason is required", "reason");
        return -1;
    }
    if (reason && strlen(reason) > LPG_TEXT_MAX) {
        finish_with_error(w, job, 400, "invalid_field", "reason is longer than 255 bytes",
                          "reason");
        return -1;
    }
    char previous[LPG_ID_MAX + 1];
    snprintf(previous, sizeof(previous), "%s", o->staff_id);
    struct order_event ev;
    if (order_fsm_apply(o, to, ORDER_ACTOR_DISPATCHER, job->principal.user, reason, now, &ev, why,
                        sizeof(why)) != 0) {
        finish_with_error(w, job, 409, "illegal_transition", why, NULL);
        return -1;
    }
    /* Taken away from someone by a dispatcher: matching must not hand it straight back. */
    if (job->op == OP_UNASSIGN && previous[0])
        lpg_order_add_rejection(o, previous);
    if (s) {
        snprintf(o->staff_id, sizeof(o->staff_id), "%s", s->id);
        snprintf(o->vehicle_id, sizeof(o->vehicle_id), "%s", s->vehicle_id);
    }
    if (add_event(job, &ev) != 0) {
        finish_with_error(w, job, 500, "internal", "out of memory", NULL);
        return -1;
    }
    job->status = 200;
    return 0;
}

static void run_order_job(struct writer *w, void *arg)
{
    struct order_job *job = arg;
    int64_t now = lpg_now_ms();
    int rc = job->op == OP_CREATE ? prepare_create(job, w, now) : prepare_transition(job, w, now);
    if (rc != 0)
        return; /* replied and freed */
    struct service *d = job->d;
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    json_t *j = lpg_json_from_order(job->order);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    rc = txn && text
             ? registry_store_save(d->store, txn, RS_ORDER, job->order->id, text, strlen(text))
             : -1;
    free(text);
    if (rc != 0) {
        store_txn_free(txn);
        finish_with_error(w, job, 500, "internal", why, NULL);
        return;
    }
    for (size_t i = 0; rc == 0 && i < job->n_events; i++)
        rc = dispatcher_store_order_event(d, txn, job->order, job->events[i]);
    if (rc != 0) {
        /* Nothing changes unrecorded: refused like a store outage. */
        store_txn_free(txn);
        finish_with_error(w, job, 503, "store_unavailable",
                          "the change could not be recorded in the audit log; retry later", NULL);
        return;
    }
    if (writer_commit(w, txn, on_order_committed, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        order_job_free(job);
    }
}

/* A new order id when the client gives none: time-ordered, unique per instance and beyond
 * (random suffix), e.g. "o-2026112821152212-3f9a1c". */
static void new_order_id(char out[LPG_ID_MAX + 1])
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

static void submit_order_job(struct http_call *call, void *ctx, enum order_op op)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    /* The actions take a reason (and assign a staff_id); orders themselves are checked field by
     * field by model_json. */
    static const char *const action_fields[] = {"reason", "staff_id", NULL};
    if (op != OP_CREATE && v1_only_fields(call, body, action_fields) != 0) {
        json_decref(body);
        return;
    }
    if (op == OP_CREATE) {
        if (p->role == AUTH_ROLE_DISPATCHER && json_object_get(body, "enterprise_id") == NULL)
            json_object_set_new(body, "enterprise_id", json_string(p->enterprise_id));
        if (json_object_get(body, "id") == NULL) {
            char id[LPG_ID_MAX + 1];
            new_order_id(id);
            json_object_set_new(body, "id", json_string(id));
        }
        const char *ent = json_string_value(json_object_get(body, "enterprise_id"));
        if (v1_allow(call, d, p, AUTH_WRITE, ent && lpg_id_valid(ent) ? ent : NULL) != 0) {
            json_decref(body);
            return;
        }
    }
    struct order_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        json_decref(body);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    job->principal = *p;
    job->op = op;
    job->body = body;
    const char *id = op == OP_CREATE ? json_string_value(json_object_get(body, "id"))
                                     : http_call_param(call, "id");
    snprintf(job->id, sizeof(job->id), "%s", id ? id : "");
    if (writer_submit(d->writer, run_order_job, cancel_order_job, job) != 0) {
        order_job_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

static void handle_create(struct http_call *call, void *ctx)
{
    submit_order_job(call, ctx, OP_CREATE);
}
static void handle_assign(struct http_call *call, void *ctx)
{
    submit_order_job(call, ctx, OP_ASSIGN);
}
static void handle_unassign(struct http_call *call, void *ctx)
{
    submit_order_job(call, ctx, OP_UNASSIGN);
}
static void handle_cancel(struct http_call *call, void *ctx)
{
    submit_order_job(call, ctx, OP_CANCEL);
}
static void handle_fail(struct http_call *call, void *ctx)
{
    submit_order_job(call, ctx, OP_FAIL);
}

/* ---- history: read straight from the store ---- */

void v1_on_json_list(void *arg, const struct redisReply *reply, const char *err)
{
    struct http_call *call = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_unreadable(call);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        const struct redisReply *r = reply->element[i];
        json_t *ev = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
        if (ev)
            json_array_append_new(items, ev);
    }
    http_reply_json(call, 200, json_pack("{s:o}", "items", items));
}

/* GET /v1/events: the live feed of order changes (live_feed.h). */
static void handle_events(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    /* Dispatchers see their enterprise; admins and auditors every one. */
    if (v1_allow(call, d, p, AUTH_READ,
                 p->role == AUTH_ROLE_DISPATCHER ? p->enterprise_id : NULL) != 0)
        return;
    live_feed_subscribe(d->feed, call, p, http_call_header(call, "Last-Event-ID"));
}

static void handle_history(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_order *o = v1_scoped_entity(call, d, p, &entity_ops[RS_ORDER]);
    if (o == NULL)
        return;
    char rel[LPG_ID_MAX + 32], key[256];
    keys_order_history(rel, sizeof(rel), o->id);
    store_key(d->store, key, sizeof(key), rel);
    const char *argv[] = {"LRANGE", key, "0", "-1"};
    const char *why;
    if (store_command_argv(d->store, v1_on_json_list, call, 4, argv, NULL, &why) != 0)
        v1_reply_store_unreadable(call);
}

/* List and get come from the generic registry handlers, bound to the order kind here. */
static void handle_list(struct http_call *call, void *ctx)
{
    v1_list_kind(call, ctx, &entity_ops[RS_ORDER]);
}
static void handle_get(struct http_call *call, void *ctx)
{
    v1_get_one(call, ctx, &entity_ops[RS_ORDER]);
}

const struct http_route v1_order_routes[] = {
    {"GET", "/v1/orders", handle_list, HTTP_ROUTE_READ},
    {"POST", "/v1/orders", handle_create, HTTP_ROUTE_WRITE},
    {"GET", "/v1/orders/{id}", handle_get, HTTP_ROUTE_READ},
    {"GET", "/v1/orders/{id}/history", handle_history, HTTP_ROUTE_READ},
    {"POST", "/v1/orders/{id}/assign", handle_assign, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/unassign", handle_unassign, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/cancel", handle_cancel, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/fail", handle_fail, HTTP_ROUTE_WRITE},
    {"GET", "/v1/events", handle_events, HTTP_ROUTE_READ},
};
const size_t v1_order_routes_count = sizeof(v1_order_routes) / sizeof(v1_order_routes[0]);
