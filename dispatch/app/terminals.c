/* terminals.c -- see terminals.h. */
#define LOG_TAG "terminals"
#include "app/terminals.h"

#include "app/events.h"
#include "app/refuse_from.h"
#include "app/service.h"
#include "app/usecase_job.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/registry.h"
#include "store/accounts.h"
#include "store/terminals.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char terminal_revoked_deleted[] = "the terminal was deleted";
const char terminal_revoked_rebound[] = "the terminal was bound to another vehicle";
const char terminal_revoked_code_replaced[] = "the terminal's authentication code was replaced";

const struct terminal_record *terminals_get(const struct service *s, const char *terminal_id)
{
    return s->accounts ? terminal_table_get(accounts_terminals(s->accounts), terminal_id) : NULL;
}

size_t terminals_list(struct service *s, const char *enterprise_id, const char *after, size_t limit,
                      const struct terminal_record **out)
{
    return terminal_table_list(accounts_terminals(s->accounts), enterprise_id, after, limit, out);
}

int terminal_authenticate(const struct service *s, const char *terminal_id, const uint8_t *code,
                          size_t len)
{
    const struct terminal_record *t = terminals_get(s, terminal_id);
    /* One SHA-256, no slow hash: an issued code is 130 random bits (core/terminal.h), beyond
     * brute force from a leaked digest; an operator's preconfigured code is whatever the
     * terminal was set up with, and travels in clear on every connection anyway (JT/T 808 has
     * no TLS), so a slow hash would cost 100,000 reconnecting terminals real CPU for little. */
    return t && terminal_code_matches(code, len, t->code_digest) ? 0 : -1;
}

/* ---- one job for every write ---- */

enum terminal_op { TOP_CREATE, TOP_CHANGE, TOP_DELETE, TOP_REGISTER };

struct terminal_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    enum terminal_op op;
    struct auth_principal principal; /* not for TOP_REGISTER */
    char id[TERMINAL_ID_MAX_DIGITS + 1];
    char vehicle_id[LPG_ID_MAX + 1];     /* create, change ("" unchanged) */
    char plate[LPG_NAME_MAX + 1];        /* register: the plate sent, cut to a plate's size */
    char digest[65];                     /* the new code's digest; "" unchanged (change) / none */
    int clear_code;                      /* change: auth_code "" -- the terminal may register */
    char code[TERMINAL_CODE_LEN + 1];    /* register: the code issued (wiped at free) */
    struct terminal_record before;       /* change, delete: the terminal as it was */
    struct terminal_record rec;          /* the terminal as written */
    enum terminal_reg_result reg_result; /* register: the answer of a refusal */
    terminal_done_fn *done;
    terminal_register_done_fn *reg_done;
    void *arg;
};

static void job_free(struct usecase_job *base)
{
    struct terminal_job *job = (struct terminal_job *)base;
    OPENSSL_cleanse(job->code, sizeof(job->code));
    free(job);
}

static void job_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct terminal_job *job = (struct terminal_job *)base;
    if (job->op == TOP_REGISTER) {
        /* Answered even at shutdown: the listener holds its connection for the answer. */
        enum terminal_reg_result res =
            f->cancelled || f->store_err ? TERMINAL_REG_UNAVAILABLE : job->reg_result;
        job->reg_done(job->arg, res, NULL);
        return;
    }
    if (!f->cancelled) /* shutdown: dropped with its caller's connection */
        job->done(job->arg, NULL, f->refusal);
}

static void publish_revoked(struct service *s, const struct terminal_record *was,
                            const char *reason)
{
    struct service_event ev = {.kind = EV_TERMINAL_REVOKED,
                               .enterprise_id = was->enterprise_id,
                               .vehicle_id = was->vehicle_id,
                               .terminal_id = was->id,
                               .reason = reason};
    event_bus_publish(s->bus, &ev);
}

static void job_applied(struct usecase_job *base)
{
    struct terminal_job *job = (struct terminal_job *)base;
    struct service *s = job->base.s;
    struct terminal_table *table = accounts_terminals(s->accounts);
    if (job->op == TOP_DELETE) {
        terminal_table_remove(table, job->before.id);
    } else if (terminal_table_put(table, &job->rec) != 0) {
        /* Redis has it, the table does not: the table is reloaded from Redis. */
        log_error("out of memory applying terminal %s; reloading", job->rec.id);
        service_request_reload(s);
        if (job->op == TOP_REGISTER)
            job->reg_result = TERMINAL_REG_UNAVAILABLE;
        usecase_job_out_of_memory(&job->base);
        return;
    }
    switch (job->op) {
    case TOP_CREATE:
        log_info("terminal %s registered for vehicle %s by %s", job->rec.id, job->rec.vehicle_id,
                 job->principal.user);
        job->done(job->arg, &job->rec, NULL);
        break;
    case TOP_CHANGE:
        log_info("terminal %s changed by %s", job->rec.id, job->principal.user);
        if (strcmp(job->before.vehicle_id, job->rec.vehicle_id) != 0)
            publish_revoked(s, &job->before, terminal_revoked_rebound);
        else if (job->digest[0] || (job->clear_code && job->before.code_digest[0]))
            publish_revoked(s, &job->before, terminal_revoked_code_replaced);
        job->done(job->arg, &job->rec, NULL);
        break;
    case TOP_DELETE:
        log_info("terminal %s deleted by %s", job->before.id, job->principal.user);
        publish_revoked(s, &job->before, terminal_revoked_deleted);
        job->done(job->arg, &job->before, NULL);
        break;
    case TOP_REGISTER:
        log_info("terminal %s registered itself (0x0100) for vehicle %s", job->rec.id,
                 job->rec.vehicle_id);
        publish_revoked(s, &job->before, terminal_revoked_code_replaced);
        job->reg_done(job->arg, TERMINAL_REG_OK, job->code);
        break;
    }
}

/* The vehicle named by a create or a change, checked for p: NULL after refusing the job. */
static const struct lpg_vehicle *bound_vehicle(struct terminal_job *job)
{
    struct service *s = job->base.s;
    struct refusal r;
    const struct lpg_vehicle *v = registry_vehicle(s->registry, job->vehicle_id);
    if (v == NULL || hidden_from(&job->principal, v->enterprise_id)) {
        usecase_job_refuse(&job->base, REFUSAL_RULE, "unknown_reference", "vehicle_id",
                           "no such vehicle");
        return NULL;
    }
    if (refuse_unless_allowed(&r, &job->principal, AUTH_WRITE, v->enterprise_id) != 0) {
        usecase_job_refused(&job->base, &r);
        return NULL;
    }
    const struct terminal_record *other =
        terminal_table_by_vehicle(accounts_terminals(s->accounts), v->id);
    if (other && !terminal_id_same(other->id, job->id)) {
        usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "vehicle_has_terminal", "vehicle_id",
                           "this vehicle already has a terminal: delete it or bind it to "
                           "another vehicle first");
        return NULL;
    }
    return v;
}

/* The terminal named by a change or a delete, checked for p, copied into job->before: -1
 * after refusing the job. */
static int existing_terminal(struct terminal_job *job)
{
    struct refusal r;
    const struct terminal_record *t = terminals_get(job->base.s, job->id);
    if (t == NULL || hidden_from(&job->principal, t->enterprise_id)) {
        usecase_job_refuse(&job->base, REFUSAL_NOT_FOUND, "not_found", NULL, "no such terminal");
        return -1;
    }
    if (refuse_unless_allowed(&r, &job->principal, AUTH_WRITE, t->enterprise_id) != 0) {
        usecase_job_refused(&job->base, &r);
        return -1;
    }
    job->before = *t;
    return 0;
}

static void job_commit(struct terminal_job *job)
{
    struct service *s = job->base.s;
    struct store_txn *txn = store_txn_new();
    int rc = txn == NULL             ? -1
             : job->op == TOP_DELETE ? terminals_store_delete(s->store, txn, job->before.id)
                                     : terminals_store_save(s->store, txn, &job->rec);
    if (rc != 0) {
        store_txn_free(txn);
        if (job->op == TOP_REGISTER)
            job->reg_result = TERMINAL_REG_UNAVAILABLE;
        usecase_job_out_of_memory(&job->base);
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static void run_create(struct terminal_job *job)
{
    /* Terminal ids and handset device ids are one namespace (ingest's per-device marks). */
    if (terminals_get(job->base.s, job->id) != NULL ||
        accounts_device(job->base.s->accounts, job->id) != NULL) {
        /* Whoever's it is: the answer names nobody and shows nothing of it. */
        usecase_job_refuse(&job->base, REFUSAL_CONFLICT, "already_exists", "id",
                           "a terminal with this id is registered");
        return;
    }
    const struct lpg_vehicle *v = bound_vehicle(job);
    if (v == NULL)
        return;
    snprintf(job->rec.id, sizeof(job->rec.id), "%s", job->id);
    snprintf(job->rec.vehicle_id, sizeof(job->rec.vehicle_id), "%s", v->id);
    snprintf(job->rec.enterprise_id, sizeof(job->rec.enterprise_id), "%s", v->enterprise_id);
    snprintf(job->rec.protocol, sizeof(job->rec.protocol), "jt808");
    snprintf(job->rec.code_digest, sizeof(job->rec.code_digest), "%s", job->digest);
    job->rec.created_ms = job->rec.updated_ms = lpg_now_ms();
    job_commit(job);
}

static void run_change(struct terminal_job *job)
{
    if (existing_terminal(job) != 0)
        return;
    job->rec = job->before;
    if (job->vehicle_id[0]) {
        const struct lpg_vehicle *v = bound_vehicle(job);
        if (v == NULL)
            return;
        snprintf(job->rec.vehicle_id, sizeof(job->rec.vehicle_id), "%s", v->id);
        snprintf(job->rec.enterprise_id, sizeof(job->rec.enterprise_id), "%s", v->enterprise_id);
    }
    if (job->digest[0])
        snprintf(job->rec.code_digest, sizeof(job->rec.code_digest), "%s", job->digest);
    else if (job->clear_code)
        job->rec.code_digest[0] = '\0';
    job->rec.updated_ms = lpg_now_ms();
    job_commit(job);
}

static void run_delete(struct terminal_job *job)
{
    if (existing_terminal(job) == 0)
        job_commit(job);
}

/* The plate check of a registration: the terminal's vehicle, and its plate as sent. */
static enum terminal_reg_result
registration_verdict(const struct service *s, const struct terminal_record *t, const char *plate)
{
    if (t == NULL)
        return TERMINAL_REG_TERMINAL_UNKNOWN;
    const struct lpg_vehicle *v = registry_vehicle(s->registry, t->vehicle_id);
    if (v == NULL || !terminal_plate_same(v->plate, plate))
        return TERMINAL_REG_VEHICLE_UNKNOWN;
    /* First use only: a terminal that holds a code authenticates with it. Otherwise anyone who
     * knows a truck's terminal number and reads its plate could take its session over. An
     * operator lets it register again (new hardware, a lost code) by clearing its code. */
    return t->code_digest[0] != '\0' ? TERMINAL_REG_TERMINAL_TAKEN : TERMINAL_REG_OK;
}

static void run_register(struct terminal_job *job)
{
    struct service *s = job->base.s;
    /* Again, in the writer's turn: the terminal or its vehicle may have changed meanwhile. */
    const struct terminal_record *t = terminals_get(s, job->id);
    job->reg_result = registration_verdict(s, t, job->plate);
    if (job->reg_result != TERMINAL_REG_OK) {
        usecase_job_refuse(&job->base, REFUSAL_RULE, "registration_refused", NULL,
                           "registration refused (%d)", (int)job->reg_result);
        return;
    }
    job->before = *t;
    job->rec = *t;
    if (terminal_code_new(job->code) != 0 ||
        terminal_code_digest((const uint8_t *)job->code, strlen(job->code), job->rec.code_digest) !=
            0) {
        job->reg_result = TERMINAL_REG_UNAVAILABLE;
        usecase_job_refuse(&job->base, REFUSAL_INTERNAL, "internal", NULL,
                           "could not make an authentication code");
        return;
    }
    job->rec.updated_ms = lpg_now_ms();
    job_commit(job);
}

static void job_run(struct usecase_job *base)
{
    struct terminal_job *job = (struct terminal_job *)base;
    switch (job->op) {
    case TOP_CREATE:
        run_create(job);
        break;
    case TOP_CHANGE:
        run_change(job);
        break;
    case TOP_DELETE:
        run_delete(job);
        break;
    case TOP_REGISTER:
        run_register(job);
        break;
    }
}

static const struct usecase_job_ops terminal_job_ops = {
    .store_refused = "the store refused the terminal",
    .run = job_run,
    .applied = job_applied,
    .failed = job_failed,
    .free = job_free,
};

/* ---- starting them ---- */

static struct terminal_job *job_new(struct service *s, enum terminal_op op,
                                    const struct auth_principal *p, const char *id)
{
    struct terminal_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    usecase_job_init(&job->base, &terminal_job_ops, s);
    job->op = op;
    if (p)
        job->principal = *p;
    snprintf(job->id, sizeof(job->id), "%s", id);
    job->reg_result = TERMINAL_REG_UNAVAILABLE;
    return job;
}

static int submit(struct terminal_job *job, struct refusal *r)
{
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    }
    return 0;
}

/* The operator's code as a digest into out ("" for NULL). -1 with *r when unacceptable. */
static int code_digest_of(const char *code, char out[65], struct refusal *r)
{
    out[0] = '\0';
    if (code == NULL)
        return 0;
    if (!terminal_code_acceptable(code))
        return refuse(r, REFUSAL_INVALID, "invalid_field", "auth_code",
                      "auth_code must be 1..%d printable ASCII characters", TERMINAL_CODE_MAX);
    if (terminal_code_digest((const uint8_t *)code, strlen(code), out) != 0)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "could not hash the code");
    return 0;
}

static int refuse_id(struct refusal *r)
{
    return refuse(r, REFUSAL_INVALID, "invalid_field", "id",
                  "id must be the terminal's phone number: %d to %d digits, not all zeros",
                  TERMINAL_ID_MIN_DIGITS, TERMINAL_ID_MAX_DIGITS);
}

static int refuse_vehicle_id(struct refusal *r)
{
    return refuse(r, REFUSAL_INVALID, "invalid_field", "vehicle_id",
                  "vehicle_id must be an id ([A-Za-z0-9_.-], 1..64)");
}

int terminal_create(struct service *s, const struct auth_principal *p, const char *id,
                    const char *vehicle_id, const char *protocol, const char *auth_code,
                    terminal_done_fn *done, void *arg, struct refusal *r)
{
    if (!terminal_id_valid(id))
        return refuse_id(r);
    if (vehicle_id == NULL || !lpg_id_valid(vehicle_id))
        return refuse_vehicle_id(r);
    if (protocol && strcmp(protocol, "jt808") != 0)
        return refuse(r, REFUSAL_INVALID, "invalid_field", "protocol",
                      "protocol must be \"jt808\"");
    char digest[65];
    if (code_digest_of(auth_code, digest, r) != 0)
        return -1;
    struct terminal_job *job = job_new(s, TOP_CREATE, p, id);
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    snprintf(job->vehicle_id, sizeof(job->vehicle_id), "%s", vehicle_id);
    snprintf(job->digest, sizeof(job->digest), "%s", digest);
    job->done = done;
    job->arg = arg;
    return submit(job, r);
}

int terminal_change(struct service *s, const struct auth_principal *p, const char *id,
                    const char *vehicle_id, const char *auth_code, terminal_done_fn *done,
                    void *arg, struct refusal *r)
{
    /* An id that cannot be a terminal's is simply not found. */
    if (terminal_id_significant(id) == NULL)
        return refuse(r, REFUSAL_NOT_FOUND, "not_found", NULL, "no such terminal");
    if (vehicle_id && !lpg_id_valid(vehicle_id))
        return refuse_vehicle_id(r);
    char digest[65];
    int clear = auth_code != NULL && auth_code[0] == '\0';
    if (!clear && code_digest_of(auth_code, digest, r) != 0)
        return -1;
    if (clear)
        digest[0] = '\0';
    struct terminal_job *job = job_new(s, TOP_CHANGE, p, id);
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    job->clear_code = clear;
    snprintf(job->vehicle_id, sizeof(job->vehicle_id), "%s", vehicle_id ? vehicle_id : "");
    snprintf(job->digest, sizeof(job->digest), "%s", digest);
    job->done = done;
    job->arg = arg;
    return submit(job, r);
}

int terminal_delete(struct service *s, const struct auth_principal *p, const char *id,
                    terminal_done_fn *done, void *arg, struct refusal *r)
{
    if (terminal_id_significant(id) == NULL)
        return refuse(r, REFUSAL_NOT_FOUND, "not_found", NULL, "no such terminal");
    struct terminal_job *job = job_new(s, TOP_DELETE, p, id);
    if (job == NULL)
        return refuse(r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    job->done = done;
    job->arg = arg;
    return submit(job, r);
}

void terminal_register(struct service *s, const char *terminal_id, const char *plate_utf8,
                       terminal_register_done_fn *done, void *arg)
{
    if (!s->loaded || s->shutting_down) {
        done(arg, TERMINAL_REG_UNAVAILABLE, NULL);
        return;
    }
    /* Decided at once when it can be: a flood of registrations from unknown terminals or with
     * wrong plates never reaches the writer or the store. */
    enum terminal_reg_result verdict =
        registration_verdict(s, terminals_get(s, terminal_id), plate_utf8);
    if (verdict != TERMINAL_REG_OK) {
        done(arg, verdict, NULL);
        return;
    }
    struct terminal_job *job = job_new(s, TOP_REGISTER, NULL, terminal_id);
    if (job == NULL) {
        done(arg, TERMINAL_REG_UNAVAILABLE, NULL);
        return;
    }
    /* The plate is at most a plate's size (a longer one matched nothing above). */
    snprintf(job->plate, sizeof(job->plate), "%s", plate_utf8);
    job->reg_done = done;
    job->arg = arg;
    if (usecase_job_submit(&job->base) != 0) {
        usecase_job_discard(&job->base);
        done(arg, TERMINAL_REG_UNAVAILABLE, NULL);
    }
}
