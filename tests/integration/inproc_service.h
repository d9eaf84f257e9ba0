/* inproc_service.h -- the service's modules in-process on the real store module, for the
 * integration tests that drive app/ use cases directly (ingest_sources, ingest_terminal,
 * driver_sign_on; terminal_cases takes the loop and the Redis only). What every such test built by
 * hand: a private redis-server, `struct service` (store, registry, accounts, writer, bus, audit
 * log, ingest) waited up, the registry seeded from a {kind, json} table, the loop run until a flag
 * is set, and the teardown in the same order. Each test keeps its own seeds, subscribers and plain
 * Redis client.
 */
#ifndef LPG_TESTS_INPROC_SERVICE_H
#define LPG_TESTS_INPROC_SERVICE_H

#include "app/service.h"
#include "harness.h"

#include <stddef.h>

/* Runs svc's loop until *flag is set or timeout_ms passes; returns *flag. */
int inproc_run_until(struct service *svc, const int *flag, int timeout_ms);

/* A private redis-server on a free port in a fresh directory named after tag (dir, dir_cap: out).
 * Returns 0; -1 if either could not be made. */
int inproc_redis_start(struct harness_redis *redis, char *dir, size_t dir_cap, const char *tag);
/* Stops it and removes its directory. */
void inproc_redis_stop(struct harness_redis *redis, const char *dir);

/* Zeroes *svc and builds it on the Redis at 127.0.0.1:port under key_prefix (NULL: the configured
 * default, svc->cfg.redis_key_prefix): defaults for the settings, the fix filter and the rules,
 * then store, registry, accounts, writer, bus, audit log and ingest; waits (5 s each) for the
 * store to be up and the audit log loaded. Returns 0; -1 on any failure. */
int inproc_service_start(struct service *svc, int port, const char *key_prefix);
/* Frees what inproc_service_start built (after the test's own clients are gone). */
void inproc_service_stop(struct service *svc);

/* Puts each {kind, json} of seeds into reg: kind is "enterprise", "vehicle", "zone", "customer",
 * anything else is staff. Fails the test on a record refused. */
void inproc_seed(struct registry *reg, const char *const (*seeds)[2], size_t n);

#endif
