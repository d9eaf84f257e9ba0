/* stations.c -- the station's cylinder events (stations.h). */
#define LOG_TAG "stations"
#include "app/stations.h"

#include "app/delivery.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/delivery_rules.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/audit_log.h"
#include "store/entity.h"
#include "store/registry_store.h"
#include "store/writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

/* What a station event does: from which statuses, to which. */
struct station_event {
    const char *name;
    unsigned from; /* bit per enum lpg_cylinder_status */
    enum lpg_cylinder_status to;
};

static const struct station_event station_events[] = {
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

const struct station_event *station_event_find(const char *name)
{
    for (size_t i = 0; name && i < N_STATION_EVENTS; i++)
        if (strcmp(station_events[i].name, name) == 0)
            return &station_events[i];
    return NULL;
}

const char *station_event_names(void)
{
    return "filled, due_inspection, sent_for_inspection, inspected, scrapped, lost";
}

bool station_event_is_inspection(const struct station_event *ev)
{
    return ev->to == LPG_CYL_RETURNED_EMPTY;
}

struct station_job {
    struct service *s;
    station_done_fn *done;
    void *arg;
    struct auth_principal user;
    char id[LPG_ID_MAX + 1];
    const struct station_event *ev;
    char note[LPG_TEXT_MAX + 1];
    int32_t next_inspection_day;
    int32_t service_life_years;
    struct changeset cs;
    char *history; /* the life event, JSON */
    struct refusal refusal;
};

static void job_free(struct station_job *job)
{
    changeset_discard(&job->cs);
    free(job->history);
    free(job);
}

static void job_end(struct station_job *job, const struct station_result *res)
{
    job->done(job->arg, res);
    job_free(job);
}

static void cancel_job(void *arg)
{
    struct station_result res = {.cancelled = true};
    job_end(arg, &res);
}

static void job_store_failed(struct station_job *job, const char *err)
{
    struct station_result res = {.store_err = err ? err : "the store refused the change"};
    job_end(job, &res);
}

/* A refusal decided in the writer's turn: nothing was written. Returns -1. */
__attribute__((format(printf, 6, 7))) static int
refuse_job(struct writer *w, struct station_job *job, enum refusal_kind kind, const char *code,
           const char *field, const char *fmt, ...)
{
    struct refusal *r = &job->refusal;
    r->kind = kind;
    snprintf(r->code, sizeof(r->code), "%s", code);
    snprintf(r->field, sizeof(r->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    writer_finish(w);
    struct station_result res = {.refusal = r};
    job_end(job, &res);
    return -1;
}

static void on_committed(void *arg, const struct redisReply *reply, const char *err)
{
    struct station_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        job_store_failed(job, err);
        return;
    }
    log_info("cylinder %s %s by %s", job->id, job->ev->name, job->user.user);
    struct station_result res = {.cylinder = job->cs.items[0].entity};
    job->done(job->arg, &res);
    changeset_apply(&job->cs, job->s->registry);
    job_free(job);
}

/* The state machine: the new version of the cylinder, into the changeset; -1 once refused. */
static int decide(struct writer *w, struct station_job *job, int64_t now)
{
    struct service *d = job->s;
    const struct lpg_cylinder *cur = registry_cylinder(d->registry, job->id);
    /* Another enterprise's cylinder: exactly like a missing one. */
    if (cur && job->user.role == AUTH_ROLE_DISPATCHER &&
        strcmp(job->user.enterprise_id, cur->enterprise_id) != 0)
        cur = NULL;
    if (cur == NULL)
        return refuse_job(w, job, REFUSAL_NOT_FOUND, "not_found", NULL, "no cylinder with code %s",
                          job->id);
    struct auth_denial denial;
    if (auth_check(&job->user, AUTH_WRITE, cur->enterprise_id, lpg_now_ms(), &denial) != 0)
        return refuse_job(w, job,
                          denial.http_status == 401 ? REFUSAL_UNAUTHENTICATED : REFUSAL_FORBIDDEN,
                          denial.code, NULL, "%s", denial.message);
    if ((job->ev->from & (1u << cur->status)) == 0)
        return refuse_job(w, job, REFUSAL_CONFLICT, "illegal_transition", "event",
                          "cylinder %s is %s: it cannot be %s", cur->id,
                          lpg_cylinder_status_name(cur->status), job->ev->name);
    const struct lpg_enterprise *e = registry_enterprise(d->registry, cur->enterprise_id);
    int32_t today = lpg_local_day(now, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
    struct lpg_cylinder *c = lpg_cylinder_dup(cur);
    if (c == NULL || changeset_add(&job->cs, RS_CYLINDER, c) != 0)
        return refuse_job(w, job, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    if (station_event_is_inspection(job->ev)) {
        if (job->next_inspection_day <= today)
            return refuse_job(w, job, REFUSAL_INVALID, "invalid_field", "next_inspection",
                              "next_inspection must be a date after today");
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
        cylinder_unusable(c, c->enterprise_id, today, &d->delivery_cfg, why, sizeof(why)))
        return refuse_job(w, job, REFUSAL_CONFLICT, "cylinder_unusable", "event", "%s", why);
    return 0;
}

static void run_job(struct writer *w, void *arg)
{
    struct station_job *job = arg;
    struct service *d = job->s;
    int64_t now = lpg_now_ms();
    if (decide(w, job, now) != 0)
        return; /* answered and freed */
    const struct lpg_cylinder *c = job->cs.items[0].entity;
    json_t *hist = delivery_cylinder_event(now, job->ev->name, job->user.user, c,
                                           job->note[0] ? job->note : NULL);
    job->history = hist ? json_dumps(hist, JSON_COMPACT) : NULL;
    char kind[48];
    snprintf(kind, sizeof(kind), "cylinder_%s", job->ev->name);
    struct audit_entry ae = {now, kind, job->user.user, c->id, c->enterprise_id, hist};
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
        /* Nothing is written: answered like a store that refused. */
        store_txn_free(txn);
        writer_finish(w);
        job_store_failed(job, fail);
        return;
    }
    if (writer_commit(w, txn, on_committed, job, &fail) != 0)
        job_store_failed(job, fail);
}

int stations_submit(struct service *s, const struct station_request *req, station_done_fn *done,
                    void *arg, struct refusal *r)
{
    struct station_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    job->s = s;
    job->done = done;
    job->arg = arg;
    job->user = *req->user;
    job->ev = req->event;
    job->next_inspection_day = req->next_inspection_day;
    job->service_life_years = req->service_life_years;
    snprintf(job->id, sizeof(job->id), "%s", req->cylinder_id ? req->cylinder_id : "");
    snprintf(job->note, sizeof(job->note), "%s", req->note ? req->note : "");
    if (writer_submit(s->writer, run_job, cancel_job, job) != 0) {
        free(job);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}
