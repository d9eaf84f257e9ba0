/* http_v1_compliance.c -- delivery compliance over HTTP (docs/compliance.md):
 *
 *   GET  /v1/cylinders/{id}/history   the cylinder's life events, oldest first
 *   POST /v1/cylinders/{id}/events    a station event: filled, due_inspection,
 *                                     sent_for_inspection, inspected, scrapped, lost
 *   GET  /v1/vehicles/{id}/load       what the vehicle carries and its trip counters
 *   GET  /v1/orders/{id}/checks       the order's safety checks
 *   GET  /v1/checks/{id}              one safety check
 *   GET  /v1/hazards                  the hazard ledger (台账): ?status=open|overdue|closed,
 *                                     customer_id, from, to (found between), enterprise_id
 *   GET  /v1/hazards/{id}             one rectification notice
 *
 * Cylinders themselves are listed, created and patched by the registry handlers
 * (http_v1_registry.c); their movements (status, vehicle, customer, order) are never edited:
 * handsets scan them (delivery.c) and the station records its events here. Every station
 * event goes into the cylinder's history and the audit log in the same transaction.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "store/audit_log.h"
#include "common/clock.h"
#include "app/delivery.h"
#include "core/delivery_rules.h"
#include "store/entity.h"
#include "common/log.h"
#include "core/registry.h"
#include "store/registry_store.h"
#include "store/writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

/* Events returned by one history request, at most (a cylinder's whole life is a few hundred
 * movements a year). */
#define HISTORY_MAX 5000

static void lrange(struct http_call *call, struct service *d, const char *rel, long last)
{
    char key[256], stop[24];
    store_key(d->store, key, sizeof(key), rel);
    snprintf(stop, sizeof(stop), "%ld", last);
    const char *argv[] = {"LRANGE", key, "0", stop};
    const char *why;
    if (store_command_argv(d->store, v1_on_json_list, call, 4, argv, NULL, &why) != 0)
        v1_reply_store_unreadable(call);
}

static void handle_history(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    const struct lpg_cylinder *c =
        p ? v1_scoped_entity(call, d, p, &entity_ops[RS_CYLINDER]) : NULL;
    if (c == NULL)
        return;
    char rel[LPG_ID_MAX + 32];
    snprintf(rel, sizeof(rel), "cylinder:%s:history", c->id);
    lrange(call, d, rel, HISTORY_MAX - 1);
}

/* ---- station events ---- */

/* What a station event does: from which statuses, to which. */
static const struct station_event {
    const char *name;
    unsigned from; /* bit per enum lpg_cylinder_status */
    enum lpg_cylinder_status to;
} station_events[] = {
    {"filled", 1u << LPG_CYL_RETURNED_EMPTY, LPG_CYL_IN_STOCK},
    {"due_inspection", 1u << LPG_CYL_IN_STOCK | 1u << LPG_CYL_RETURNED_EMPTY,
     LPG_CYL_DUE_INSPECTION},
    {"sent_for_inspection",
     1u << LPG_CYL_IN_STOCK | 1u << LPG_CYL_RETURNED_EMPTY | 1u << LPG_CYL_DUE_INSPECTION,
     LPG_CYL_SENT_INSPECTION},
    {"inspected", 1u << LPG_CYL_SENT_INSPECTION, LPG_CYL_RETURNED_EMPTY},
    /* A cylinder on a vehicle or at a customer is not at the station to be scrapped. */
    {"scrapped",
     1u << LPG_CYL_IN_STOCK | 1u << LPG_CYL_RETURNED_EMPTY | 1u << LPG_CYL_DUE_INSPECTION |
         1u << LPG_CYL_SENT_INSPECTION | 1u << LPG_CYL_LOST,
     LPG_CYL_SCRAPPED},
    {"lost", ~(1u << LPG_CYL_SCRAPPED | 1u << LPG_CYL_LOST), LPG_CYL_LOST},
};
#define N_STATION_EVENTS (sizeof(station_events) / sizeof(station_events[0]))

struct event_job {
    struct service *d;
    struct http_call *call;
    struct auth_principal principal;
    char id[LPG_ID_MAX + 1];
    const struct station_event *ev;
    char note[LPG_TEXT_MAX + 1];
    int32_t next_inspection_day; /* inspected: required */
    int32_t service_life_years;  /* inspected: optional extension; 0 = unchanged */
    struct changeset cs;
    char *history; /* the life event, JSON */
};

static void event_job_free(struct event_job *job)
{
    changeset_discard(&job->cs);
    free(job->history);
    free(job);
}

static void cancel_event(void *arg)
{
    event_job_free(arg);
}

static void on_event_committed(void *arg, const struct redisReply *reply, const char *err)
{
    struct event_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the change");
        event_job_free(job);
        return;
    }
    json_t *out = lpg_json_from_cylinder(job->cs.items[0].entity);
    changeset_apply(&job->cs, job->d->registry);
    log_info("cylinder %s %s by %s", job->id, job->ev->name, job->principal.user);
    http_reply_json(job->call, 200, out);
    event_job_free(job);
}

static void event_refuse(struct writer *w, struct event_job *job, int status, const char *code,
                         const char *msg, const char *field)
{
    writer_finish(w);
    http_reply_error(job->call, status, code, msg, field);
    event_job_free(job);
}

static void run_event(struct writer *w, void *arg)
{
    struct event_job *job = arg;
    struct service *d = job->d;
    int64_t now = lpg_now_ms();
    const struct lpg_cylinder *cur = registry_cylinder(d->registry, job->id);
    char msg[300];
    if (cur == NULL || v1_hidden(&job->principal, cur->enterprise_id)) {
        snprintf(msg, sizeof(msg), "no cylinder with code %s", job->id);
        event_refuse(w, job, 404, "not_found", msg, NULL);
        return;
    }
    if (v1_allow(job->call, d, &job->principal, AUTH_WRITE, cur->enterprise_id) != 0) {
        writer_finish(w);
        event_job_free(job);
        return;
    }
    if ((job->ev->from & (1u << cur->status)) == 0) {
        snprintf(msg, sizeof(msg), "cylinder %s is %s: it cannot be %s", cur->id,
                 lpg_cylinder_status_name(cur->status), job->ev->name);
        event_refuse(w, job, 409, "illegal_transition", msg, "event");
        return;
    }
    const struct lpg_enterprise *e = registry_enterprise(d->registry, cur->enterprise_id);
    int32_t today = lpg_local_day(now, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
    struct lpg_cylinder *c = lpg_cylinder_dup(cur);
    if (c == NULL || changeset_add(&job->cs, RS_CYLINDER, c) != 0) {
        event_refuse(w, job, 500, "internal", "out of memory", NULL);
        return;
    }
    if (job->ev->to == LPG_CYL_RETURNED_EMPTY) { /* inspected */
        if (job->next_inspection_day <= today) {
            event_refuse(w, job, 400, "invalid_field", "next_inspection must be a date after today",
                         "next_inspection");
            return;
        }
        c->last_inspection_day = today;
        c->next_inspection_day = job->next_inspection_day;
        if (job->service_life_years)
            c->service_life_years = job->service_life_years;
    }
    c->status = job->ev->to;
    c->vehicle_id[0] = c->customer_id[0] = c->order_id[0] = c->check_id[0] = '\0';
    c->updated_ms = now;
    /* A cylinder filled for delivery must be deliverable: filling an overdue one is refused. */
    char why[300];
    if (c->status == LPG_CYL_IN_STOCK &&
        cylinder_unusable(c, c->enterprise_id, today, &d->delivery_cfg, why, sizeof(why))) {
        event_refuse(w, job, 409, "cylinder_unusable", why, "event");
        return;
    }
    json_t *hist = delivery_cylinder_event(now, job->ev->name, job->principal.user, c,
                                           job->note[0] ? job->note : NULL);
    job->history = hist ? json_dumps(hist, JSON_COMPACT) : NULL;
    char kind[48];
    snprintf(kind, sizeof(kind), "cylinder_%s", job->ev->name);
    struct audit_entry ae = {now, kind, job->principal.user, c->id, c->enterprise_id, hist};
    struct store_txn *txn = store_txn_new();
    const char *fail = "out of memory";
    int rc = txn && job->history ? changeset_save(&job->cs, d->store, txn) : -1;
    if (rc == 0)
        rc =
            registry_store_cylinder_event(d->store, txn, c->id, job->history, strlen(job->history));
    if (rc == 0 && audit_log_append(d->audit, txn, &ae) != 0) {
        rc = -1;
        fail = "the audit record is unavailable";
    }
    json_decref(hist);
    if (rc != 0) {
        store_txn_free(txn);
        writer_finish(w);
        v1_reply_store_refused(job->call, fail);
        event_job_free(job);
        return;
    }
    if (writer_commit(w, txn, on_event_committed, job, &fail) != 0) {
        v1_reply_store_refused(job->call, fail);
        event_job_free(job);
    }
}

static void handle_event(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const allowed[] = {"event", "note", "next_inspection", "service_life_years",
                                          NULL};
    struct event_job *job = NULL;
    const char *name = json_string_value(json_object_get(body, "event"));
    const char *note = json_string_value(json_object_get(body, "note"));
    const char *next = json_string_value(json_object_get(body, "next_inspection"));
    json_t *life = json_object_get(body, "service_life_years");
    const struct station_event *ev = NULL;
    for (size_t i = 0; name && i < N_STATION_EVENTS; i++)
        if (strcmp(station_events[i].name, name) == 0)
            ev = &station_events[i];
    if (v1_only_fields(call, body, allowed) != 0)
        goto done;
    if (ev == NULL) {
        http_reply_error(call, 400, name ? "invalid_field" : "missing_field",
                         "event is one of filled, due_inspection, sent_for_inspection, "
                         "inspected, scrapped, lost",
                         "event");
        goto done;
    }
    if (note && (strlen(note) > LPG_TEXT_MAX || !lpg_utf8_valid(note, strlen(note)))) {
        http_reply_error(call, 400, "invalid_field", "note is UTF-8 of at most 255 bytes", "note");
        goto done;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        goto done;
    }
    job->next_inspection_day = LPG_DAY_NONE;
    if (ev->to == LPG_CYL_RETURNED_EMPTY &&
        (next == NULL || lpg_day_parse(next, &job->next_inspection_day) != 0)) {
        http_reply_error(call, 400, next ? "invalid_field" : "missing_field",
                         "an inspection records the next inspection date, YYYY-MM-DD",
                         "next_inspection");
        goto done;
    }
    if (life && (!json_is_integer(life) || json_integer_value(life) < 1 ||
                 json_integer_value(life) > d->delivery_cfg.max_life_years ||
                 ev->to != LPG_CYL_RETURNED_EMPTY)) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "service_life_years (an inspection's extension) is 1..%d (cylinder_max_life)",
                 (int)d->delivery_cfg.max_life_years);
        http_reply_error(call, 400, "invalid_field", msg, "service_life_years");
        goto done;
    }
    job->d = d;
    job->call = call;
    job->principal = *p;
    job->ev = ev;
    job->service_life_years = life ? (int32_t)json_integer_value(life) : 0;
    snprintf(job->id, sizeof(job->id), "%s", http_call_param(call, "id"));
    snprintf(job->note, sizeof(job->note), "%s", note ? note : "");
    if (writer_submit(d->writer, run_event, cancel_event, job) != 0) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        goto done;
    }
    job = NULL; /* the writer owns it */
done:
    free(job);
    json_decref(body);
}

/* ---- a vehicle's load ---- */

struct aboard_filter {
    const char *vehicle_id;
};

static bool aboard(const void *e, void *arg)
{
    const struct lpg_cylinder *c = e;
    const struct aboard_filter *f = arg;
    return (c->status == LPG_CYL_LOADED || c->status == LPG_CYL_COLLECTED_EMPTY) &&
           strcmp(c->vehicle_id, f->vehicle_id) == 0;
}

static void handle_load(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    const struct lpg_vehicle *v = p ? v1_scoped_vehicle(call, d, p) : NULL;
    if (v == NULL)
        return;
    json_t *full = json_array(), *empty = json_array();
    const struct lpg_cylinder *page[256];
    struct aboard_filter f = {v->id};
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    do {
        n = registry_list_cylinders(d->registry, v->enterprise_id, after, 256, aboard, &f, page);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(page[i]->status == LPG_CYL_LOADED ? full : empty,
                                  json_pack("{s:s, s:s, s:s?}", "id", page[i]->id, "spec",
                                            page[i]->spec, "order_id",
                                            page[i]->order_id[0] ? page[i]->order_id : NULL));
        if (n)
            snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    } while (n == 256);
    json_t *trip = json_pack("{s:i, s:i, s:i, s:i}", "loaded", (int)v->trip_loaded, "handed_over",
                             (int)v->trip_handed_over, "returned_full", (int)v->trip_returned_full,
                             "empties", (int)v->trip_empties);
    json_object_set_new(trip, "started_at", lpg_json_instant(v->trip_started_ms));
    http_reply_json(call, 200,
                    json_pack("{s:s, s:i, s:o, s:o, s:o}", "vehicle_id", v->id, "capacity",
                              (int)v->capacity, "full", full, "empty", empty, "trip", trip));
}

/* ---- safety checks ---- */

struct checks_read {
    struct http_call *call;
    struct service *d;
    struct auth_principal principal;
};

/* Sends one read of the checks' keys (argv[1] is the key suffix, prefixed here) for the
 * principal p; fn gets a struct checks_read it must free. Replies 500/503 itself on failure. */
static void read_checks(struct http_call *call, struct service *d, const struct auth_principal *p,
                        store_reply_fn *fn, int argc, const char **argv)
{
    struct checks_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    rd->call = call;
    rd->d = d;
    rd->principal = *p;
    char key[256];
    store_key(d->store, key, sizeof(key), argv[1]);
    argv[1] = key;
    const char *why;
    if (store_command_argv(d->store, fn, rd, argc, argv, NULL, &why) != 0) {
        free(rd);
        v1_reply_store_unreadable(call);
    }
}

/* LRANGE of the order's check ids answered: fetch the records. */
static void on_check_ids(void *arg, const struct redisReply *reply, const char *err)
{
    struct checks_read *rd = arg;
    struct http_call *call = rd->call;
    struct service *d = rd->d;
    free(rd);
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_unreadable(call);
        return;
    }
    if (reply->elements == 0) {
        http_reply_json(call, 200, json_pack("{s:[]}", "items"));
        return;
    }
    size_t n = reply->elements;
    const char **argv = calloc(n + 1, sizeof(*argv));
    char(*keys)[128] = calloc(n, sizeof(*keys));
    const char *why = "out of memory";
    int rc = argv && keys ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct redisReply *r = reply->element[i];
        char rel[LPG_ID_MAX + 16];
        snprintf(rel, sizeof(rel), "check:%.*s", r->type == REDIS_REPLY_STRING ? (int)r->len : 0,
                 r->type == REDIS_REPLY_STRING ? r->str : "");
        store_key(d->store, keys[i], sizeof(keys[i]), rel);
        argv[i + 1] = keys[i];
    }
    if (rc == 0) {
        argv[0] = "MGET";
        rc = store_command_argv(d->store, v1_on_json_list, call, (int)n + 1, argv, NULL, &why);
    }
    free(argv);
    free(keys);
    if (rc != 0)
        v1_reply_store_unreadable(call);
}

static void handle_order_checks(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_order *o = v1_scoped_entity(call, d, p, &entity_ops[RS_ORDER]);
    if (o == NULL)
        return;
    char rel[LPG_ID_MAX + 32];
    snprintf(rel, sizeof(rel), "order:%s:checks", o->id);
    /* An order has one check per cylinder: bounded by its items. */
    const char *argv[] = {"LRANGE", rel, "0", "999"};
    read_checks(call, d, p, on_check_ids, 4, argv);
}

static void on_check(void *arg, const struct redisReply *reply, const char *err)
{
    struct checks_read *rd = arg;
    struct http_call *call = rd->call;
    json_t *j = !err && reply->type == REDIS_REPLY_STRING
                    ? json_loadb(reply->str, reply->len, 0, NULL)
                    : NULL;
    const char *ent = json_string_value(json_object_get(j, "enterprise_id"));
    if (err || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        v1_reply_store_unreadable(call);
    } else if (j == NULL || ent == NULL || v1_hidden(&rd->principal, ent)) {
        http_reply_error(call, 404, "not_found", "no such safety check", NULL);
    } else if (v1_allow(call, rd->d, &rd->principal, AUTH_READ, ent) == 0) {
        http_reply_json(call, 200, j);
        j = NULL;
    }
    json_decref(j);
    free(rd);
}

static void handle_check(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    if (id == NULL || !lpg_id_valid(id)) {
        http_reply_error(call, 404, "not_found", "no such safety check", NULL);
        return;
    }
    char rel[LPG_ID_MAX + 16];
    snprintf(rel, sizeof(rel), "check:%s", id);
    const char *argv[] = {"GET", rel};
    read_checks(call, d, p, on_check, 2, argv);
}

/* ---- the hazard ledger ---- */

static json_t *hazard_json(const struct lpg_hazard *h, int64_t now_ms)
{
    json_t *j = lpg_json_from_hazard(h);
    json_object_set_new(j, "overdue",
                        json_boolean(h->status == LPG_HAZARD_OPEN && now_ms > h->deadline_ms));
    return j;
}

struct ledger_filter {
    int status; /* -1 any, LPG_HAZARD_OPEN, LPG_HAZARD_CLOSED, 2 overdue */
    const char *customer_id;
    int64_t from_ms, to_ms; /* found within [from, to); 0 = open end */
    int64_t now_ms;
};

static bool ledger_match(const void *e, void *arg)
{
    const struct lpg_hazard *h = e;
    const struct ledger_filter *f = arg;
    if (f->status == 2 && !(h->status == LPG_HAZARD_OPEN && f->now_ms > h->deadline_ms))
        return false;
    if (f->status >= 0 && f->status < 2 && (int)h->status != f->status)
        return false;
    if (f->customer_id && strcmp(h->customer_id, f->customer_id) != 0)
        return false;
    return (f->from_ms == 0 || h->found_ms >= f->from_ms) &&
           (f->to_ms == 0 || h->found_ms < f->to_ms);
}

static void handle_hazards(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    if (p->role == AUTH_ROLE_DISPATCHER && ent == NULL)
        ent = p->enterprise_id;
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    struct ledger_filter f = {-1, http_call_query(call, "customer_id"), 0, 0, lpg_now_ms()};
    const char *status = http_call_query(call, "status");
    if (status) {
        f.status = strcmp(status, "overdue") == 0 ? 2 : lpg_hazard_status_parse(status);
        if (f.status < 0) {
            http_reply_error(call, 400, "invalid_field", "status is open, overdue or closed",
                             "status");
            return;
        }
    }
    if ((http_call_query(call, "from") && v1_query_instant(call, "from", &f.from_ms) != 0) ||
        (http_call_query(call, "to") && v1_query_instant(call, "to", &f.to_ms) != 0))
        return;
    const struct lpg_hazard **page = calloc((size_t)limit, sizeof(*page));
    if (page == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    size_t n = registry_list_hazards(d->registry, ent, http_call_query(call, "after"),
                                     (size_t)limit, ledger_match, &f, page);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, hazard_json(page[i], f.now_ms));
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == (size_t)limit ? page[n - 1]->id : NULL);
    free(page);
    http_reply_json(call, 200, body);
}

static void handle_hazard(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_hazard *h = v1_scoped_entity(call, d, p, &entity_ops[RS_HAZARD]);
    if (h != NULL)
        http_reply_json(call, 200, hazard_json(h, lpg_now_ms()));
}

const struct http_route v1_compliance_routes[] = {
    {"GET", "/v1/cylinders/{id}/history", handle_history, HTTP_ROUTE_READ},
    {"POST", "/v1/cylinders/{id}/events", handle_event, HTTP_ROUTE_WRITE},
    {"GET", "/v1/vehicles/{id}/load", handle_load, HTTP_ROUTE_READ},
    {"GET", "/v1/orders/{id}/checks", handle_order_checks, HTTP_ROUTE_READ},
    {"GET", "/v1/checks/{id}", handle_check, HTTP_ROUTE_READ},
    {"GET", "/v1/hazards", handle_hazards, HTTP_ROUTE_READ},
    {"GET", "/v1/hazards/{id}", handle_hazard, HTTP_ROUTE_READ},
};
const size_t v1_compliance_routes_count =
    sizeof(v1_compliance_routes) / sizeof(v1_compliance_routes[0]);
