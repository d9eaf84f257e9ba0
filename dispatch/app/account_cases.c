/* account_cases.c -- see account_cases.h. */
#define LOG_TAG "accounts"
#include "app/account_cases.h"

#include "app/events.h"
#include "app/refuse_from.h"
#include "app/registry_writes.h"
#include "app/service.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/work_pool.h"
#include "core/login_guard.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/accounts.h"
#include "store/terminals.h"
#include "store/registry_store.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse_oom(struct refusal *r)
{
    return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
}

/* ---- logging in: the password checked on the work pool, then the session through the
 * writer ---- */

struct login_check {
    struct service *s;
    account_login_done_fn *done;
    void *arg;
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

struct login_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    account_login_done_fn *done;
    void *arg;
    char digest[AUTH_DIGEST_HEX_LEN + 1];
    struct account_session session;
};

static void login_job_free(struct usecase_job *base)
{
    struct login_job *job = (struct login_job *)base;
    OPENSSL_cleanse(job->session.token, sizeof(job->session.token));
    free(job);
}

static void login_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct login_job *job = (struct login_job *)base;
    /* Shutdown with the job still queued: the request is dropped with its connection. */
    if (!f->cancelled)
        job->done(job->arg, NULL, f->refusal, 0);
}

static void on_login_stored(struct usecase_job *base)
{
    struct login_job *job = (struct login_job *)base;
    if (accounts_put_session(job->base.s->accounts, job->digest, &job->session.principal) != 0) {
        usecase_job_out_of_memory(&job->base);
        return;
    }
    log_info("user %s logged in (%s)", job->session.principal.user,
             auth_role_name(job->session.principal.role));
    job->done(job->arg, &job->session, NULL, 0);
}

static void run_login(struct usecase_job *base)
{
    struct login_job *job = (struct login_job *)base;
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || accounts_store_session(job->base.s->store, txn, job->digest,
                                              &job->session.principal) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops login_job_ops = {
    .store_refused = "the store refused the session",
    .run = run_login,
    .applied = on_login_stored,
    .failed = login_failed,
    .free = login_job_free,
};

/* Opens a session for u (whose password was just checked): token, then the writer. */
static void start_session(struct login_check *check, const struct auth_user *u)
{
    struct service *s = check->s;
    struct login_job *job = calloc(1, sizeof(*job));
    char why[160] = "out of memory";
    if (job == NULL) {
        struct refusal r;
        refuse_oom(&r);
        check->done(check->arg, NULL, &r, 0);
        return;
    }
    usecase_job_init(&job->base, &login_job_ops, s);
    job->done = check->done;
    job->arg = check->arg;
    if (auth_token_new(job->session.token) != 0 ||
        auth_token_digest(job->session.token, job->digest) != 0 ||
        auth_principal_for_user(u, lpg_now_ms(), s->cfg.session_ttl * 1000, &job->session.principal,
                                why, sizeof(why)) != 0) {
        usecase_job_refuse(&job->base, REFUSAL_INTERNAL, "internal", NULL, "%s", why);
        return;
    }
    if (usecase_job_submit(&job->base) != 0)
        usecase_job_out_of_memory(&job->base);
}

static void run_password_check(void *arg)
{
    /* On a worker thread: only the job's own bytes. */
    struct login_check *job = arg;
    job->verdict = auth_password_verify(job->password, job->hash);
    OPENSSL_cleanse(job->password, sizeof(job->password));
}

/* Shutdown with the check still queued: answered, so the caller is not left waiting (its
 * memory would outlive the transport). */
static void cancel_password_check(void *arg)
{
    struct login_check *job = arg;
    struct refusal r;
    refuse(&r, REFUSAL_UNAVAILABLE, "busy", NULL, "the service is shutting down; retry shortly");
    job->done(job->arg, NULL, &r, 0);
    login_check_free(job);
}

static void on_password_checked(void *arg)
{
    struct login_check *job = arg;
    struct service *s = job->s;
    struct login_guard_stats *st = login_guard_stats(s->guard);
    struct refusal r;
    if (!s->loaded) {
        /* Accounts are being reloaded (after a lost commit): the user cannot be told now. */
        login_guard_abandoned(s->guard, LOGIN_HTTP, job->user, job->addr);
        refuse(&r, REFUSAL_UNAVAILABLE, "loading", NULL, "the service is loading; retry shortly");
        job->done(job->arg, NULL, &r, 0);
        login_check_free(job);
        return;
    }
    /* The user may have changed while its password was checked: only the hash that was
     * checked counts, and only if it is still the user's. */
    const struct auth_user *u = job->known ? accounts_user(s->accounts, job->user) : NULL;
    int ok = job->verdict == 1 && u && strcmp(u->password_hash, job->hash) == 0 && !u->disabled;
    if (!ok) {
        int64_t now = lpg_now_ms();
        login_guard_failed(s->guard, LOGIN_HTTP, job->user, job->addr, now);
        st->logins[LOGIN_WRONG]++;
        uint64_t left_out = 0;
        if (login_guard_should_log(s->guard, LOGIN_HTTP, now, &left_out)) {
            if (left_out)
                log_info("failed login for %s from %s (and %llu failed logins not logged)",
                         job->user, job->addr, (unsigned long long)left_out);
            else
                log_info("failed login for %s from %s", job->user, job->addr);
        }
        refuse(&r, REFUSAL_UNAUTHENTICATED, "invalid_credentials", NULL,
               "wrong user name or password");
        job->done(job->arg, NULL, &r, 0);
        login_check_free(job);
        return;
    }
    login_guard_succeeded(s->guard, LOGIN_HTTP, job->user, job->addr);
    st->logins[LOGIN_OK]++;
    start_session(job, u);
    login_check_free(job);
}

/* Refused untried while the account or the address is blocked: no hash, no count. 0 when
 * allowed, else -1 with *r and *retry_after_s (the job is the caller's to free). */
static int throttle(struct login_check *job, struct refusal *r, int64_t *retry_after_s)
{
    struct service *s = job->s;
    int64_t retry_ms = 0;
    enum throttle_verdict v =
        login_guard_check(s->guard, LOGIN_HTTP, job->user, job->addr, lpg_now_ms(), &retry_ms);
    if (v == THROTTLE_ALLOW)
        return 0;
    int locked = v == THROTTLE_LOCKED;
    login_guard_stats(s->guard)->logins[locked ? LOGIN_LOCKED : LOGIN_THROTTLED]++;
    *retry_after_s = login_guard_retry_s(retry_ms);
    return refuse(r, REFUSAL_RATE_LIMITED, locked ? "login_locked" : "login_throttled", NULL, "%s",
                  locked ? "too many failed logins for this account or from this address: "
                           "locked for a while; see Retry-After"
                         : "too many failed logins for this account or from this address; "
                           "retry after the delay in Retry-After");
}

/* Hands the password check to the work pool. Returns 0, or -1 with *r and *retry_after_s; the
 * job is freed then. */
static int check_password(struct login_check *job, struct refusal *r, int64_t *retry_after_s)
{
    struct service *s = job->s;
    /* Verify against a dummy hash for unknown users, so timing does not reveal which names
     * exist; the reply is the same for an unknown user and a wrong password. */
    const struct auth_user *u =
        lpg_id_valid(job->user) ? accounts_user(s->accounts, job->user) : NULL;
    job->known = u != NULL;
    snprintf(job->hash, sizeof(job->hash), "%s", u ? u->password_hash : auth_password_dummy_hash());
    /* Counted as a failure to come while it is checked: concurrent guesses cannot overshoot. */
    login_guard_began(s->guard, LOGIN_HTTP, job->user, job->addr, lpg_now_ms());
    if (work_pool_submit(s->hash_pool, run_password_check, on_password_checked,
                         cancel_password_check, job) != 0) {
        login_guard_abandoned(s->guard, LOGIN_HTTP, job->user, job->addr);
        login_check_free(job);
        login_guard_stats(s->guard)->logins[LOGIN_BUSY]++;
        *retry_after_s = 1;
        return refuse(r, REFUSAL_UNAVAILABLE, "busy", NULL,
                      "too many logins are being checked at once; retry in a second");
    }
    return 0;
}

/* The user's record as Redis has it now: the login starts over from the checks that time may
 * have changed (loaded, the throttle). */
static void on_login_user_read(void *arg, const char *err)
{
    struct login_check *job = arg;
    account_login_done_fn *done = job->done;
    void *done_arg = job->arg;
    struct refusal r;
    int64_t retry_after_s = 0;
    if (err && strcmp(err, STORE_ERR_SHUTDOWN) == 0) {
        refuse(&r, REFUSAL_UNAVAILABLE, "store_unavailable", NULL, "the service is stopping");
    } else if (!job->s->loaded) {
        refuse(&r, REFUSAL_UNAVAILABLE, "loading", NULL, "the service is loading; retry shortly");
    } else if (throttle(job, &r, &retry_after_s) == 0) {
        if (check_password(job, &r, &retry_after_s) != 0)
            done(done_arg, NULL, &r, retry_after_s); /* job freed */
        return;
    }
    login_check_free(job);
    done(done_arg, NULL, &r, retry_after_s);
}

int account_login(struct service *s, const char *user, const char *password, const char *addr,
                  account_login_done_fn *done, void *arg, struct refusal *r, int64_t *retry_after_s)
{
    *retry_after_s = 0;
    if (user == NULL || password == NULL)
        return refuse(r, REFUSAL_INVALID, "missing_field", user == NULL ? "user" : "password",
                      "user and password are required");
    struct login_check *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse_oom(r);
    job->s = s;
    job->done = done;
    job->arg = arg;
    memcpy(job->user, user, strnlen(user, LPG_ID_MAX));
    snprintf(job->addr, sizeof(job->addr), "%s", addr && *addr ? addr : "?");
    /* Longer than AUTH_PASSWORD_MAX never matches (auth.h): one byte more tells. */
    memcpy(job->password, password, strnlen(password, AUTH_PASSWORD_MAX + 1));
    if (throttle(job, r, retry_after_s) != 0) {
        login_check_free(job);
        return -1;
    }
    /* The user's record is read from Redis first, so that an admin created or reset by
     * `dispatchd --create-admin`, which writes Redis directly, can log in at once; the login
     * goes on when it is answered. When Redis cannot be asked the table is used as it is. */
    if (lpg_id_valid(user) &&
        accounts_refresh_user(s->store, s->accounts, user, on_login_user_read, job) == 0)
        return 0;
    return check_password(job, r, retry_after_s);
}

/* ---- logging out ---- */

struct logout_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    account_done_fn *done;
    void *arg;
    char digest[AUTH_DIGEST_HEX_LEN + 1];
};

static void logout_job_free(struct usecase_job *base)
{
    free(base);
}

static void logout_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct logout_job *job = (struct logout_job *)base;
    if (!f->cancelled) /* shutdown: dropped with its caller's connection */
        job->done(job->arg, f->refusal);
}

static void on_logout_stored(struct usecase_job *base)
{
    struct logout_job *job = (struct logout_job *)base;
    accounts_remove_session(job->base.s->accounts, job->digest);
    job->done(job->arg, NULL);
}

static void run_logout(struct usecase_job *base)
{
    struct logout_job *job = (struct logout_job *)base;
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || accounts_store_session_end(job->base.s->store, txn, job->digest) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops logout_job_ops = {
    .store_refused = "the store refused the logout",
    .run = run_logout,
    .applied = on_logout_stored,
    .failed = logout_failed,
    .free = logout_job_free,
};

int account_logout(struct service *s, const char *token, account_done_fn *done, void *arg,
                   struct refusal *r)
{
    struct logout_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse_oom(r);
    usecase_job_init(&job->base, &logout_job_ops, s);
    job->done = done;
    job->arg = arg;
    if (token == NULL || auth_token_digest(token, job->digest) != 0 ||
        usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse_oom(r);
    }
    return 0;
}

/* ---- users ---- */

struct user_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    account_user_done_fn *done;
    void *arg;
    struct auth_user user;
    char password[AUTH_PASSWORD_MAX + 1]; /* until hashed (on a worker thread); then wiped */
    int hashed;                           /* auth_password_hash's result, set by the worker */
};

static void user_job_free(struct usecase_job *base)
{
    struct user_job *job = (struct user_job *)base;
    OPENSSL_cleanse(job->password, sizeof(job->password));
    free(job);
}

static void user_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct user_job *job = (struct user_job *)base;
    if (!f->cancelled) /* shutdown: dropped with its caller's connection */
        job->done(job->arg, NULL, f->refusal);
}

static void on_user_stored(struct usecase_job *base)
{
    struct user_job *job = (struct user_job *)base;
    if (accounts_put_user(job->base.s->accounts, &job->user) != 0) {
        usecase_job_out_of_memory(&job->base);
        return;
    }
    log_info("user %s created (%s)", job->user.name, auth_role_name(job->user.role));
    job->done(job->arg, &job->user, NULL);
}

static void run_create_user(struct usecase_job *base)
{
    struct user_job *job = (struct user_job *)base;
    /* Checked here, in the writer, so two concurrent creations cannot both pass. */
    if (accounts_user(job->base.s->accounts, job->user.name) != NULL) {
        usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "already_exists", "name",
                           "a user with this name exists");
        return;
    }
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || accounts_store_user(job->base.s->store, txn, &job->user) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops user_job_ops = {
    .store_refused = "the store refused the user",
    .run = run_create_user,
    .applied = on_user_stored,
    .failed = user_failed,
    .free = user_job_free,
};

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
    usecase_job_refuse(&job->base, REFUSAL_UNAVAILABLE, "busy", NULL,
                       "the service is shutting down; retry shortly");
}

static void on_user_password_hashed(void *arg)
{
    struct user_job *job = arg;
    if (job->hashed != 0) {
        usecase_job_refuse(&job->base, REFUSAL_INTERNAL, "internal", NULL,
                           "could not hash the password");
        return;
    }
    if (usecase_job_submit(&job->base) != 0)
        usecase_job_out_of_memory(&job->base);
}

int account_create_user(struct service *s, const char *name, const char *role,
                        const char *enterprise_id, const struct auth_jurisdiction *jurisdiction,
                        const char *password, account_user_done_fn *done, void *arg,
                        struct refusal *r, int64_t *retry_after_s)
{
    static const struct auth_jurisdiction everywhere;
    if (jurisdiction == NULL)
        jurisdiction = &everywhere;
    const char *unknown_ent = NULL;
    for (unsigned i = 0; i < jurisdiction->n && i < AUTH_JURISDICTION_MAX; i++)
        if (registry_enterprise(s->registry, jurisdiction->ids[i]) == NULL)
            unknown_ent = jurisdiction->ids[i];
    *retry_after_s = 0;
    char why[160];
    int rl = role ? auth_role_parse(role) : -1;
    const char *field = NULL, *msg = NULL;
    if (name == NULL || !lpg_id_valid(name)) {
        field = "name";
        msg = "name must be 1..64 characters of [A-Za-z0-9_.-]";
    } else if (rl < 0) {
        field = "role";
        msg = "role must be admin, dispatcher or auditor";
    } else if (rl == AUTH_ROLE_DISPATCHER &&
               (enterprise_id == NULL || registry_enterprise(s->registry, enterprise_id) == NULL)) {
        field = "enterprise_id";
        msg = "a dispatcher needs the id of an existing enterprise";
    } else if (rl != AUTH_ROLE_DISPATCHER && enterprise_id != NULL) {
        field = "enterprise_id";
        msg = "only a dispatcher belongs to an enterprise";
    } else if (jurisdiction->n > 0 && rl != AUTH_ROLE_AUDITOR) {
        field = "enterprises";
        msg = "only an auditor has a jurisdiction (enterprises)";
    } else if (unknown_ent) {
        field = "enterprises";
        snprintf(why, sizeof(why), "no enterprise with id %s", unknown_ent);
        msg = why;
    } else if (password == NULL || !auth_password_acceptable(password, why, sizeof(why))) {
        field = "password";
        msg = password ? why : "password is required";
    }
    if (field)
        return refuse(r, REFUSAL_INVALID, "invalid_field", field, "%s", msg);
    struct user_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return refuse_oom(r);
    usecase_job_init(&job->base, &user_job_ops, s);
    job->done = done;
    job->arg = arg;
    snprintf(job->password, sizeof(job->password), "%s", password); /* acceptable: fits */
    snprintf(job->user.name, sizeof(job->user.name), "%s", name);
    job->user.role = (enum auth_role)rl;
    if (rl == AUTH_ROLE_DISPATCHER)
        snprintf(job->user.enterprise_id, sizeof(job->user.enterprise_id), "%s", enterprise_id);
    job->user.jurisdiction = *jurisdiction;
    job->user.created_ms = lpg_now_ms();
    /* Hashing takes as long as a login's check: off the loop too. */
    if (work_pool_submit(s->hash_pool, run_hash_user_password, on_user_password_hashed,
                         cancel_user_hash, job) != 0) {
        usecase_job_discard(&job->base);
        *retry_after_s = 1;
        return refuse(r, REFUSAL_UNAVAILABLE, "busy", NULL,
                      "too many passwords are being hashed at once; retry in a second");
    }
    return 0;
}

/* ---- devices ---- */

struct device_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    account_device_done_fn *done;
    void *arg;
    struct auth_principal principal;
    struct device_record dev;
    struct account_device out;
    struct lpg_staff *staff; /* new version with device_id set */
};

static void device_job_free(struct usecase_job *base)
{
    struct device_job *job = (struct device_job *)base;
    OPENSSL_cleanse(job->out.secret, sizeof(job->out.secret));
    free(job->staff);
    free(job);
}

static void device_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct device_job *job = (struct device_job *)base;
    if (!f->cancelled) /* shutdown: dropped with its caller's connection */
        job->done(job->arg, NULL, f->refusal);
}

static void on_device_stored(struct usecase_job *base)
{
    struct device_job *job = (struct device_job *)base;
    struct service *s = job->base.s;
    accounts_put_device(s->accounts, &job->dev);
    if (job->dev.vehicle_id[0]) {
        log_info("device %s registered for vehicle %s by %s", job->dev.device_id,
                 job->dev.vehicle_id, job->principal.user);
        job->done(job->arg, &job->out, NULL);
        return;
    }
    /* A replaced handset stops working at once: its open session ends too. */
    const struct lpg_staff *before = registry_staff(s->registry, job->dev.staff_id);
    if (before && before->device_id[0] && strcmp(before->device_id, job->dev.device_id) != 0) {
        struct service_event ev = {.kind = EV_SESSION_REVOKED,
                                   .enterprise_id = before->enterprise_id,
                                   .device_id = before->device_id,
                                   .reason = registry_handset_replaced};
        event_bus_publish(s->bus, &ev);
    }
    registry_put_staff(s->registry, job->staff);
    job->staff = NULL;
    log_info("device %s registered for %s by %s", job->dev.device_id, job->dev.staff_id,
             job->principal.user);
    job->done(job->arg, &job->out, NULL);
}

/* Device ids and JT/T 808 terminal ids are one namespace: ingest keeps a high-water mark per
 * reporting device ({p}device:{id}:seq), and a terminal reports under its id. */
static bool device_id_is_terminal(const struct service *s, const char *device_id)
{
    return terminal_table_get(accounts_terminals(s->accounts), device_id) != NULL;
}

/* A vehicle's unit: no person to update, only the device record. */
static void run_vehicle_device(struct device_job *job)
{
    struct service *s = job->base.s;
    struct refusal r;
    const struct lpg_vehicle *v = registry_vehicle(s->registry, job->dev.vehicle_id);
    int refused = 0;
    if (v == NULL || hidden_from(&job->principal, v->enterprise_id)) {
        refused = refuse(&r, REFUSAL_RULE, "unknown_reference", "vehicle_id", "no such vehicle");
    } else if (refuse_unless_allowed(&r, &job->principal, AUTH_WRITE, v->enterprise_id) != 0) {
        refused = 1;
    } else {
        const struct device_record *existing = accounts_device(s->accounts, job->dev.device_id);
        if ((existing && strcmp(existing->vehicle_id, v->id) != 0) ||
            device_id_is_terminal(s, job->dev.device_id))
            refused = refuse(&r, REFUSAL_CONFLICT, "already_exists", "device_id",
                             "this device id belongs to another person or vehicle");
    }
    if (refused) {
        usecase_job_refused(&job->base, &r);
        return;
    }
    snprintf(job->dev.enterprise_id, sizeof(job->dev.enterprise_id), "%s", v->enterprise_id);
    struct store_txn *txn = store_txn_new();
    if (txn == NULL || accounts_store_device(s->store, txn, &job->dev) != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static void run_device(struct usecase_job *base)
{
    struct device_job *job = (struct device_job *)base;
    struct service *s = job->base.s;
    if (job->dev.vehicle_id[0]) {
        run_vehicle_device(job);
        return;
    }
    struct refusal r;
    const struct lpg_staff *st = registry_staff(s->registry, job->dev.staff_id);
    int refused = 0;
    if (st == NULL || hidden_from(&job->principal, st->enterprise_id)) {
        refused = refuse(&r, REFUSAL_RULE, "unknown_reference", "staff_id", "no such staff member");
    } else if (refuse_unless_allowed(&r, &job->principal, AUTH_WRITE, st->enterprise_id) != 0) {
        refused = 1;
    } else {
        const struct device_record *existing = accounts_device(s->accounts, job->dev.device_id);
        if ((existing && strcmp(existing->staff_id, st->id) != 0) ||
            device_id_is_terminal(s, job->dev.device_id))
            refused = refuse(&r, REFUSAL_CONFLICT, "already_exists", "device_id",
                             "this device id belongs to another person");
    }
    if (refused) {
        usecase_job_refused(&job->base, &r);
        return;
    }
    snprintf(job->dev.enterprise_id, sizeof(job->dev.enterprise_id), "%s", st->enterprise_id);
    job->staff = lpg_staff_dup(st);
    struct store_txn *txn = store_txn_new();
    json_t *rec = NULL;
    char *text = NULL;
    if (job->staff) {
        snprintf(job->staff->device_id, sizeof(job->staff->device_id), "%s", job->dev.device_id);
        rec = lpg_json_from_staff(job->staff);
        text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    }
    json_decref(rec);
    int rc = txn && text && accounts_store_device(s->store, txn, &job->dev) == 0
                 ? registry_store_save(s->store, txn, RS_STAFF, job->staff->id, text, strlen(text))
                 : -1;
    free(text);
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops device_job_ops = {
    .store_refused = "the store refused the device",
    .run = run_device,
    .applied = on_device_stored,
    .failed = device_failed,
    .free = device_job_free,
};

/* owner: the person's id, or the vehicle's when of_vehicle. */
static int register_device(struct service *s, const struct auth_principal *p, const char *device_id,
                           const char *owner, int of_vehicle, account_device_done_fn *done,
                           void *arg, struct refusal *r)
{
    const char *staff_id = of_vehicle ? NULL : owner, *vehicle_id = of_vehicle ? owner : NULL;
    if (device_id == NULL || !lpg_id_valid(device_id) || owner == NULL || !lpg_id_valid(owner))
        return refuse(r, REFUSAL_INVALID, "invalid_field",
                      device_id && lpg_id_valid(device_id)
                          ? (of_vehicle ? "vehicle_id" : "staff_id")
                          : "device_id",
                      "device_id and %s are required ids ([A-Za-z0-9_.-], 1..64)",
                      of_vehicle ? "vehicle_id" : "staff_id");
    struct device_job *job = calloc(1, sizeof(*job));
    if (job)
        usecase_job_init(&job->base, &device_job_ops, s);
    if (job == NULL || auth_device_secret_new(job->out.secret) != 0 ||
        auth_device_secret_digest(job->out.secret, job->dev.secret_digest) != 0) {
        if (job)
            usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "could not create a device secret");
    }
    job->done = done;
    job->arg = arg;
    job->principal = *p;
    snprintf(job->dev.device_id, sizeof(job->dev.device_id), "%s", device_id);
    snprintf(job->dev.staff_id, sizeof(job->dev.staff_id), "%s", staff_id ? staff_id : "");
    snprintf(job->dev.vehicle_id, sizeof(job->dev.vehicle_id), "%s", vehicle_id ? vehicle_id : "");
    snprintf(job->out.device_id, sizeof(job->out.device_id), "%s", device_id);
    snprintf(job->out.staff_id, sizeof(job->out.staff_id), "%s", job->dev.staff_id);
    snprintf(job->out.vehicle_id, sizeof(job->out.vehicle_id), "%s", job->dev.vehicle_id);
    job->dev.created_ms = lpg_now_ms();
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse_oom(r);
    }
    return 0;
}

int account_register_device(struct service *s, const struct auth_principal *p,
                            const char *device_id, const char *staff_id,
                            account_device_done_fn *done, void *arg, struct refusal *r)
{
    return register_device(s, p, device_id, staff_id, 0, done, arg, r);
}

int account_register_vehicle_device(struct service *s, const struct auth_principal *p,
                                    const char *device_id, const char *vehicle_id,
                                    account_device_done_fn *done, void *arg, struct refusal *r)
{
    return register_device(s, p, device_id, vehicle_id, 1, done, arg, r);
}
