/* model_json.h -- the domain entities (model.h) to and from JSON (jansson), with validation.
 * Pure: no I/O. Used by the HTTP API (client input, responses) and by the store (records).
 *
 * Design decisions (the JSON contract of every entity):
 *   - Field names are snake_case. Enums are written by their model.c names ("delivery",
 *     "e-bike", "re-inspection", "en_route", ...); premises flags as an array of
 *     "underground", "semi_underground", "high_rise_residential", "high_rise_public"; customer
 *     status "active" or "suspended"; order-event actors by order_fsm_actor_name().
 *   - Calendar dates are "YYYY-MM-DD" (lpg_day_parse/lpg_day_format): qualification_expiry,
 *     training_expiry, permit_expiry, contract_from, contract_to.
 *   - Instants are RFC 3339 strings; output is always UTC with milliseconds,
 *     "2026-11-28T21:15:22.123Z" (lpg_json_instant_format). Input accepts any RFC 3339
 *     date-time: 'T' or 't', optional fraction (digits beyond milliseconds are truncated), 'Z' or
 *     a numeric offset "+08:00" (lpg_json_instant_parse). Instants must be after 1970-01-01
 *     (0 is the model's "none"). Fields: created_at, updated_at, window_start, window_end,
 *     rest_until, position_at, at.
 *   - Locations are objects {"lon": .., "lat": ..} (explicit names, never a bare pair), degrees,
 *     lon in [-180, 180], lat in [-90, 90]; other members are unknown fields.
 *   - Optional values that are absent in the model ("" strings, LPG_DAY_NONE days, 0 instants,
 *     no position) are written as null. In input, absent, null and (for strings) "" all mean
 *     "none".
 *   - Unknown fields are errors (catch typos): code "unknown_field".
 *   - Ids are checked with lpg_id_valid(); strings against the model's caps, the message naming
 *     the cap ("name is 140 bytes; at most 127 (LPG_NAME_MAX)"); embedded NULs are refused.
 *   - Server-owned fields are output-only. In client input (lpg_json_to_*, lpg_json_patch_*) they
 *     are REFUSED (code "read_only_field"), so a client that sends "state": "delivered" learns
 *     that it has no effect. They are: created_at, updated_at (all); rest_until, active_orders
 *     (staff); position, position_at, committed (vehicle); status, suspended_reason (customer:
 *     suspension is set and lifted by safety checks, never by editing); state, staff_id,
 *     vehicle_id, reason (order); trip_* (vehicle: the load of the current trip); status,
 *     vehicle_id, customer_id, order_id, check_id (cylinder: set only by movements). The store
 * reads its own records back with lpg_json_load_*, which accepts them. Derived counters
 * (active_orders, committed: maintained by the registry, never stored) are written but ignored by
 * every reader. zone.index_id is internal and never written.
 *   - Geometry (enterprise "area", zone "shape") is GeoJSON (RFC 7946): a Polygon, a MultiPolygon,
 *     or a Feature whose "geometry" is one of them; anything else is refused with a message
 *     naming what was found. Positions are [lon, lat] (an altitude third value is ignored);
 *     a latitude out of range whose longitude is a valid latitude is reported as a probable
 *     [lat, lon] swap. Rings need at least 3 distinct vertices; unclosed rings are accepted and
 *     stored closed (so output, always closed as RFC 7946 wants, reads back identically). At
 *     most LPG_JSON_GEOMETRY_VERTICES_MAX vertices in one geometry. Foreign members
 *     (RFC 7946 §6.1: "bbox", "properties", "id", ...) are ignored. Output is a Polygon when
 *     there is one part, else a MultiPolygon. Storage layout (struct lpg_geometry): pts holds the
 *     rings one after the other; rings holds, per polygon, its outer ring then its holes;
 *     polys[i].holes points into rings (NULL when it has none); then lpg_geometry_finish().
 *   - Required fields on creation: id and enterprise_id everywhere (except enterprise: id),
 *     name (enterprise, zone, staff, customer), area / shape, role (staff), plate, kind,
 *     capacity (vehicle), kind, location (customer), customer_id (order). The rest is optional
 *     with defaults: utc_offset_min LPG_DEFAULT_UTC_OFFSET_MIN (480), speed_limit_kmh 0, expressway
 * false, on_duty false, premises [], order kind "delivery", items [] (order_rules decides what an
 * order needs).
 *
 * Errors: 0 / -1 with *err filled: code is one of
 *     "invalid_body"     the input is not a JSON object
 *     "missing_field"    a required field is absent (or null)
 *     "unknown_field"    a member the entity does not have
 *     "read_only_field"  a server-owned field in client input, or an id changed by a patch
 *     "invalid_field"    wrong type, malformed, out of range, too long, bad geometry
 *     "invalid_geometry" client input only (not lpg_json_load_*): a shape over the vertex caps
 *                        or not a simple polygon (lpg_geometry_validate); field is the
 *                        offending vertex ("shape.coordinates[0][3]"), message says what is wrong
 *     "internal"         out of memory
 *   field is the dotted path of the offending value ("items[1].count", "location.lat",
 *   "area.coordinates[0][3]"), "" when about the whole input; message is for people.
 *
 * Ownership: lpg_json_from_* return a new reference (NULL on out-of-memory). lpg_json_to_*,
 * _load_* fill *out completely (defaults for what is absent); on success the caller owns its
 * geometry (lpg_geometry_free); on failure *out holds no allocation (its other contents are
 * unspecified). lpg_json_patch_* change *inout only on success (all or nothing).
 */
#ifndef LPG_MODEL_JSON_H
#define LPG_MODEL_JSON_H

#include "core/model.h"
#include "core/order_fsm.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define LPG_JSON_GEOMETRY_VERTICES_MAX                                                             \
    100000                       /* vertices of one geometry, closing ones included                \
                                  */
#define LPG_JSON_INSTANT_LEN 24  /* "2026-11-28T21:15:22.123Z" */
#define LPG_JSON_FIELD_MAX   127 /* bytes of an error's field path */
#define LPG_JSON_MESSAGE_MAX 383 /* bytes of an error's message */

struct lpg_json_error {
    const char *code; /* see above; static string */
    char field[LPG_JSON_FIELD_MAX + 1];
    char message[LPG_JSON_MESSAGE_MAX + 1];
};

/* ---- entities: output, client input (create), stored records (load), partial updates ---- */

json_t *lpg_json_from_enterprise(const struct lpg_enterprise *e);
int lpg_json_to_enterprise(const json_t *in, struct lpg_enterprise *out,
                           struct lpg_json_error *err);
int lpg_json_load_enterprise(const json_t *in, struct lpg_enterprise *out,
                             struct lpg_json_error *err);

json_t *lpg_json_from_zone(const struct lpg_zone *z);
int lpg_json_to_zone(const json_t *in, struct lpg_zone *out, struct lpg_json_error *err);
int lpg_json_load_zone(const json_t *in, struct lpg_zone *out, struct lpg_json_error *err);

/* Stations: a "shape" (Polygon/MultiPolygon, checked like a zone's) or a "center" {lon, lat}
 * with "radius_m" (1..LPG_STATION_RADIUS_MAX_M), exactly one of the two. */
json_t *lpg_json_from_station(const struct lpg_station *st);
int lpg_json_to_station(const json_t *in, struct lpg_station *out, struct lpg_json_error *err);
int lpg_json_load_station(const json_t *in, struct lpg_station *out, struct lpg_json_error *err);
/* PATCH: name, and one form (shape, or center and radius_m: the form given replaces the other);
 * the same checks as creation. Changes inout in place (its shape is owned): on -1 the caller
 * discards it. */
int lpg_json_patch_station(const json_t *in, struct lpg_station *inout, struct lpg_json_error *err);

json_t *lpg_json_from_staff(const struct lpg_staff *s);
int lpg_json_to_staff(const json_t *in, struct lpg_staff *out, struct lpg_json_error *err);
int lpg_json_load_staff(const json_t *in, struct lpg_staff *out, struct lpg_json_error *err);

json_t *lpg_json_from_vehicle(const struct lpg_vehicle *v);
int lpg_json_to_vehicle(const json_t *in, struct lpg_vehicle *out, struct lpg_json_error *err);
int lpg_json_load_vehicle(const json_t *in, struct lpg_vehicle *out, struct lpg_json_error *err);

json_t *lpg_json_from_customer(const struct lpg_customer *c);
int lpg_json_to_customer(const json_t *in, struct lpg_customer *out, struct lpg_json_error *err);
int lpg_json_load_customer(const json_t *in, struct lpg_customer *out, struct lpg_json_error *err);

json_t *lpg_json_from_order(const struct lpg_order *o);
int lpg_json_to_order(const json_t *in, struct lpg_order *out, struct lpg_json_error *err);
int lpg_json_load_order(const json_t *in, struct lpg_order *out, struct lpg_json_error *err);

json_t *lpg_json_from_cylinder(const struct lpg_cylinder *c);
int lpg_json_to_cylinder(const json_t *in, struct lpg_cylinder *out, struct lpg_json_error *err);
int lpg_json_load_cylinder(const json_t *in, struct lpg_cylinder *out, struct lpg_json_error *err);
int lpg_json_patch_cylinder(const json_t *in, struct lpg_cylinder *inout,
                            struct lpg_json_error *err);

/* Hazards (rectification notices) are created and closed by the server only: there is no
 * client input form. */
json_t *lpg_json_from_hazard(const struct lpg_hazard *h);
int lpg_json_load_hazard(const json_t *in, struct lpg_hazard *out, struct lpg_json_error *err);

/* PATCH semantics: only the fields present change; null clears an optional field (and is
 * refused for a required one); id and enterprise_id may be present only with their current
 * value; server-owned fields are refused. *inout is changed only when the whole patch is valid.
 * The caller re-checks cross-entity consistency (bindings, zones) afterwards. */
int lpg_json_patch_staff(const json_t *in, struct lpg_staff *inout, struct lpg_json_error *err);
int lpg_json_patch_vehicle(const json_t *in, struct lpg_vehicle *inout, struct lpg_json_error *err);
int lpg_json_patch_customer(const json_t *in, struct lpg_customer *inout,
                            struct lpg_json_error *err);

/* Order history: {"at", "from", "to", "actor", "actor_id", "reason"}. Events are written by the
 * server only, so reading one is a load (every field accepted). */
json_t *lpg_json_from_order_event(const struct order_event *ev);
/* The same as compact JSON text, as an order's history stores it (malloc'd; NULL when out of
 * memory). Every use case that moves an order records its event through this. */
char *lpg_order_event_text(const struct order_event *ev);
int lpg_json_to_order_event(const json_t *in, struct order_event *out, struct lpg_json_error *err);

/* ---- building blocks ---- */

/* GeoJSON of a geometry (Polygon or MultiPolygon; null when it has no polygon). */
json_t *lpg_json_from_geometry(const struct lpg_geometry *g);
/* Parses GeoJSON (see above) into out (fully replaced) and calls lpg_geometry_finish. `path`
 * names the value in error fields ("area"). */
int lpg_json_to_geometry(const json_t *in, const char *path, struct lpg_geometry *out,
                         struct lpg_json_error *err);

/* RFC 3339 instant <-> UTC ms (see above). Parse returns 0, or -1 on a malformed, impossible or
 * out-of-range (not after 1970, beyond 9999) instant. Format writes 24 characters and a NUL;
 * ms must be in 0..253402300799999 (years 1970..9999), else it is clamped into that range. */
int lpg_json_instant_parse(const char *s, int64_t *ms);
void lpg_json_instant_format(int64_t ms, char out[LPG_JSON_INSTANT_LEN + 1]);
/* The instant as a JSON string, or null for 0 (the model's "none") and before; new reference. */
json_t *lpg_json_instant(int64_t ms);

#endif
