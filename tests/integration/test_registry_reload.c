/* test_registry_reload.c -- a change Redis committed that cannot be applied to the registry
 * (issue 11): dispatchd reloads the registry from Redis instead of serving without the change
 * until the next restart. The failure is injected with the Debug-only hook LPG_TEST_FAIL_PUT
 * (core/registry.c): the first put of the named entity fails as out of memory would. Without
 * the reload, the enterprise created below stays 404 although Redis holds it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREA                                                                                       \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"            \
    "[119.6,49.3],[119.6,49.15]]]}"

static struct harness_stack stack;
static char admin[64];

static int req(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    char headers[160];
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", admin);
    int status = -1;
    if (harness_http_req(stack.d.http_port, method, path, headers, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

static int setup(void **state)
{
    (void)state;
    setenv("LPG_TEST_FAIL_PUT", "E-RELOAD", 1); /* dispatchd inherits it */
    int rc = harness_stack_start(&stack, "reload", NULL);
    unsetenv("LPG_TEST_FAIL_PUT");
    if (rc != 0 || harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static void test_failed_apply_reloads(void **state)
{
    (void)state;
#ifdef NDEBUG
    skip(); /* the hook exists in Debug builds only */
#endif
    char resp[4096];
    /* Redis commits it; putting it into the registry fails (the hook). */
    assert_int_equal(req("POST", "/v1/enterprises",
                         "{\"id\":\"E-RELOAD\",\"name\":\"Reload Gas\",\"area\":" AREA "}", resp,
                         sizeof(resp)),
                     201);
    /* The reload brings it in from Redis: wait for it (bounded; a failure ends the wait). */
    int status = -1;
    for (int waited = 0; waited < HARNESS_REPLY_TIMEOUT_MS; waited += 50) {
        status = req("GET", "/v1/enterprises/E-RELOAD", NULL, resp, sizeof(resp));
        if (status == 200)
            break;
        harness_sleep_ms(50);
    }
    assert_int_equal(status, 200);
    assert_non_null(strstr(resp, "Reload Gas"));
    /* And the service goes on writing after the reload. */
    assert_int_equal(req("POST", "/v1/enterprises",
                         "{\"id\":\"E-AFTER\",\"name\":\"After Gas\",\"area\":" AREA "}", resp,
                         sizeof(resp)),
                     201);
    assert_int_equal(req("GET", "/v1/enterprises/E-AFTER", NULL, resp, sizeof(resp)), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_apply_reloads, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    harness_cleanup_all();
    return rc;
}
