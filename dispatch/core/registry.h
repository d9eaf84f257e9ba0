/* registry.h -- the in-memory registry of a dispatchd: every enterprise, zone, staff member,
 * vehicle, customer, order, cylinder and hazard notice, indexed for the lookups dispatch needs (by
 * id, by enterprise, staff by zone, zones containing a point through a geo zone index).
 *
 * Redis is the store of record; the registry is a cache of it, loaded at start and updated
 * after each write is confirmed by Redis (registry_store.c). Pure: no I/O.
 *
 * Ownership: registry_put_*() takes ownership of a heap-allocated entity (malloc) and of its
 * geometry, replacing and freeing any entity with the same id; on failure (-1, out of memory)
 * the entity is freed too. Pointers returned by getters are valid until the next put/remove
 * of that entity or registry_free(). To change an entity: copy it (lpg_*_dup), change the copy,
 * persist it, then put the copy.
 *
 * Derived fields are maintained here, never stored: lpg_staff.active_orders and
 * lpg_vehicle.committed (orders assigned..arrived), following every registry_put_order().
 *
 * Error convention: 0 / -1; getters return NULL when absent.
 */
#ifndef LPG_REGISTRY_H
#define LPG_REGISTRY_H

#include "core/model.h"

#include <stddef.h>

struct registry;

struct registry *registry_new(void);
void registry_free(struct registry *reg);

/* A put that fails (-1: out of memory, or an entity without a valid id) loses the entity, so
 * the registry no longer holds what the caller stored in Redis: the owner of the registry is
 * told through fn(arg) (dispatchd reloads the registry from Redis, app/service.h), once per
 * failed put, after the put returned its -1 to its caller. fn NULL: nobody is told. */
typedef void registry_put_failed_fn(void *arg);
void registry_set_put_failed(struct registry *reg, registry_put_failed_fn *fn, void *arg);

int registry_put_enterprise(struct registry *reg, struct lpg_enterprise *e);
int registry_put_zone(struct registry *reg, struct lpg_zone *z);
int registry_put_staff(struct registry *reg, struct lpg_staff *s);
int registry_put_vehicle(struct registry *reg, struct lpg_vehicle *v);
int registry_put_customer(struct registry *reg, struct lpg_customer *c);
int registry_put_order(struct registry *reg, struct lpg_order *o);
int registry_put_cylinder(struct registry *reg, struct lpg_cylinder *c);
int registry_put_hazard(struct registry *reg, struct lpg_hazard *h);
int registry_put_station(struct registry *reg, struct lpg_station *st);

/* Sets a vehicle's last known position (and its speed, -1 when unknown) in place (a cache of the
 * tracking store; no index depends on it). 0, or -1 when the vehicle is absent. */
int registry_set_vehicle_position(struct registry *reg, const char *id, struct geo_point pos,
                                  int64_t ms, int32_t speed_cm_s);

/* Removal (0, or -1 when absent). Removing a zone or enterprise does not cascade. */
int registry_remove_zone(struct registry *reg, const char *id);
int registry_remove_staff(struct registry *reg, const char *id);
int registry_remove_vehicle(struct registry *reg, const char *id);
int registry_remove_customer(struct registry *reg, const char *id);
int registry_remove_cylinder(struct registry *reg, const char *id);
int registry_remove_hazard(struct registry *reg, const char *id);
int registry_remove_station(struct registry *reg, const char *id);

const struct lpg_enterprise *registry_enterprise(const struct registry *reg, const char *id);
const struct lpg_zone *registry_zone(const struct registry *reg, const char *id);
const struct lpg_staff *registry_staff(const struct registry *reg, const char *id);
const struct lpg_vehicle *registry_vehicle(const struct registry *reg, const char *id);
const struct lpg_customer *registry_customer(const struct registry *reg, const char *id);
const struct lpg_order *registry_order(const struct registry *reg, const char *id);
const struct lpg_cylinder *registry_cylinder(const struct registry *reg, const char *id);
const struct lpg_hazard *registry_hazard(const struct registry *reg, const char *id);
const struct lpg_station *registry_station(const struct registry *reg, const char *id);

/* Deep copies (geometry included) for the copy-change-persist-put cycle; NULL on OOM. */
struct lpg_enterprise *lpg_enterprise_dup(const struct lpg_enterprise *e);
struct lpg_zone *lpg_zone_dup(const struct lpg_zone *z);
struct lpg_staff *lpg_staff_dup(const struct lpg_staff *s);
struct lpg_vehicle *lpg_vehicle_dup(const struct lpg_vehicle *v);
struct lpg_customer *lpg_customer_dup(const struct lpg_customer *c);
struct lpg_order *lpg_order_dup(const struct lpg_order *o);
struct lpg_cylinder *lpg_cylinder_dup(const struct lpg_cylinder *c);
struct lpg_hazard *lpg_hazard_dup(const struct lpg_hazard *h);
struct lpg_station *lpg_station_dup(const struct lpg_station *st);

/* Paged listing, ordered by id: entities of `enterprise_id` (NULL: every enterprise) with
 * id > after_id (NULL or "": from the start), at most `limit`, into out[]. Returns the count
 * written. A filter callback (NULL: none) selects entities. */
typedef bool registry_filter_fn(const void *entity, void *arg);
size_t registry_list_enterprises(const struct registry *reg, const char *after_id, size_t limit,
                                 const struct lpg_enterprise **out);
size_t registry_list_zones(const struct registry *reg, const char *enterprise_id,
                           const char *after_id, size_t limit, registry_filter_fn *filter,
                           void *arg, const struct lpg_zone **out);
size_t registry_list_staff(const struct registry *reg, const char *enterprise_id,
                           const char *after_id, size_t limit, registry_filter_fn *filter,
                           void *arg, const struct lpg_staff **out);
size_t registry_list_vehicles(const struct registry *reg, const char *enterprise_id,
                              const char *after_id, size_t limit, registry_filter_fn *filter,
                              void *arg, const struct lpg_vehicle **out);
size_t registry_list_customers(const struct registry *reg, const char *enterprise_id,
                               const char *after_id, size_t limit, registry_filter_fn *filter,
                               void *arg, const struct lpg_customer **out);
size_t registry_list_orders(const struct registry *reg, const char *enterprise_id,
                            const char *after_id, size_t limit, registry_filter_fn *filter,
                            void *arg, const struct lpg_order **out);
/* Cylinders and hazards by enterprise; a selective filter costs O(entities of the enterprise):
 * for one vehicle's load or one order's cylinders use the groups below. */
size_t registry_list_cylinders(const struct registry *reg, const char *enterprise_id,
                               const char *after_id, size_t limit, registry_filter_fn *filter,
                               void *arg, const struct lpg_cylinder **out);
size_t registry_list_hazards(const struct registry *reg, const char *enterprise_id,
                             const char *after_id, size_t limit, registry_filter_fn *filter,
                             void *arg, const struct lpg_hazard **out);
size_t registry_list_stations(const struct registry *reg, const char *enterprise_id,
                              const char *after_id, size_t limit, registry_filter_fn *filter,
                              void *arg, const struct lpg_station **out);

/* Zones of `enterprise_id` containing p (boundary included), ascending by id, at most cap;
 * returns the total found. Rebuilds the zone index lazily after zone changes. */
size_t registry_zones_at(struct registry *reg, const char *enterprise_id, struct geo_point p,
                         const struct lpg_zone **out, size_t cap);

/* Staff whose zone is `zone_id`, at most cap; returns the total. */
size_t registry_staff_in_zone(const struct registry *reg, const char *zone_id,
                              const struct lpg_staff **out, size_t cap);

/* Cylinders whose vehicle_id is vehicle_id (aboard it, full or empty), or whose order_id is
 * order_id (loaded for it, handed over on it, collected on it), ascending by code, at most cap;
 * return the total. Kept as groups, so the cost is that of the group, not of the enterprise. */
size_t registry_cylinders_on_vehicle(const struct registry *reg, const char *vehicle_id,
                                     const struct lpg_cylinder **out, size_t cap);
size_t registry_cylinders_of_order(const struct registry *reg, const char *order_id,
                                   const struct lpg_cylinder **out, size_t cap);

/* Orders in state CREATED (waiting), oldest first, at most cap; returns the total. */
size_t registry_waiting_orders(const struct registry *reg, const struct lpg_order **out,
                               size_t cap);

struct registry_counts {
    size_t enterprises, zones, staff, vehicles, customers, orders, cylinders, hazards, stations;
};
void registry_counts(const struct registry *reg, struct registry_counts *out);

#endif
