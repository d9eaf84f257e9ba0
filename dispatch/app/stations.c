/* stations.c -- the station's cylinder events (stations.h). */
#define LOG_TAG "stations"
#include "app/refuse_from.h"
#include "app/stations.h"

#include "app/delivery.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/delivery_rules.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/audit_log.h"
#include "store/entity.h"
#include "store/registry_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
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
};

static void job_free(struct usecase_job *base)
{
    struct station_job *job = (struct station_job *)base;
    changeset_discard(&job->cs);
    free(job->history);
    free(job);
}

static void job_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct station_job *job = (struct station_job *)base;
    struct station_result res = {.cancelled = f->cancelled};
    if (f->store_err)
        res.store_err = f->store_err;
    else
        res.refusal = f->refusal;
    job->done(job->arg, &res);
}

static void job_applied(struct usecase_job *base)
{
    struct station_job *job = (struct station_job *)base;
    log_info("cylinder %s %s by %s", job->id, job->ev->name, job->user.user);
    struct station_result res = {.cylinder = job->cs.items[0].entity};
    job->done(job->arg, &res);
    changeset_apply(&job->cs, job->base.s->registry);
}

/* The state machine: the new version of the cylinder, into the changeset; -1 once refused. */
static int decide(struct station_job *job, int64_t now)
{
    struct service *d = job->base.s;
    const struct lpg_cylinder *cur = registry_cylinder(d->registry, job->id);
    /* Another enterprise's cylinder: exactly like a missing one. */
    if (cur && hidden_from(&job->user, cur->enterprise_id))
        cur = NULL;
    if (cur == NULL)
        return usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_found", NULL,
                                  "no cylinder with code %s", job->id);
    struct refusal denied;
    if (refuse_unless_allowed(&denied, &job->user, AUTH_WRITE, cur->enterprise_id) != 0)
        return usecase_job_refused(&job->base, &denied);
    if ((job->ev->from & (1u << cur->status)) == 0)
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "illegal_transition", "event",
                                  "cylinder %s is %s: it cannot be %s", cur->id,
                                  lpg_cylinder_status_name(cur->status), job->ev->name);
    const struct lpg_enterprise *e = registry_enterprise(d->registry, cur->enterprise_id);
    int32_t today = lpg_local_day(now, e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN);
    struct lpg_cylinder *c = lpg_cylinder_dup(cur);
    if (c == NULL || changeset_add(&job->cs, RS_CYLINDER, c) != 0)
        return usecase_job_refuse(&job->base, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    if (station_event_is_inspection(job->ev)) {
        if (job->next_inspection_day <= today)
            return usecase_job_refuse(&job->base, REFUSAL_INVALID, "invalid_field",
                                      "next_inspection",
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
        return usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "cylinder_unusable", "event", "%s",
                                  why);
    return 0;
}

static void run_job(struct usecase_job *base)
{
    struct station_job *job = (struct station_job *)base;
    struct service *d = job->base.s;
    int64_t now = lpg_now_ms();
    if (decide(job, now) != 0)
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
        usecase_job_store_failed(&job->base, fail);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops station_job_ops = {
    .run = run_job,
    .applied = job_applied,
    .failed = job_failed,
    .free = job_free,
};

int stations_submit(struct service *s, const struct station_request *req, station_done_fn *done,
                    void *arg, struct refusal *r)
{
    struct station_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    usecase_job_init(&job->base, &station_job_ops, s);
    job->done = done;
    job->arg = arg;
    job->user = *req->user;
    job->ev = req->event;
    job->next_inspection_day = req->next_inspection_day;
    job->service_life_years = req->service_life_years;
    snprintf(job->id, sizeof(job->id), "%s", req->cylinder_id ? req->cylinder_id : "");
    snprintf(job->note, sizeof(job->note), "%s", req->note ? req->note : "");
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}
