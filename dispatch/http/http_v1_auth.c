/* http_v1_auth.c -- logging in and out, users, and the checks every /v1 handler starts with.
 *
 *   POST   /v1/sessions           {"user","password"} -> 201 {"token","expires_at","user"}
 *   GET    /v1/sessions/current   who am I (the token's principal)
 *   DELETE /v1/sessions/current   log out: the token stops working at once
 *   GET    /v1/users              admin, auditor
 *   POST   /v1/users              admin: {"name","role","enterprise_id"?,"enterprises"?,
 *                                  "password"} (enterprises: an auditor's jurisdiction)
 *   POST   /v1/devices            {"device_id","staff_id"} (a person's handset) or
 *                                  {"device_id","vehicle_id"} (a vehicle's unit) -> 201 with the
 *                                  device's secret
 * docs/http-api.md documents them with examples. The use cases are app/account_cases.h's: this
 * file parses the requests and maps the results.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/account_cases.h"
#include "app/refuse_from.h"
#include "common/clock.h"
#include "http/http_refusal.h"
#include "store/reads.h"
#include "store/accounts.h"
#include "store/entity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

/* ---- shared helpers ---- */

static const char *bearer_token(struct http_call *call)
{
    const char *h = http_call_header(call, "Authorization");
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

int v1_allow(struct http_call *call, struct service *d, const struct auth_principal *p,
             enum auth_action action, const char *enterprise_id)
{
    (void)d;
    struct refusal r;
    if (refuse_unless_allowed(&r, p, action, enterprise_id) != 0) {
        http_reply_refusal(call, &r);
        return -1;
    }
    return 0;
}

const struct auth_principal *v1_authenticate(struct http_call *call, struct service *d)
{
    if (!d->loaded) {
        http_refuse(call, REFUSAL_UNAVAILABLE, "loading", NULL,
                    "the service is loading its data from the store; retry shortly");
        return NULL;
    }
    const char *token = bearer_token(call);
    if (token == NULL || !auth_token_well_formed(token)) {
        http_refuse(call, REFUSAL_UNAUTHENTICATED, "unauthenticated", NULL,
                    "an 'Authorization: Bearer <token>' header from POST /v1/sessions is "
                    "required");
        return NULL;
    }
    char digest[AUTH_DIGEST_HEX_LEN + 1];
    const struct auth_principal *p = NULL;
    if (auth_token_digest(token, digest) == 0)
        p = accounts_session(d->accounts, digest, lpg_now_ms());
    if (p == NULL) {
        http_refuse(call, REFUSAL_UNAUTHENTICATED, "unauthenticated", NULL,
                    "the token is unknown, expired or logged out; log in again");
        return NULL;
    }
    return p;
}

const struct auth_principal *v1_begin(struct http_call *call, struct service *d,
                                      enum auth_action action, const char *enterprise_id)
{
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL || v1_allow(call, d, p, action, enterprise_id) != 0)
        return NULL;
    return p;
}

int v1_only_fields(struct http_call *call, const json_t *body, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        (void)value;
        int known = 0;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            http_refuse(call, REFUSAL_INVALID, "unknown_field", key, "unknown field \"%.64s\"",
                        key);
            return -1;
        }
    }
    return 0;
}

const void *v1_scoped_entity(struct http_call *call, struct service *d,
                             const struct auth_principal *p, const struct entity_ops *ops)
{
    const char *id = http_call_param(call, "id");
    const void *e = id ? ops->get(d->registry, id) : NULL;
    if (e && v1_hidden(p, ops->enterprise(e)))
        e = NULL;
    if (e == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) != 0)
            return NULL;
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no %s with id %.64s", ops->name,
                    id ? id : "");
        return NULL;
    }
    if (v1_allow(call, d, p, AUTH_READ, ops->enterprise(e)) != 0)
        return NULL;
    return e;
}

const struct lpg_vehicle *v1_scoped_vehicle(struct http_call *call, struct service *d,
                                            const struct auth_principal *p)
{
    return v1_scoped_entity(call, d, p, &entity_ops[RS_VEHICLE]);
}

int v1_query_instant(struct http_call *call, const char *name, int64_t *ms)
{
    const char *s = http_call_query(call, name);
    if (s == NULL || lpg_json_instant_parse(s, ms) != 0) {
        http_refuse(call, REFUSAL_INVALID, "invalid_parameter", name,
                    "%s is required: an RFC 3339 instant, e.g. 2026-11-28T00:00:00Z or "
                    "2026-11-28T08:00:00+08:00",
                    name);
        return -1;
    }
    return 0;
}

bool v1_hidden(const struct auth_principal *p, const char *enterprise_id)
{
    return hidden_from(p, enterprise_id);
}

void v1_reply_json_error(struct http_call *call, const struct lpg_json_error *err)
{
    struct refusal r;
    refuse_json(&r, err);
    http_reply_refusal(call, &r);
}

int v1_page_limit(struct http_call *call)
{
    const char *s = http_call_query(call, "limit");
    if (s == NULL)
        return V1_PAGE_DEFAULT;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > V1_PAGE_MAX) {
        http_refuse(call, REFUSAL_INVALID, "invalid_parameter", "limit",
                    "limit must be an integer in 1..%d", V1_PAGE_MAX);
        return -1;
    }
    return (int)v;
}

void v1_reply_store_unreadable(struct http_call *call)
{
    http_refuse(call, REFUSAL_UNAVAILABLE, "store_unavailable", NULL,
                "the store could not be read; retry later");
}

void v1_reply_read_unsent(struct http_call *call, const char *why)
{
    if (why == STORE_READ_NOMEM)
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    else
        v1_reply_store_unreadable(call);
}

void v1_on_items(void *arg, json_t *items, const char *err)
{
    struct http_call *call = arg;
    if (err)
        v1_reply_store_unreadable(call);
    else
        http_reply_json(call, 200, json_pack("{s:O}", "items", items));
}

void v1_reply_store_refused(struct http_call *call, const char *why)
{
    struct refusal r;
    refuse_store(&r, why);
    http_reply_refusal(call, &r);
}

static json_t *principal_json(const struct auth_principal *p)
{
    char exp[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(p->expires_ms, exp);
    json_t *j = json_pack("{s:s, s:s, s:s}", "user", p->user, "role", auth_role_name(p->role),
                          "expires_at", exp);
    if (j && p->role == AUTH_ROLE_DISPATCHER)
        json_object_set_new(j, "enterprise_id", json_string(p->enterprise_id));
    if (j && p->jurisdiction.n > 0) {
        json_t *a = json_array();
        for (unsigned i = 0; a && i < p->jurisdiction.n; i++)
            json_array_append_new(a, json_string(p->jurisdiction.ids[i]));
        json_object_set_new(j, "enterprises", a);
    }
    return j;
}

/* ---- POST /v1/sessions ---- */

/* The source address of the call ("?" when unknown): the key of the per-address limit. Behind
 * a reverse proxy every client has the proxy's address (docs/configuration.md). */
static void call_peer(struct http_call *call, char *out, size_t cap)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(http_call_request(call));
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (conn)
        evhttp_connection_get_peer(conn, &addr, &port);
    snprintf(out, cap, "%s", addr && *addr ? addr : "?");
}

/* A refusal, with Retry-After when the use case advises a delay. */
static void reply_refused(struct http_call *call, const struct refusal *r, int64_t retry_after_s)
{
    if (retry_after_s > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", (long long)retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(http_call_request(call)), "Retry-After",
                          v);
    }
    http_reply_refusal(call, r);
}

static void on_logged_in(void *arg, const struct account_session *ok, const struct refusal *r,
                         int64_t retry_after_s)
{
    struct http_call *call = arg;
    if (ok == NULL) {
        reply_refused(call, r, retry_after_s);
        return;
    }
    http_reply_json(
        call, 201,
        json_pack("{s:s, s:o}", "token", ok->token, "session", principal_json(&ok->principal)));
}

static void handle_login(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (!d->loaded) {
        http_refuse(call, REFUSAL_UNAVAILABLE, "loading", NULL,
                    "the service is loading; retry shortly");
        return;
    }
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const login_fields[] = {"user", "password", NULL};
    if (v1_only_fields(call, body, login_fields) != 0) {
        json_decref(body);
        return;
    }
    char addr[64];
    call_peer(call, addr, sizeof(addr));
    struct refusal r;
    int64_t retry_after_s = 0;
    if (account_login(d, json_string_value(json_object_get(body, "user")),
                      json_string_value(json_object_get(body, "password")), addr, on_logged_in,
                      call, &r, &retry_after_s) != 0)
        reply_refused(call, &r, retry_after_s);
    json_decref(body);
}

/* ---- /v1/sessions/current ---- */

static void handle_whoami(struct http_call *call, void *ctx)
{
    /* Every principal may read its own session, whatever its role's scope. */
    const struct auth_principal *p = v1_authenticate(call, http_service(ctx));
    if (p == NULL)
        return;
    http_reply_json(call, 200, principal_json(p));
}

static void on_logged_out(void *arg, const struct refusal *r)
{
    struct http_call *call = arg;
    if (r)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, 200, json_pack("{s:s}", "status", "logged_out"));
}

static void handle_logout(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_authenticate(call, d) == NULL)
        return;
    struct refusal r;
    if (account_logout(d, bearer_token(call), on_logged_out, call, &r) != 0)
        http_reply_refusal(call, &r);
}

/* ---- users ---- */

static void handle_list_users(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_begin(call, d, AUTH_READ, NULL) == NULL)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    const struct auth_user **page = calloc((size_t)limit, sizeof(*page));
    if (page == NULL) {
        http_refuse(call, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        return;
    }
    size_t n =
        accounts_list_users(d->accounts, http_call_query(call, "after"), (size_t)limit, page);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, auth_user_to_public_json(page[i]));
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == (size_t)limit ? page[n - 1]->name : NULL);
    free(page);
    http_reply_json(call, 200, body);
}

static void on_user_created(void *arg, const struct auth_user *u, const struct refusal *r)
{
    struct http_call *call = arg;
    if (u == NULL)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, 201, auth_user_to_public_json(u));
}

static void handle_create_user(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_begin(call, d, AUTH_ADMIN, NULL) == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const user_fields[] = {"name",     "role",        "enterprise_id",
                                              "password", "enterprises", NULL};
    if (v1_only_fields(call, body, user_fields) != 0) {
        json_decref(body);
        return;
    }
    struct refusal r;
    int64_t retry_after_s = 0;
    char why[160];
    /* A principal is copied into every job: the jurisdiction lives on the heap here only. */
    struct auth_jurisdiction *jd = malloc(sizeof(*jd));
    if (jd == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    } else if (auth_jurisdiction_from_json(json_object_get(body, "enterprises"), jd, why,
                                           sizeof(why)) != 0) {
        http_refuse(call, REFUSAL_INVALID, "invalid_field", "enterprises", "%s", why);
    } else if (account_create_user(d, json_string_value(json_object_get(body, "name")),
                                   json_string_value(json_object_get(body, "role")),
                                   json_string_value(json_object_get(body, "enterprise_id")), jd,
                                   json_string_value(json_object_get(body, "password")),
                                   on_user_created, call, &r, &retry_after_s) != 0) {
        reply_refused(call, &r, retry_after_s);
    }
    free(jd);
    json_decref(body);
}

const struct http_route v1_auth_routes[] = {
    {"POST", "/v1/sessions", handle_login, HTTP_ROUTE_WRITE},
    {"GET", "/v1/sessions/current", handle_whoami, HTTP_ROUTE_READ},
    {"DELETE", "/v1/sessions/current", handle_logout, HTTP_ROUTE_WRITE},
    {"GET", "/v1/users", handle_list_users, HTTP_ROUTE_READ},
    {"POST", "/v1/users", handle_create_user, HTTP_ROUTE_WRITE},
};
const size_t v1_auth_routes_count = sizeof(v1_auth_routes) / sizeof(v1_auth_routes[0]);

/* ---- devices: POST /v1/devices {"device_id","staff_id"} -> 201 with the secret, once ---- */

static void on_device_registered(void *arg, const struct account_device *dev,
                                 const struct refusal *r)
{
    struct http_call *call = arg;
    if (dev == NULL) {
        http_reply_refusal(call, r);
        return;
    }
    if (dev->vehicle_id[0])
        http_reply_json(call, 201,
                        json_pack("{s:s, s:s, s:s}", "device_id", dev->device_id, "vehicle_id",
                                  dev->vehicle_id, "secret", dev->secret));
    else
        http_reply_json(call, 201,
                        json_pack("{s:s, s:s, s:s}", "device_id", dev->device_id, "staff_id",
                                  dev->staff_id, "secret", dev->secret));
}

/* Registers (or re-keys) a handset for a staff member. The secret is returned once and stored
 * only as a digest; registering the same device again issues a new secret and the old one
 * stops working. */
static void handle_register_device(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const device_fields[] = {"device_id", "staff_id", "vehicle_id", NULL};
    if (v1_only_fields(call, body, device_fields) != 0) {
        json_decref(body);
        return;
    }
    struct refusal r;
    const char *device = json_string_value(json_object_get(body, "device_id"));
    json_t *vehicle = json_object_get(body, "vehicle_id");
    int rc;
    if (vehicle && json_object_get(body, "staff_id"))
        rc = refuse(&r, REFUSAL_INVALID, "invalid_field", "vehicle_id",
                    "a device belongs to a person (staff_id) or to a vehicle (vehicle_id), not "
                    "both");
    else if (vehicle)
        rc = account_register_vehicle_device(d, p, device, json_string_value(vehicle),
                                             on_device_registered, call, &r);
    else
        rc = account_register_device(d, p, device,
                                     json_string_value(json_object_get(body, "staff_id")),
                                     on_device_registered, call, &r);
    if (rc != 0)
        http_reply_refusal(call, &r);
    json_decref(body);
}

const struct http_route v1_device_routes[] = {
    {"POST", "/v1/devices", handle_register_device, HTTP_ROUTE_WRITE},
};
const size_t v1_device_routes_count = sizeof(v1_device_routes) / sizeof(v1_device_routes[0]);
