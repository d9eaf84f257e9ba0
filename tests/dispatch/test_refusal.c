/* test_refusal.c -- the one refusal shape and its HTTP form: refuse() (app/refusal.c) fills
 * every member whatever it is given (a NULL field, texts longer than the shape); the status
 * table (http/http_refusal.c) gives every kind the status the routes have always answered;
 * the refusals made of the modules' own failures (app/refuse_from.c) keep their wire codes.
 *
 * http_reply_error and the store's error strings are stand-ins here: the test sees what
 * http_reply_refusal hands to the HTTP server, and needs no Redis.
 */
#include "app/refusal.h"
#include "app/refuse_from.h"
#include "core/auth.h"
#include "core/model_json.h"
#include "http/http_refusal.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* ---- stand-ins ---- */

static struct {
    int calls, status;
    char code[128], message[512], field[256];
    int field_null;
} sent;

void http_reply_error(struct http_call *call, int status, const char *code, const char *message,
                      const char *field);
void http_reply_error(struct http_call *call, int status, const char *code, const char *message,
                      const char *field)
{
    (void)call;
    sent.calls++;
    sent.status = status;
    snprintf(sent.code, sizeof(sent.code), "%s", code);
    snprintf(sent.message, sizeof(sent.message), "%s", message);
    sent.field_null = field == NULL;
    snprintf(sent.field, sizeof(sent.field), "%s", field ? field : "");
}

const char store_err_lost_[] = "connection to Redis lost before it answered";
const char store_err_shutdown_[] = "store shutting down";
bool store_err_outcome_unknown(const char *err)
{
    return err == STORE_ERR_LOST || err == STORE_ERR_SHUTDOWN;
}

/* ---- refuse() ---- */

static void refuse_fills_every_member_and_returns_minus_one(void **state)
{
    (void)state;
    struct refusal r;
    memset(&r, 0x55, sizeof(r)); /* whatever was there before */
    assert_int_equal(refuse(&r, REFUSAL_CONFLICT, "already_exists", "id", "a %s with id %s exists",
                            "zone", "Z1"),
                     -1);
    assert_int_equal(r.kind, REFUSAL_CONFLICT);
    assert_string_equal(r.code, "already_exists");
    assert_string_equal(r.field, "id");
    assert_string_equal(r.message, "a zone with id Z1 exists");
}

static void refuse_with_a_null_field_names_none(void **state)
{
    (void)state;
    struct refusal r;
    memset(&r, 0x55, sizeof(r));
    refuse(&r, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
    assert_string_equal(r.field, "");
}

static void refuse_cuts_what_does_not_fit(void **state)
{
    (void)state;
    char code[200], field[300], message[1000];
    memset(code, 'c', sizeof(code) - 1);
    code[sizeof(code) - 1] = '\0';
    memset(field, 'f', sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    memset(message, 'm', sizeof(message) - 1);
    message[sizeof(message) - 1] = '\0';
    struct refusal r;
    refuse(&r, REFUSAL_INVALID, code, field, "%s", message);
    /* Each member holds as much as fits, terminated. */
    assert_int_equal(strlen(r.code), REFUSAL_CODE_MAX - 1);
    assert_int_equal(strlen(r.field), REFUSAL_FIELD_MAX - 1);
    assert_int_equal(strlen(r.message), REFUSAL_MESSAGE_MAX - 1);
    assert_memory_equal(r.message, message, REFUSAL_MESSAGE_MAX - 1);
}

static void the_model_s_longest_error_passes_whole(void **state)
{
    (void)state;
    /* A validation error of the model travels in a refusal unshortened (refusal.h). */
    assert_true(REFUSAL_FIELD_MAX >= LPG_JSON_FIELD_MAX + 1);
    assert_true(REFUSAL_MESSAGE_MAX >= LPG_JSON_MESSAGE_MAX + 1);
}

static void every_kind_has_a_name(void **state)
{
    (void)state;
    assert_string_equal(refusal_kind_name(REFUSAL_CONFLICT), "conflict");
    assert_string_equal(refusal_kind_name(REFUSAL_OUTCOME_UNKNOWN), "outcome_unknown");
    for (int k = 0; k < REFUSAL_KIND_COUNT; k++)
        assert_string_not_equal(refusal_kind_name((enum refusal_kind)k), "?");
    assert_string_equal(refusal_kind_name(REFUSAL_KIND_COUNT), "?");
}

/* ---- the status table ---- */

static void every_kind_has_the_status_the_routes_answer(void **state)
{
    (void)state;
    static const int want[REFUSAL_KIND_COUNT] = {
        [REFUSAL_NONE] = 200,
        [REFUSAL_INVALID] = 400,
        [REFUSAL_UNAUTHENTICATED] = 401,
        [REFUSAL_FORBIDDEN] = 403,
        [REFUSAL_NOT_FOUND] = 404,
        [REFUSAL_CONFLICT] = 409,
        [REFUSAL_RULE] = 422,
        [REFUSAL_TOO_LARGE] = 413,
        [REFUSAL_RATE_LIMITED] = 429,
        [REFUSAL_UNAVAILABLE] = 503,
        [REFUSAL_OUTCOME_UNKNOWN] = 503,
        [REFUSAL_INTERNAL] = 500,
    };
    for (int k = 0; k < REFUSAL_KIND_COUNT; k++) {
        assert_int_not_equal(want[k], 0); /* a kind added without a status here */
        assert_int_equal(http_status_of((enum refusal_kind)k), want[k]);
    }
    /* Out of range: a fault of ours. */
    assert_int_equal(http_status_of(REFUSAL_KIND_COUNT), 500);
    assert_int_equal(http_status_of((enum refusal_kind) - 1), 500);
}

static void a_refusal_is_replied_with_its_status_code_message_and_field(void **state)
{
    (void)state;
    struct refusal r;
    memset(&sent, 0, sizeof(sent));
    refuse(&r, REFUSAL_RULE, "unknown_reference", "zone_id", "no zone %s", "Z9");
    http_reply_refusal(NULL, &r);
    assert_int_equal(sent.calls, 1);
    assert_int_equal(sent.status, 422);
    assert_string_equal(sent.code, "unknown_reference");
    assert_string_equal(sent.message, "no zone Z9");
    assert_false(sent.field_null);
    assert_string_equal(sent.field, "zone_id");
    /* No field: the error body has none (not an empty one). */
    refuse(&r, REFUSAL_UNAVAILABLE, "loading", NULL, "retry shortly");
    http_reply_refusal(NULL, &r);
    assert_int_equal(sent.status, 503);
    assert_true(sent.field_null);
    /* http_refuse: the same in one call. */
    http_refuse(NULL, REFUSAL_INVALID, "invalid_parameter", "limit", "limit must be in 1..%d",
                1000);
    assert_int_equal(sent.calls, 3);
    assert_int_equal(sent.status, 400);
    assert_string_equal(sent.message, "limit must be in 1..1000");
    assert_string_equal(sent.field, "limit");
}

/* ---- the refusals made of the modules' failures ---- */

static void a_store_failure_says_whether_anything_may_have_been_written(void **state)
{
    (void)state;
    struct refusal r;
    assert_int_equal(refuse_store(&r, STORE_ERR_LOST), -1);
    assert_int_equal(r.kind, REFUSAL_OUTCOME_UNKNOWN);
    assert_string_equal(r.code, "store_outcome_unknown");
    assert_string_equal(r.message,
                        "connection to Redis lost before it answered: the change may or may not "
                        "have been saved; read the resource again before retrying");
    refuse_store(&r, "Redis is down");
    assert_int_equal(r.kind, REFUSAL_UNAVAILABLE);
    assert_string_equal(r.code, "store_unavailable");
    assert_string_equal(r.message, "Redis is down; nothing was written, retry later");
    assert_int_equal(http_status_of(r.kind), 503);
}

static void a_model_error_is_invalid_input_unless_internal(void **state)
{
    (void)state;
    struct lpg_json_error err = {
        .code = "invalid_field", .field = "capacity", .message = "capacity must be an integer"};
    struct refusal r;
    assert_int_equal(refuse_json(&r, &err), -1);
    assert_int_equal(r.kind, REFUSAL_INVALID);
    assert_string_equal(r.code, "invalid_field");
    assert_string_equal(r.field, "capacity");
    err.code = "internal";
    refuse_json(&r, &err);
    assert_int_equal(r.kind, REFUSAL_INTERNAL);
    err.code = NULL; /* no code: a field is at fault */
    refuse_json(&r, &err);
    assert_int_equal(r.kind, REFUSAL_INVALID);
    assert_string_equal(r.code, "invalid_field");
}

static void a_denial_keeps_its_code_and_status(void **state)
{
    (void)state;
    struct auth_denial why = {.http_status = 401, .code = "token_expired"};
    snprintf(why.message, sizeof(why.message), "session expired; log in again");
    struct refusal r;
    assert_int_equal(refuse_denied(&r, &why), -1);
    assert_int_equal(r.kind, REFUSAL_UNAUTHENTICATED);
    assert_string_equal(r.code, "token_expired");
    assert_string_equal(r.message, "session expired; log in again");
    assert_string_equal(r.field, "");
    why.http_status = 403;
    why.code = "wrong_enterprise";
    refuse_denied(&r, &why);
    assert_int_equal(r.kind, REFUSAL_FORBIDDEN);
    assert_int_equal(http_status_of(r.kind), 403);
}

static void an_auditor_may_not_write_and_a_dispatcher_sees_only_its_enterprise(void **state)
{
    (void)state;
    struct auth_principal p = {.user = "aud", .role = AUTH_ROLE_AUDITOR, .expires_ms = INT64_MAX};
    struct refusal r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(refuse_unless_allowed(&r, &p, AUTH_WRITE, "E1"), -1);
    assert_int_equal(r.kind, REFUSAL_FORBIDDEN);
    assert_string_equal(r.code, "read_only");
    struct auth_principal d = {.user = "dis",
                               .role = AUTH_ROLE_DISPATCHER,
                               .enterprise_id = "E1",
                               .expires_ms = INT64_MAX};
    assert_int_equal(refuse_unless_allowed(&r, &d, AUTH_WRITE, "E1"), 0);
    assert_false(hidden_from(&d, "E1"));
    assert_true(hidden_from(&d, "E2"));
    assert_false(hidden_from(&p, "E2")); /* an auditor sees every enterprise */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuse_fills_every_member_and_returns_minus_one),
        cmocka_unit_test(refuse_with_a_null_field_names_none),
        cmocka_unit_test(refuse_cuts_what_does_not_fit),
        cmocka_unit_test(the_model_s_longest_error_passes_whole),
        cmocka_unit_test(every_kind_has_a_name),
        cmocka_unit_test(every_kind_has_the_status_the_routes_answer),
        cmocka_unit_test(a_refusal_is_replied_with_its_status_code_message_and_field),
        cmocka_unit_test(a_store_failure_says_whether_anything_may_have_been_written),
        cmocka_unit_test(a_model_error_is_invalid_input_unless_internal),
        cmocka_unit_test(a_denial_keeps_its_code_and_status),
        cmocka_unit_test(an_auditor_may_not_write_and_a_dispatcher_sees_only_its_enterprise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
