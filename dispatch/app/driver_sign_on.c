/* driver_sign_on.c -- the driver's card and the handset sign-on (driver_sign_on.h): one writer
 * job each, deciding against the registry in the writer's turn. */
#define LOG_TAG "driver"
#include "app/driver_sign_on.h"

#include "app/alerts.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/driver_card.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/audit_log.h"
#include "store/drives.h"
#include "store/registry_store.h"
#include "store/store.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sign_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    driver_card_done_fn *done;
    void *arg;
    int by_card; /* 1: driver_card_report; 0: driver_sign_on_person / _off */
    int off;     /* driver_sign_off_person */
    char vehicle[LPG_ID_MAX + 1];
    char device[LPG_ID_MAX + 1];
    char staff[LPG_ID_MAX + 1]; /* the handset's person */
    int64_t at_ms;              /* the handset's login or session end (driver_sign_on.h) */
    struct driver_card card;
    struct lpg_vehicle *updated; /* owned until put in the registry */
    struct lpg_alert alert;
    int has_alert;
};

static void answer(struct sign_job *job, const struct refusal *r)
{
    if (job->done) {
        job->done(job->arg, r);
        job->done = NULL;
    }
}

static void answer_ok(struct sign_job *job)
{
    struct refusal ok;
    memset(&ok, 0, sizeof(ok));
    ok.kind = REFUSAL_NONE;
    answer(job, &ok);
}

static void sign_free(struct usecase_job *base)
{
    struct sign_job *job = (struct sign_job *)base;
    free(job->updated);
    free(job);
}

static void sign_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct sign_job *job = (struct sign_job *)base;
    if (f->cancelled)
        return; /* shutdown: the terminal resends to the next instance */
    if (job->done == NULL)
        log_warn("sign-on of %s to its vehicle not recorded: %s", job->staff,
                 f->refusal ? f->refusal->message : "cancelled");
    answer(job, f->refusal);
}

static void on_sign_stored(struct usecase_job *base)
{
    struct sign_job *job = (struct sign_job *)base;
    struct service *d = job->base.s;
    const struct lpg_vehicle *cur = registry_vehicle(d->registry, job->updated->id);
    if (cur) {
        /* Ingest moves the position in place meanwhile: keep the newest. */
        job->updated->has_position = cur->has_position;
        job->updated->position = cur->position;
        job->updated->position_ms = cur->position_ms;
        job->updated->position_speed_cm_s = cur->position_speed_cm_s;
    }
    if (registry_put_vehicle(d->registry, job->updated) == 0)
        job->updated = NULL;
    else
        service_request_reload(d); /* stored but not applied: the registry reloads */
    if (job->has_alert)
        alerts_raised(d, &job->alert, job->device[0] ? job->device : NULL);
    answer_ok(job);
}

/* Adds the audit entry of a sign-on or sign-off. */
static int audit_driver(struct service *d, struct store_txn *txn, const char *kind,
                        const char *actor, const struct lpg_vehicle *v, const char *staff,
                        const char *via, const char *certificate, int64_t at_ms)
{
    json_t *data = json_pack("{s:s, s:s, s:s}", "vehicle_id", v->id, "staff_id", staff, "via", via);
    if (data && certificate && certificate[0])
        json_object_set_new(data, "certificate", json_string(certificate));
    struct audit_entry e = {at_ms, kind, actor, v->id, v->enterprise_id, data};
    int rc = data ? audit_log_append(d->audit, txn, &e) : -1;
    json_decref(data);
    /* The person's own index of the same fact, for the driver's day report: the audit chain
     * is per enterprise and in append order, not readable by person. */
    if (rc == 0 && staff[0])
        rc = drives_add(d->store, txn, staff, at_ms, strcmp(kind, "driver_signed_on") == 0, v->id,
                        (int)d->cfg.route_retention_days);
    return rc;
}

/* A change of driver that has no audit entry of its own (a card taking the wheel from a
 * handset's person, the handset's person driving again when the card is removed): the
 * person's index still records it. */
static int index_driver(struct service *d, struct store_txn *txn, const char *staff, int on,
                        const struct lpg_vehicle *v, int64_t at_ms)
{
    if (staff[0] == '\0')
        return 0;
    return drives_add(d->store, txn, staff, at_ms, on, v->id, (int)d->cfg.route_retention_days);
}

/* Writes job->updated (and the alert, and the audit entry the caller added) and commits. */
static void commit_vehicle(struct sign_job *job, struct store_txn *txn)
{
    struct service *d = job->base.s;
    json_t *rec = lpg_json_from_vehicle(job->updated);
    char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(rec);
    int rc =
        text ? registry_store_save(d->store, txn, RS_VEHICLE, job->updated->id, text, strlen(text))
             : -1;
    free(text);
    if (rc == 0 && job->has_alert)
        rc = alerts_store(d, txn, &job->alert);
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "the audit record is not available or out of memory");
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static int32_t today_of(struct service *d, const struct lpg_vehicle *v, int64_t at_ms)
{
    const struct lpg_enterprise *e = registry_enterprise(d->registry, v->enterprise_id);
    return lpg_local_day(at_ms, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
}

static void set_driver(struct lpg_vehicle *v, const char *staff, const char *via, int64_t at_ms)
{
    snprintf(v->driver_id, sizeof(v->driver_id), "%s", staff);
    snprintf(v->driver_via, sizeof(v->driver_via), "%s", via);
    v->driver_since_ms = at_ms;
}

static void run_card(struct sign_job *job)
{
    struct service *d = job->base.s;
    const struct lpg_vehicle *v = registry_vehicle(d->registry, job->vehicle);
    if (v == NULL) {
        usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "unknown_vehicle", NULL,
                           "vehicle %s is not registered", job->vehicle);
        return;
    }
    const struct driver_card *c = &job->card;
    int64_t now = lpg_now_ms();
    /* The terminal's clock is believed within a day of ours; otherwise (unset, a receiver
     * without a date, a hostile value) the report is timed on arrival. */
    int64_t at = c->time_ms > now - 86400000LL && c->time_ms < now + 86400000LL ? c->time_ms : now;
    const struct lpg_staff *bound =
        v->staff_id[0] ? registry_staff(d->registry, v->staff_id) : NULL;
    char actor[LPG_ID_MAX + 16];
    snprintf(actor, sizeof(actor), "terminal:%s", job->device[0] ? job->device : "?");
    char hold[LPG_TEXT_MAX + 1];
    const char *kind = NULL, *staff = "", *via = "card";
    enum driver_card_verdict verdict = DRIVER_CARD_OK;

    if (c->inserted) {
        verdict = driver_card_judge(c->read_ok != 0, c->certificate, c->expiry_day, bound,
                                    today_of(d, v, at));
        if (verdict == DRIVER_CARD_OK) {
            if (strcmp(v->driver_id, bound->id) == 0 && strcmp(v->driver_via, "card") == 0 &&
                v->driver_hold[0] == '\0') {
                answer_ok(job); /* a resent report: nothing changes */
                usecase_job_end(&job->base);
                return;
            }
            hold[0] = '\0';
            kind = "driver_signed_on";
            staff = bound->id;
        } else {
            snprintf(hold, sizeof(hold), "driver's card refused (%s): %s; card: %s, certificate %s",
                     driver_card_verdict_code(verdict), driver_card_verdict_text(verdict),
                     c->name[0] ? c->name : "(no name)",
                     c->certificate[0] ? c->certificate : "(none)");
            if (strcmp(v->driver_hold, hold) == 0) {
                answer_ok(job); /* the same refusal again: alerted once */
                usecase_job_end(&job->base);
                return;
            }
        }
    } else {
        /* Removed: the card's driver signs off; the person signed on by a handset drives, if
         * any. Nobody signed on by a card (a terminal reporting "removed" as it starts, a
         * refused card taken out): nothing to record, a hold stays. */
        if (strcmp(v->driver_via, "card") != 0) {
            answer_ok(job);
            usecase_job_end(&job->base);
            return;
        }
        kind = "driver_signed_off";
        staff = v->driver_id;
        if (v->handset_driver_id[0] == '\0')
            snprintf(hold, sizeof(hold), "%s",
                     "driver's card removed: no licensed driver signed on");
        else
            hold[0] = '\0';
    }

    job->updated = lpg_vehicle_dup(v);
    struct store_txn *txn = store_txn_new();
    if (job->updated == NULL || txn == NULL) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    struct lpg_vehicle *u = job->updated;
    snprintf(u->driver_hold, sizeof(u->driver_hold), "%s", hold);
    int rc = 0;
    if (c->inserted && verdict == DRIVER_CARD_OK) {
        set_driver(u, bound->id, "card", at);
    } else if (c->inserted) {
        /* Someone unlicensed (or unknown) holds the wheel: nobody is signed on. */
        set_driver(u, "", "", at);
        /* The alert's message is shorter than the hold: why first, then the card (a name
         * too long for it is cut, never the certificate). */
        char msg[RULE_EVENT_MESSAGE_MAX + 64];
        snprintf(msg, sizeof(msg), "driver's card refused (%s): certificate %s, card %s",
                 driver_card_verdict_code(verdict), c->certificate[0] ? c->certificate : "(none)",
                 c->name[0] ? c->name : "(no name)");
        msg[RULE_EVENT_MESSAGE_MAX - 1] = '\0';
        driver_text_clean(msg); /* a name cut inside a character */
        struct geo_point pos = v->has_position ? v->position : (struct geo_point){0, 0};
        alerts_compliance(&job->alert, "driver_card", v->enterprise_id, v->id,
                          bound ? bound->id : "", pos, msg, now);
        job->has_alert = 1;
    } else if (v->handset_driver_id[0]) {
        set_driver(u, v->handset_driver_id, "handset", at);
    } else {
        set_driver(u, "", "", at);
    }
    if (kind)
        rc = audit_driver(d, txn, kind, actor, v, staff, via, c->inserted ? c->certificate : NULL,
                          at);
    /* whoever drove before a card took the wheel stops; the handset's person drives again */
    if (rc == 0 && c->inserted && v->driver_id[0] && strcmp(v->driver_id, u->driver_id) != 0)
        rc = index_driver(d, txn, v->driver_id, 0, v, at);
    if (rc == 0 && !c->inserted && strcmp(u->driver_via, "handset") == 0)
        rc = index_driver(d, txn, u->driver_id, 1, v, at);
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "the audit record is not available");
        return;
    }
    commit_vehicle(job, txn);
}

/* The time of a handset's sign-on or sign-off: when the transport saw it, not when the writer
 * ran the job; and after the vehicle's last change of driver (a card read while the job
 * waited), so that the person's drives index stays in time order. Strictly after: the index
 * orders members of one millisecond by their text ("off" before "on"), which would put a
 * sign-off before the sign-on of the same millisecond it ends. */
static int64_t person_time(const struct sign_job *job, const struct lpg_vehicle *v)
{
    int64_t at = job->at_ms > 0 ? job->at_ms : lpg_now_ms();
    return at <= v->driver_since_ms ? v->driver_since_ms + 1 : at;
}

static void run_person(struct sign_job *job)
{
    struct service *d = job->base.s;
    const struct lpg_staff *s = registry_staff(d->registry, job->staff);
    const struct lpg_vehicle *v =
        s && s->vehicle_id[0] ? registry_vehicle(d->registry, s->vehicle_id) : NULL;
    /* Only the bound person signs on by a handset (人车对应); anything else records nothing. */
    if (v == NULL || strcmp(v->staff_id, s->id) != 0 ||
        (strcmp(v->driver_id, s->id) == 0 && strcmp(v->driver_via, "handset") == 0 &&
         strcmp(v->handset_driver_id, s->id) == 0 && v->driver_hold[0] == '\0')) {
        answer_ok(job);
        usecase_job_end(&job->base);
        return;
    }
    int64_t now = person_time(job, v);
    job->updated = lpg_vehicle_dup(v);
    struct store_txn *txn = store_txn_new();
    if (job->updated == NULL || txn == NULL) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    set_driver(job->updated, s->id, "handset", now);
    snprintf(job->updated->handset_driver_id, sizeof(job->updated->handset_driver_id), "%s", s->id);
    job->updated->driver_hold[0] = '\0';
    if (audit_driver(d, txn, "driver_signed_on", s->id, v, s->id, "handset", NULL, now) != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "the audit record is not available");
        return;
    }
    commit_vehicle(job, txn);
}

/* The handset's session ended: the person is no longer signed on by it. The vehicle is not
 * held for it (a vehicle driven with a handset alone is then driven by its bound person, as
 * before any sign-on); only a card's removal holds. */
static void run_person_off(struct sign_job *job)
{
    struct service *d = job->base.s;
    const struct lpg_staff *s = registry_staff(d->registry, job->staff);
    const struct lpg_vehicle *v =
        s && s->vehicle_id[0] ? registry_vehicle(d->registry, s->vehicle_id) : NULL;
    if (v == NULL || strcmp(v->handset_driver_id, s->id) != 0) {
        answer_ok(job);
        usecase_job_end(&job->base);
        return;
    }
    int64_t now = person_time(job, v);
    job->updated = lpg_vehicle_dup(v);
    struct store_txn *txn = store_txn_new();
    if (job->updated == NULL || txn == NULL) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    job->updated->handset_driver_id[0] = '\0';
    int signed_off = strcmp(v->driver_via, "handset") == 0;
    if (signed_off)
        set_driver(job->updated, "", "", now);
    if (signed_off &&
        audit_driver(d, txn, "driver_signed_off", s->id, v, s->id, "handset", NULL, now) != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "the audit record is not available");
        return;
    }
    commit_vehicle(job, txn);
}

static void run_sign(struct usecase_job *base)
{
    struct sign_job *job = (struct sign_job *)base;
    if (job->by_card)
        run_card(job);
    else if (job->off)
        run_person_off(job);
    else
        run_person(job);
}

static const struct usecase_job_ops sign_job_ops = {
    .run = run_sign,
    .applied = on_sign_stored,
    .failed = sign_failed,
    .free = sign_free,
};

static void answer_now(driver_card_done_fn *done, void *arg, enum refusal_kind kind,
                       const char *code, const char *message)
{
    struct refusal r;
    refuse(&r, kind, code, NULL, "%s", message);
    if (done)
        done(arg, &r);
    else
        log_warn("sign-on not recorded: %s", message);
}

static void submit(struct service *s, struct sign_job *job)
{
    usecase_job_init(&job->base, &sign_job_ops, s);
    if (usecase_job_submit(&job->base) != 0)
        usecase_job_out_of_memory(&job->base);
}

void driver_card_report(struct service *s, const char *vehicle_id, const char *device_id,
                        const struct driver_card *card, driver_card_done_fn *done, void *arg)
{
    if (!s->loaded) {
        answer_now(done, arg, REFUSAL_UNAVAILABLE, "loading",
                   "the service is loading; nothing was recorded, report again shortly");
        return;
    }
    struct sign_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    job->done = done;
    job->arg = arg;
    job->by_card = 1;
    snprintf(job->vehicle, sizeof(job->vehicle), "%s", vehicle_id ? vehicle_id : "");
    snprintf(job->device, sizeof(job->device), "%s", device_id ? device_id : "");
    job->card = *card;
    /* The terminal's text is bounded by our arrays whatever it sent. */
    job->card.name[sizeof(job->card.name) - 1] = '\0';
    job->card.certificate[sizeof(job->card.certificate) - 1] = '\0';
    driver_text_clean(job->card.name);
    driver_text_clean(job->card.certificate);
    submit(s, job);
}

static void person_job(struct service *s, const char *staff_id, int off, int64_t at_ms,
                       driver_card_done_fn *done, void *arg)
{
    if (!s->loaded) {
        answer_now(done, arg, REFUSAL_UNAVAILABLE, "loading",
                   "the service is loading; nothing was recorded");
        return;
    }
    struct sign_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    job->done = done;
    job->arg = arg;
    snprintf(job->staff, sizeof(job->staff), "%s", staff_id ? staff_id : "");
    job->off = off;
    job->at_ms = at_ms;
    submit(s, job);
}

void driver_sign_on_person(struct service *s, const char *staff_id, int64_t at_ms,
                           driver_card_done_fn *done, void *arg)
{
    person_job(s, staff_id, 0, at_ms, done, arg);
}

void driver_sign_off_person(struct service *s, const char *staff_id, int64_t at_ms,
                            driver_card_done_fn *done, void *arg)
{
    person_job(s, staff_id, 1, at_ms, done, arg);
}
