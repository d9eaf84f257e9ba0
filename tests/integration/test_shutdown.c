/* test_shutdown.c -- graceful shutdown: SIGTERM and SIGINT stop dispatchd with exit 0, open
 * handset connections are told SHUTTING_DOWN, and the listeners stop accepting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void shutdown_with(int sig)
{
    struct harness_stack s;
    assert_int_equal(harness_stack_start(&s, "shutdown", NULL), 0);

    char secret[64];
    assert_int_equal(harness_stack_device(&s, "veh-shutdown", secret), 0);
    int fd = harness_tcp_connect(s.d.handset_port);
    assert_true(fd >= 0);
    assert_int_equal(wire_send_hello(fd, 1, 1, "veh-shutdown", secret), 0);
    Lpg__V1__Envelope *env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(env, NULL);

    int status = harness_proc_stop(&s.d.proc, sig, 10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The device was told why its connection ends. */
    env = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, LPG__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(env->error->code, LPG__V1__ERROR__CODE__SHUTTING_DOWN);
    lpg__v1__envelope__free_unpacked(env, NULL);
    assert_true(harness_wait_closed(fd, HARNESS_REPLY_TIMEOUT_MS));
    close(fd);

    /* Nothing listens any more. */
    assert_true(harness_tcp_connect(s.d.http_port) < 0);
    assert_true(harness_tcp_connect(s.d.handset_port) < 0);
    assert_int_equal(harness_redis_stop(&s.redis), 0);
    harness_rmdir(s.dir);
}

static void test_sigterm_is_graceful(void **state)
{
    (void)state;
    shutdown_with(SIGTERM);
}

static void test_sigint_is_graceful(void **state)
{
    (void)state;
    shutdown_with(SIGINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_is_graceful),
        cmocka_unit_test(test_sigint_is_graceful),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
