/* http_v1.h -- helpers shared by the /v1 handlers (http_v1_*.c): authentication and scope
 * checks, error replies for validation failures, and the routes of each area.
 *
 * Every /v1 handler starts with v1_begin(), which refuses the request (and replies) while the
 * registry is still loading or the caller is not allowed; handlers then translate JSON to core
 * calls and back, and submit changes to the writer.
 */
#ifndef LPG_HTTP_V1_H
#define LPG_HTTP_V1_H

#include "core/auth.h"
#include "app/service.h"
#include "http/http_ctx.h"
#include "http/http_server.h"
#include "core/model_json.h"

/* Default and maximum page sizes of list endpoints (?limit=). */
#define V1_PAGE_DEFAULT 100
#define V1_PAGE_MAX     1000
/* A page of GET /v1/zones?geometry=1 ends once its shapes hold this many vertices (~4 MB). */
#define V1_ZONE_PAGE_VERTICES 100000

/* Checks that the service is ready and the request carries a live session token; returns its
 * principal, or NULL after replying 503 / 401. */
const struct auth_principal *v1_authenticate(struct http_call *call, struct service *d);
/* Checks that the service is ready and the caller (Authorization: Bearer <token>) may do
 * `action` on a resource of `enterprise_id` (NULL: unscoped). Returns the principal, or NULL
 * after replying 503 / 401 / 403. */
const struct auth_principal *v1_begin(struct http_call *call, struct service *d,
                                      enum auth_action action, const char *enterprise_id);
/* Scope check for a principal already authenticated (0 allowed; -1 after replying). */
int v1_allow(struct http_call *call, struct service *d, const struct auth_principal *p,
             enum auth_action action, const char *enterprise_id);

/* Whether a dispatcher p must not learn that an entity of `enterprise_id` exists: another
 * enterprise's entity is answered exactly like a missing one (404). */
bool v1_hidden(const struct auth_principal *p, const char *enterprise_id);

struct entity_ops;
/* The entity of kind ops named by the route's {id}, after the read check: NULL after replying
 * 404 for one that does not exist or, to a dispatcher, belongs to another enterprise (the two
 * cannot be told apart), or 403. v1_scoped_vehicle is the vehicle's. */
const void *v1_scoped_entity(struct http_call *call, struct service *d,
                             const struct auth_principal *p, const struct entity_ops *ops);
const struct lpg_vehicle *v1_scoped_vehicle(struct http_call *call, struct service *d,
                                            const struct auth_principal *p);
/* The required query parameter `name` as an RFC 3339 instant; -1 after replying 400. */
int v1_query_instant(struct http_call *call, const char *name, int64_t *ms);

/* Refuses (400 unknown_field, naming it) a body with a member not in `allowed` (a NULL-terminated
 * list), so a typo such as "reson" is not silently ignored. Returns 0, or -1 after replying. */
int v1_only_fields(struct http_call *call, const json_t *body, const char *const *allowed);

/* The validation error as a refusal (refuse_json: 400, or 500 for "internal"), through
 * http_reply_refusal. */
void v1_reply_json_error(struct http_call *call, const struct lpg_json_error *err);
/* The ?limit= of a list request within 1..V1_PAGE_MAX (default V1_PAGE_DEFAULT); -1 after
 * replying 400. */
int v1_page_limit(struct http_call *call);
/* Refuses (UNAVAILABLE, store_unavailable) a read the store could not answer. */
void v1_reply_store_unreadable(struct http_call *call);
/* A store read (store/reads.h) that could not be started: 500 when out of memory, else 503. */
void v1_reply_read_unsent(struct http_call *call, const char *why);
/* A list read's answer (arg: the call): {"items": [...]} (items borrowed), or 503. */
void v1_on_items(void *arg, json_t *items, const char *err);
/* A write the store refused, as refuse_store() words it (store_unavailable, or
 * store_outcome_unknown when it may have been saved), through http_reply_refusal. */
void v1_reply_store_refused(struct http_call *call, const char *why);

/* Generic list and get of a kind of entity (http_v1_registry.c), shared with orders. */
void v1_list_kind(struct http_call *call, struct service *d, const struct entity_ops *ops);
void v1_get_one(struct http_call *call, struct service *d, const struct entity_ops *ops);

/* Routes of each area, spliced into one table by dispatchd.c. The operational routes
 * (/healthz, /metrics) are http_ops.c's. */
extern const struct http_route ops_routes[];
extern const size_t ops_routes_count;
extern const struct http_route v1_auth_routes[];
extern const size_t v1_auth_routes_count;
extern const struct http_route v1_registry_routes[];
extern const size_t v1_registry_routes_count;
extern const struct http_route v1_device_routes[];
extern const size_t v1_device_routes_count;
extern const struct http_route v1_order_routes[];
extern const size_t v1_order_routes_count;
extern const struct http_route v1_import_routes[];
extern const size_t v1_import_routes_count;
/* GET /v1/vehicles/{id}/route/verify (http_v1_route_verify.c), in v1_tracking_routes. */
void v1_handle_route_verify(struct http_call *call, void *ctx);
extern const struct http_route v1_tracking_routes[];
extern const size_t v1_tracking_routes_count;
extern const struct http_route v1_summary_routes[];
extern const size_t v1_summary_routes_count;
extern const struct http_route v1_alert_routes[]; /* http_v1_alerts.c */
extern const size_t v1_alert_routes_count;
extern const struct http_route v1_compliance_routes[];
extern const size_t v1_compliance_routes_count;
extern const struct http_route v1_audit_routes[];
extern const size_t v1_audit_routes_count;
extern const struct http_route v1_terminal_routes[]; /* http_v1_terminals.c */
extern const size_t v1_terminal_routes_count;
extern const struct http_route v1_report_routes[]; /* http_v1_reports.c */
extern const size_t v1_report_routes_count;

#endif
