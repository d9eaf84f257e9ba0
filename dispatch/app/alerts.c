/* alerts.c -- storing, pushing, listing and acknowledging tracking alerts (alerts.h). */
#define LOG_TAG "alerts"
#include "app/alerts.h"
#include "common/clock.h"

#include "store/audit_log.h"
#include "http/http_v1.h"
#include "http/live_feed.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/writer.h"

#include "lpg/v1/envelope.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/rand.h>

/* Alerts returned by one list request, at most. */
#define ALERTS_PAGE_MAX 500

void alerts_from_event(struct lpg_alert *a, const struct rule_event *ev, const char *enterprise,
                       const char *vehicle, const char *staff, int64_t now_ms)
{
    memset(a, 0, sizeof(*a));
    unsigned char rnd[4] = {0, 0, 0, 0};
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        rnd[0] = (unsigned char)now_ms;
    snprintf(a->id, sizeof(a->id), "a-%" PRId64 "-%02x%02x%02x%02x", now_ms, rnd[0], rnd[1], rnd[2],
             rnd[3]);
    snprintf(a->enterprise_id, sizeof(a->enterprise_id), "%s", enterprise);
    snprintf(a->vehicle_id, sizeof(a->vehicle_id), "%s", vehicle);
    snprintf(a->staff_id, sizeof(a->staff_id), "%s", staff);
    a->ev = *ev;
    a->created_ms = now_ms;
}

void alerts_compliance(struct lpg_alert *a, const char *source, const char *enterprise,
                       const char *vehicle, const char *staff, struct geo_point pos,
                       const char *message, int64_t now_ms)
{
    struct rule_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RULE_EVENT_VIOLATION_START;
    ev.start_ms = ev.end_ms = now_ms;
    ev.pos = pos;
    snprintf(ev.message, sizeof(ev.message), "%s", message);
    alerts_from_event(a, &ev, enterprise, vehicle, staff, now_ms);
    snprintf(a->source, sizeof(a->source), "%s", source);
}

static const char *const compliance_sources[] = {"roadside_sale", "load_mismatch", "hazard"};

bool alerts_rule_known(const char *name)
{
    for (int r = 0; r < RULE_COUNT; r++)
        if (strcmp(rules_table[r]->name, name) == 0)
            return true;
    for (size_t i = 0; i < sizeof(compliance_sources) / sizeof(compliance_sources[0]); i++)
        if (strcmp(compliance_sources[i], name) == 0)
            return true;
    return false;
}

const char *alerts_rule_name(const struct lpg_alert *a)
{
    return a->source[0] ? a->source : rules_table[a->ev.rule]->name;
}

json_t *alerts_to_json(const struct lpg_alert *a)
{
    const struct rule_event *ev = &a->ev;
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:{s:f, s:f}, s:b, s:s, "
        "s:o}",
        "id", a->id, "enterprise_id", a->enterprise_id, "vehicle_id", a->vehicle_id, "staff_id",
        a->staff_id, "rule", alerts_rule_name(a), "kind", rule_event_kind_name(ev->kind), "start",
        lpg_json_instant(ev->start_ms), "end", lpg_json_instant(ev->end_ms), "duration_ms",
        (json_int_t)ev->duration_ms, "position", "lon", ev->pos.lon, "lat", ev->pos.lat, "late",
        ev->late, "message", ev->message, "created_at", lpg_json_instant(a->created_ms));
    if (j && a->source[0] == '\0' && ev->rule == RULE_OVERSPEED) {
        json_object_set_new(j, "max_speed_kmh", json_real(ev->max_speed_kmh));
        json_object_set_new(j, "limit_kmh", json_real(ev->limit));
    }
    if (j && a->source[0] == '\0' && ev->rule == RULE_FATIGUE)
        json_object_set_new(j, "code",
                            json_string(ev->code == RULE_FATIGUE_DAILY ? "daily" : "continuous"));
    if (j && ev->rest_until_ms > 0)
        json_object_set_new(j, "rest_until", lpg_json_instant(ev->rest_until_ms));
    return j;
}

/* {p} + the key `kind` names for id (keys.h: keys_alert, keys_alerts_enterprise, ...). */
static int key_of(const struct service *d, char *out, size_t cap, keys_id_fn *kind, const char *id)
{
    char rel[LPG_ID_MAX * 2 + 32];
    kind(rel, sizeof(rel), id);
    return store_key(d->store, out, cap, rel);
}

/* The audit entry of a raised alert: integers and strings only (audit_chain.h), the position
 * in 1e-7 degrees, speeds in whole km/h as the rules compare them. */
static int audit_alert(struct service *d, struct store_txn *txn, const struct lpg_alert *a)
{
    const struct rule_event *ev = &a->ev;
    json_t *data = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:s, s:I, s:I}", "rule", alerts_rule_name(a),
        "event", rule_event_kind_name(ev->kind), "vehicle_id", a->vehicle_id, "staff_id",
        a->staff_id, "start_ms", (json_int_t)ev->start_ms, "end_ms", (json_int_t)ev->end_ms,
        "duration_ms", (json_int_t)ev->duration_ms, "late", ev->late, "message", ev->message,
        "lon_e7", (json_int_t)llround(ev->pos.lon * 1e7), "lat_e7",
        (json_int_t)llround(ev->pos.lat * 1e7));
    if (data && a->source[0] == '\0' && ev->rule == RULE_OVERSPEED) {
        json_object_set_new(data, "max_speed_kmh",
                            json_integer((json_int_t)llround(ev->max_speed_kmh)));
        json_object_set_new(data, "limit_kmh", json_integer((json_int_t)llround(ev->limit)));
    }
    char actor[64];
    /* A tracking rule raised it, or the compliance checks of a handset request (whose own
     * audit entries name the person). */
    snprintf(actor, sizeof(actor), "%s:%s", a->source[0] ? "compliance" : "rule",
             alerts_rule_name(a));
    struct audit_entry e = {a->created_ms, "alert_raised", actor, a->id, a->enterprise_id, data};
    int rc = data ? audit_log_append(d->audit, txn, &e) : -1;
    json_decref(data);
    return rc;
}

/* The instant an alert is listed by: its event's `end` (decided, or the episode ended). */
static int64_t alert_event_ms(const struct lpg_alert *a)
{
    return a->ev.end_ms > 0 ? a->ev.end_ms : a->created_ms;
}

/* {p}alerts-by-rule:{rule}:{enterprise} or {p}alerts-by-rule:{rule}:vehicle:{vehicle}. */
static int rule_key(const struct service *d, char *out, size_t cap, const char *rule,
                    int per_vehicle, const char *id)
{
    char rel[LPG_ID_MAX * 2 + 32];
    keys_alerts_by_rule(rel, sizeof(rel), rule, per_vehicle, id);
    return store_key(d->store, out, cap, rel);
}

int alerts_store(struct service *d, struct store_txn *txn, const struct lpg_alert *a)
{
    json_t *j = alerts_to_json(a);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (text == NULL)
        return -1;
    char k_alert[256], k_ent[256], k_veh[256], k_rent[256], k_rveh[256], score[24], ttl[24];
    key_of(d, k_alert, sizeof(k_alert), keys_alert, a->id);
    key_of(d, k_ent, sizeof(k_ent), keys_alerts_enterprise, a->enterprise_id);
    key_of(d, k_veh, sizeof(k_veh), keys_alerts_vehicle, a->vehicle_id);
    rule_key(d, k_rent, sizeof(k_rent), alerts_rule_name(a), 0, a->enterprise_id);
    rule_key(d, k_rveh, sizeof(k_rveh), alerts_rule_name(a), 1, a->vehicle_id);
    /* Listed by the event's time, not the storage time: a late upload's violations sit where
     * they happened. */
    snprintf(score, sizeof(score), "%" PRId64, alert_event_ms(a));
    snprintf(ttl, sizeof(ttl), "%d", ALERT_RETENTION_DAYS * 86400);
    /* The index sets forget ids whose records have expired. */
    char oldest[32];
    snprintf(oldest, sizeof(oldest), "(%lld",
             (long long)(alert_event_ms(a) - (int64_t)ALERT_RETENTION_DAYS * 86400000LL));
    int rc = store_txn_addv(txn, "SET", k_alert, text, "EX", ttl, NULL);
    const char *idx[] = {k_ent, k_veh, k_rent, k_rveh};
    for (size_t i = 0; rc == 0 && i < sizeof(idx) / sizeof(idx[0]); i++)
        rc = store_txn_addv(txn, "ZADD", idx[i], score, a->id, NULL) ||
             store_txn_addv(txn, "ZREMRANGEBYSCORE", idx[i], "-inf", oldest, NULL);
    if (rc == 0)
        rc = audit_alert(d, txn, a);
    free(text);
    return rc ? -1 : 0;
}

void alerts_raised(struct service *d, const struct lpg_alert *a, struct handset_conn *c)
{
    log_info("%s%s %s: vehicle %s (%s): %s", a->ev.late ? "late " : "", alerts_rule_name(a),
             rule_event_kind_name(a->ev.kind), a->vehicle_id, a->staff_id, a->ev.message);
    if (a->ev.late)
        return; /* recorded, but not a live alert */
    json_t *j = alerts_to_json(a);
    if (j)
        live_feed_publish(d->feed, a->enterprise_id, "alert", j);
    if (c == NULL)
        return;
    Lpg__V1__Alert msg = LPG__V1__ALERT__INIT;
    msg.alert_id = (char *)a->id;
    msg.kind = (char *)alerts_rule_name(a);
    msg.message = (char *)a->ev.message;
    msg.has_time_ms = 1;
    msg.time_ms = (uint64_t)a->ev.end_ms;
    msg.has_severity = 1;
    /* 1 warning, 2 a violation begins, 0 an episode ended (information). */
    msg.severity = a->ev.kind == RULE_EVENT_WARNING         ? 1
                   : a->ev.kind == RULE_EVENT_VIOLATION_END ? 0
                                                            : 2;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.body_case = LPG__V1__ENVELOPE__BODY_ALERT;
    env.alert = &msg;
    handset_conn_send(c, &env);
}

int alerts_system(struct service *d, const char *source, const char *message, struct store_txn *txn)
{
    int64_t now = lpg_now_ms();
    struct rule_event ev;
    memset(&ev, 0, sizeof(ev));
    struct lpg_alert a;
    alerts_from_event(&a, &ev, "", "", "", now); /* for its id */
    log_warn("system alert %s (%s): %s", a.id, source, message);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", a.id, "kind", "system", "rule", source,
                          "message", message, "created_at", lpg_json_instant(now));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    /* Live at once, before the record is confirmed: the alert may be about the store itself. */
    if (j)
        live_feed_publish(d->feed, "", "alert", j); /* "": only all-enterprise streams */
    if (text == NULL || txn == NULL) {
        free(text);
        return -1;
    }
    char k_alert[256], k_idx[256], score[24], ttl[24], oldest[32];
    key_of(d, k_alert, sizeof(k_alert), keys_alert, a.id);
    store_key(d->store, k_idx, sizeof(k_idx), KEYS_ALERTS_SYSTEM);
    snprintf(score, sizeof(score), "%" PRId64, now);
    snprintf(ttl, sizeof(ttl), "%d", ALERT_RETENTION_DAYS * 86400);
    snprintf(oldest, sizeof(oldest), "(%lld",
             (long long)(now - (int64_t)ALERT_RETENTION_DAYS * 86400000LL));
    int rc = store_txn_addv(txn, "SET", k_alert, text, "EX", ttl, NULL) ||
             store_txn_addv(txn, "ZADD", k_idx, score, a.id, NULL) ||
             store_txn_addv(txn, "ZREMRANGEBYSCORE", k_idx, "-inf", oldest, NULL);
    free(text);
    return rc ? -1 : 0;
}

/* ---- GET /v1/alerts?enterprise_id=&vehicle_id=&rule=&from=&to=&limit=&cursor= ---- */

/* A page's position: the event time of the next alert to list, and how many alerts of that
 * very time were already listed (alerts of one batch share it). Text form "<ms>.<skip>". */
struct alerts_cursor {
    int64_t ms;
    uint64_t skip;
};

static int cursor_parse(const char *s, struct alerts_cursor *c)
{
    char *end;
    errno = 0;
    long long ms = strtoll(s, &end, 10);
    if (errno || end == s || *end != '.' || ms < 0)
        return -1;
    const char *k = end + 1;
    unsigned long long skip = strtoull(k, &end, 10);
    if (errno || end == k || *end != '\0' || *k == '-' || skip > 1000000)
        return -1;
    c->ms = ms;
    c->skip = skip;
    return 0;
}

struct list_job {
    struct http_call *call;
    struct service *d;
    int limit;
    struct alerts_cursor at; /* where this page starts */
    char next[48];           /* the cursor of the next page; "" when this is the last */
};

static void on_alert_bodies(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_job *job = arg;
    struct http_call *call = job->call;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        free(job);
        v1_reply_store_unreadable(call);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *r = reply->element[i];
        json_t *a = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
        if (a)
            json_array_append_new(items, a); /* expired alerts are simply absent */
    }
    json_t *body = json_pack("{s:o}", "items", items);
    if (body && job->next[0])
        json_object_set_new(body, "next", json_string(job->next));
    free(job);
    http_reply_json(call, 200, body);
}

static void on_alert_ids(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_job *job = arg;
    struct http_call *call = job->call;
    struct service *d = job->d;
    /* ZRANGE ... WITHSCORES: id, score, id, score... */
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        free(job);
        v1_reply_store_unreadable(call);
        return;
    }
    size_t n = reply->elements / 2;
    if (n == 0) {
        free(job);
        http_reply_json(call, 200, json_pack("{s:[]}", "items"));
        return;
    }
    if (n == (size_t)job->limit) {
        /* A full page: the next one starts after the last id listed, counted among the ids of
         * its time. */
        int64_t last = strtoll(reply->element[2 * n - 1]->str, NULL, 10);
        uint64_t same = 0;
        for (size_t i = n; i > 0 && strtoll(reply->element[2 * i - 1]->str, NULL, 10) == last; i--)
            same++;
        if (same == n && last == job->at.ms)
            same += job->at.skip; /* the whole page shared the cursor's time */
        snprintf(job->next, sizeof(job->next), "%" PRId64 ".%" PRIu64, last, same);
    }
    const char **argv = calloc(n + 1, sizeof(char *));
    char(*keys)[256] = calloc(n, sizeof(*keys));
    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        key_of(d, keys[i], sizeof(keys[i]), keys_alert, reply->element[2 * i]->str);
        argv[i + 1] = keys[i];
    }
    const char *why;
    int rc = store_command_argv(d->store, on_alert_bodies, job, (int)n + 1, argv, NULL, &why);
    free(argv);
    free(keys);
    if (rc != 0) {
        free(job);
        v1_reply_store_unreadable(call);
    }
}

static int parse_time_param(struct http_call *call, const char *name, int64_t dflt, int64_t *out)
{
    const char *s = http_call_query(call, name);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    if (lpg_json_instant_parse(s, out) != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be an RFC 3339 instant, e.g. 2026-11-28T00:00:00Z",
                 name);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    return 0;
}

static void handle_list(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    const char *veh = http_call_query(call, "vehicle_id");
    if (veh) {
        const struct lpg_vehicle *v = lpg_id_valid(veh) ? registry_vehicle(d->registry, veh) : NULL;
        if (v == NULL ||
            (p->role == AUTH_ROLE_DISPATCHER && strcmp(v->enterprise_id, p->enterprise_id) != 0)) {
            http_reply_error(call, 404, "not_found", "no such vehicle", "vehicle_id");
            return;
        }
        ent = v->enterprise_id;
    } else if (ent == NULL && p->role == AUTH_ROLE_DISPATCHER) {
        ent = p->enterprise_id;
    }
    if (ent == NULL) {
        http_reply_error(call, 400, "missing_parameter", "name an enterprise_id or a vehicle_id",
                         "enterprise_id");
        return;
    }
    if (!lpg_id_valid(ent)) {
        http_reply_error(call, 400, "invalid_parameter", "enterprise_id is not a valid id",
                         "enterprise_id");
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, lpg_id_valid(ent) ? ent : NULL) != 0)
        return;
    int64_t from, to;
    if (parse_time_param(call, "from", 0, &from) != 0 ||
        parse_time_param(call, "to", INT64_MAX / 2, &to) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    if (limit > ALERTS_PAGE_MAX)
        limit = ALERTS_PAGE_MAX;
    const char *rule_name = http_call_query(call, "rule");
    if (rule_name && !alerts_rule_known(rule_name)) {
        http_reply_error(call, 400, "invalid_parameter",
                         "rule must be overspeed, fatigue, zone_exit, signal_lost, "
                         "roadside_sale, load_mismatch or hazard",
                         "rule");
        return;
    }
    struct alerts_cursor at = {from, 0};
    const char *cursor = http_call_query(call, "cursor");
    if (cursor && cursor_parse(cursor, &at) != 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "cursor must be the \"next\" of a previous page", "cursor");
        return;
    }
    if (at.ms < from) /* a cursor never reaches before `from` */
        at = (struct alerts_cursor){from, 0};
    char key[256], smin[24], smax[24], soff[24], slimit[16];
    if (rule_name)
        rule_key(d, key, sizeof(key), rule_name, veh != NULL, veh ? veh : ent);
    else
        key_of(d, key, sizeof(key), veh ? keys_alerts_vehicle : keys_alerts_enterprise,
               veh ? veh : ent);
    snprintf(smin, sizeof(smin), "%" PRId64, at.ms);
    snprintf(smax, sizeof(smax), "(%" PRId64, to);
    snprintf(soff, sizeof(soff), "%" PRIu64, at.skip);
    snprintf(slimit, sizeof(slimit), "%d", limit);
    const char *argv[] = {"ZRANGE", key,  smin,   smax,        "BYSCORE",
                          "LIMIT",  soff, slimit, "WITHSCORES"};
    struct list_job *job = calloc(1, sizeof(*job));
    const char *why = "out of memory";
    if (job == NULL) {
        http_reply_error(call, 500, "internal", why, NULL);
        return;
    }
    job->call = call;
    job->d = d;
    job->limit = limit;
    job->at = at;
    if (store_command_argv(d->store, on_alert_ids, job, 9, argv, NULL, &why) != 0) {
        free(job);
        v1_reply_store_unreadable(call);
    }
}

/* ---- POST /v1/alerts/{id}/ack {"note"} ---- */

struct ack_job {
    struct service *d;
    struct http_call *call;
    struct auth_principal principal;
    char id[LPG_ID_MAX + 1];
    char note[LPG_TEXT_MAX + 1];
    struct writer *w;
    json_t *acked;
};

static void ack_job_free(struct ack_job *job)
{
    json_decref(job->acked);
    free(job);
}

static void cancel_ack(void *arg)
{
    ack_job_free(arg);
}

static void on_ack_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct ack_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the change");
    } else {
        log_info("alert %s acknowledged by %s", job->id, job->principal.user);
        http_reply_json(job->call, 200, json_incref(job->acked));
    }
    ack_job_free(job);
}

static void on_ack_read(void *arg, const struct redisReply *reply, const char *err)
{
    struct ack_job *job = arg;
    struct writer *w = job->w;
    struct service *d = job->d;
    json_t *a = NULL;
    if (err || reply->type == REDIS_REPLY_ERROR) {
        writer_finish(w);
        v1_reply_store_refused(job->call, err ? err : "the store could not read the alert");
        ack_job_free(job);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING)
        a = json_loadb(reply->str, reply->len, 0, NULL);
    const char *ent = a ? json_string_value(json_object_get(a, "enterprise_id")) : NULL;
    if (a == NULL || ent == NULL ||
        (job->principal.role == AUTH_ROLE_DISPATCHER &&
         strcmp(ent, job->principal.enterprise_id) != 0)) {
        json_decref(a);
        writer_finish(w);
        http_reply_error(job->call, 404, "not_found", "no such alert", NULL);
        ack_job_free(job);
        return;
    }
    if (v1_allow(job->call, d, &job->principal, AUTH_WRITE, ent) != 0) {
        json_decref(a);
        writer_finish(w);
        ack_job_free(job);
        return;
    }
    if (json_object_get(a, "acknowledged_by") != NULL) {
        json_decref(a);
        writer_finish(w);
        http_reply_error(job->call, 409, "already_acknowledged",
                         "this alert was already acknowledged", NULL);
        ack_job_free(job);
        return;
    }
    json_object_set_new(a, "acknowledged_by", json_string(job->principal.user));
    json_object_set_new(a, "acknowledged_at", lpg_json_instant(lpg_now_ms()));
    json_object_set_new(a, "ack_note", json_string(job->note));
    job->acked = a;
    char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(10));
    char key[256];
    key_of(d, key, sizeof(key), keys_alert, job->id);
    struct store_txn *txn = store_txn_new();
    /* KEEPTTL: the acknowledgement does not extend the record's retention. */
    int rc = text && txn ? store_txn_addv(txn, "SET", key, text, "KEEPTTL", NULL) : -1;
    free(text);
    if (rc != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        ack_job_free(job);
        return;
    }
    json_t *data = json_pack("{s:s}", "note", job->note);
    struct audit_entry e = {lpg_now_ms(), "alert_acknowledged", job->principal.user, job->id, ent,
                            data};
    rc = data ? audit_log_append(d->audit, txn, &e) : -1;
    json_decref(data);
    if (rc != 0) {
        store_txn_free(txn);
        writer_finish(w);
        v1_reply_store_refused(job->call, "the audit record is not available");
        ack_job_free(job);
        return;
    }
    const char *why;
    if (writer_commit(w, txn, on_ack_stored, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        ack_job_free(job);
    }
}

static void run_ack(struct writer *w, void *arg)
{
    struct ack_job *job = arg;
    job->w = w;
    char key[256];
    key_of(job->d, key, sizeof(key), keys_alert, job->id);
    const char *argv[] = {"GET", key};
    const char *why;
    /* Read, then commit, inside the writer job: acknowledgements never race. */
    if (store_command_argv(job->d->store, on_ack_read, job, 2, argv, NULL, &why) != 0) {
        writer_finish(w);
        v1_reply_store_refused(job->call, why);
        ack_job_free(job);
    }
}

static void handle_ack(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const ack_fields[] = {"note", NULL};
    if (v1_only_fields(call, body, ack_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *note = json_string_value(json_object_get(body, "note"));
    int blank = note == NULL || note[strspn(note, " \t\r\n\v\f")] == '\0';
    if (blank || strlen(note) > LPG_TEXT_MAX) {
        json_decref(body);
        http_reply_error(call, 400, blank ? "missing_field" : "invalid_field",
                         "an acknowledgement needs a note (1..255 bytes): what was done", "note");
        return;
    }
    struct ack_job *job = calloc(1, sizeof(*job));
    if (job == NULL || id == NULL || !lpg_id_valid(id)) {
        free(job);
        json_decref(body);
        http_reply_error(call, 404, "not_found", "no such alert", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    job->principal = *p;
    snprintf(job->id, sizeof(job->id), "%s", id);
    snprintf(job->note, sizeof(job->note), "%s", note);
    json_decref(body);
    if (writer_submit(d->writer, run_ack, cancel_ack, job) != 0) {
        ack_job_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

const struct http_route v1_alert_routes[] = {
    {"GET", "/v1/alerts", handle_list, HTTP_ROUTE_READ},
    {"POST", "/v1/alerts/{id}/ack", handle_ack, HTTP_ROUTE_WRITE},
};
const size_t v1_alert_routes_count = sizeof(v1_alert_routes) / sizeof(v1_alert_routes[0]);
