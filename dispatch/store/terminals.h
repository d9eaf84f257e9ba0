/* terminals.h -- the JT/T 808 terminals of this instance (struct terminal_record,
 * core/terminal.h): an in-memory table, persisted in Redis and loaded at start with the
 * accounts (store/accounts.c owns one table and loads it as its last phase).
 *
 * Keys (docs/redis-keys.md):
 *   {p}terminal:{id}     string: the terminal as JSON (terminal_to_store_json): the SHA-256
 *                        digest of its authentication code, never the code
 *   {p}index:terminal    set: every terminal id (as registered)
 *
 * Sized for 100,000 terminals and more: lookups by id (by its significant digits,
 * core/terminal.h) and by vehicle are hash lookups whose tables grow with the count (chains stay
 * at about one entry); a listing page is a binary search in an array sorted by (enterprise, id),
 * sorted again only after a change (one qsort, O(n log n), for the first listing after a batch
 * of writes; a load of 100,000 appends without sorting). A record is ~260 bytes plus two chain
 * pointers and two array slots.
 */
#ifndef LPG_STORE_TERMINALS_H
#define LPG_STORE_TERMINALS_H

#include "core/terminal.h"
#include "store/store.h"

#include <stddef.h>

struct terminal_table;

struct terminal_table *terminal_table_new(void);
void terminal_table_free(struct terminal_table *t);
size_t terminal_table_count(const struct terminal_table *t);

/* The terminal whose id has the same significant digits as id, or NULL. O(1). The record is
 * valid until that terminal is written again (put or removed): copy what you keep. */
const struct terminal_record *terminal_table_get(const struct terminal_table *t, const char *id);
/* The terminal bound to vehicle_id, or NULL. O(1). */
const struct terminal_record *terminal_table_by_vehicle(const struct terminal_table *t,
                                                        const char *vehicle_id);
/* Adds rec, or replaces the terminal with the same significant digits. 0, or -1 (out of
 * memory: the table is unchanged). */
int terminal_table_put(struct terminal_table *t, const struct terminal_record *rec);
/* Removes the terminal with id's significant digits (no-op when absent). */
void terminal_table_remove(struct terminal_table *t, const char *id);
/* A page ordered by id (strcmp of the id as registered): terminals of enterprise_id (NULL:
 * every enterprise) with id > after (NULL or "": from the start), at most limit, into out.
 * Returns how many. Not const: sorts the table's arrays after a change; -1 cast to size_t
 * never: when the sort's scratch cannot be had the arrays are sorted in place. */
size_t terminal_table_list(struct terminal_table *t, const char *enterprise_id, const char *after,
                           size_t limit, const struct terminal_record **out);

/* Commands that persist a terminal / its deletion. 0 or -1 (out of memory). */
int terminals_store_save(const struct store *st, struct store_txn *txn,
                         const struct terminal_record *rec);
int terminals_store_delete(const struct store *st, struct store_txn *txn, const char *id);

#endif
