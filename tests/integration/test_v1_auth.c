/* test_v1_auth.c -- accounts and sessions against real Redis and dispatchd: the first admin
 * from the command line, login (right and wrong), bearer tokens, roles (an auditor cannot
 * write), logout, sessions and users surviving a restart, and an expired session refused. */
#define _GNU_SOURCE /* posix_openpt, ptsname_r */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    assert_int_equal(harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp,
                                      sizeof(resp)),
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
    assert_int_equal(request("POST", "/v1/sessions", NULL,
                             "{\"user\":\"root\",\"password\":\"nope-nope-nope\"}", &j),
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
    assert_int_equal(
        request("GET", "/v1/users", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &j), 401);
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

/* The status of a login attempt (the token is dropped). */
static int try_login(const char *user, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    return request("POST", "/v1/sessions", NULL, body, NULL);
}

/* An admin created, then reset, by `dispatchd --create-admin` while dispatchd runs logs in at
 * once, without a restart (it was 401 until the next start). */
static void test_create_admin_is_usable_at_once(void **state)
{
    (void)state;
    assert_int_equal(try_login("ops", "ops-password-one"), 401);
    assert_int_equal(harness_create_admin(stack.redis.port, "ops", "ops-password-one"), 0);
    assert_int_equal(try_login("ops", "ops-password-one"), 201);
    /* A reset: the new password works at once, the old one no longer. */
    assert_int_equal(harness_create_admin(stack.redis.port, "ops", "ops-password-two"), 0);
    assert_int_equal(try_login("ops", "ops-password-two"), 201);
    assert_int_equal(try_login("ops", "ops-password-one"), 401);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the pty master into out (appending, NUL-terminated) until `want` shows (want NULL:
 * until the other side closes) or the deadline passes. 1 when it did. */
static int pty_read_until(int fd, char *out, size_t cap, const char *want, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    size_t used = strlen(out);
    while (mono_ms() < deadline && used + 1 < cap) {
        if (want && strstr(out, want))
            return 1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, 200);
        if (rc < 0 && errno != EINTR)
            return 0;
        if (rc <= 0)
            continue;
        ssize_t n = read(fd, out + used, cap - used - 1);
        if (n <= 0) /* EIO once the child closed the terminal */
            return want == NULL;
        used += (size_t)n;
        out[used] = '\0';
    }
    return want ? strstr(out, want) != NULL : 0;
}

/* Typed on a terminal, the password is not echoed; a pipe (harness_create_admin) still works
 * (the test above). The admin typed here logs in at once too. */
static void test_create_admin_does_not_echo_the_password(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char slave_name[128];
    assert_int_equal(ptsname_r(master, slave_name, sizeof(slave_name)), 0);
    char port[32];
    snprintf(port, sizeof(port), "--redis-port=%d", stack.redis.port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        int slave = open(slave_name, O_RDWR); /* becomes the controlling terminal */
        if (slave < 0)
            _exit(126);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        close(master);
        execl(harness_dispatchd_path(), harness_dispatchd_path(), port, "--create-admin", "typist",
              (char *)NULL);
        _exit(127);
    }
    static char out[65536];
    out[0] = '\0';
    int prompted = pty_read_until(master, out, sizeof(out), "password for typist", 30000);
    if (!prompted) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(master);
        fail_msg("no prompt on the terminal; got: %s", out);
    }
    const char typed[] = "typed-on-a-terminal-7\n";
    assert_int_equal(write(master, typed, sizeof(typed) - 1), (ssize_t)(sizeof(typed) - 1));
    pty_read_until(master, out, sizeof(out), NULL, 60000);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(master);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("--create-admin on a terminal failed (status %d): %s", status, out);
    if (strstr(out, "typed-on-a-terminal-7") != NULL)
        fail_msg("the password was echoed: %s", out);
    assert_non_null(strstr(out, "saved in Redis"));
    assert_int_equal(try_login("typist", "typed-on-a-terminal-7"), 201);
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
        cmocka_unit_test(test_create_admin_is_usable_at_once),
        cmocka_unit_test(test_create_admin_does_not_echo_the_password),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
