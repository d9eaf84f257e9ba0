/* test_figures.c -- the figures agree with their docs (issue 14 item 5), through the handset
 * protocol against real Redis and dispatchd: /metrics counts a fix `late` only when it is stored
 * older than the vehicle's newest, never when the filters drop it (a fix without a position or
 * with a poor accuracy has its own label in lpg_fixes_filtered_total). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "wire_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct harness_stack stack;
static char secret[64];

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "figures", NULL) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* The value of the sample `name{labels}` in /metrics (name with its labels, as printed). */
static long long metric(const char *name)
{
    static char resp[131072];
    int status = 0;
    if (harness_http_req(stack.d.http_port, "GET", "/metrics", NULL, NULL, &status, resp,
                         sizeof(resp)) != 0 ||
        status != 200)
        return -1;
    char pat[160];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *p = strstr(resp, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

/* Five good fixes 1 s apart; then, at the time of the last good one, a fix without a position
 * (invalid); one with a 500 m accuracy a second before it (accuracy); and one good fix half a
 * second before it (truly late: stored, older than the newest). Only the last is `late`. */
static void test_late_counts_no_filter_drops(void **state)
{
    (void)state;
    long long late0 = metric("lpg_fixes_total{result=\"late\"}");
    long long inv0 = metric("lpg_fixes_filtered_total{reason=\"invalid\"}");
    long long acc0 = metric("lpg_fixes_filtered_total{reason=\"accuracy\"}");
    assert_true(late0 >= 0 && inv0 >= 0 && acc0 >= 0);

    int fd = wire_login(stack.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t0 = (uint64_t)ts.tv_sec * 1000 - 60000;
    enum { N = 8 };
    Lpg__V1__Fix f[N];
    for (int i = 0; i < 5; i++)
        wire_fix_3d(&f[i], (uint64_t)i + 1, t0 + (uint64_t)i * 1000, 492000000 + i * 100,
                    1197500000, 100);
    wire_fix_3d(&f[5], 6, t0 + 4000, 492000500, 1197500000, 100);
    f[5].mode = LPG__V1__FIX__MODE__NO_FIX;
    wire_fix_3d(&f[6], 7, t0 + 3000, 492000300, 1197500000, 100);
    f[6].has_accuracy_cm = 1;
    f[6].accuracy_cm = 50000;
    wire_fix_3d(&f[7], 8, t0 + 3500, 492000350, 1197500000, 100);
    assert_int_equal(wire_send_positions(fd, 2, f, N, HARNESS_REPLY_TIMEOUT_MS), 8);
    close(fd);

    assert_int_equal(metric("lpg_fixes_filtered_total{reason=\"invalid\"}"), inv0 + 1);
    assert_int_equal(metric("lpg_fixes_filtered_total{reason=\"accuracy\"}"), acc0 + 1);
    assert_int_equal(metric("lpg_fixes_total{result=\"late\"}"), late0 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_counts_no_filter_drops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
