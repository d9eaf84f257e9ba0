/* registry_writes.c -- see registry_writes.h. */
#define LOG_TAG "registry"
#include "app/registry_writes.h"

#include "app/dispatcher.h"
#include "app/events.h"
#include "app/refuse_from.h"
#include "app/service.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/auth.h"
#include "core/registry.h"
#include "core/registry_rules.h"
#include "store/accounts.h"
#include "store/entity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char registry_handset_replaced[] = "this handset was replaced; log in with the new device";

/* The kinds of the codes a write can be refused with beyond plain invalid input: the model's
 * (invalid_geometry) and the rules' (registry_rules.h). The codes are theirs; the kinds are
 * what HTTP has always answered for them (docs/http-api.md). */
static const struct {
    const char *code;
    enum refusal_kind kind;
} write_code_kinds[] = {
    {"internal", REFUSAL_INTERNAL},
    {"not_found", REFUSAL_NOT_FOUND},
    {"already_exists", REFUSAL_CONFLICT},
    {"vehicle_already_bound", REFUSAL_CONFLICT},
    {"staff_already_bound", REFUSAL_CONFLICT},
    {"escort_in_use", REFUSAL_CONFLICT}, /* the escort is bound to another vehicle */
    {"wrong_enterprise", REFUSAL_RULE},  /* a reference to another enterprise's entity */
    {"zone_outside_service_area", REFUSAL_RULE},
    {"unknown_reference", REFUSAL_RULE},
    {"invalid_geometry", REFUSAL_RULE}, /* a shape that is not a simple polygon */
    {"not_an_escort", REFUSAL_RULE},    /* a vehicle's escort_id names a non-escort */
};

/* A refused write: the model's or the rules' error, with its kind. NULL code: internal. */
static int refuse_write(struct refusal *r, const struct lpg_json_error *err)
{
    const char *code = err->code ? err->code : "internal";
    enum refusal_kind kind = REFUSAL_INVALID;
    for (size_t i = 0; i < sizeof(write_code_kinds) / sizeof(write_code_kinds[0]); i++)
        if (strcmp(code, write_code_kinds[i].code) == 0)
            kind = write_code_kinds[i].kind;
    return refuse(r, kind, code, err->field, "%s", err->message);
}

struct write_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    const struct entity_ops *ops;
    struct auth_principal principal;
    json_t *body; /* create: the entity; patch: the changes */
    char id[LPG_ID_MAX + 1];
    int is_patch;
    int is_delete;   /* a station removed (registry_delete_station) */
    json_t *deleted; /* the entity as it was, the answer of a delete */
    struct changeset cs;
    void *entity;                    /* the written entity (in cs) */
    char old_device[LPG_ID_MAX + 1]; /* a staff member's handset before the change */
    registry_write_done_fn *done;
    void *arg;
};

static void write_job_free(struct usecase_job *base)
{
    struct write_job *job = (struct write_job *)base;
    changeset_discard(&job->cs);
    json_decref(job->body);
    json_decref(job->deleted);
    free(job);
}

static void write_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct write_job *job = (struct write_job *)base;
    /* Cancelled at shutdown: dropped with its caller's request, freed with the server. */
    if (!f->cancelled)
        job->done(job->arg, NULL, 0, f->refusal);
}

static void on_written(struct usecase_job *base)
{
    struct write_job *job = (struct write_job *)base;
    struct service *s = job->base.s;
    if (job->is_delete) {
        registry_remove_station(s->registry, job->id);
        log_info("station %s deleted by %s", job->id, job->principal.user);
        json_t *out = job->deleted;
        job->deleted = NULL;
        job->done(job->arg, out, 0, NULL);
        return;
    }
    json_t *out = job->ops->to_json(job->entity);
    /* A person's handset replaced (or removed) here: its open session ends now, as with a
     * device registration -- only a session of this very person (staff_id): a handset never
     * answers for someone else. */
    if (job->ops->kind == RS_STAFF && job->old_device[0] &&
        strcmp(job->old_device, ((const struct lpg_staff *)job->entity)->device_id) != 0) {
        struct service_event ev = {.kind = EV_SESSION_REVOKED,
                                   .enterprise_id = job->ops->enterprise(job->entity),
                                   .staff_id = job->id,
                                   .device_id = job->old_device,
                                   .reason = registry_handset_replaced};
        event_bus_publish(s->bus, &ev);
    }
    if (changeset_apply(&job->cs, s->registry) != 0)
        log_error("out of memory applying a stored change to the registry");
    log_info("%s %s %s by %s", job->ops->name, job->id, job->is_patch ? "changed" : "created",
             job->principal.user);
    /* The enterprise's zones (an expressway zone, a zone's limit) and a vehicle's own limit
     * decide the speed limit its terminal enforces (app/vehicle_thresholds.h). */
    if (job->ops->kind == RS_ZONE || job->ops->kind == RS_VEHICLE) {
        struct service_event ev = {.kind = EV_LIMITS_CHANGED,
                                   .enterprise_id = job->ops->enterprise(job->entity)};
        event_bus_publish(s->bus, &ev);
    }
    job->done(job->arg, out, !job->is_patch, NULL);
    /* Staff, vehicles and customers decide who can take waiting orders. */
    dispatcher_rematch(s);
}

/* The new version of the entity, checked alone: a patch of the stored one, or a creation.
 * Returns it, or NULL with *r. */
static void *new_version(struct write_job *job, const void *old, struct refusal *r)
{
    const struct entity_ops *ops = job->ops;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    if (job->is_patch) {
        if (old && hidden_from(&job->principal, ops->enterprise(old)))
            old = NULL; /* another enterprise's: exactly like a missing one */
        if (old == NULL) {
            refuse(r, REFUSAL_NOT_FOUND, "not_found", NULL, "no %s with id %s", ops->name, job->id);
            return NULL;
        }
        if (refuse_unless_allowed(r, &job->principal, AUTH_WRITE, ops->enterprise(old)) != 0)
            return NULL;
        void *e = ops->dup(old);
        if (e == NULL) {
            refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
            return NULL;
        }
        if (ops->patch(job->body, e, &err) != 0) {
            ops->destroy(e);
            refuse_write(r, &err);
            return NULL;
        }
        return e;
    }
    void *e = calloc(1, ops->size);
    if (e == NULL) {
        refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        return NULL;
    }
    if (ops->from_json(job->body, e, &err) != 0) {
        free(e);
        if (err.code == NULL)
            err.code = "invalid_field";
        refuse_write(r, &err); /* a shape that is not a simple polygon is a rule's refusal */
        return NULL;
    }
    if (old != NULL) {
        /* The answer is the same whoever holds the id (one namespace per kind,
         * docs/http-api.md "Ids: one namespace, the same answer"); the log tells an operator
         * when a dispatcher keeps hitting another enterprise's ids. */
        if (hidden_from(&job->principal, ops->enterprise(old)))
            log_info("%s %s: create by %s refused: the id is taken in another enterprise",
                     ops->name, job->id, job->principal.user);
        ops->destroy(e);
        refuse(r, REFUSAL_CONFLICT, "already_exists", "id", "a %s with id %s exists", ops->name,
               job->id);
        return NULL;
    }
    ops->stamp(e, lpg_now_ms());
    return e;
}

static bool names_station(const void *vehicle, void *arg)
{
    return strcmp(((const struct lpg_vehicle *)vehicle)->station_id, arg) == 0;
}

/* A station goes only when no vehicle names it any more (a vehicle's station is where it loads
 * and returns: removing it under the vehicle would silently stop both). */
static void run_delete(struct write_job *job)
{
    struct service *s = job->base.s;
    struct refusal r;
    const struct lpg_station *old = registry_station(s->registry, job->id);
    if (old && hidden_from(&job->principal, old->enterprise_id))
        old = NULL; /* another enterprise's: exactly like a missing one */
    if (old == NULL) {
        refuse(&r, REFUSAL_NOT_FOUND, "not_found", NULL, "no station with id %s", job->id);
        usecase_job_refused(&job->base, &r);
        return;
    }
    if (refuse_unless_allowed(&r, &job->principal, AUTH_WRITE, old->enterprise_id) != 0) {
        usecase_job_refused(&job->base, &r);
        return;
    }
    const struct lpg_vehicle *user = NULL;
    if (registry_list_vehicles(s->registry, old->enterprise_id, NULL, 1, names_station, job->id,
                               &user) > 0) {
        refuse(&r, REFUSAL_CONFLICT, "station_in_use", NULL,
               "vehicle %s names station %s: move its station_id first", user->id, job->id);
        usecase_job_refused(&job->base, &r);
        return;
    }
    job->deleted = lpg_json_from_station(old);
    struct store_txn *txn = store_txn_new();
    if (job->deleted == NULL || txn == NULL ||
        registry_store_delete(s->store, txn, RS_STATION, job->id) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static void run_write(struct usecase_job *base)
{
    struct write_job *job = (struct write_job *)base;
    struct service *s = job->base.s;
    const struct entity_ops *ops = job->ops;
    struct refusal r;
    if (job->is_delete) {
        run_delete(job);
        return;
    }
    const void *old = ops->get(s->registry, job->id);
    if (old && ops->kind == RS_STAFF)
        snprintf(job->old_device, sizeof(job->old_device), "%s",
                 ((const struct lpg_staff *)old)->device_id);
    void *e = new_version(job, old, &r);
    if (e == NULL) {
        usecase_job_refused(&job->base, &r);
        return;
    }
    job->entity = e;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    if (changeset_add(&job->cs, ops->kind, e) != 0 ||
        registry_rules_check(&(struct registry_rules_view){.reg = s->registry,
                                                           .device = accounts_device_lookup,
                                                           .device_arg = s->accounts},
                             ops->kind, e, old, &job->cs, &err) != 0) {
        refuse_write(&r, &err);
        usecase_job_refused(&job->base, &r);
        return;
    }
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || changeset_save(&job->cs, s->store, txn) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops write_job_ops = {
    .run = run_write,
    .applied = on_written,
    .failed = write_failed,
    .free = write_job_free,
};

int registry_write(struct service *s, const struct auth_principal *p, enum rs_kind kind,
                   const char *id, json_t *body, int is_patch, registry_write_done_fn *done,
                   void *arg, struct refusal *r)
{
    const struct entity_ops *ops = &entity_ops[kind];
    if (!is_patch) {
        id = json_string_value(json_object_get(body, "id"));
        /* A dispatcher works in its own enterprise: fill it in when omitted. */
        if (kind != RS_ENTERPRISE && p->role == AUTH_ROLE_DISPATCHER &&
            json_object_get(body, "enterprise_id") == NULL)
            json_object_set_new(body, "enterprise_id", json_string(p->enterprise_id));
        const char *ent = kind == RS_ENTERPRISE
                              ? NULL
                              : json_string_value(json_object_get(body, "enterprise_id"));
        /* Enterprises are created by admins; everything else within one's enterprise. */
        if (refuse_unless_allowed(r, p, kind == RS_ENTERPRISE ? AUTH_ADMIN : AUTH_WRITE,
                                  ent && lpg_id_valid(ent) ? ent : NULL) != 0) {
            json_decref(body);
            return -1;
        }
    }
    if (id == NULL || !lpg_id_valid(id)) {
        json_decref(body);
        return refuse(r, REFUSAL_INVALID, id ? "invalid_field" : "missing_field", "id",
                      "id must be 1..64 characters of [A-Za-z0-9_.-]");
    }
    struct write_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        json_decref(body);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    usecase_job_init(&job->base, &write_job_ops, s);
    job->ops = ops;
    job->principal = *p;
    job->body = body;
    job->is_patch = is_patch;
    job->done = done;
    job->arg = arg;
    snprintf(job->id, sizeof(job->id), "%s", id);
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}

int registry_delete_station(struct service *s, const struct auth_principal *p, const char *id,
                            registry_write_done_fn *done, void *arg, struct refusal *r)
{
    if (id == NULL || !lpg_id_valid(id))
        return refuse(r, REFUSAL_NOT_FOUND, "not_found", NULL, "no station with this id");
    struct write_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    usecase_job_init(&job->base, &write_job_ops, s);
    job->ops = &entity_ops[RS_STATION];
    job->principal = *p;
    job->is_delete = 1;
    job->done = done;
    job->arg = arg;
    snprintf(job->id, sizeof(job->id), "%s", id);
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}
