/* registry_rules.h -- consistency of a registry entity with the others, shared by every path
 * that writes one (single create and patch in http_v1_registry.c, bulk import in
 * http_v1_import.c), so that a record is accepted by the same rules however it arrives:
 *
 *   - zone: its enterprise exists and the zone lies within the enterprise's supply area;
 *   - staff: its enterprise exists; its zone (if any) exists and belongs to the same
 *     enterprise; a new device_id names a handset registered for this very person
 *     (POST /v1/devices); its vehicle (if any) exists, belongs to the same enterprise and is
 *     bound to nobody else; the previous vehicle is unbound; both sides of the binding
 *     (人车对应) are written in the same transaction;
 *   - vehicle: the mirror: its enterprise exists; its person (if any) exists, belongs to the
 *     same enterprise and drives no other vehicle; the previous person is unbound; its escort
 *     (if any) is a person of role escort of the same enterprise, and a newly named escort is
 *     bound to no other vehicle (one vehicle per escort; clearing escort_id frees the escort);
 *   - customer: its enterprise exists;
 *   - cylinder: its enterprise (the owner) exists; a blacklisted one says why.
 *
 * Entities are looked up in three places, first hit wins: the changeset being built (the new
 * versions of this write), then the caller's pending entities (a bulk import's earlier rows,
 * not yet in the registry), then the registry. The rules never change anything but the
 * changeset: a companion entity that must change (the other side of a binding) is copied into
 * it first.
 *
 * Runs inside a writer job, against the registry as it is when the change is committed.
 * A reference to another enterprise's zone, vehicle, person or handset is answered exactly like
 * a reference to nothing (unknown_reference, naming the writer's enterprise), so that a write
 * does not tell which ids exist in other enterprises.
 *
 * Errors: 0, or -1 with *err (codes: unknown_reference, zone_outside_service_area,
 * vehicle_already_bound, staff_already_bound, not_an_escort, escort_in_use, internal).
 */
#ifndef LPG_REGISTRY_RULES_H
#define LPG_REGISTRY_RULES_H

#include "core/auth.h"
#include "core/entity.h"

/* Pending entities of a caller, not yet in the registry: the current version of (kind, id),
 * or NULL. Valid until the caller changes its set. */
typedef const void *registry_pending_fn(void *arg, enum rs_kind kind, const char *id);

/* The handset registered as device_id (POST /v1/devices), or NULL. The table belongs to the
 * accounts (store/accounts.h: accounts_device_lookup); the rules only read it. */
typedef const struct device_record *registry_device_fn(const void *arg, const char *device_id);

/* The caller's pending vehicle (the current version) whose escort_id is escort_id, other than
 * vehicle `except`, or NULL. Pending vehicles of another enterprise may be returned: the rules
 * check. Shares `arg` with registry_pending_fn. */
typedef const struct lpg_vehicle *registry_pending_escort_fn(void *arg, const char *escort_id,
                                                             const char *except);

struct registry_rules_view {
    const struct registry *reg;
    registry_pending_fn *pending; /* NULL: none */
    void *arg;
    registry_device_fn *device; /* registered handsets; NULL: none (no device_id accepted) */
    const void *device_arg;     /* device's argument (the accounts) */
    registry_pending_escort_fn *escorted_by; /* NULL: no pending vehicles */
};

/* Checks entity e of `kind` (the new version, already in cs; old: the stored version or NULL
 * for a creation) and adds the companion changes to cs. */
int registry_rules_check(const struct registry_rules_view *view, enum rs_kind kind, void *e,
                         const void *old, struct changeset *cs, struct lpg_json_error *err);

#endif
