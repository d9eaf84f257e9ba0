/* http_v1_audit.c -- the auditors' read-only view of the tamper-evident record (audit_log.h,
 * docs/audit.md): GET /v1/audit/entries (a bounded page of entries, optionally filtered),
 * GET /v1/audit/verify (the chain recomputed over a range), GET /v1/audit/checkpoint (the head
 * signed with the service's Ed25519 key) and GET /v1/audit/key (its public key). There is
 * deliberately no route that writes: entries are only ever appended by the service, with the change
 * they record. Admins and auditors only (the log spans every enterprise).
 */
#define LOG_TAG "audit"
#include "core/audit_chain.h"
#include "core/audit_checkpoint.h"
#include "common/clock.h"
#include "store/audit_log.h"
#include "store/audit_reads.h"
#include "http/http_v1.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries examined by one filtered page, at most: a filter that matches rarely answers with
 * fewer items and next_from_seq rather than reading on. */
#define AUDIT_SCAN_MAX 2000

/* An optional ?name= sequence number >= 1; dflt when absent. -1 after replying 400. */
static int query_seq(struct http_call *call, const char *name, int64_t dflt, int64_t *out)
{
    const char *s = http_call_query(call, name);
    *out = dflt;
    if (s == NULL)
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > INT64_MAX / 2) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be an entry number (an integer >= 1)", name);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

/* Whether the entry's member `name` is the string `want`. */
static bool member_is(const json_t *entry, const char *name, const char *want)
{
    const char *v = json_string_value(json_object_get(entry, name));
    return v != NULL && strcmp(v, want) == 0;
}

/* ---- GET /v1/audit/entries?from_seq=&to_seq=&limit=&kind=&enterprise_id= ---- */

struct entries_job {
    struct http_call *call;
    int64_t from, to, head;
    int limit;
    char kind[AUDIT_NAME_MAX + 1], enterprise[AUDIT_NAME_MAX + 1];
};

static void on_entries(void *arg, const struct audit_texts *texts, const char *err)
{
    struct entries_job *job = arg;
    struct http_call *call = job->call;
    if (err) {
        free(job);
        v1_reply_store_unreadable(call);
        return;
    }
    json_t *items = json_array();
    int64_t seq = job->from, last = job->from - 1;
    size_t n = audit_texts_count(texts);
    for (size_t i = 0; i < n && (int)json_array_size(items) < job->limit; i++, seq++) {
        last = seq;
        const char *text;
        size_t len;
        audit_texts_get(texts, i, &text, &len);
        json_t *entry = json_loadb(text, len, 0, NULL);
        if ((job->kind[0] && !member_is(entry, "kind", job->kind)) ||
            (job->enterprise[0] && !member_is(entry, "enterprise", job->enterprise))) {
            json_decref(entry);
            continue;
        }
        char h[AUDIT_HASH_HEX_LEN + 1];
        audit_chain_hash(text, len, h);
        /* The exact stored text too: an auditor can rehash it independently. An unparsable
         * entry is listed with entry null (verify says why). */
        json_array_append_new(items,
                              json_pack("{s:I, s:s, s:o, s:s%}", "seq", (json_int_t)seq, "hash", h,
                                        "entry", entry ? entry : json_null(), "text", text, len));
    }
    json_t *next = last < job->to && last >= job->from - 1 && n > 0
                       ? json_integer((json_int_t)(last + 1))
                       : json_null();
    http_reply_json(call, 200,
                    json_pack("{s:o, s:o, s:I}", "items", items, "next_from_seq", next, "head_seq",
                              (json_int_t)job->head));
    free(job);
}

static void handle_entries(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    /* An auditor limited to a jurisdiction reads the entries of one of its enterprises (the
     * chain interleaves every enterprise's, so the filter is its scope); others as before. */
    const char *scope = NULL;
    if (p->role == AUTH_ROLE_AUDITOR && p->jurisdiction.n > 0)
        scope = ent ? ent : auth_default_enterprise(p);
    if (v1_allow(call, d, p, AUTH_READ, scope) != 0)
        return;
    if (scope)
        ent = scope;
    int64_t head = audit_log_head_seq(d->audit), from, to;
    int limit = v1_page_limit(call);
    if (limit < 0 || query_seq(call, "from_seq", 1, &from) != 0 ||
        query_seq(call, "to_seq", head, &to) != 0)
        return;
    const char *kind = http_call_query(call, "kind");
    if ((kind && strlen(kind) > AUDIT_NAME_MAX) || (ent && strlen(ent) > AUDIT_NAME_MAX)) {
        http_reply_error(call, 400, "invalid_parameter",
                         "kind and enterprise_id are at most 256 bytes",
                         kind && strlen(kind) > AUDIT_NAME_MAX ? "kind" : "enterprise_id");
        return;
    }
    if (to > head)
        to = head;
    if (from > to) {
        http_reply_json(
            call, 200,
            json_pack("{s:[], s:n, s:I}", "items", "next_from_seq", "head_seq", (json_int_t)head));
        return;
    }
    struct entries_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->call = call;
    job->from = from;
    job->to = to;
    job->head = head;
    job->limit = limit;
    snprintf(job->kind, sizeof(job->kind), "%s", kind ? kind : "");
    snprintf(job->enterprise, sizeof(job->enterprise), "%s", ent ? ent : "");
    /* Unfiltered, a page is `limit` entries; filtered, at most AUDIT_SCAN_MAX are examined. */
    int64_t window = job->kind[0] || job->enterprise[0] ? AUDIT_SCAN_MAX : limit;
    int64_t stop = from + window - 1 < to ? from + window - 1 : to;
    const char *why;
    if (audit_read_entries(d->store, from, stop, on_entries, job, &why) != 0) {
        free(job);
        if (why == STORE_READ_NOMEM)
            http_reply_error(call, 500, "internal", "out of memory", NULL);
        else
            v1_reply_store_unreadable(call);
    }
}

/* ---- GET /v1/audit/verify?from_seq=&to_seq= ---- */

static void on_verified(void *arg, const struct audit_verify_result *r, const char *err)
{
    struct http_call *call = arg;
    if (err) {
        v1_reply_store_unreadable(call);
        return;
    }
    json_t *out = json_pack("{s:b, s:I, s:I, s:I, s:I, s:s}", "ok", r->reason == AUDIT_OK,
                            "checked", (json_int_t)r->checked, "from_seq", (json_int_t)r->from_seq,
                            "to_seq", (json_int_t)r->to_seq, "head_seq", (json_int_t)r->head_seq,
                            "head_hash", r->head_hash);
    if (out && r->reason != AUDIT_OK) {
        json_object_set_new(out, "first_broken_seq", json_integer(r->first_broken_seq));
        json_object_set_new(out, "reason", json_string(audit_break_name(r->reason)));
        json_object_set_new(out, "detail", json_string(r->detail));
    }
    http_reply_json(call, 200, out);
}

static void handle_verify(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_begin(call, d, AUTH_READ, NULL) == NULL)
        return;
    int64_t from, to;
    if (query_seq(call, "from_seq", 1, &from) != 0 || query_seq(call, "to_seq", 0, &to) != 0)
        return;
    if (to > 0 && to < from) {
        http_reply_error(call, 400, "invalid_parameter", "to_seq must not be below from_seq",
                         "to_seq");
        return;
    }
    if (audit_log_verify(d->audit, from, to, on_verified, call) != 0)
        v1_reply_store_unreadable(call);
}

/* ---- GET /v1/audit/checkpoint, GET /v1/audit/key (docs/audit.md, "Checkpoints") ---- */

static void reply_no_key(struct http_call *call)
{
    http_reply_error(call, 503, "signing_key_not_configured",
                     "the service has no audit signing key (setting audit_signing_key)", NULL);
}

struct checkpoint_job {
    struct http_call *call;
    struct service *d;
};

/* Signs the head only once Redis was seen to hold it: the head in memory advances when an
 * entry joins a transaction, and a transaction lost with the connection never applies; a
 * signature over such a head would make every honest later chain look rewritten. The check
 * reads after every transaction already sent, so it sees them applied. */
static void on_checkpoint_verified(void *arg, const struct audit_verify_result *r, const char *err)
{
    struct checkpoint_job *job = arg;
    struct http_call *call = job->call;
    struct service *d = job->d;
    free(job);
    if (err) {
        v1_reply_store_unreadable(call);
        return;
    }
    if (r->reason != AUDIT_OK) {
        http_reply_error(call, 409, "chain_broken", r->detail, NULL);
        return;
    }
    if (d->audit_key == NULL) {
        reply_no_key(call);
        return;
    }
    struct audit_checkpoint cp;
    if (audit_checkpoint_sign(d->audit_key, r->head_seq, r->head_hash, lpg_now_ms(), &cp) != 0) {
        http_reply_error(call, 500, "internal", "could not sign the checkpoint", NULL);
        return;
    }
    http_reply_json(call, 200, audit_checkpoint_to_json(&cp));
}

static void handle_checkpoint(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_begin(call, d, AUTH_READ, NULL) == NULL)
        return;
    if (d->audit_key == NULL) {
        reply_no_key(call);
        return;
    }
    if (!audit_log_ready(d->audit)) {
        v1_reply_store_unreadable(call);
        return;
    }
    struct checkpoint_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->call = call;
    job->d = d;
    /* The last entry only (its hash is the head), and the head key and length against it. */
    int64_t head = audit_log_head_seq(d->audit);
    if (audit_log_verify(d->audit, head, 0, on_checkpoint_verified, job) != 0) {
        free(job);
        v1_reply_store_unreadable(call);
    }
}

static void handle_key(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    if (v1_begin(call, d, AUTH_READ, NULL) == NULL)
        return;
    if (d->audit_key == NULL) {
        reply_no_key(call);
        return;
    }
    char id[AUDIT_HASH_HEX_LEN + 1], raw[AUDIT_PUBLIC_B64_LEN + 1];
    char *pem = audit_key_public_pem(d->audit_key);
    if (pem == NULL || audit_key_id(d->audit_key, id) != 0 ||
        audit_key_public_b64(d->audit_key, raw) != 0) {
        free(pem);
        http_reply_error(call, 500, "internal", "could not export the public key", NULL);
        return;
    }
    http_reply_json(call, 200,
                    json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "Ed25519", "key_id", id,
                              "public_key", raw, "public_key_pem", pem));
    free(pem);
}

const struct http_route v1_audit_routes[] = {
    {"GET", "/v1/audit/entries", handle_entries, HTTP_ROUTE_READ},
    {"GET", "/v1/audit/verify", handle_verify, HTTP_ROUTE_READ},
    {"GET", "/v1/audit/checkpoint", handle_checkpoint, HTTP_ROUTE_READ},
    {"GET", "/v1/audit/key", handle_key, HTTP_ROUTE_READ},
};
const size_t v1_audit_routes_count = sizeof(v1_audit_routes) / sizeof(v1_audit_routes[0]);
