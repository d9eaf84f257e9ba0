/* test_audit_log.c -- dispatch/store/audit_log.c in-process, on the real store module and a private
 * redis-server: the head read at start, appends applied with their transaction, numbers given
 * back when a transaction is never sent (freed, or refused while Redis is down), and the head
 * re-read from Redis after a transaction Redis discarded, one in which a command failed, and
 * one lost with the connection -- so the
 * chain never has a gap or a fork, which verification confirms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/audit_chain.h"
#include "store/audit_log.h"
#include "harness.h"
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_redis redis;
static char dir[256];
static int port;
static struct event_base *base;
static struct store *st;
static struct audit_log *a;

/* Runs the loop until *flag is set or timeout_ms passes; returns *flag. */
static int run_until(const int *flag, int timeout_ms)
{
    for (int waited = 0; !*flag && waited < timeout_ms; waited += 10) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return *flag;
}

static int state_up, state_down;

static void on_state(void *arg, enum store_state s, const char *detail)
{
    (void)arg;
    (void)detail;
    state_up = s == STORE_UP;
    state_down = s == STORE_DOWN;
}

static int reloaded;
static void on_reloaded(void *arg, const char *err)
{
    (void)arg;
    assert_null(err);
    reloaded = 1;
}

static int setup(void **state)
{
    (void)state;
    port = harness_free_port();
    if (harness_tmpdir(dir, sizeof(dir), "auditlog") != 0 ||
        harness_redis_start(&redis, dir, port) != 0)
        return -1;
    base = event_base_new();
    struct store_options so = {.host = "127.0.0.1",
                               .port = port,
                               .connect_timeout_ms = 300,
                               .ping_interval_ms = 100,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 200,
                               .key_prefix = "t:"};
    st = store_new(base, &so);
    a = audit_log_new(st);
    store_set_state_callback(st, on_state, NULL);
    return base && st && a && run_until(&state_up, 5000) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_free(st);
    audit_log_free(a);
    event_base_free(base);
    int rc = harness_redis_stop(&redis);
    harness_rmdir(dir);
    return rc;
}

static int committed;
static void on_exec(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    (void)err;
    committed = 1;
}

static int append(struct store_txn *txn, const char *subject)
{
    json_t *data = json_pack("{s:i}", "n", 1);
    struct audit_entry e = {1764000000000, "test_event", "tester", subject, "E1", data};
    int rc = audit_log_append(a, txn, &e);
    json_decref(data);
    return rc;
}

/* One transaction with entries for each subject, sent and answered. */
static void commit(const char *const *subjects, size_t n, const char *extra_cmd)
{
    struct store_txn *txn = store_txn_new();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(append(txn, subjects[i]), 0);
    if (extra_cmd)
        assert_int_equal(store_txn_addv(txn, extra_cmd, "t:counter", NULL), 0);
    committed = 0;
    const char *why;
    assert_int_equal(store_txn_exec(st, txn, on_exec, NULL, &why), 0);
    assert_true(run_until(&committed, 3000));
}

static int64_t stored_len(void)
{
    char r[64];
    const char *argv[] = {"LLEN", "t:audit:entries"};
    assert_int_equal(harness_redis_cmd(port, r, sizeof(r), 2, argv), 0);
    return atoll(r + 1);
}

static int verified;
static struct audit_verify_result last;
static void on_verified(void *arg, const struct audit_verify_result *r, const char *err)
{
    (void)arg;
    assert_null(err);
    last = *r;
    verified = 1;
}

static void expect_chain_intact(int64_t n)
{
    verified = 0;
    assert_int_equal(audit_log_verify(a, 1, 0, on_verified, NULL), 0);
    assert_true(run_until(&verified, 3000));
    if (last.reason != AUDIT_OK)
        fprintf(stderr, "verify: %s at %lld: %s\n", audit_break_name(last.reason),
                (long long)last.first_broken_seq, last.detail);
    assert_int_equal(last.reason, AUDIT_OK);
    assert_int_equal(last.checked, n);
    assert_int_equal(last.head_seq, n);
}

static void test_head_read_then_appends_applied(void **state)
{
    (void)state;
    struct store_txn *txn = store_txn_new();
    assert_int_equal(append(txn, "O0"), -1); /* head not known yet: refused */
    store_txn_free(txn);
    assert_int_equal(audit_log_reload(a, on_reloaded, NULL), 0);
    assert_true(run_until(&reloaded, 3000));
    assert_true(audit_log_ready(a));
    assert_int_equal(audit_log_head_seq(a), 0);
    assert_string_equal(audit_log_head_hash(a), AUDIT_ZERO_HASH);
    static const char *const two[] = {"O1", "O2"};
    commit(two, 2, NULL);
    assert_int_equal(audit_log_head_seq(a), 2);
    assert_int_equal(stored_len(), 2);
    expect_chain_intact(2);
}

static void test_numbers_of_unsent_transactions_are_given_back(void **state)
{
    (void)state;
    char before[AUDIT_HASH_HEX_LEN + 1];
    snprintf(before, sizeof(before), "%s", audit_log_head_hash(a));
    struct store_txn *txn = store_txn_new();
    assert_int_equal(append(txn, "O3"), 0);
    assert_int_equal(append(txn, "O4"), 0);
    assert_int_equal(audit_log_head_seq(a), 4);
    store_txn_free(txn); /* the caller's change was refused after all */
    assert_int_equal(audit_log_head_seq(a), 2);
    assert_string_equal(audit_log_head_hash(a), before);
    assert_int_equal(audit_log_stats(a)->given_back, 2);

    /* Redis down: the transaction is refused, the numbers come back. */
    assert_int_equal(harness_redis_stop(&redis), 0);
    assert_true(run_until(&state_down, 5000));
    txn = store_txn_new();
    assert_int_equal(append(txn, "O5"), 0);
    const char *why;
    assert_int_equal(store_txn_exec(st, txn, on_exec, NULL, &why), -1);
    assert_int_equal(audit_log_head_seq(a), 2);
    assert_true(audit_log_ready(a));
    state_up = 0;
    assert_int_equal(harness_redis_start(&redis, dir, port), 0);
    assert_true(run_until(&state_up, 5000));
    static const char *const one[] = {"O6"};
    commit(one, 1, NULL);
    assert_int_equal(audit_log_head_seq(a), 3);
    expect_chain_intact(3);
}

static void test_failed_transactions_make_the_head_reread(void **state)
{
    (void)state;
    uint64_t reloads = audit_log_stats(a)->reloads;
    /* A command that fails inside EXEC (INCR of a non-integer): the rest applies, and the
     * head is re-read from Redis. */
    char r[64];
    const char *set[] = {"SET", "t:counter", "not a number"};
    assert_int_equal(harness_redis_cmd(port, r, sizeof(r), 3, set), 0);
    static const char *const one[] = {"O7"};
    commit(one, 1, "INCR");
    int ready = 0;
    for (int i = 0; i < 100 && !(ready = audit_log_ready(a)); i++)
        run_until(&ready, 10);
    assert_true(audit_log_ready(a));
    assert_int_equal(audit_log_stats(a)->reloads, reloads + 1);
    assert_int_equal(audit_log_head_seq(a), 4); /* the entry was applied */
    /* A transaction Redis discards (a command it refuses to queue: wrong arity): nothing
     * applied, the head re-read at the old place. */
    struct store_txn *txn = store_txn_new();
    assert_int_equal(append(txn, "O8"), 0);
    assert_int_equal(store_txn_addv(txn, "GET", NULL), 0);
    committed = 0;
    const char *why;
    assert_int_equal(store_txn_exec(st, txn, on_exec, NULL, &why), 0);
    assert_true(run_until(&committed, 3000));
    ready = 0;
    for (int i = 0; i < 100 && !(ready = audit_log_ready(a)); i++)
        run_until(&ready, 10);
    assert_true(audit_log_ready(a));
    assert_int_equal(audit_log_head_seq(a), 4);
    assert_int_equal(stored_len(), 4);
    static const char *const next[] = {"O9"};
    commit(next, 1, NULL);
    expect_chain_intact(5);
}

/* Redis goes away with a transaction on the wire: its outcome is unknown, so the head is
 * forgotten, and read again once Redis is back (dispatchd does this on the store's "up"). */
static void test_a_lost_transaction_makes_the_head_reread(void **state)
{
    (void)state;
    struct store_txn *txn = store_txn_new();
    assert_int_equal(append(txn, "O10"), 0);
    committed = 0;
    const char *why;
    assert_int_equal(store_txn_exec(st, txn, on_exec, NULL, &why), 0);
    state_down = 0;
    assert_int_equal(harness_redis_stop(&redis), 0); /* before the loop sends it */
    assert_true(run_until(&committed, 5000));
    assert_false(audit_log_ready(a));
    txn = store_txn_new();
    assert_int_equal(append(txn, "O11"), -1); /* refused: the change must be refused too */
    store_txn_free(txn);
    state_up = 0;
    assert_int_equal(harness_redis_start(&redis, dir, port), 0);
    assert_true(run_until(&state_up, 5000));
    reloaded = 0;
    assert_int_equal(audit_log_reload(a, on_reloaded, NULL), 0);
    assert_true(run_until(&reloaded, 3000));
    assert_int_equal(audit_log_head_seq(a), stored_len());
    static const char *const next[] = {"O12"};
    commit(next, 1, NULL);
    expect_chain_intact(stored_len());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_read_then_appends_applied),
        cmocka_unit_test(test_numbers_of_unsent_transactions_are_given_back),
        cmocka_unit_test(test_failed_transactions_make_the_head_reread),
        cmocka_unit_test(test_a_lost_transaction_makes_the_head_reread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
