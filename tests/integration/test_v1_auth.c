/* test_v1_auth.c -- accounts and sessions against real Redis and dispatchd: the first admin
 * from the command line, login (right and wrong), bearer tokens, roles (an auditor cannot
 * write), logout, sessions and users surviving a restart, and an expired session refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PASSWORD HARNESS_ADMIN_PASSWORD

static struct harness_stack stack; /* set up by hand: the admin must exist before dispatchd */

static int start_dispatchd(void)
{
    if (harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, NULL) != 0)
        return -1;
    return harness_http_wait_status(stack.d.http_port, "/healthz", 200, 5000);
}

static int setup(void **state)
{
    (void)state;
    memset(&stack, 0, sizeof(stack));
    if (harness_tmpdir(stack.dir, sizeof(stack.dir), "auth") != 0)
        return -1;
    if (harness_redis_start(&stack.redis, stack.dir, harness_free_port()) != 0)
        return -1;
    if (harness_create_admin(stack.redis.port, "root", ADMIN_PASSWORD) != 0)
        return -1;
    return start_dispatchd();
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* Sends a request; returns the status and the parsed JSON body (caller decrefs). */
static int request(const char *method, const char *path, const char *token, const char *body,
                   json_t **out)
{
    char headers[256] = "";
    if (token)
        snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    static char resp[65536];
    assert_int_equal(harness_http_req(stack.d.http_port, method, path, headers, body, &status,
                                      resp, sizeof(resp)),
                     0);
    if (out)
        *out = json_loads(resp, 0, NULL);
    return status;
}

static const char *error_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* Logs in and copies the token into tok. */
static void login(const char *user, const char *password, char tok[64])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    json_t *j;
    assert_int_equal(request("POST", "/v1/sessions", NULL, body, &j), 201);
    const char *t = json_string_value(json_object_get(j, "token"));
    assert_non_null(t);
    assert_int_equal(strlen(t), 43);
    snprintf(tok, 64, "%s", t);
    json_decref(j);
}

static void test_wrong_password_and_unknown_user_are_refused_alike(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(
        request("POST", "/v1/sessions", NULL, "{\"user\":\"root\",\"password\":\"nope-nope-nope\"}",
                &j),
        401);
    assert_string_equal(error_code(j), "invalid_credentials");
    json_decref(j);
    assert_int_equal(request("POST", "/v1/sessions", NULL,
                             "{\"user\":\"ghost\",\"password\":\"nope-nope-nope\"}", &j),
                     401);
    assert_string_equal(error_code(j), "invalid_credentials");
    json_decref(j);
}

static void test_unknown_fields_are_refused(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("POST", "/v1/sessions", NULL,
                             "{\"user\":\"root\",\"password\":\"" ADMIN_PASSWORD "\","
                             "\"remember\":true}",
                             &j),
                     400);
    assert_string_equal(error_code(j), "unknown_field");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "field")),
                        "remember");
    json_decref(j);
}

static void test_missing_or_bad_token_is_401(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("GET", "/v1/users", NULL, NULL, &j), 401);
    assert_string_equal(error_code(j), "unauthenticated");
    json_decref(j);
    assert_int_equal(request("GET", "/v1/users", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                             NULL, &j),
                     401);
    assert_string_equal(error_code(j), "unauthenticated");
    json_decref(j);
}

static void test_login_whoami_and_roles(void **state)
{
    (void)state;
    char admin[64], auditor[64];
    login("root", ADMIN_PASSWORD, admin);
    json_t *j;
    assert_int_equal(request("GET", "/v1/sessions/current", admin, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "user")), "root");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "admin");
    json_decref(j);

    /* The admin creates an auditor; a weak password and a duplicate are refused. */
    assert_int_equal(request("POST", "/v1/users", admin,
                             "{\"name\":\"aud1\",\"role\":\"auditor\",\"password\":\"short\"}", &j),
                     400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "field")),
                        "password");
    json_decref(j);
    assert_int_equal(
        request("POST", "/v1/users", admin,
                "{\"name\":\"aud1\",\"role\":\"auditor\",\"password\":\"auditor-password-1\"}", &j),
        201);
    assert_null(json_object_get(j, "password_hash")); /* never echoed */
    json_decref(j);
    assert_int_equal(
        request("POST", "/v1/users", admin,
                "{\"name\":\"aud1\",\"role\":\"auditor\",\"password\":\"auditor-password-1\"}", &j),
        409);
    json_decref(j);

    /* The auditor reads but cannot write. */
    login("aud1", "auditor-password-1", auditor);
    assert_int_equal(request("GET", "/v1/users", auditor, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    json_decref(j);
    assert_int_equal(
        request("POST", "/v1/users", auditor,
                "{\"name\":\"x1\",\"role\":\"auditor\",\"password\":\"auditor-password-2\"}", &j),
        403);
    assert_string_equal(error_code(j), "read_only");
    json_decref(j);
}

static void test_logout_revokes_the_token(void **state)
{
    (void)state;
    char tok[64];
    login("root", ADMIN_PASSWORD, tok);
    json_t *j;
    assert_int_equal(request("DELETE", "/v1/sessions/current", tok, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(request("GET", "/v1/sessions/current", tok, NULL, &j), 401);
    json_decref(j);
}

static void test_sessions_and_users_survive_a_restart(void **state)
{
    (void)state;
    char tok[64];
    login("aud1", "auditor-password-1", tok);
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(start_dispatchd(), 0);
    json_t *j;
    assert_int_equal(request("GET", "/v1/sessions/current", tok, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "user")), "aud1");
    json_decref(j);
}

static void test_expired_session_is_refused(void **state)
{
    (void)state;
    char tok[64];
    login("aud1", "auditor-password-1", tok);
    /* Age the stored session (as if its time had passed), then restart: it must not load. */
    char digest_cmd[512], digest[80] = "";
    snprintf(digest_cmd, sizeof(digest_cmd), "printf '%%s' '%s' | sha256sum | cut -c1-64", tok);
    FILE *f = popen(digest_cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(digest, sizeof(digest), f));
    pclose(f);
    digest[strcspn(digest, "\n")] = '\0';
    char key[160];
    snprintf(key, sizeof(key), "lpg:session:%s", digest);
    char reply[256];
    const char *set[] = {"SET", key,
                         "{\"user\":\"aud1\",\"role\":\"auditor\",\"expires_ms\":1000}"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 3, set), 0);
    assert_string_equal(reply, "+OK");
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    assert_int_equal(start_dispatchd(), 0);
    json_t *j;
    assert_int_equal(request("GET", "/v1/sessions/current", tok, NULL, &j), 401);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_password_and_unknown_user_are_refused_alike),
        cmocka_unit_test(test_missing_or_bad_token_is_401),
        cmocka_unit_test(test_unknown_fields_are_refused),
        cmocka_unit_test(test_login_whoami_and_roles),
        cmocka_unit_test(test_logout_revokes_the_token),
        cmocka_unit_test(test_sessions_and_users_survive_a_restart),
        cmocka_unit_test(test_expired_session_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
