/* test_store_heartbeat.c -- the Redis connection's heartbeat (dispatch/store/store.c) on a
 * private redis-server: a server that keeps answering a long queue of commands is alive even
 * when its PING reply waits behind them (bench-ingest found dispatchd dropping a busy Redis and
 * failing every batch in flight); a server that answers nothing for connect_timeout is dropped.
 * The load is BLPOP on an empty list with a timeout: each holds the connection (only ours) for
 * that time and then answers nil, so the replies of a queue of them arrive one by one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "store/store.h"

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 1000 /* also the deadline of a PING reply */

static struct harness_redis redis;
static char dir[256];
static int port;
static struct event_base *base;
static struct store *st;
static int went_down; /* the store left STORE_UP */
static int is_up;

static void on_state(void *arg, enum store_state s, const char *detail)
{
    (void)arg;
    (void)detail;
    is_up = s == STORE_UP;
    if (s != STORE_UP)
        went_down = 1;
}

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

static int setup(void **state)
{
    (void)state;
    port = harness_free_port();
    if (harness_tmpdir(dir, sizeof(dir), "heartbeat") != 0 ||
        harness_redis_start(&redis, dir, port) != 0)
        return -1;
    base = event_base_new();
    struct store_options so = {.host = "127.0.0.1",
                               .port = port,
                               .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                               .ping_interval_ms = 100,
                               .reconnect_min_ms = 50,
                               .reconnect_max_ms = 200,
                               .key_prefix = "t:"};
    st = base ? store_new(base, &so) : NULL;
    if (st == NULL)
        return -1;
    store_set_state_callback(st, on_state, NULL);
    return run_until(&is_up, 5000) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_free(st);
    event_base_free(base);
    int rc = harness_redis_stop(&redis);
    harness_rmdir(dir);
    return rc;
}

static int answered;
static void on_busy(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    if (err == NULL)
        answered++;
}

static void queue_busy(int n, const char *seconds)
{
    for (int i = 0; i < n; i++) {
        const char *argv[] = {"BLPOP", "t:nothing", seconds};
        const char *why;
        assert_int_equal(store_command_argv(st, on_busy, NULL, 3, argv, NULL, &why), 0);
    }
}

/* 10 commands of 300 ms each: ~3 s of queue, three times the PING deadline, with a reply every
 * 300 ms. The store stays up and every command is answered. */
static void a_busy_server_that_answers_is_alive(void **state)
{
    (void)state;
    went_down = 0;
    answered = 0;
    queue_busy(10, "0.3");
    int all = 10;
    for (int waited = 0; answered < all && waited < 15000; waited += 10) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    assert_int_equal(answered, all);
    assert_false(went_down);
    assert_int_equal(store_state(st), STORE_UP);
}

/* One command that keeps the connection silent for 2.5 s: nothing answers for longer than the
 * deadline, as from a hung server, so the heartbeat drops the connection and reconnects. */
static void a_silent_server_is_dropped(void **state)
{
    (void)state;
    went_down = 0;
    is_up = 0;
    queue_busy(1, "2.5");
    assert_true(run_until(&went_down, 10000));
    assert_true(run_until(&is_up, 10000)); /* and connects again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_busy_server_that_answers_is_alive),
        cmocka_unit_test(a_silent_server_is_dropped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
