/* entity.h -- one table of operations per kind of stored entity (enterprise, zone, staff,
 * vehicle, customer, order, cylinder, hazard), so that generic code (the changeset, the registry
 * rules, the HTTP registry handlers) treats them alike without a switch per kind. Each row
 * wires model_json.h and registry.h together for its kind. Pure: saving a changeset to Redis
 * is store/entity.h's changeset_save.
 *
 * A changeset gathers the new versions of the entities one write changes (a staff binding
 * also changes two vehicles), is saved in one transaction, and is applied to the registry
 * once Redis confirms -- or discarded.
 */
#ifndef LPG_CORE_ENTITY_H
#define LPG_CORE_ENTITY_H

#include "core/entity_kind.h"
#include "core/model_json.h"
#include "core/registry.h"

struct entity_ops {
    enum rs_kind kind;
    const char *name;   /* "zone" */
    const char *plural; /* "zones": the collection's path, /v1/zones */
    size_t size;        /* sizeof the struct */
    json_t *(*to_json)(const void *e);
    int (*from_json)(const json_t *in, void *out, struct lpg_json_error *err); /* client input */
    int (*patch)(const json_t *in, void *inout, struct lpg_json_error *err);   /* NULL: none */
    const void *(*get)(const struct registry *reg, const char *id);
    int (*put)(struct registry *reg, void *e); /* takes ownership */
    void *(*dup)(const void *e);
    void (*destroy)(void *e); /* an entity not (or no longer) owned by the registry */
    const char *(*id)(const void *e);
    const char *(*enterprise)(const void *e); /* the scope of the entity */
    void (*stamp)(void *e, int64_t now_ms);   /* a new entity's created/updated time */
    size_t (*list)(const struct registry *reg, const char *enterprise_id, const char *after_id,
                   size_t limit, registry_filter_fn *filter, void *arg, const void **out);
};

extern const struct entity_ops entity_ops[RS_KIND_COUNT];

/* ---- changesets ---- */

#define CHANGESET_LIMIT 20000 /* entities one write may change (a vehicle's whole load) */

/* Zero-initialised is empty; the item array grows on demand and is released by apply or
 * discard. */
struct changeset {
    struct changeset_item {
        enum rs_kind kind;
        void *entity; /* the new version, owned by the changeset until applied */
    } * items;
    size_t n, cap;
};

/* Adds (takes ownership of) a new version; a second version of the same entity replaces the
 * first. Returns 0, or -1 when full or out of memory (the entity is destroyed). */
int changeset_add(struct changeset *cs, enum rs_kind kind, void *entity);
/* The pending new version of an entity in the changeset, or NULL. */
void *changeset_find(struct changeset *cs, enum rs_kind kind, const char *id);
/* Puts every entity into the registry (ownership moves); the changeset is empty after.
 * Returns 0, or -1 when a put failed (out of memory): the registry then lacks a change Redis
 * has, and its owner has been told (registry_set_put_failed: dispatchd reloads it). */
int changeset_apply(struct changeset *cs, struct registry *reg);
/* Destroys every entity; the changeset is empty after. */
void changeset_discard(struct changeset *cs);

#endif
