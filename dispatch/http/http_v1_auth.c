/* http_v1_auth.c -- logging in and out, users, and the checks every /v1 handler starts with.
 *
 *   POST   /v1/sessions           {"user","password"} -> 201 {"token","expires_at","user"}
 *   GET    /v1/sessions/current   who am I (the token's principal)
 *   DELETE /v1/sessions/current   log out: the token stops working at once
 *   GET    /v1/users              admin, auditor
 *   POST   /v1/users              admin: {"name","role","enterprise_id"?,"password"}
 *   POST   /v1/devices            {"device_id","staff_id"} -> 201 with the device's secret
 * docs/http-api.md documents them with examples.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "store/entity.h"
#include "common/clock.h"

#include "store/accounts.h"
#include "handset/handset_server.h"

#include "lpg/v1/envelope.pb-c.h"
#include "common/log.h"
#include "core/login_guard.h"
#include "core/registry.h"
#include "store/registry_store.h"
#include "common/work_pool.h"
#include "store/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>

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
    struct auth_denial why;
    if (auth_check(p, action, enterprise_id, lpg_now_ms(), &why) != 0) {
        http_reply_error(call, why.http_status, why.code, why.message, NULL);
        return -1;
    }
    return 0;
}

const struct auth_principal *v1_authenticate(struct http_call *call, struct service *d)
{
    if (!d->loaded) {
        http_reply_error(call, 503, "loading",
                         "the service is loading its data from the store; retry shortly", NULL);
        return NULL;
    }
    const char *token = bearer_token(call);
    if (token == NULL || !auth_token_well_formed(token)) {
        http_reply_error(call, 401, "unauthenticated",
                         "an 'Authorization: Bearer <token>' header from POST /v1/sessions is "
                         "required",
                         NULL);
        return NULL;
    }
    char digest[AUTH_DIGEST_HEX_LEN + 1];
    const struct auth_principal *p = NULL;
    if (auth_token_digest(token, digest) == 0)
        p = accounts_session(d->accounts, digest, lpg_now_ms());
    if (p == NULL) {
        http_reply_error(call, 401, "unauthenticated",
                         "the token is unknown, expired or logged out; log in again", NULL);
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
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown field \"%.64s\"", key);
            http_reply_error(call, 400, "unknown_field", msg, key);
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
        if (v1_allow(call, d, p, AUTH_READ,
                     p->role == AUTH_ROLE_DISPATCHER ? p->enterprise_id : NULL) != 0)
            return NULL;
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s with id %.64s", ops->name, id ? id : "");
        http_reply_error(call, 404, "not_found", msg, NULL);
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
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%s is required: an RFC 3339 instant, e.g. 2026-11-28T00:00:00Z or "
                 "2026-11-28T08:00:00+08:00",
                 name);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    return 0;
}

bool v1_hidden(const struct auth_principal *p, const char *enterprise_id)
{
    return p->role == AUTH_ROLE_DISPATCHER && strcmp(p->enterprise_id, enterprise_id) != 0;
}

void v1_reply_json_error(struct http_call *call, const struct lpg_json_error *err)
{
    int internal = err->code && strcmp(err->code, "internal") == 0;
    http_reply_error(call, internal ? 500 : 400, err->code ? err->code : "invalid_field",
                     err->message, err->field[0] ? err->field : NULL);
}

int v1_page_limit(struct http_call *call)
{
    const char *s = http_call_query(call, "limit");
    if (s == NULL)
        return V1_PAGE_DEFAULT;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > V1_PAGE_MAX) {
        char msg[96];
        snprintf(msg, sizeof(msg), "limit must be an integer in 1..%d", V1_PAGE_MAX);
        http_reply_error(call, 400, "invalid_parameter", msg, "limit");
        return -1;
    }
    return (int)v;
}

void v1_reply_store_unreadable(struct http_call *call)
{
    http_reply_error(call, 503, "store_unavailable", "the store could not be read; retry later",
                     NULL);
}

void v1_reply_store_refused(struct http_call *call, const char *why)
{
    char msg[240];
    if (store_err_outcome_unknown(why)) {
        /* Sent, never confirmed: say so rather than claim nothing happened. */
        snprintf(msg, sizeof(msg),
                 "%s: the change may or may not have been saved; read the resource again "
                 "before retrying",
                 why);
        http_reply_error(call, 503, "store_outcome_unknown", msg, NULL);
        return;
    }
    snprintf(msg, sizeof(msg), "%s; nothing was written, retry later", why);
    http_reply_error(call, 503, "store_unavailable", msg, NULL);
}

static json_t *principal_json(const struct auth_principal *p)
{
    char exp[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(p->expires_ms, exp);
    json_t *j = json_pack("{s:s, s:s, s:s}", "user", p->user, "role", auth_role_name(p->role),
                          "expires_at", exp);
    if (j && p->role == AUTH_ROLE_DISPATCHER)
        json_object_set_new(j, "enterprise_id", json_string(p->enterprise_id));
    return j;
}

/* ---- POST /v1/sessions ---- */

struct login_job {
    struct service *d;
    struct http_call *call;
    char token[AUTH_TOKEN_LEN + 1];
    char digest[AUTH_DIGEST_HEX_LEN + 1];
    struct auth_principal principal;
};

static void on_login_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct login_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the session");
    } else if (accounts_put_session(job->d->accounts, job->digest, &job->principal) != 0) {
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
    } else {
        json_t *body = json_pack("{s:s, s:o}", "token", job->token, "session",
                                 principal_json(&job->principal));
        log_info("user %s logged in (%s)", job->principal.user,
                 auth_role_name(job->principal.role));
        http_reply_json(job->call, 201, body);
    }
    memset(job->token, 0, sizeof(job->token));
    free(job);
}

static void run_login(struct writer *w, void *arg)
{
    struct login_job *job = arg;
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    if (txn == NULL ||
        accounts_store_session(job->d->store, txn, job->digest, &job->principal) != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", why, NULL);
        free(job);
        return;
    }
    if (writer_commit(w, txn, on_login_stored, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        free(job);
    }
}

static void cancel_job(void *arg)
{
    /* Shutdown with the job still queued: the request is dropped with its connection. */
    free(arg);
}

static void handle_login(struct http_call *call, void *ctx);

static void on_login_user_read(void *arg, const char *err)
{
    struct http_call *call = arg;
    if (err && strcmp(err, STORE_ERR_SHUTDOWN) == 0) {
        http_reply_error(call, 503, "store_unavailable", "the service is stopping", NULL);
        return;
    }
    handle_login(call, http_call_user(call));
}

/* Opens a session for u (whose password was just checked): token, then the writer. */
static void start_session(struct service *d, struct http_call *call, const struct auth_user *u)
{
    struct login_job *job = calloc(1, sizeof(*job));
    char why[160] = "out of memory";
    if (job == NULL || auth_token_new(job->token) != 0 ||
        auth_token_digest(job->token, job->digest) != 0 ||
        auth_principal_for_user(u, lpg_now_ms(), d->cfg.session_ttl * 1000, &job->principal, why,
                                sizeof(why)) != 0) {
        free(job);
        http_reply_error(call, 500, "internal", why, NULL);
        return;
    }
    job->d = d;
    job->call = call;
    if (writer_submit(d->writer, run_login, cancel_job, job) != 0) {
        free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

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

static void reply_retry_after(struct http_call *call, int64_t seconds, int status, const char *code,
                              const char *message)
{
    char v[24];
    snprintf(v, sizeof(v), "%lld", (long long)seconds);
    evhttp_add_header(evhttp_request_get_output_headers(http_call_request(call)), "Retry-After", v);
    http_reply_error(call, status, code, message, NULL);
}

/* A password check, handed to a worker thread (d->hash_pool) and back. */
struct login_check {
    struct service *d;
    struct http_call *call;
    char user[LPG_ID_MAX + 1]; /* as given, cut to an id's length: the account's throttle key */
    char addr[64];             /* source address: the address's throttle key */
    int known;                 /* the user existed when the check began */
    char hash[AUTH_HASH_MAX];  /* the encoded hash checked against (the dummy when unknown) */
    char password[AUTH_PASSWORD_MAX + 2];
    int verdict; /* auth_password_verify's, set by the worker */
};

static void login_check_free(struct login_check *job)
{
    OPENSSL_cleanse(job->password, sizeof(job->password));
    free(job);
}

static void run_password_check(void *arg)
{
    /* On a worker thread: only the job's own bytes. */
    struct login_check *job = arg;
    job->verdict = auth_password_verify(job->password, job->hash);
    OPENSSL_cleanse(job->password, sizeof(job->password));
}

/* Shutdown with the check still queued: answered, so the call is not left unreplied (its
 * memory would outlive the HTTP server). */
static void cancel_password_check(void *arg)
{
    struct login_check *job = arg;
    http_reply_error(job->call, 503, "busy", "the service is shutting down; retry shortly", NULL);
    login_check_free(job);
}

static void on_password_checked(void *arg)
{
    struct login_check *job = arg;
    struct service *d = job->d;
    struct login_guard_stats *st = login_guard_stats(d->guard);
    if (!d->loaded) {
        /* Accounts are being reloaded (after a lost commit): the user cannot be told now. */
        login_guard_abandoned(d->guard, LOGIN_HTTP, job->user, job->addr);
        http_reply_error(job->call, 503, "loading", "the service is loading; retry shortly", NULL);
        login_check_free(job);
        return;
    }
    /* The user may have changed while its password was checked: only the hash that was
     * checked counts, and only if it is still the user's. */
    const struct auth_user *u = job->known ? accounts_user(d->accounts, job->user) : NULL;
    int ok = job->verdict == 1 && u && strcmp(u->password_hash, job->hash) == 0 && !u->disabled;
    if (!ok) {
        int64_t now = lpg_now_ms();
        login_guard_failed(d->guard, LOGIN_HTTP, job->user, job->addr, now);
        st->logins[LOGIN_WRONG]++;
        uint64_t left_out = 0;
        if (login_guard_should_log(d->guard, LOGIN_HTTP, now, &left_out)) {
            if (left_out)
                log_info("failed login for %s from %s (and %llu failed logins not logged)",
                         job->user, job->addr, (unsigned long long)left_out);
            else
                log_info("failed login for %s from %s", job->user, job->addr);
        }
        http_reply_error(job->call, 401, "invalid_credentials", "wrong user name or password",
                         NULL);
        login_check_free(job);
        return;
    }
    login_guard_succeeded(d->guard, LOGIN_HTTP, job->user, job->addr);
    st->logins[LOGIN_OK]++;
    start_session(d, job->call, u);
    login_check_free(job);
}

static void handle_login(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    if (!d->loaded) {
        http_reply_error(call, 503, "loading", "the service is loading; retry shortly", NULL);
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
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (user == NULL || password == NULL) {
        json_decref(body);
        http_reply_error(call, 400, "missing_field", "user and password are required",
                         user == NULL ? "user" : "password");
        return;
    }
    struct login_check *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        json_decref(body);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    size_t n = strnlen(user, LPG_ID_MAX);
    memcpy(job->user, user, n); /* user points into body */
    call_peer(call, job->addr, sizeof(job->addr));
    /* Refused untried while the account or the address is blocked: no hash, no count. */
    int64_t retry_ms = 0;
    enum throttle_verdict v =
        login_guard_check(d->guard, LOGIN_HTTP, job->user, job->addr, lpg_now_ms(), &retry_ms);
    if (v != THROTTLE_ALLOW) {
        json_decref(body);
        login_check_free(job);
        int locked = v == THROTTLE_LOCKED;
        login_guard_stats(d->guard)->logins[locked ? LOGIN_LOCKED : LOGIN_THROTTLED]++;
        reply_retry_after(call, login_guard_retry_s(retry_ms), 429,
                          locked ? "login_locked" : "login_throttled",
                          locked ? "too many failed logins for this account or from this address: "
                                   "locked for a while; see Retry-After"
                                 : "too many failed logins for this account or from this address; "
                                   "retry after the delay in Retry-After");
        return;
    }
    /* The user's record is read from Redis first (once per request: the call is marked with
     * d), so that an admin created or reset by `dispatchd --create-admin`, which writes Redis
     * directly, can log in at once. When Redis cannot be asked the table is used as it is. */
    if (lpg_id_valid(user) && http_call_user(call) != d &&
        accounts_refresh_user(d->store, d->accounts, user, on_login_user_read, call) == 0) {
        http_call_set_user(call, d);
        json_decref(body);
        login_check_free(job);
        return;
    }
    /* Verify against a dummy hash for unknown users, so timing does not reveal which names
     * exist; the reply is the same for an unknown user and a wrong password. */
    const struct auth_user *u = lpg_id_valid(user) ? accounts_user(d->accounts, user) : NULL;
    job->known = u != NULL;
    snprintf(job->hash, sizeof(job->hash), "%s", u ? u->password_hash : auth_password_dummy_hash());
    n = strnlen(password, AUTH_PASSWORD_MAX + 1); /* longer never matches (auth.h) */
    memcpy(job->password, password, n);
    json_decref(body);
    /* Counted as a failure to come while it is checked: concurrent guesses cannot overshoot. */
    login_guard_began(d->guard, LOGIN_HTTP, job->user, job->addr, lpg_now_ms());
    if (work_pool_submit(d->hash_pool, run_password_check, on_password_checked,
                         cancel_password_check, job) != 0) {
        login_guard_abandoned(d->guard, LOGIN_HTTP, job->user, job->addr);
        login_check_free(job);
        login_guard_stats(d->guard)->logins[LOGIN_BUSY]++;
        reply_retry_after(call, 1, 503, "busy",
                          "too many logins are being checked at once; retry in a second");
    }
}

/* ---- /v1/sessions/current ---- */

static void handle_whoami(struct http_call *call, void *ctx)
{
    /* Every principal may read its own session, whatever its role's scope. */
    const struct auth_principal *p = v1_authenticate(call, ctx);
    if (p == NULL)
        return;
    http_reply_json(call, 200, principal_json(p));
}

struct logout_job {
    struct service *d;
    struct http_call *call;
    char digest[AUTH_DIGEST_HEX_LEN + 1];
};

static void on_logout_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct logout_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the logout");
    } else {
        accounts_remove_session(job->d->accounts, job->digest);
        http_reply_json(job->call, 200, json_pack("{s:s}", "status", "logged_out"));
    }
    free(job);
}

static void run_logout(struct writer *w, void *arg)
{
    struct logout_job *job = arg;
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    if (txn == NULL || accounts_store_session_end(job->d->store, txn, job->digest) != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", why, NULL);
        free(job);
        return;
    }
    if (writer_commit(w, txn, on_logout_stored, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        free(job);
    }
}

static void handle_logout(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    if (v1_authenticate(call, d) == NULL)
        return;
    struct logout_job *job = calloc(1, sizeof(*job));
    if (job == NULL || auth_token_digest(bearer_token(call), job->digest) != 0) {
        free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    if (writer_submit(d->writer, run_logout, cancel_job, job) != 0) {
        free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

/* ---- users ---- */

static void handle_list_users(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    if (v1_begin(call, d, AUTH_READ, NULL) == NULL)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    const struct auth_user **page = calloc((size_t)limit, sizeof(*page));
    if (page == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
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

struct user_job {
    struct service *d;
    struct http_call *call;
    struct auth_user user;
    char password[AUTH_PASSWORD_MAX + 1]; /* until hashed (on a worker thread); then wiped */
    int hashed;                           /* auth_password_hash's result, set by the worker */
};

static void on_user_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct user_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the user");
    } else if (accounts_put_user(job->d->accounts, &job->user) != 0) {
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
    } else {
        log_info("user %s created (%s)", job->user.name, auth_role_name(job->user.role));
        http_reply_json(job->call, 201, auth_user_to_public_json(&job->user));
    }
    free(job);
}

static void run_create_user(struct writer *w, void *arg)
{
    struct user_job *job = arg;
    /* Checked here, in the writer, so two concurrent creations cannot both pass. */
    if (accounts_user(job->d->accounts, job->user.name) != NULL) {
        writer_finish(w);
        http_reply_error(job->call, 409, "already_exists", "a user with this name exists", "name");
        free(job);
        return;
    }
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    if (txn == NULL || accounts_store_user(job->d->store, txn, &job->user) != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", why, NULL);
        free(job);
        return;
    }
    if (writer_commit(w, txn, on_user_stored, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        free(job);
    }
}

static void cancel_user_job(void *arg)
{
    struct user_job *job = arg;
    OPENSSL_cleanse(job->password, sizeof(job->password));
    free(job);
}

static void run_hash_user_password(void *arg)
{
    /* On a worker thread: only the job's own bytes. */
    struct user_job *job = arg;
    job->hashed =
        auth_password_hash(job->password, job->user.password_hash, sizeof(job->user.password_hash));
    OPENSSL_cleanse(job->password, sizeof(job->password));
}

static void cancel_user_hash(void *arg)
{
    struct user_job *job = arg;
    http_reply_error(job->call, 503, "busy", "the service is shutting down; retry shortly", NULL);
    cancel_user_job(job);
}

static void on_user_password_hashed(void *arg)
{
    struct user_job *job = arg;
    if (job->hashed != 0) {
        http_reply_error(job->call, 500, "internal", "could not hash the password", NULL);
        cancel_user_job(job);
        return;
    }
    if (writer_submit(job->d->writer, run_create_user, cancel_user_job, job) != 0) {
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        cancel_user_job(job);
    }
}

static void handle_create_user(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    if (v1_begin(call, d, AUTH_ADMIN, NULL) == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const user_fields[] = {"name", "role", "enterprise_id", "password", NULL};
    if (v1_only_fields(call, body, user_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *role = json_string_value(json_object_get(body, "role"));
    const char *ent = json_string_value(json_object_get(body, "enterprise_id"));
    const char *password = json_string_value(json_object_get(body, "password"));
    char why[160];
    int r = role ? auth_role_parse(role) : -1;
    const char *field = NULL, *msg = NULL;
    if (name == NULL || !lpg_id_valid(name)) {
        field = "name";
        msg = "name must be 1..64 characters of [A-Za-z0-9_.-]";
    } else if (r < 0) {
        field = "role";
        msg = "role must be admin, dispatcher or auditor";
    } else if (r == AUTH_ROLE_DISPATCHER &&
               (ent == NULL || registry_enterprise(d->registry, ent) == NULL)) {
        field = "enterprise_id";
        msg = "a dispatcher needs the id of an existing enterprise";
    } else if (r != AUTH_ROLE_DISPATCHER && ent != NULL) {
        field = "enterprise_id";
        msg = "only a dispatcher belongs to an enterprise";
    } else if (password == NULL || !auth_password_acceptable(password, why, sizeof(why))) {
        field = "password";
        msg = password ? why : "password is required";
    }
    if (field) {
        http_reply_error(call, 400, "invalid_field", msg, field);
        json_decref(body);
        return;
    }
    struct user_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        json_decref(body);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    snprintf(job->password, sizeof(job->password), "%s", password); /* acceptable: fits */
    snprintf(job->user.name, sizeof(job->user.name), "%s", name);
    job->user.role = (enum auth_role)r;
    if (r == AUTH_ROLE_DISPATCHER)
        snprintf(job->user.enterprise_id, sizeof(job->user.enterprise_id), "%s", ent);
    job->user.created_ms = lpg_now_ms();
    json_decref(body);
    job->d = d;
    job->call = call;
    /* Hashing takes as long as a login's check: off the loop too. */
    if (work_pool_submit(d->hash_pool, run_hash_user_password, on_user_password_hashed,
                         cancel_user_hash, job) != 0) {
        cancel_user_job(job);
        reply_retry_after(call, 1, 503, "busy",
                          "too many passwords are being hashed at once; retry in a second");
    }
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

struct device_job {
    struct service *d;
    struct http_call *call;
    struct auth_principal principal;
    struct device_record dev;
    char secret[AUTH_DEVICE_SECRET_LEN + 1];
    struct lpg_staff *staff; /* new version with device_id set */
};

static void device_job_free(struct device_job *job)
{
    memset(job->secret, 0, sizeof(job->secret));
    free(job->staff);
    free(job);
}

static void cancel_device_job(void *arg)
{
    device_job_free(arg);
}

static void on_device_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct device_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the device");
        device_job_free(job);
        return;
    }
    accounts_put_device(job->d->accounts, &job->dev);
    /* A replaced handset stops working at once: close its open session too. */
    const struct lpg_staff *before = registry_staff(job->d->registry, job->dev.staff_id);
    if (before && before->device_id[0] && strcmp(before->device_id, job->dev.device_id) != 0) {
        struct handset_conn *old = handset_server_find_device(job->d->handset, before->device_id);
        if (old)
            handset_conn_error(old, LPG__V1__ERROR__CODE__UNAUTHORIZED,
                               "this handset was replaced; log in with the new device", 0, 0, 1);
    }
    registry_put_staff(job->d->registry, job->staff);
    job->staff = NULL;
    log_info("device %s registered for %s by %s", job->dev.device_id, job->dev.staff_id,
             job->principal.user);
    http_reply_json(job->call, 201,
                    json_pack("{s:s, s:s, s:s}", "device_id", job->dev.device_id, "staff_id",
                              job->dev.staff_id, "secret", job->secret));
    device_job_free(job);
}

static void run_device(struct writer *w, void *arg)
{
    struct device_job *job = arg;
    struct service *d = job->d;
    const struct lpg_staff *s = registry_staff(d->registry, job->dev.staff_id);
    const char *fail_code = NULL, *fail_msg = NULL, *fail_field = NULL;
    int fail_status = 422;
    if (s == NULL || v1_hidden(&job->principal, s->enterprise_id)) {
        fail_code = "unknown_reference", fail_msg = "no such staff member", fail_field = "staff_id";
    } else if (v1_allow(job->call, d, &job->principal, AUTH_WRITE, s->enterprise_id) != 0) {
        writer_finish(w);
        device_job_free(job);
        return;
    } else {
        const struct device_record *existing = accounts_device(d->accounts, job->dev.device_id);
        if (existing && strcmp(existing->staff_id, s->id) != 0) {
            fail_status = 409, fail_code = "already_exists", fail_field = "device_id";
            fail_msg = "this device id belongs to another person";
        }
    }
    if (fail_code) {
        writer_finish(w);
        http_reply_error(job->call, fail_status, fail_code, fail_msg, fail_field);
        device_job_free(job);
        return;
    }
    snprintf(job->dev.enterprise_id, sizeof(job->dev.enterprise_id), "%s", s->enterprise_id);
    job->staff = lpg_staff_dup(s);
    const char *why = "out of memory";
    struct store_txn *txn = store_txn_new();
    json_t *rec = NULL;
    char *text = NULL;
    if (job->staff) {
        snprintf(job->staff->device_id, sizeof(job->staff->device_id), "%s", job->dev.device_id);
        rec = lpg_json_from_staff(job->staff);
        text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    }
    json_decref(rec);
    int rc = txn && text && accounts_store_device(d->store, txn, &job->dev) == 0
                 ? registry_store_save(d->store, txn, RS_STAFF, job->staff->id, text, strlen(text))
                 : -1;
    free(text);
    if (rc != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", why, NULL);
        device_job_free(job);
        return;
    }
    if (writer_commit(w, txn, on_device_stored, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        device_job_free(job);
    }
}

/* Registers (or re-keys) a handset for a staff member. The secret is returned once and stored
 * only as a digest; registering the same device again issues a new secret and the old one
 * stops working. */
static void handle_register_device(struct http_call *call, void *ctx)
{
    struct service *d = ctx;
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const device_fields[] = {"device_id", "staff_id", NULL};
    if (v1_only_fields(call, body, device_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *device_id = json_string_value(json_object_get(body, "device_id"));
    const char *staff_id = json_string_value(json_object_get(body, "staff_id"));
    if (device_id == NULL || !lpg_id_valid(device_id) || staff_id == NULL ||
        !lpg_id_valid(staff_id)) {
        json_decref(body);
        http_reply_error(call, 400, "invalid_field",
                         "device_id and staff_id are required ids ([A-Za-z0-9_.-], 1..64)",
                         device_id && lpg_id_valid(device_id) ? "staff_id" : "device_id");
        return;
    }
    struct device_job *job = calloc(1, sizeof(*job));
    if (job == NULL || auth_device_secret_new(job->secret) != 0 ||
        auth_device_secret_digest(job->secret, job->dev.secret_digest) != 0) {
        json_decref(body);
        if (job)
            device_job_free(job);
        http_reply_error(call, 500, "internal", "could not create a device secret", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    job->principal = *p;
    snprintf(job->dev.device_id, sizeof(job->dev.device_id), "%s", device_id);
    snprintf(job->dev.staff_id, sizeof(job->dev.staff_id), "%s", staff_id);
    job->dev.created_ms = lpg_now_ms();
    json_decref(body);
    if (writer_submit(d->writer, run_device, cancel_device_job, job) != 0) {
        device_job_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

const struct http_route v1_device_routes[] = {
    {"POST", "/v1/devices", handle_register_device, HTTP_ROUTE_WRITE},
};
const size_t v1_device_routes_count = sizeof(v1_device_routes) / sizeof(v1_device_routes[0]);
