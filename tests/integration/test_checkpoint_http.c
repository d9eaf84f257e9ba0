/* test_checkpoint_http.c -- signed checkpoints against real Redis and dispatchd (issue 14
 * item 2, docs/audit.md "Checkpoints"): a key made by dispatchd --create-signing-key, refused
 * at start once group-readable; GET /v1/audit/key and /v1/audit/checkpoint (admins and
 * auditors, not dispatchers); the checkpoint verified with the openssl command line over the
 * signed line the docs define; the verifier (dispatchd --verify-checkpoint) accepting a later
 * export; then the chain's tail rewritten in Redis while dispatchd is stopped (an entry before
 * the checkpoint changed, every later entry and the head re-hashed consistently): the service's
 * own verification finds nothing after the restart, the saved checkpoint names the seq; a
 * forged signature fails; a head key edited under the running service is not signed (409);
 * without a key both routes answer 503 signing_key_not_configured. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "core/audit_chain.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENTRIES_KEY "lpg:audit:entries"
#define HEAD_KEY    "lpg:audit:head"

static struct harness_stack stack;
static char admin_tok[64], auditor_tok[64], disp_tok[64];
static char keydir[256], key_path[300], key_arg[320];

static int call(json_t **out, const char *method, const char *path, const char *token,
                const char *body)
{
    static char resp[262144];
    char headers[128] = "";
    if (token)
        snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    json_t *j = json_loads(resp, 0, NULL);
    if (out)
        *out = j;
    else
        json_decref(j);
    return status;
}

static int login(const char *user, const char *password, char tok[64])
{
    char body[160];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    json_t *j = NULL;
    if (call(&j, "POST", "/v1/sessions", NULL, body) != 201) {
        json_decref(j);
        return -1;
    }
    snprintf(tok, 64, "%s", json_string_value(json_object_get(j, "token")));
    json_decref(j);
    return 0;
}

/* A shell command's exit status, its standard output and error in *out (malloc'd). */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char cmd[2048], log[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(log, sizeof(log), "%s/run.out", keydir);
    char full[2400];
    snprintf(full, sizeof(full), "(%s) >'%s' 2>&1", cmd, log);
    int st = system(full);
    FILE *f = fopen(log, "r");
    char *text = calloc(1, 65536);
    if (f && text) {
        size_t got = fread(text, 1, 65535, f);
        text[got] = '\0';
    }
    if (f)
        fclose(f);
    if (out)
        *out = text;
    else
        free(text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Enterprise E0 with a zone, a customer, an auditor and a dispatcher (test_audit.c's set). */
static int provision(void)
{
    static const char *const steps[][3] = {
        {"POST", "/v1/zones",
         "{\"id\":\"Z1\",\"enterprise_id\":\"E0\",\"name\":\"Town\",\"shape\":{\"type\":"
         "\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
         "[119.6,49.15]]]}}"},
        {"POST", "/v1/customers",
         "{\"id\":\"C1\",\"enterprise_id\":\"E0\",\"name\":\"Household A\",\"kind\":"
         "\"household\",\"location\":{\"lon\":119.70,\"lat\":49.22},\"address\":\"1 West Rd\","
         "\"contract_no\":\"SC-1\",\"contract_from\":\"2025-01-01\",\"contract_to\":"
         "\"2030-12-31\"}"},
        {"POST", "/v1/users",
         "{\"name\":\"aud1\",\"role\":\"auditor\",\"password\":\"auditor-password-1\"}"},
        {"POST", "/v1/users",
         "{\"name\":\"disp0\",\"role\":\"dispatcher\",\"enterprise_id\":\"E0\","
         "\"password\":\"dispatcher-zero-pw\"}"},
    };
    char secret[64];
    if (harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_admin_token(&stack, admin_tok) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int st = call(NULL, steps[i][0], steps[i][1], admin_tok, steps[i][2]);
        if (st != 200 && st != 201) {
            fprintf(stderr, "provision %s %s -> %d\n", steps[i][0], steps[i][1], st);
            return -1;
        }
    }
    return login("aud1", "auditor-password-1", auditor_tok) ||
           login("disp0", "dispatcher-zero-pw", disp_tok);
}

static int setup(void **state)
{
    (void)state;
    if (harness_tmpdir(keydir, sizeof(keydir), "cpkey") != 0)
        return -1;
    snprintf(key_path, sizeof(key_path), "%s/signing.key", keydir);
    snprintf(key_arg, sizeof(key_arg), "--audit-signing-key=%s", key_path);
    char *out = NULL;
    int st = run(&out, "'%s' --create-signing-key '%s'", harness_dispatchd_path(), key_path);
    if (st != 0 || strstr(out, "key_id ") == NULL) {
        fprintf(stderr, "--create-signing-key: %d %s\n", st, out);
        free(out);
        return -1;
    }
    free(out);
    const char *const args[] = {key_arg, NULL};
    if (harness_stack_start(&stack, "checkpoint", args) != 0)
        return -1;
    return provision();
}

static int teardown(void **state)
{
    (void)state;
    int rc = harness_stack_stop(&stack);
    harness_rmdir(keydir);
    return rc == 0 ? 0 : -1;
}

static const char *string(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* n orders of C1 by the dispatcher: an order_created entry each (and any assignment). */
static void add_orders(const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s%d\",\"customer_id\":\"C1\",\"items\":[{\"spec\":\"YSP-12\","
                 "\"count\":1}]}",
                 prefix, i);
        assert_int_equal(call(NULL, "POST", "/v1/orders", disp_tok, body), 201);
    }
}

/* Saves a checkpoint as the auditor got it. */
static json_t *take_checkpoint(const char *path)
{
    json_t *cp = NULL;
    assert_int_equal(call(&cp, "GET", "/v1/audit/checkpoint", auditor_tok, NULL), 200);
    char *t = json_dumps(cp, JSON_COMPACT);
    write_file(path, t);
    free(t);
    return cp;
}

/* The whole chain as the auditor exports it: one page of GET /v1/audit/entries per line. */
static void export_chain(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int64_t from = 1;
    for (int pages = 0; pages < 100; pages++) {
        char q[96];
        snprintf(q, sizeof(q), "/v1/audit/entries?from_seq=%lld&limit=1000", (long long)from);
        json_t *page = NULL;
        assert_int_equal(call(&page, "GET", q, auditor_tok, NULL), 200);
        char *t = json_dumps(page, JSON_COMPACT);
        fprintf(f, "%s\n", t);
        free(t);
        json_t *next = json_object_get(page, "next_from_seq");
        from = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
        json_decref(page);
        if (from == 0)
            break;
    }
    fclose(f);
}

static int verify_cli(char **out, const char *cp, const char *pub, const char *entries)
{
    return run(out, "'%s' --verify-checkpoint '%s' --key '%s' --entries '%s'",
               harness_dispatchd_path(), cp, pub, entries);
}

static void save_public_key(const char *path, char key_id[65])
{
    json_t *k = NULL;
    assert_int_equal(call(&k, "GET", "/v1/audit/key", auditor_tok, NULL), 200);
    assert_string_equal(string(k, "algorithm"), "Ed25519");
    write_file(path, string(k, "public_key_pem"));
    snprintf(key_id, 65, "%s", string(k, "key_id"));
    json_decref(k);
}

static void test_who_may_read(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(call(&j, "GET", "/v1/audit/checkpoint", disp_tok, NULL), 403);
    json_decref(j);
    assert_int_equal(call(NULL, "GET", "/v1/audit/key", disp_tok, NULL), 403);
    assert_int_equal(call(NULL, "GET", "/v1/audit/checkpoint", NULL, NULL), 401);
    assert_int_equal(call(&j, "GET", "/v1/audit/checkpoint", admin_tok, NULL), 200);
    json_decref(j);
    assert_int_equal(call(NULL, "POST", "/v1/audit/checkpoint", admin_tok, "{}"), 405);
}

/* The checkpoint verifies with the public key and openssl alone, over the line of the docs. */
static void test_openssl_verifies_the_signed_line(void **state)
{
    (void)state;
    char pub[320], cpf[320], key_id[65];
    snprintf(pub, sizeof(pub), "%s/pub.pem", keydir);
    snprintf(cpf, sizeof(cpf), "%s/cp0.json", keydir);
    save_public_key(pub, key_id);
    add_orders("OS", 1);
    json_t *cp = take_checkpoint(cpf);
    assert_string_equal(string(cp, "key_id"), key_id);
    assert_true(json_integer_value(json_object_get(cp, "seq")) >= 1);
    char *out = NULL;
    int st =
        run(&out,
            "cd '%s' && printf 'lpg-dispatch-audit-checkpoint-v1 seq=%lld digest=%s "
            "time=%s key_id=%s\\n' >signed.txt && printf '%%s' '%s' | base64 -d >sig.bin && "
            "'%s' pkeyutl -verify -pubin -inkey pub.pem -rawin -in signed.txt -sigfile sig.bin",
            keydir, (long long)json_integer_value(json_object_get(cp, "seq")), string(cp, "digest"),
            string(cp, "time"), string(cp, "key_id"), string(cp, "signature"), LPG_OPENSSL_BIN);
    if (st != 0)
        fprintf(stderr, "openssl: %s\n", out);
    assert_int_equal(st, 0);
    free(out);
    json_decref(cp);
}

static void test_a_rewritten_tail_is_caught(void **state)
{
    (void)state;
    char pub[320], cpf[320], entries[320], forged[320];
    char key_id[65];
    snprintf(pub, sizeof(pub), "%s/pub.pem", keydir);
    snprintf(cpf, sizeof(cpf), "%s/cp.json", keydir);
    snprintf(entries, sizeof(entries), "%s/entries.jsonl", keydir);
    snprintf(forged, sizeof(forged), "%s/forged.json", keydir);
    save_public_key(pub, key_id);

    add_orders("OA", 3);
    json_t *cp = take_checkpoint(cpf);
    int64_t cp_seq = (int64_t)json_integer_value(json_object_get(cp, "seq"));
    assert_true(cp_seq >= 3);
    add_orders("OB", 3);

    /* A later export holds the checkpoint and extends it. */
    export_chain(entries);
    char *out = NULL;
    int st = verify_cli(&out, cpf, pub, entries);
    if (st != 0)
        fprintf(stderr, "verify: %s\n", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "OK"));
    free(out);

    /* A forged signature (one character of it changed) fails, naming the checkpoint. */
    json_t *bad = json_deep_copy(cp);
    char sig[100];
    snprintf(sig, sizeof(sig), "%s", string(cp, "signature"));
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    json_object_set_new(bad, "signature", json_string(sig));
    char *t = json_dumps(bad, JSON_COMPACT);
    write_file(forged, t);
    free(t);
    json_decref(bad);
    st = verify_cli(&out, forged, pub, entries);
    assert_int_equal(st, 1);
    char want[96];
    snprintf(want, sizeof(want), "FAILED at seq %lld: bad_signature", (long long)cp_seq);
    if (strstr(out, want) == NULL)
        fprintf(stderr, "forged: %s\n", out);
    assert_non_null(strstr(out, want));
    free(out);

    /* The attacker, with Redis access while dispatchd is stopped: changes entry cp_seq - 1
     * and re-links every later entry and the head consistently. */
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    char reply[65536], idx[24];
    const char *llen_argv[] = {"LLEN", ENTRIES_KEY};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 2, llen_argv), 0);
    int64_t n = strtoll(reply + 1, NULL, 10);
    assert_true(n > cp_seq);
    char prev[AUDIT_HASH_HEX_LEN + 1] = "";
    for (int64_t seq = cp_seq - 1; seq <= n; seq++) {
        snprintf(idx, sizeof(idx), "%lld", (long long)(seq - 1));
        const char *get[] = {"LINDEX", ENTRIES_KEY, idx};
        assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, get), 0);
        json_t *e = json_loads(reply, 0, NULL);
        assert_non_null(e);
        if (seq == cp_seq - 1)
            json_object_set_new(e, "actor", json_string("someone-else"));
        else
            json_object_set_new(e, "prev", json_string(prev));
        char *text = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(e);
        assert_int_equal(audit_chain_hash(text, strlen(text), prev), 0);
        const char *set[] = {"LSET", ENTRIES_KEY, idx, text};
        assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 4, set), 0);
        assert_string_equal(reply, "+OK");
        free(text);
    }
    char head[160];
    snprintf(head, sizeof(head), "{\"hash\":\"%s\",\"seq\":%lld}", prev, (long long)n);
    const char *set_head[] = {"SET", HEAD_KEY, head};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, set_head), 0);

    /* Restarted, the service reads the rewritten head: its own verification cannot tell. */
    const char *const args[] = {key_arg, NULL};
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, args), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 10000), 0);
    json_t *v = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(v);
        v = NULL;
        if (call(&v, "GET", "/v1/audit/verify", auditor_tok, NULL) == 200)
            break;
        harness_sleep_ms(50);
    }
    assert_non_null(v);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    /* The saved checkpoint catches it, naming its seq. */
    export_chain(entries);
    st = verify_cli(&out, cpf, pub, entries);
    snprintf(want, sizeof(want), "FAILED at seq %lld: digest_mismatch", (long long)cp_seq);
    if (strstr(out, want) == NULL)
        fprintf(stderr, "rewritten: %s\n", out);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, want));
    free(out);
    json_decref(cp);
}

static void test_key_refused_when_others_may_read_it(void **state)
{
    (void)state;
    char exposed[320];
    snprintf(exposed, sizeof(exposed), "%s/exposed.key", keydir);
    assert_int_equal(run(NULL, "'%s' --create-signing-key '%s'", harness_dispatchd_path(), exposed),
                     0);
    assert_int_equal(chmod(exposed, 0640), 0);
    char *out = NULL;
    int st = run(&out, "'%s' --http-port=%d --redis-port=%d --audit-signing-key='%s'",
                 harness_dispatchd_path(), harness_free_port(), stack.redis.port, exposed);
    if (st == 0 || strstr(out, "0600") == NULL)
        fprintf(stderr, "exposed key: %d %s\n", st, out);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "audit_signing_key"));
    assert_non_null(strstr(out, "0600"));
    free(out);
    /* An existing file is never overwritten. */
    assert_int_equal(run(&out, "'%s' --create-signing-key '%s'", harness_dispatchd_path(), exposed),
                     1);
    assert_non_null(strstr(out, "File exists"));
    free(out);
}

/* Redis edited under the running service: the head it holds is not the service's, and nothing
 * is signed. */
static void test_a_broken_head_is_not_signed(void **state)
{
    (void)state;
    char reply[256];
    const char *set_head[] = {"SET", HEAD_KEY, "{\"hash\":\"" AUDIT_ZERO_HASH "\",\"seq\":1}"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, set_head), 0);
    json_t *j = NULL;
    assert_int_equal(call(&j, "GET", "/v1/audit/checkpoint", auditor_tok, NULL), 409);
    assert_string_equal(string(json_object_get(j, "error"), "code"), "chain_broken");
    json_decref(j);
}

static void test_without_a_key_503(void **state)
{
    (void)state;
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, NULL), 0);
    assert_int_equal(harness_http_wait_status(stack.d.http_port, "/healthz", 200, 10000), 0);
    json_t *j = NULL;
    int st = 0;
    for (int i = 0; i < 200; i++) {
        json_decref(j);
        j = NULL;
        st = call(&j, "GET", "/v1/audit/checkpoint", auditor_tok, NULL);
        const char *code = string(json_object_get(j, "error"), "code");
        if (st != 503 || code == NULL || strcmp(code, "loading") != 0)
            break;
        harness_sleep_ms(50);
    }
    assert_int_equal(st, 503);
    assert_string_equal(string(json_object_get(j, "error"), "code"), "signing_key_not_configured");
    json_decref(j);
    assert_int_equal(call(&j, "GET", "/v1/audit/key", auditor_tok, NULL), 503);
    assert_string_equal(string(json_object_get(j, "error"), "code"), "signing_key_not_configured");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_who_may_read),
        cmocka_unit_test(test_openssl_verifies_the_signed_line),
        cmocka_unit_test(test_a_rewritten_tail_is_caught),
        cmocka_unit_test(test_key_refused_when_others_may_read_it),
        cmocka_unit_test(test_a_broken_head_is_not_signed),
        cmocka_unit_test(test_without_a_key_503),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
