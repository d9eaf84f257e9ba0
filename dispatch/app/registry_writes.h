/* registry_writes.h -- creating and changing registry entities (enterprises, zones, staff,
 * vehicles, customers, cylinders): the use case behind POST and PATCH /v1/{kind}, whatever
 * the transport.
 *
 * A write is checked in two steps. At once: the id, and for a creation the caller's right to
 * write in the entity's enterprise (a dispatcher's enterprise_id defaults to its own). Then in
 * a writer job, against the registry as it is when the change is committed: the entity
 * (model_json.h), that a created id is free (one namespace per kind, the same answer whoever
 * holds it) and that a patched one exists and is the caller's to change (another
 * enterprise's entity is answered exactly like a missing one), and the consistency across
 * entities (registry_rules.h), whose companion changes (the other side of a person-vehicle
 * binding) go into the same transaction through the changeset (store/entity.h).
 *
 * Once Redis confirms, the registry is updated, a person's replaced or removed handset has
 * its session revoked (EV_SESSION_REVOKED on s->bus), and a re-matching pass is requested.
 */
#ifndef LPG_REGISTRY_WRITES_H
#define LPG_REGISTRY_WRITES_H

#include "app/refusal.h"
#include "store/registry_store.h"

#include <jansson.h>

struct service;
struct auth_principal;

/* The end of a write: entity is the entity as written (JSON, the callee's to keep: a new
 * reference) and created says whether it is new, or entity is NULL and r the refusal. */
typedef void registry_write_done_fn(void *arg, json_t *entity, int created,
                                    const struct refusal *r);

/* Creates (is_patch 0: body is the entity) or changes (is_patch 1: body holds the fields to
 * change of entity `id`) an entity of `kind` for principal p. body is taken in every case;
 * id is read for a patch only (a creation's id is the body's).
 * Returns 0: done will be called once, later (not when the service stops with the write still
 * queued: then the write is dropped silently, with its caller's connection). Or -1 with *r,
 * and done is not called. */
int registry_write(struct service *s, const struct auth_principal *p, enum rs_kind kind,
                   const char *id, json_t *body, int is_patch, registry_write_done_fn *done,
                   void *arg, struct refusal *r);

/* Removes station `id` for principal p (DELETE /v1/stations/{id}): refused 404 when missing or
 * another enterprise's, 409 station_in_use while a vehicle names it (checked in the writer job,
 * against the registry as committed). done gets the station as it was (created 0). Same return
 * and lifetime as registry_write. */
int registry_delete_station(struct service *s, const struct auth_principal *p, const char *id,
                            registry_write_done_fn *done, void *arg, struct refusal *r);

/* The reason given with EV_SESSION_REVOKED when a handset is replaced (or removed) by a
 * registry write or a device registration; the handset transport shows it to the device. */
extern const char registry_handset_replaced[];

#endif
