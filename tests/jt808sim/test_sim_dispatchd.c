/* test_sim_dispatchd.c -- lpg-jt808-sim against the real thing: a private redis-server and
 * dispatchd (harness), a vehicle with its terminal registered over HTTP, and the simulator as
 * the terminal, as the live demo runs it.
 *
 * Proves: with --register the simulator takes the code of 0x8100 and authenticates, sends its
 * driver's card, replays a drive (recorded times) through a blind area it backfills with 0x0704,
 * and exits 0: every point of the track is in the vehicle's route exactly once, the newest one
 * is the vehicle's position with the terminal's data (mileage, satellites); a terminal whose
 * code is wrong is refused and the simulator exits 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SIM_PATH
#error "SIM_PATH (the lpg-jt808-sim binary) must be defined by the build"
#endif

#define POINTS    40
#define TERMINAL  "013900000301"
#define TERMINAL2 "013900000302"

static struct harness_stack stack;
static char auth_hdr[160];
static char track[400];
static time_t t0; /* the track's first point: POINTS s ago, so that every fix is in the past */

static int http(const char *method, const char *path, const char *body, char *resp, size_t cap)
{
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, auth_hdr, body, &status, resp, cap) != 0)
        return -1;
    return status;
}

/* Runs the simulator with args (NULL-terminated), its output in log; its exit status, or -1. */
static int run_sim(const char *log, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)SIM_PATH;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    /* The drive lasts POINTS s / --speedup; a hung simulator must not hang the test. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        harness_sleep_ms(20);
    }
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "jt808sim", NULL) != 0)
        return -1;
    char tok[64], secret[64], resp[4096];
    if (harness_stack_admin_token(&stack, tok) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0 ||
        harness_stack_device(&stack, "H2", secret) != 0 ||
        harness_stack_vehicle(&stack, "V2", "H2") != 0)
        return -1;
    snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: Bearer %s\r\n", tok);
    if (http("POST", "/v1/terminals",
             "{\"id\":\"" TERMINAL "\",\"vehicle_id\":\"V1\",\"protocol\":\"jt808\"}", resp,
             sizeof(resp)) != 201 ||
        http("POST", "/v1/terminals",
             "{\"id\":\"" TERMINAL2 "\",\"vehicle_id\":\"V2\",\"protocol\":\"jt808\","
             "\"auth_code\":\"right-code\"}",
             resp, sizeof(resp)) != 201)
        return -1;
    /* A drive north at 10 m/s inside the test enterprise's area, one point a second. */
    snprintf(track, sizeof(track), "%s/track.csv", stack.dir);
    FILE *f = fopen(track, "w");
    if (f == NULL)
        return -1;
    t0 = time(NULL) - POINTS - 5;
    for (int i = 0; i < POINTS; i++)
        fprintf(f, "%lld,%.6f,119.750000,10.0\n", (long long)(t0 + i) * 1000, 49.2 + i * 0.00009);
    return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void registers_drives_backfills_and_exits_0(void **state)
{
    (void)state;
    char log[400], a_port[32], a_track[420];
    snprintf(log, sizeof(log), "%s/sim-1.log", stack.dir);
    snprintf(a_port, sizeof(a_port), "--port=%d", stack.d.jt808_port);
    snprintf(a_track, sizeof(a_track), "--track=%s", track);
    /* 40 s of track in 4 s; the link cut from 20 to 28 s of track time */
    const char *args[] = {a_port,
                          "--terminal=" TERMINAL,
                          "--register",
                          "--plate=P-V1",
                          a_track,
                          "--speedup=10",
                          "--track-times",
                          "--backfill=20:8",
                          "--driver-name=Tester",
                          "--certificate=QC-TEST-0001",
                          "--quiet",
                          NULL};
    int st = run_sim(log, args);
    if (st != 0) {
        char cmd[500];
        snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
    assert_int_equal(st, 0);

    static char resp[262144];
    char from[32], to[32], path[160];
    time_t a = t0 - 60, b = t0 + POINTS + 60;
    strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&a));
    strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&b));
    snprintf(path, sizeof(path), "/v1/vehicles/V1/route?from=%s&to=%s", from, to);
    assert_int_equal(http("GET", path, NULL, resp, sizeof(resp)), 200);
    char want[32];
    snprintf(want, sizeof(want), "\"count\":%d", POINTS);
    if (strstr(resp, want) == NULL)
        fprintf(stderr, "route: %.400s ... %s\n", resp,
                resp + (strlen(resp) > 200 ? strlen(resp) - 200 : 0));
    assert_non_null(strstr(resp, want));
    assert_int_equal(count(resp, "\"vehicle_data\""), POINTS);

    /* the newest point is the position, with the terminal's data */
    assert_int_equal(http("GET", "/v1/vehicles/V1/position", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"lat\":49.20351"));
    assert_non_null(strstr(resp, "\"satellites\":10"));
    assert_non_null(strstr(resp, "\"mileage_km\":"));

    /* the simulator's own account: registered, backfilled, nothing refused */
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    static char text[262144];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "<- 0x8100 result 0, code"));
    assert_int_equal(count(text, "-> 0x0102 authenticate"), 2); /* after the blind area again */
    assert_non_null(strstr(text, "<- 0x8001 serial 3 id 0x0702 result 0"));
    assert_non_null(strstr(text, "as 0x0704 type 1"));
    assert_non_null(strstr(text, " 0 refused"));
}

static void a_wrong_code_is_refused_and_exits_1(void **state)
{
    (void)state;
    char log[400], a_port[32], a_track[420];
    snprintf(log, sizeof(log), "%s/sim-2.log", stack.dir);
    snprintf(a_port, sizeof(a_port), "--port=%d", stack.d.jt808_port);
    snprintf(a_track, sizeof(a_track), "--track=%s", track);
    const char *args[] = {a_port,  "--terminal=" TERMINAL2, "--auth-code=wrong-code",
                          a_track, "--speedup=10",          NULL};
    assert_int_equal(run_sim(log, args), 1);
    char resp[4096];
    assert_int_equal(http("GET", "/v1/vehicles/V2/position", NULL, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"fix\":null")); /* nothing was taken from it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registers_drives_backfills_and_exits_0),
        cmocka_unit_test(a_wrong_code_is_refused_and_exits_1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
