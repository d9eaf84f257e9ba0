/* alerts.c -- storing, raising, listing and acknowledging tracking alerts (alerts.h). */
#define LOG_TAG "alerts"
#include "app/refuse_from.h"
#include "app/alerts.h"
#include "common/clock.h"

#include "app/events.h"
#include "app/usecase_job.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "core/terminal_alarms.h"
#include "store/audit_log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/rand.h>

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

static const char *const compliance_sources[] = {
    "roadside_sale", "load_mismatch", "hazard", "driver_card", "expiring", "unplanned_stop"};

void alerts_set_terminal(struct lpg_alert *a, const char *name)
{
    snprintf(a->source, sizeof(a->source), "%s", name);
}

/* A terminal's alarm, not the server's judgement. */
static bool alert_is_terminal(const struct lpg_alert *a)
{
    return a->source[0] && terminal_alarm_by_name(a->source) != NULL;
}

bool alerts_rule_known(const char *name)
{
    for (int r = 0; r < RULE_COUNT; r++)
        if (strcmp(rules_table[r]->name, name) == 0)
            return true;
    for (size_t i = 0; i < sizeof(compliance_sources) / sizeof(compliance_sources[0]); i++)
        if (strcmp(compliance_sources[i], name) == 0)
            return true;
    return terminal_alarm_by_name(name) != NULL;
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
    if (j && a->subject_kind[0] != '\0') {
        char day[11];
        lpg_day_format(a->expiry_day, day);
        json_object_set_new(j, "subject_kind", json_string(a->subject_kind));
        json_object_set_new(j, "subject_id", json_string(a->subject_id));
        json_object_set_new(j, "document", json_string(a->document));
        json_object_set_new(j, "expires", json_string(day));
    }
    if (j && alert_is_terminal(a)) {
        json_object_set_new(j, "source", json_string("terminal"));
        json_object_set_new(j, "alarm_bit", json_integer(terminal_alarm_by_name(a->source)->bit));
    }
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
    /* A tracking rule raised it, the compliance checks of a handset request (whose own audit
     * entries name the person), or the vehicle's terminal. */
    snprintf(actor, sizeof(actor), "%s:%s",
             alert_is_terminal(a) ? "terminal"
             : a->source[0]       ? "compliance"
                                  : "rule",
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
    const char *idx[] = {k_ent, k_rent, k_veh, k_rveh};
    /* An alert about no vehicle (an enterprise's licence, a cylinder in stock) is in the
     * enterprise's indexes only. */
    size_t n_idx = a->vehicle_id[0] ? 4 : 2;
    for (size_t i = 0; rc == 0 && i < n_idx; i++)
        rc = store_txn_addv(txn, "ZADD", idx[i], score, a->id, NULL) ||
             store_txn_addv(txn, "ZREMRANGEBYSCORE", idx[i], "-inf", oldest, NULL);
    if (rc == 0)
        rc = audit_alert(d, txn, a);
    free(text);
    return rc ? -1 : 0;
}

void alerts_raised(struct service *d, const struct lpg_alert *a, const char *device_id)
{
    log_info("%s%s %s: vehicle %s (%s): %s", a->ev.late ? "late " : "", alerts_rule_name(a),
             rule_event_kind_name(a->ev.kind), a->vehicle_id, a->staff_id, a->ev.message);
    if (a->ev.late)
        return; /* recorded, but not a live alert */
    json_t *j = alerts_to_json(a);
    if (j == NULL)
        return; /* out of memory: recorded and logged, not pushed */
    struct service_event ev = {
        .kind = EV_ALERT_RAISED,
        .enterprise_id = a->enterprise_id,
        .staff_id = a->staff_id,
        .device_id = device_id && device_id[0] ? device_id : NULL,
        .vehicle_id = a->vehicle_id,
        .json = j,
        .alert = a,
    };
    event_bus_publish(d->bus, &ev); /* the live feed, the device's transport */
    json_decref(j);
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
    /* Live at once, before the record is confirmed: the alert may be about the store itself.
     * Enterprise "": only the streams that see every enterprise hear it. */
    if (j) {
        struct service_event raised = {.kind = EV_ALERT_RAISED, .enterprise_id = "", .json = j};
        event_bus_publish(d->bus, &raised);
        json_decref(j);
    }
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

/* ---- listing: ZRANGE of an index by event time, then MGET of the records ---- */

int alerts_cursor_parse(const char *s, struct alerts_cursor *c)
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

/* The refusal of a read the store could not answer. */
static void refuse_unreadable(struct refusal *r)
{
    refuse(r, REFUSAL_UNAVAILABLE, "store_unavailable", NULL,
           "the store could not be read; retry later");
}

struct list_job {
    struct service *d;
    alerts_page_fn *done;
    void *arg;
    int limit;
    struct alerts_cursor at; /* where this page starts */
    char next[48];           /* the cursor of the next page; "" when this is the last */
};

/* Answers and frees the job: page (stolen) or the refusal r. */
static void list_end(struct list_job *job, json_t *page, const struct refusal *r)
{
    alerts_page_fn *done = job->done;
    void *arg = job->arg;
    free(job);
    done(arg, page, r);
}

static void list_unreadable(struct list_job *job)
{
    struct refusal r;
    refuse_unreadable(&r);
    list_end(job, NULL, &r);
}

static void on_alert_bodies(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        list_unreadable(job);
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
    list_end(job, body, NULL);
}

static void on_alert_ids(void *arg, const struct redisReply *reply, const char *err)
{
    struct list_job *job = arg;
    struct service *d = job->d;
    /* ZRANGE ... WITHSCORES: id, score, id, score... */
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        list_unreadable(job);
        return;
    }
    size_t n = reply->elements / 2;
    if (n == 0) {
        list_end(job, json_pack("{s:[]}", "items"), NULL);
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
        struct refusal r;
        refuse(&r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        list_end(job, NULL, &r);
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
    if (rc != 0)
        list_unreadable(job);
}

void alerts_list(struct service *d, const struct alerts_query *q, alerts_page_fn *done, void *arg)
{
    char key[256], smin[24], smax[24], soff[24], slimit[16];
    const char *veh = q->vehicle_id;
    if (q->rule)
        rule_key(d, key, sizeof(key), q->rule, veh != NULL, veh ? veh : q->enterprise_id);
    else
        key_of(d, key, sizeof(key), veh ? keys_alerts_vehicle : keys_alerts_enterprise,
               veh ? veh : q->enterprise_id);
    snprintf(smin, sizeof(smin), "%" PRId64, q->at.ms);
    snprintf(smax, sizeof(smax), "(%" PRId64, q->to_ms);
    snprintf(soff, sizeof(soff), "%" PRIu64, q->at.skip);
    snprintf(slimit, sizeof(slimit), "%d", q->limit);
    const char *argv[] = {"ZRANGE", key,  smin,   smax,        "BYSCORE",
                          "LIMIT",  soff, slimit, "WITHSCORES"};
    struct list_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        struct refusal r;
        refuse(&r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        done(arg, NULL, &r);
        return;
    }
    job->d = d;
    job->done = done;
    job->arg = arg;
    job->limit = q->limit;
    job->at = q->at;
    const char *why;
    if (store_command_argv(d->store, on_alert_ids, job, 9, argv, NULL, &why) != 0)
        list_unreadable(job);
}

/* ---- acknowledging: read, check, write with its audit entry, inside one writer job ---- */

struct ack_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    alerts_ack_fn *done;
    void *arg;
    struct auth_principal principal;
    char id[LPG_ID_MAX + 1];
    char note[LPG_TEXT_MAX + 1];
    json_t *acked;
};

static void ack_free(struct usecase_job *base)
{
    struct ack_job *job = (struct ack_job *)base;
    json_decref(job->acked);
    free(job);
}

/* The writer is torn down with the job queued (shutdown): dropped unanswered, like the
 * requests still open on the HTTP server that is freed next. */
static void ack_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct ack_job *job = (struct ack_job *)base;
    if (!f->cancelled)
        job->done(job->arg, NULL, f->refusal);
}

static void on_ack_stored(struct usecase_job *base)
{
    struct ack_job *job = (struct ack_job *)base;
    log_info("alert %s acknowledged by %s", job->id, job->principal.user);
    job->done(job->arg, json_incref(job->acked), NULL);
}

static void on_ack_read(void *arg, const struct redisReply *reply, const char *err)
{
    struct ack_job *job = arg;
    struct service *d = job->base.s;
    json_t *a = NULL;
    if (err || reply->type == REDIS_REPLY_ERROR) {
        usecase_job_store_failed(&job->base, err ? err : "the store could not read the alert");
        return;
    }
    if (reply->type == REDIS_REPLY_STRING)
        a = json_loadb(reply->str, reply->len, 0, NULL);
    const char *ent = a ? json_string_value(json_object_get(a, "enterprise_id")) : NULL;
    /* Another enterprise's alert is answered to a dispatcher exactly like a missing one. */
    if (a == NULL || ent == NULL || hidden_from(&job->principal, ent)) {
        json_decref(a);
        usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_found", NULL, "%s", "no such alert");
        return;
    }
    struct refusal denied;
    if (refuse_unless_allowed(&denied, &job->principal, AUTH_WRITE, ent) != 0) {
        json_decref(a);
        usecase_job_refused(&job->base, &denied);
        return;
    }
    if (json_object_get(a, "acknowledged_by") != NULL) {
        json_decref(a);
        usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "already_acknowledged", NULL, "%s",
                           "this alert was already acknowledged");
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
        usecase_job_out_of_memory(&job->base);
        return;
    }
    json_t *data = json_pack("{s:s}", "note", job->note);
    struct audit_entry e = {lpg_now_ms(), "alert_acknowledged", job->principal.user, job->id, ent,
                            data};
    rc = data ? audit_log_append(d->audit, txn, &e) : -1;
    json_decref(data);
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "the audit record is not available");
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static void run_ack(struct usecase_job *base)
{
    struct ack_job *job = (struct ack_job *)base;
    char key[256];
    key_of(job->base.s, key, sizeof(key), keys_alert, job->id);
    const char *argv[] = {"GET", key};
    const char *why;
    /* Read, then commit, inside the writer job: acknowledgements never race. */
    if (store_command_argv(job->base.s->store, on_ack_read, job, 2, argv, NULL, &why) != 0)
        usecase_job_store_failed(&job->base, why);
}

static const struct usecase_job_ops ack_job_ops = {
    .run = run_ack,
    .applied = on_ack_stored,
    .failed = ack_failed,
    .free = ack_free,
};

void alerts_acknowledge(struct service *d, const struct auth_principal *p, const char *id,
                        const char *note, alerts_ack_fn *done, void *arg)
{
    struct ack_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        struct refusal r;
        refuse(&r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        done(arg, NULL, &r);
        return;
    }
    usecase_job_init(&job->base, &ack_job_ops, d);
    job->done = done;
    job->arg = arg;
    job->principal = *p;
    snprintf(job->id, sizeof(job->id), "%s", id);
    snprintf(job->note, sizeof(job->note), "%s", note);
    if (usecase_job_submit(&job->base) != 0)
        usecase_job_out_of_memory(&job->base);
}
