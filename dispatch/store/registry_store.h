/* registry_store.h -- the registry's persistence in Redis (the store of record): key names,
 * the commands that save an entity, and loading everything back at start.
 *
 * Keys (docs/redis-keys.md), all under the configured prefix:
 *   {p}{kind}:{id}           string: the entity as JSON (model_json.h, stored form)
 *   {p}index:{kind}          set: every id of that kind (for loading)
 *   {p}order:{id}:history    list: the order's events as JSON, oldest first
 *   {p}cylinder:{id}:history list: the cylinder's life events as JSON, oldest first
 * kind is enterprise, zone, staff, vehicle, customer, order, cylinder or hazard.
 *
 * Saving adds commands to a store transaction (store_txn); the caller commits it through the
 * writer and applies the change to the registry when Redis confirms it.
 */
#ifndef LPG_REGISTRY_STORE_H
#define LPG_REGISTRY_STORE_H

#include "core/entity_kind.h"
#include "core/registry.h"
#include "store/store.h"

const char *rs_kind_name(enum rs_kind k);

/* Adds SET {p}{kind}:{id} json + SADD {p}index:{kind} id. Returns 0 or -1 (OOM). */
int registry_store_save(const struct store *st, struct store_txn *txn, enum rs_kind kind,
                        const char *id, const char *json, size_t json_len);
/* Adds DEL + SREM. */
int registry_store_delete(const struct store *st, struct store_txn *txn, enum rs_kind kind,
                          const char *id);
/* Adds RPUSH {p}order:{id}:history event_json. */
int registry_store_order_event(const struct store *st, struct store_txn *txn, const char *order_id,
                               const char *event_json, size_t len);

/* Adds RPUSH {p}cylinder:{id}:history event_json. */
int registry_store_cylinder_event(const struct store *st, struct store_txn *txn,
                                  const char *cylinder_id, const char *event_json, size_t len);

/* Called once when loading ends: err NULL on success (counts filled), else why it failed
 * (the registry then holds what was loaded so far). */
typedef void registry_load_fn(void *arg, const char *err, const struct registry_counts *counts);

/* Loads every entity from Redis into reg (which should be empty), kind by kind in dependency
 * order. Asynchronous: done runs when finished. Returns 0 when started, -1 (done not called)
 * when the store is not up. A stored record that does not parse is an error: the service must
 * not run on a partial registry. */
int registry_store_load(struct store *st, struct registry *reg, registry_load_fn *done, void *arg);

#endif
