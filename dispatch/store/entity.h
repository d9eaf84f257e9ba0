/* entity.h -- the persistence of a changeset (core/entity.h): the commands that save every new
 * version it holds. The operations table and the changeset itself are pure and live in core/;
 * this header includes them, so a caller that saves a changeset needs this one include.
 */
#ifndef LPG_ENTITY_H
#define LPG_ENTITY_H

#include "core/entity.h"
#include "store/registry_store.h"

/* Adds SET/SADD for every entity to txn. 0, or -1 on out-of-memory. */
int changeset_save(const struct changeset *cs, const struct store *st, struct store_txn *txn);

#endif
