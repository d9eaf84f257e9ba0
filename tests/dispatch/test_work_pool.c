/* test_work_pool.c - dispatch/common/work_pool.[ch]: jobs run on worker threads, not on the loop,
 * and come back to the loop thread; the loop stays responsive while they run; a full queue refuses
 * at once; freeing the pool joins the workers and cancels what is left (no leak under ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/work_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

struct job {
    pthread_t ran_on;
    int done_on_loop;
    int *done_count;
    int *cancel_count;
    atomic_int *gate; /* a worker waits while it is 0 */
    struct event_base *base;
    int stop_after; /* break the loop when *done_count reaches it */
};

static pthread_t loop_thread;

static void run(void *arg)
{
    struct job *j = arg;
    j->ran_on = pthread_self();
    while (j->gate && atomic_load(j->gate) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void done(void *arg)
{
    struct job *j = arg;
    j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
    (*j->done_count)++;
    if (*j->done_count == j->stop_after)
        event_base_loopbreak(j->base);
    free(j);
}

static void cancel(void *arg)
{
    struct job *j = arg;
    (*j->cancel_count)++;
    free(j);
}

static struct job *new_job(struct event_base *base, int *done_count, int *cancel_count,
                           atomic_int *gate, int stop_after)
{
    struct job *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    j->base = base;
    j->done_count = done_count;
    j->cancel_count = cancel_count;
    j->gate = gate;
    j->stop_after = stop_after;
    return j;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(int *)arg = 1;
    fail_msg("deadline passed");
}

/* The loop's timer keeps firing while jobs block their workers: the loop is not held. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    int *ticks = arg;
    (*ticks)++;
}

static void test_jobs_run_off_the_loop_and_come_back(void **state)
{
    (void)state;
    loop_thread = pthread_self();
    struct event_base *base = event_base_new();
    char err[128];
    struct work_pool *wp = work_pool_new(base, 2, 100, err, sizeof(err));
    assert_non_null(wp);
    int dones = 0, cancels = 0, ticks = 0, late = 0;
    atomic_int gate = 0;
    struct job *jobs[20];
    for (int i = 0; i < 20; i++) {
        jobs[i] = new_job(base, &dones, &cancels, &gate, 20);
        assert_int_equal(work_pool_submit(wp, run, done, cancel, jobs[i]), 0);
    }
    assert_int_equal(work_pool_depth(wp), 20);
    /* While the workers are held, the loop keeps ticking. */
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, &ticks);
    struct timeval every = {0, 5000};
    event_add(tick, &every);
    struct event *deadline = evtimer_new(base, on_deadline, &late);
    struct timeval thirty = {30, 0};
    evtimer_add(deadline, &thirty);
    while (ticks < 10)
        event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(dones, 0);
    atomic_store(&gate, 1);
    event_del(tick);
    event_base_dispatch(base);
    assert_int_equal(late, 0);
    assert_int_equal(dones, 20);
    assert_int_equal(work_pool_depth(wp), 0);
    assert_int_equal(cancels, 0);
    work_pool_free(wp);
    event_free(tick);
    event_free(deadline);
    event_base_free(base);
}

static void check_thread(void *arg)
{
    /* done() of this job: it ran on a worker, and done runs on the loop. */
    struct job *j = arg;
    assert_false(pthread_equal(j->ran_on, loop_thread));
    assert_true(pthread_equal(pthread_self(), loop_thread));
    done(arg);
}

static void test_threads_are_the_right_ones(void **state)
{
    (void)state;
    loop_thread = pthread_self();
    struct event_base *base = event_base_new();
    char err[128];
    struct work_pool *wp = work_pool_new(base, 3, 8, err, sizeof(err));
    int dones = 0, cancels = 0;
    for (int i = 0; i < 8; i++)
        assert_int_equal(work_pool_submit(wp, run, check_thread, cancel,
                                          new_job(base, &dones, &cancels, NULL, 8)),
                         0);
    event_base_dispatch(base);
    assert_int_equal(dones, 8);
    work_pool_free(wp);
    event_base_free(base);
}

static void test_full_queue_refuses_and_free_cancels(void **state)
{
    (void)state;
    loop_thread = pthread_self();
    struct event_base *base = event_base_new();
    char err[128];
    struct work_pool *wp = work_pool_new(base, 1, 3, err, sizeof(err));
    int dones = 0, cancels = 0;
    atomic_int gate = 0;
    /* The one worker takes the first job and waits at the gate; three more fill the queue
     * (give the worker the time to take its job: poll the depth of the queue by submitting). */
    assert_int_equal(
        work_pool_submit(wp, run, done, cancel, new_job(base, &dones, &cancels, &gate, -1)), 0);
    int queued = 0;
    struct job *spare = new_job(base, &dones, &cancels, &gate, -1);
    time_t until = time(NULL) + 30;
    while (queued < 3 && time(NULL) < until) {
        if (work_pool_submit(wp, run, done, cancel, spare) == 0) {
            queued++;
            spare = new_job(base, &dones, &cancels, &gate, -1);
        } else {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(queued, 3);
    /* Full: refused at once, and the caller keeps the job. */
    assert_int_equal(work_pool_submit(wp, run, done, cancel, spare), -1);
    assert_true(work_pool_refused(wp) >= 1);
    assert_int_equal(work_pool_depth(wp), 4);
    free(spare);
    /* Let the running job finish; free joins the worker and cancels what was not handed
     * back (the finished job, not yet seen by the loop, and the three queued). */
    atomic_store(&gate, 1);
    work_pool_free(wp);
    assert_int_equal(dones, 0);
    assert_int_equal(cancels, 4);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_run_off_the_loop_and_come_back),
        cmocka_unit_test(test_threads_are_the_right_ones),
        cmocka_unit_test(test_full_queue_refuses_and_free_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
