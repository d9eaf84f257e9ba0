/* accounts.h -- users of the HTTP API and their sessions (bearer tokens): an in-memory table
 * for this instance, persisted in Redis and loaded at start.
 *
 * Keys (docs/redis-keys.md):
 *   {p}user:{name}          string: the user as JSON, password hash included (store form)
 *   {p}index:user           set: every user name
 *   {p}session:{digest}     string: the session's principal as JSON; expires with the session
 *                           (PEXPIREAT), so Redis drops it by itself
 *   {p}index:session        set: every session digest (stale members are removed at load)
 *   {p}device:{id}          string: a handset's registration as JSON: the person it belongs
 *                           to and the SHA-256 digest of its secret (never the secret)
 *   {p}index:device         set: every device id
 *   {p}terminal:{id}        string: a JT/T 808 terminal as JSON (store/terminals.h)
 *   {p}index:terminal       set: every terminal id
 * Only the SHA-256 digest of a token is stored: a copy of the store gives no usable token.
 *
 * Sessions are checked against this instance's table, so a logout on one instance is not seen
 * by another until it restarts; running several instances needs a shared lookup (noted in the
 * tracking issue's partitioning design).
 */
#ifndef LPG_ACCOUNTS_H
#define LPG_ACCOUNTS_H

#include "core/auth.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

struct accounts;

struct accounts *accounts_new(void);
void accounts_free(struct accounts *acc);

/* The JT/T 808 terminals (store/terminals.h): a table the accounts own and load, so that a
 * reload of the accounts reloads them too. */
struct terminal_table;
struct terminal_table *accounts_terminals(const struct accounts *acc);

/* Users: the table keeps a copy. */
const struct auth_user *accounts_user(const struct accounts *acc, const char *name);
int accounts_put_user(struct accounts *acc, const struct auth_user *u);
size_t accounts_user_count(const struct accounts *acc);
/* Users ordered by name after `after` (NULL: from the start), at most limit. */
size_t accounts_list_users(const struct accounts *acc, const char *after, size_t limit,
                           const struct auth_user **out);

/* Reads user `name` again from the store and puts it in the table: a user created or reset by
 * another process (`dispatchd --create-admin` writes Redis directly) is seen without a
 * restart. done(arg, err) is called exactly once, later, with err NULL when the store answered
 * (the user was found and updated, or not found and the table left alone) or the store's
 * error. Returns 0 when started; -1 (done not called) when the store is not up or
 * ACCOUNTS_REFRESH_MAX reads are already in flight: the caller goes on with the table. */
#define ACCOUNTS_REFRESH_MAX 32
typedef void accounts_refresh_fn(void *arg, const char *err);
int accounts_refresh_user(struct store *st, struct accounts *acc, const char *name,
                          accounts_refresh_fn *done, void *arg);

/* Handsets (struct device_record, core/auth.h): a device id belongs to one staff member or to
 * one vehicle; it logs in with its secret. */
const struct device_record *accounts_device(const struct accounts *acc, const char *device_id);
/* accounts_device with the table as a plain pointer: the lookup a registry_rules_view takes
 * (registry_device_fn, core/registry_rules.h). */
const struct device_record *accounts_device_lookup(const void *acc, const char *device_id);
int accounts_put_device(struct accounts *acc, const struct device_record *dev);
int accounts_store_device(const struct store *st, struct store_txn *txn,
                          const struct device_record *dev);

/* Sessions by token digest. accounts_session returns NULL when unknown or expired at now_ms
 * (an expired one is dropped). */
const struct auth_principal *accounts_session(struct accounts *acc, const char *digest,
                                              int64_t now_ms);
int accounts_put_session(struct accounts *acc, const char *digest, const struct auth_principal *p);
void accounts_remove_session(struct accounts *acc, const char *digest);

/* Commands that persist a user / a session / the end of a session. 0 or -1 (OOM). */
int accounts_store_user(const struct store *st, struct store_txn *txn, const struct auth_user *u);
int accounts_store_session(const struct store *st, struct store_txn *txn, const char *digest,
                           const struct auth_principal *p);
int accounts_store_session_end(const struct store *st, struct store_txn *txn, const char *digest);

/* Loads users, live sessions, devices and terminals; done(arg, err) with err NULL on success. 0
 * when started. */
typedef void accounts_load_fn(void *arg, const char *err);
int accounts_load(struct store *st, struct accounts *acc, int64_t now_ms, accounts_load_fn *done,
                  void *arg);

#endif
