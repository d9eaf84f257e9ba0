/* bench_login.c -- /healthz latency while a flood of wrong logins arrives (issue 10, item 4:
 * "/healthz p99 while 200 wrong logins arrive concurrently, goal <= 50 ms").
 *
 * Starts its own redis-server and dispatchd on free loopback ports (tests/harness), then for each
 * scenario:
 *   1. baseline: --samples sequential GET /healthz on an idle service;
 *   2. flood: a sampler thread sends GET /healthz every --interval-ms (5; one connection each,
 *      HTTP/1.0; the next one at once when a sample took longer) while the main thread opens
 * --logins connections at once, sends a wrong login on each (distinct unknown user names), and
 * waits for every answer; the samples taken between the first login sent and the last answer
 * received are the figure. Scenarios: all-hashed: limits out of the way (--auth-max-failures,
 * --auth-max-failures-address very high, --login-queue-max 4096): every login costs a full scrypt,
 * as a flood from as many addresses would; the worst case for the loop; defaults:   the shipped
 * settings: the queue (32) answers the excess 503 busy and the per-address limit (20) answers 429
 * once reached.
 * --scenario=NAME runs one (defaults also runs against a dispatchd without these settings).
 * Last line: "bench-login healthz_p99_ms=<all-hashed> defaults_p99_ms=<> baseline_p99_ms=<>
 * logins=<n>". tests/bench/README.md has the method and figures.
 */
#include "bench_util.h"
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 200000
#define MAX_LOGINS  4096

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct sampler {
    int port;
    double interval_ms; /* a sample starts this often (a probe, not a load of its own) */
    atomic_int stop;
    double *at, *ms; /* when each sample started, how long it took */
    size_t n;
    int errors;
};

/* GET /healthz on a new connection; its status, or -1. Waits up to 120 s (not the harness's
 * 5 s: a stalled loop must show as a long sample, not as a missing one). */
static int healthz_once(int port)
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    static const char req[] = "GET /healthz HTTP/1.0\r\nHost: b\r\n\r\n";
    char head[32] = "";
    size_t used = 0;
    if (harness_send_all(fd, req, sizeof(req) - 1) == 0) {
        double deadline = now_ms() + 120000;
        char buf[4096];
        for (;;) {
            double left = deadline - now_ms();
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                break;
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r <= 0)
                break;
            size_t take = (size_t)r < sizeof(head) - 1 - used ? (size_t)r : sizeof(head) - 1 - used;
            memcpy(head + used, buf, take);
            used += take;
        }
    }
    close(fd);
    head[used] = '\0';
    int status = -1;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    double next = now_ms();
    while (!atomic_load(&s->stop) && s->n < MAX_SAMPLES) {
        double wait = next - now_ms();
        if (wait > 0) {
            struct timespec ts = {(time_t)(wait / 1000),
                                  (long)((wait - (double)(long)(wait / 1000) * 1000) * 1e6)};
            nanosleep(&ts, NULL);
        }
        next += s->interval_ms;
        double t0 = now_ms();
        if (healthz_once(s->port) != 200) {
            s->errors++;
            continue;
        }
        s->at[s->n] = t0;
        s->ms[s->n] = now_ms() - t0;
        s->n++;
    }
    return NULL;
}

struct figures {
    size_t n;
    double p50, p99, max;
};

static struct figures percentiles(double *v, size_t n)
{
    struct figures f = {n, 0, 0, 0};
    if (n == 0)
        return f;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    f.p50 = v[(n - 1) / 2];
    f.p99 = v[(size_t)((double)(n - 1) * 0.99)];
    f.max = v[n - 1];
    return f;
}

static int send_login(int port, int i)
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    char body[128], req[512];
    snprintf(body, sizeof(body), "{\"user\":\"guess-%d\",\"password\":\"wrong-password-%d\"}", i,
             i);
    int n = snprintf(req, sizeof(req),
                     "POST /v1/sessions HTTP/1.0\r\nHost: b\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    if (harness_send_all(fd, req, (size_t)n) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct scenario_result {
    struct figures baseline, flood;
    int answered, s401, s429, s503, other;
    double flood_ms;
};

static int run_scenario(const char *name, const char *const *args, int logins, int samples,
                        double interval_ms, struct scenario_result *r)
{
    memset(r, 0, sizeof(*r));
    struct harness_stack stack;
    if (harness_stack_start(&stack, "bench-login", args) != 0) {
        fprintf(stderr, "bench-login: could not start the stack\n");
        return -1;
    }
    struct sampler s = {.port = stack.d.http_port, .interval_ms = interval_ms};
    s.at = calloc(MAX_SAMPLES, sizeof(double));
    s.ms = calloc(MAX_SAMPLES, sizeof(double));
    int *fds = calloc((size_t)logins, sizeof(int));
    int rc = -1;
    if (s.at == NULL || s.ms == NULL || fds == NULL)
        goto out;

    /* 1. baseline */
    for (int i = 0; i < samples; i++) {
        double t0 = now_ms();
        if (healthz_once(s.port) == 200)
            s.ms[s.n++] = now_ms() - t0;
    }
    r->baseline = percentiles(s.ms, s.n);
    s.n = 0;

    /* 2. flood */
    pthread_t th;
    if (pthread_create(&th, NULL, sampler_main, &s) != 0)
        goto out;
    double t_first = now_ms();
    for (int i = 0; i < logins; i++)
        fds[i] = send_login(s.port, i);
    int open_fds = 0;
    for (int i = 0; i < logins; i++)
        open_fds += fds[i] >= 0;
    r->other = logins - open_fds;
    char buf[4096];
    size_t *used = calloc((size_t)logins, sizeof(size_t));
    char(*head)[16] = calloc((size_t)logins, sizeof(*head));
    struct pollfd *pfd = calloc((size_t)logins, sizeof(*pfd));
    double deadline = now_ms() + 300000;
    while (open_fds > 0 && used && head && pfd && now_ms() < deadline) {
        int np = 0;
        int idx[MAX_LOGINS];
        for (int i = 0; i < logins; i++)
            if (fds[i] >= 0) {
                pfd[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                idx[np++] = i;
            }
        if (poll(pfd, (nfds_t)np, 1000) <= 0)
            continue;
        for (int k = 0; k < np; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = idx[k];
            ssize_t got = recv(fds[i], buf, sizeof(buf), 0);
            if (got > 0) {
                size_t room = sizeof(head[i]) - 1 - used[i];
                size_t take = (size_t)got < room ? (size_t)got : room;
                memcpy(head[i] + used[i], buf, take);
                used[i] += take;
                continue;
            }
            close(fds[i]);
            fds[i] = -1;
            open_fds--;
            int status = 0;
            if (sscanf(head[i], "HTTP/1.%*d %d", &status) == 1) {
                r->answered++;
                if (status == 401)
                    r->s401++;
                else if (status == 429)
                    r->s429++;
                else if (status == 503)
                    r->s503++;
                else
                    r->other++;
            } else {
                r->other++;
            }
        }
    }
    double t_last = now_ms();
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    free(used);
    free(head);
    free(pfd);
    for (int i = 0; i < logins; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            r->other++;
        }
    r->flood_ms = t_last - t_first;
    /* Samples that started during the flood. */
    size_t m = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.at[i] >= t_first && s.at[i] <= t_last)
            s.ms[m++] = s.ms[i];
    r->flood = percentiles(s.ms, m);
    printf("%-10s  logins %d: 401 %d, 429 %d, 503 %d, other %d in %.0f ms\n", name, logins, r->s401,
           r->s429, r->s503, r->other, r->flood_ms);
    printf("%-10s  /healthz idle:  n=%zu p50=%.2f p99=%.2f max=%.2f ms\n", name, r->baseline.n,
           r->baseline.p50, r->baseline.p99, r->baseline.max);
    printf("%-10s  /healthz flood: n=%zu p50=%.2f p99=%.2f max=%.2f ms (sampler errors %d)\n", name,
           r->flood.n, r->flood.p50, r->flood.p99, r->flood.max, s.errors);
    fflush(stdout);
    rc = r->other == 0 && r->flood.n > 0 ? 0 : -1;
out:
    free(fds);
    free(s.at);
    free(s.ms);
    if (harness_stack_stop(&stack) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    int logins = 200, samples = 500;
    double interval_ms = 5;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--logins=", 9) == 0)
            logins = atoi(argv[i] + 9);
        else if (strncmp(argv[i], "--samples=", 10) == 0)
            samples = atoi(argv[i] + 10);
        else if (strncmp(argv[i], "--scenario=", 11) == 0)
            only = argv[i] + 11;
        else if (strncmp(argv[i], "--interval-ms=", 14) == 0)
            interval_ms = atof(argv[i] + 14);
        else {
            fprintf(stderr, "usage: bench-login [--logins=N (200)] [--samples=N (500)] "
                            "[--interval-ms=MS (5)] [--scenario=all-hashed|defaults]\n");
            return 2;
        }
    }
    if (logins < 1 || logins > MAX_LOGINS || samples < 1 || samples > MAX_SAMPLES ||
        !(interval_ms >= 0)) {
        fprintf(stderr, "bench-login: --logins 1..%d, --samples 1..%d\n", MAX_LOGINS, MAX_SAMPLES);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *all_hashed[] = {"--log-level=info", "--auth-max-failures=1000",
                                "--auth-max-failures-address=1000000", "--login-queue-max=4096",
                                NULL};
    const char *defaults[] = {"--log-level=info", NULL};
    struct scenario_result a, d;
    memset(&a, 0, sizeof(a));
    memset(&d, 0, sizeof(d));
    int status = 0;
    if ((only == NULL || strcmp(only, "all-hashed") == 0) &&
        run_scenario("all-hashed", all_hashed, logins, samples, interval_ms, &a) != 0)
        status = 1;
    if ((only == NULL || strcmp(only, "defaults") == 0) &&
        run_scenario("defaults", defaults, logins, samples, interval_ms, &d) != 0)
        status = 1;
    printf("bench-login healthz_p99_ms=%.2f defaults_p99_ms=%.2f baseline_p99_ms=%.2f logins=%d\n",
           a.flood.p99, d.flood.p99,
           only && strcmp(only, "defaults") == 0 ? d.baseline.p99 : a.baseline.p99, logins);
    harness_cleanup_all();
    return status;
}
