/* test_throttle.c - dispatch/common/throttle.[ch] and login_guard.[ch]: free failures, then delays
 * that double up to the lock, refusals that do not count, a success that resets, failures
 * forgotten after a quiet lock period, a table that never grows past its cap (least recently
 * touched evicted), and the rate limit of failure log lines. Time is passed in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/login_guard.h"
#include "common/throttle.h"

#include <stdio.h>
#include <string.h>

static const struct throttle_policy policy = {.max_failures = 3, .delay_ms = 1000, .lock_ms = 8000};

static void test_delays_double_up_to_the_lock(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(100, &policy, 42);
    assert_non_null(t);
    int64_t now = 1000000, retry = 0;
    /* Failures 1 and 2 cost nothing. */
    assert_int_equal(throttle_fail(t, "root", now), THROTTLE_ALLOW);
    assert_int_equal(throttle_fail(t, "root", now), THROTTLE_ALLOW);
    assert_int_equal(throttle_check(t, "root", now, &retry), THROTTLE_ALLOW);
    /* The 3rd blocks for 1 s, then 2 s, 4 s, then 8 s = the lock, and no longer. */
    const int64_t want[] = {1000, 2000, 4000, 8000, 8000, 8000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        enum throttle_verdict v = throttle_fail(t, "root", now);
        assert_int_equal(v, want[i] >= 8000 ? THROTTLE_LOCKED : THROTTLE_DELAYED);
        retry = 0;
        assert_int_equal(throttle_check(t, "root", now, &retry), v);
        assert_int_equal(retry, want[i]);
        /* Refused attempts while blocked are not failures: checking again changes nothing. */
        assert_int_equal(throttle_check(t, "root", now + want[i] - 1, &retry), v);
        assert_int_equal(retry, 1);
        now += want[i];
        assert_int_equal(throttle_check(t, "root", now, &retry), THROTTLE_ALLOW);
    }
    /* Other keys are not affected. */
    assert_int_equal(throttle_check(t, "alice", now - 1, &retry), THROTTLE_ALLOW);
    throttle_free(t);
}

static void test_success_resets_and_quiet_forgets(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(100, &policy, 1);
    int64_t now = 5000, retry = 0;
    for (int i = 0; i < 3; i++)
        throttle_fail(t, "u", now);
    assert_int_equal(throttle_check(t, "u", now, &retry), THROTTLE_DELAYED);
    throttle_forget(t, "u");
    assert_int_equal(throttle_check(t, "u", now, &retry), THROTTLE_ALLOW);
    assert_int_equal(throttle_count(t), 0);
    /* Two failures, then a whole lock period of quiet: the count starts afresh, so two more
     * failures still cost nothing. */
    throttle_fail(t, "u", now);
    throttle_fail(t, "u", now);
    now += policy.lock_ms;
    assert_int_equal(throttle_fail(t, "u", now), THROTTLE_ALLOW);
    assert_int_equal(throttle_fail(t, "u", now), THROTTLE_ALLOW);
    assert_int_equal(throttle_fail(t, "u", now), THROTTLE_DELAYED);
    /* Not forgotten within the period. */
    now += policy.lock_ms - 1;
    assert_int_equal(throttle_fail(t, "u", now), THROTTLE_DELAYED);
    throttle_free(t);
}

static void test_attempts_in_flight_count_as_failures_to_come(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(100, &policy, 3); /* 3 failures */
    int64_t now = 0, retry = 0;
    /* Three concurrent attempts may go; a fourth waits for their outcome. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(throttle_check(t, "root", now, &retry), THROTTLE_ALLOW);
        throttle_begin(t, "root", now);
    }
    assert_int_equal(throttle_check(t, "root", now, &retry), THROTTLE_DELAYED);
    assert_int_equal(retry, policy.delay_ms);
    /* One succeeds (forgets the failures; the other two are still in flight). */
    throttle_end(t, "root");
    throttle_forget(t, "root");
    assert_int_equal(throttle_check(t, "root", now, &retry), THROTTLE_ALLOW);
    /* Abandoned attempts leave nothing behind. */
    throttle_begin(t, "alice", now);
    throttle_end(t, "alice");
    assert_int_equal(throttle_count(t), 0);
    /* Two failures, then one in flight: the third could be the lock, so a fourth waits. */
    throttle_fail(t, "bob", now);
    throttle_fail(t, "bob", now);
    throttle_begin(t, "bob", now);
    assert_int_equal(throttle_check(t, "bob", now, &retry), THROTTLE_DELAYED);
    throttle_end(t, "bob");
    assert_int_equal(throttle_fail(t, "bob", now), THROTTLE_DELAYED);
    /* Ending an attempt that never began is harmless. */
    throttle_end(t, "bob");
    throttle_end(t, "nobody");
    assert_int_equal(throttle_check(t, "bob", now, &retry), THROTTLE_DELAYED);
    throttle_free(t);
}

static void test_table_is_bounded_and_evicts_the_least_recent(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(16, &policy, 7);
    int64_t now = 0, retry = 0;
    for (int i = 0; i < 3; i++)
        throttle_fail(t, "victim", now);
    char key[32];
    for (int i = 0; i < 15; i++) {
        snprintf(key, sizeof(key), "name-%d", i);
        throttle_fail(t, key, now);
    }
    assert_int_equal(throttle_count(t), 16);
    assert_int_equal(throttle_evictions(t), 0);
    /* Touching victim makes name-0 the least recent: the next new key evicts it. */
    assert_int_equal(throttle_check(t, "victim", now, &retry), THROTTLE_DELAYED);
    throttle_fail(t, "newcomer", now);
    assert_int_equal(throttle_count(t), 16);
    assert_int_equal(throttle_evictions(t), 1);
    assert_int_equal(throttle_check(t, "victim", now, &retry), THROTTLE_DELAYED);
    /* A flood of 100,000 names never grows the table. */
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "flood-%d", i);
        throttle_fail(t, key, now);
        assert_true(throttle_count(t) <= 16);
    }
    assert_int_equal(throttle_count(t), 16);
    /* Forgotten keys and their slots are reused cleanly. */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "flood-%d", 99999 - (i % 16));
        throttle_forget(t, key);
    }
    assert_int_equal(throttle_count(t), 0);
    assert_int_equal(throttle_check(t, "flood-99999", now, &retry), THROTTLE_ALLOW);
    throttle_free(t);
}

static void test_long_keys_are_cut_and_bad_policies_refused(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(4, &policy, 0);
    char a[200], b[200];
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[150] = 'y'; /* differs past THROTTLE_KEY_MAX: the same key */
    int64_t retry;
    for (int i = 0; i < 3; i++)
        throttle_fail(t, a, 0);
    assert_int_equal(throttle_check(t, b, 0, &retry), THROTTLE_DELAYED);
    throttle_free(t);
    struct throttle_policy bad = {0, 1000, 8000};
    assert_null(throttle_new(4, &bad, 0));
    bad = (struct throttle_policy){3, 1000, 999};
    assert_null(throttle_new(4, &bad, 0));
    assert_null(throttle_new(0, &policy, 0));
}

static void test_guard_checks_both_keys_and_success_keeps_the_address(void **state)
{
    (void)state;
    struct login_guard_options opt = {.max_failures = 3,
                                      .max_failures_address = 5,
                                      .delay_ms = 1000,
                                      .lock_ms = 4000,
                                      .track_max = 64};
    struct login_guard *g = login_guard_new(&opt, 99);
    assert_non_null(g);
    int64_t now = 0, retry = 0;
    /* 4 accounts from one address: the 5th failure blocks the address for all. */
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(login_guard_check(g, LOGIN_HTTP, names[i], "10.0.0.1", now, &retry),
                         THROTTLE_ALLOW);
        login_guard_failed(g, LOGIN_HTTP, names[i], "10.0.0.1", now);
    }
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "f", "10.0.0.1", now, &retry),
                     THROTTLE_DELAYED);
    assert_int_equal(retry, 1000);
    assert_int_equal(login_guard_retry_s(retry), 1);
    assert_int_equal(login_guard_retry_s(1001), 2);
    /* From elsewhere "f" is fine; Hellos have their own tables. */
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "f", "10.0.0.2", now, &retry),
                     THROTTLE_ALLOW);
    assert_int_equal(login_guard_check(g, LOGIN_HELLO, "f", "10.0.0.1", now, &retry),
                     THROTTLE_ALLOW);
    /* A success clears the account, not the address. */
    for (int i = 0; i < 3; i++)
        login_guard_failed(g, LOGIN_HTTP, "g", "10.0.0.3", now);
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "g", "10.0.0.4", now, &retry),
                     THROTTLE_DELAYED);
    login_guard_succeeded(g, LOGIN_HTTP, "g", "10.0.0.4");
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "g", "10.0.0.4", now, &retry),
                     THROTTLE_ALLOW);
    login_guard_succeeded(g, LOGIN_HTTP, "a", "10.0.0.1");
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "a", "10.0.0.1", now, &retry),
                     THROTTLE_DELAYED);
    assert_true(login_guard_tracked(g) > 0);
    /* IPv6 counts by /64: other addresses of the same /64 share the block; IPv4-mapped is IPv4. */
    for (int i = 0; i < 5; i++) {
        char a6[64];
        snprintf(a6, sizeof(a6), "2001:db8:1:2::%x", i + 1);
        login_guard_failed(g, LOGIN_HTTP, names[i], a6, now);
    }
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "z", "2001:db8:1:2:ffff::9", now, &retry),
                     THROTTLE_DELAYED);
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "z", "2001:db8:1:3::1", now, &retry),
                     THROTTLE_ALLOW);
    assert_int_equal(login_guard_check(g, LOGIN_HTTP, "z", "::ffff:10.0.0.1", now, &retry),
                     THROTTLE_DELAYED);
    login_guard_free(g);
}

static void test_failure_logs_are_rate_limited(void **state)
{
    (void)state;
    struct login_guard_options opt = {3, 5, 1000, 4000, 64};
    struct login_guard *g = login_guard_new(&opt, 1);
    int64_t now = 1000;
    uint64_t left_out = 99;
    int written = 0;
    for (int i = 0; i < 1000; i++)
        written += login_guard_should_log(g, LOGIN_HELLO, now, &left_out);
    assert_int_equal(written, LOGIN_GUARD_LOG_BURST);
    assert_int_equal(left_out, 0);
    assert_int_equal(login_guard_stats(g)->log_suppressed, 1000 - LOGIN_GUARD_LOG_BURST);
    /* The other kind has its own budget. */
    assert_int_equal(login_guard_should_log(g, LOGIN_HTTP, now, &left_out), 1);
    /* The next window's first line says how many were left out. */
    now += LOGIN_GUARD_LOG_WINDOW_MS;
    assert_int_equal(login_guard_should_log(g, LOGIN_HELLO, now, &left_out), 1);
    assert_int_equal(left_out, 1000 - LOGIN_GUARD_LOG_BURST);
    assert_string_equal(login_outcome_name(LOGIN_BUSY), "busy");
    login_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_up_to_the_lock),
        cmocka_unit_test(test_success_resets_and_quiet_forgets),
        cmocka_unit_test(test_attempts_in_flight_count_as_failures_to_come),
        cmocka_unit_test(test_table_is_bounded_and_evicts_the_least_recent),
        cmocka_unit_test(test_long_keys_are_cut_and_bad_policies_refused),
        cmocka_unit_test(test_guard_checks_both_keys_and_success_keeps_the_address),
        cmocka_unit_test(test_failure_logs_are_rate_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
