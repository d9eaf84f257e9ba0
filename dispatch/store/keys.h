/* keys.h -- the name of every Redis key dispatchd uses: the one place that spells them.
 *
 * Each function writes the key WITHOUT the deployment's prefix (the setting redis_key_prefix,
 * written {p} in docs/redis-keys.md); store_key() (store.h) adds it. So a caller writes
 *     char rel[KEYS_REL_MAX], key[256];
 *     keys_vehicle_last(rel, sizeof(rel), vehicle_id);
 *     store_key(st, key, sizeof(key), rel);
 * Every function returns the length written, or -1 when it does not fit in cap (out is then
 * truncated but NUL-terminated, as with snprintf). Ids never contain ':' (lpg_id_valid), so a
 * key's parts cannot run into each other. Pure: no I/O.
 *
 * Each key is listed with its Redis type and the module that owns (writes) it; the layout and
 * the content of each value are documented in docs/redis-keys.md, which follows this file.
 */
#ifndef LPG_KEYS_H
#define LPG_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Large enough for any key below built from ids of at most LPG_ID_MAX bytes. */
#define KEYS_REL_MAX 200

/* The shape of the keys named by one id: lets a module pick the key family at run time. */
typedef int keys_id_fn(char *out, size_t cap, const char *id);

/* ---- records and their indexes: registry (registry_store.c), accounts (accounts.c) ---- */

/* {kind}:{id}, string (JSON): an entity of the registry (kind = rs_kind_name(): enterprise, zone,
 * staff, vehicle, customer, order, cylinder, hazard; owner registry_store.c) or an account
 * record (user, session, device; owner accounts.c) or a JT/T 808 terminal (terminal: id = its
 * phone number as registered; owner store/terminals.c, loaded by accounts.c). */
int keys_record(char *out, size_t cap, const char *kind, const char *id);
/* index:{kind}, set: every id of that kind, for loading. Same owners. */
int keys_index(char *out, size_t cap, const char *kind);
/* The same for a kind known at compile time (a string literal). */
#define KEYS_INDEX(kind) "index:" kind

/* ---- orders, cylinders and delivery compliance ---- */

/* order:{id}:history, list (RPUSH): the order's transition events. Owner registry_store.c
 * (registry_store_order_event). */
keys_id_fn keys_order_history;
/* cylinder:{id}:history, list (RPUSH): the cylinder's life events. Owner registry_store.c
 * (registry_store_cylinder_event). */
keys_id_fn keys_cylinder_history;
/* check:{id}, string (JSON), never rewritten: a safety check. Owner app/delivery.c. */
keys_id_fn keys_check;
/* order:{id}:checks, list (RPUSH): the ids of the order's checks. Owner app/delivery.c. */
keys_id_fn keys_order_checks;
/* customer:{id}:checks, sorted set (score: time ms): the customer's check ids. Owner
 * app/delivery.c. */
keys_id_fn keys_customer_checks;
/* refusals:{enterprise_id}:{YYYY-MM}, hash {refusal code: count}: the enterprise's refused
 * scans and requests (audit kind scan_refused) of that local month. Owner app/delivery.c
 * through store/refusal_counts.c. month is "YYYY-MM". */
int keys_refusals_month(char *out, size_t cap, const char *enterprise, const char *month);

/* ---- handsets and positions ---- */

/* device:{id}:session, hash: the handset's open session. Owner handset/handset_server.c. */
keys_id_fn keys_device_session;
/* device:{id}:seq, string (decimal): the device's highest stored Fix.seq. Owner app/ingest.c. */
keys_id_fn keys_device_seq;
/* staff:{id}:pushes, sorted set (score: push id), EXPIRE refreshed at every push: the person's
 * handset pushes not yet acknowledged, each member a packed lpg.v1 Envelope; at most
 * PUSHES_MAX, the oldest dropped. Owner app/pushes.c. */
keys_id_fn keys_staff_pushes;
/* route:{vehicle}:{yyyymmdd}, sorted set (score: fix time ms) with EXPIREAT: the vehicle's fixes of
 * UTC day utc_day (days since 1970-01-01), members as core/route_member.h. Owner app/ingest.c;
 * read by store/route_reads.c. */
int keys_route_day(char *out, size_t cap, const char *vehicle, int32_t utc_day);
struct route_seal_day;
/* route-log:{vehicle}:{tag}, string (APPEND) with the EXPIREAT of the later of the day's two UTC
 * sets: the fingerprints of the fixes of the vehicle's route day (its enterprise's LOCAL day;
 * tag "yyyymmdd+hhmm", core/route_seal.h), in arrival order. Owner app/route_seal.c (appended in
 * each position batch's transaction). */
int keys_route_log(char *out, size_t cap, const char *vehicle, const struct route_seal_day *rd);
/* route-seal:{vehicle}:{tag}, string (JSON) with the same EXPIREAT: the day's seal, written with
 * its route_sealed audit entry. Owner app/route_seal.c. */
int keys_route_seal(char *out, size_t cap, const char *vehicle, const struct route_seal_day *rd);
/* route-seals:pending, sorted set (score: when the day may be sealed, ms): "{vehicle}:{tag}" of
 * every route day with fixes stored since it was last examined. Owner app/route_seal.c. */
#define KEYS_ROUTE_SEALS_PENDING "route-seals:pending"
/* vehicle:{id}:last, hash: the vehicle's newest fix. Owner app/ingest.c. */
keys_id_fn keys_vehicle_last;
/* vehicle:{id}:rules, string: the vehicle's filter and rule state. Owner app/ingest.c. */
keys_id_fn keys_vehicle_rules;
/* vehicle:{id}:alarms, string: the terminal alarm episodes open for the vehicle
 * (core/terminal_alarms.h). Owner app/ingest.c. */
keys_id_fn keys_vehicle_alarms;
/* staff:{id}:fatigue, hash {vehicle, state}: the person's fatigue (core/rules.h
 * rules_fatigue_encode) and the vehicle it was last counted in: fatigue follows the person.
 * Owner app/ingest.c. */
keys_id_fn keys_staff_fatigue;
/* staff:{id}:drives, sorted set (score: time ms) with EXPIRE: the person's sign-ons and
 * sign-offs, "<ms>:on|off:<vehicle>" (store/drives.h). Owner app/driver_sign_on.c. */
keys_id_fn keys_staff_drives;
/* vehicle:{id}:depot, sorted set by time (ms): the vehicle's depot departures and arrivals as
 * JSON. Owner app/depot_track.c. */
keys_id_fn keys_vehicle_depot;
/* geo:vehicles, GEO set: every vehicle's newest position. Owner app/ingest.c. */
#define KEYS_GEO_VEHICLES "geo:vehicles"

/* ---- alerts (owner app/alerts.c) ---- */

/* alert:{id}, string (JSON) with EX: one alert. */
keys_id_fn keys_alert;
/* alerts:{enterprise_id}, sorted set (score: the event's time ms): the enterprise's alert ids. */
keys_id_fn keys_alerts_enterprise;
/* alerts:vehicle:{vehicle_id}, sorted set (same score): the vehicle's alert ids. */
keys_id_fn keys_alerts_vehicle;
/* alerts-by-rule:{rule}:{enterprise_id} (per_vehicle 0) or
 * alerts-by-rule:{rule}:vehicle:{vehicle_id} (per_vehicle 1), sorted set: the same per rule. */
int keys_alerts_by_rule(char *out, size_t cap, const char *rule, int per_vehicle, const char *id);
/* alerts:system, sorted set (score: creation time ms): the system alerts' ids. */
#define KEYS_ALERTS_SYSTEM "alerts:system"
/* expiring:{kind}:{id}:{document}:{YYYY-MM-DD}, string (the alert id) with EX: the `expiring`
 * alert of that document and last valid day was raised (owner app/expiring.c). */
int keys_expiring(char *out, size_t cap, const char *kind, const char *id, const char *document,
                  const char *day);

/* ---- the tamper-evident record (owner store/audit_log.c) ---- */

/* audit:entries, list (RPUSH only): entry n's canonical text at index n-1. */
#define KEYS_AUDIT_ENTRIES "audit:entries"
/* audit:head, string: {"hash":"<hex>","seq":n}. */
#define KEYS_AUDIT_HEAD "audit:head"

#endif
