/*
 * bench_jt808.c - bench-jt808: many JT/T 808 terminals held by one dispatchd (issue 12 item 7:
 * 100,000 authenticated connections on this 2-core machine, a heartbeat every 30 s and a
 * position every 10 s each). See tests/bench/README.md. In short:
 *
 *   1. the harness's private redis-server and dispatchd (--dispatchd=PATH or the one built),
 *      with the JT/T 808 listener on a free port and its connection cap above N; RLIMIT_NOFILE
 *      raised (soft and hard: root may) for this process and so for dispatchd, which inherits it;
 *   2. provisioning over HTTP: an enterprise, N vehicles (CSV imports of 2,000 rows), N
 *      terminals with a preconfigured auth code (POST /v1/terminals on a few keep-alive
 *      connections), timed;
 *   3. terminals connect from source addresses spread over 127.0.0.0/8 (each socket bound to
 *      127.1.x.y before connect, 250 per address, so the ephemeral ports suffice) and
 *      authenticate with 0x0102 at once (no 0x0100: many real terminals do that), a bounded
 *      number at a time; the platform's 0x8103 is answered with 0x0001;
 *   4. every authenticated terminal sends a 0x0200 every 10 s and a 0x0002 every 30 s, spread
 *      evenly over the interval (a cursor over the connections, advanced by the clock);
 *   5. at LO connections (10,000; --quick 2,000) and at N (100,000; --quick 10,000): settle,
 *      then a measurement window (positions acknowledged per second, 0x8001 latency, dispatchd's
 *      CPU from /proc/<pid>/stat, this process's own CPU), then VmRSS of dispatchd sampled every
 *      second for a few seconds (median), the traffic running: the same procedure at both sizes.
 *      The RSS per connection is the slope (rss(N) - rss(LO)) / (N - LO).
 *
 * One event loop (libevent) drives every connection; each connection costs this process a small
 * struct and an event, and a deframer only while a reply is split across reads.
 * --self-test replaces dispatchd by a minimal platform forked from this program (answers
 * everything with 0x8001 result 0): what the generator alone costs.
 *
 * Last line:
 *   bench-jt808 connections=<n> positions_per_s=<x> rss_per_connection_bytes=<slope>
 *     cpu_pct=<dispatchd, % of one core> reply_p99_ms=<0x8001 latency>
 * Not a test; run it from a Release build without sanitizers, as root for 100,000 descriptors.
 */
#define _GNU_SOURCE /* getrusage */

#include "bench_util.h"
#include "harness.h"
#include "jt808/jt808_codec.h"
#include "jt808_term.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* linux/in.h; the port is then chosen at connect() */
#endif

#define POSITION_PERIOD_S  10.0
#define HEARTBEAT_PERIOD_S 30.0
#define PER_ADDRESS        250 /* connections per source address: few at once from each */
#define OUT_MAX            4   /* messages awaiting their 0x8001, per connection */
#define AUTH_TIMEOUT_NS    (30LL * 1000000000LL)
#define PROVISION_PARALLEL 4
#define ROWS_PER_IMPORT    2000
#define TICK_US            2000
#define WINDOW_MAX_S       3600
#define PHONE_BASE         13800000000ULL
#define NOFILE_SPARE       1024 /* descriptors besides the terminals' (Redis, HTTP, logs) */

static struct {
    int connections, lo, settle_s, window_s, rss_s, parallel, self_test, keep;
    const char *dispatchd;
    const char *extra[16];
    int n_extra;
} opt = {100000, 10000, 20, 60, 10, 256, 0, 0, NULL, {NULL}, 0};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- figures (clocks and /proc: bench_util.h) ---- */

static double quantile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* ---- the terminals ---- */

enum cstate { C_NEW, C_CONNECTING, C_AUTH, C_ONLINE, C_DEAD };

struct out {
    uint16_t serial, id;
    int64_t sent_ns;
};

struct conn {
    int fd;
    uint8_t state, n_out;
    uint16_t serial;
    uint32_t positions; /* sent: the k-th position moves the vehicle k steps */
    struct event *ev;
    struct jt808_deframer *df; /* only while a reply is split across reads */
    struct out out[OUT_MAX];
};

static struct {
    struct event_base *base;
    struct conn *c;
    int n;       /* terminals provisioned */
    int target;  /* connections wanted now */
    int opened;  /* connections started: c[0..opened) */
    int pending; /* connecting or authenticating */
    int online, dead;
    struct sockaddr_in server;
    struct jt808_deframer shared; /* the deframer of a connection between reads */
    int64_t t_start;
    double pos_due, hb_due; /* sends owed by the clock, fractional */
    int pos_cursor, hb_cursor;
    int64_t last_tick;
    /* figures: totals, and a window's marks */
    uint64_t sent_pos, sent_hb, acked_pos, acked_hb, refused, lost, unexpected, params, send_failed,
        closed_by_peer, auth_failed, auth_ok;
    int measuring;
    int64_t window_start;
    double sec_max[WINDOW_MAX_S];
    double *lat; /* ms, 0x8001 latency of the window */
    size_t n_lat, cap_lat;
    double *auth_lat;
    size_t n_auth, cap_auth;
    char first_error[200];
} B;

__attribute__((format(printf, 1, 2))) static void note_error(const char *fmt, ...)
{
    if (B.first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(B.first_error, sizeof(B.first_error), fmt, ap);
    va_end(ap);
}

static void push(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 65536;
        double *p = realloc(*v, nc * sizeof(*p));
        if (p == NULL)
            return;
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
}

static void phone_of(int i, char out[JT808_PHONE_DIGITS + 1])
{
    snprintf(out, JT808_PHONE_DIGITS + 1, "%012llu", PHONE_BASE + (unsigned long long)i);
}

static void code_of(int i, char *out, size_t cap)
{
    snprintf(out, cap, "AC%07d", i);
}

static void conn_close(struct conn *c, int counts_dead)
{
    if (c->ev) {
        event_free(c->ev);
        c->ev = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    free(c->df);
    c->df = NULL;
    if (c->state == C_CONNECTING || c->state == C_AUTH)
        B.pending--;
    if (c->state == C_ONLINE)
        B.online--;
    if (counts_dead && c->state != C_DEAD)
        B.dead++;
    c->state = C_DEAD;
}

/* Frames and sends one message; remembers it when an answer is due. */
static int conn_send(struct conn *c, int idx, uint16_t id, const uint8_t *body, size_t len,
                     int await)
{
    struct jt808_header h = {.msg_id = id, .edition = JT808_2013, .serial = ++c->serial};
    phone_of(idx, h.phone);
    uint8_t wire[256];
    size_t n = jt808_frame_build(&h, body, len, wire, sizeof(wire));
    if (n == 0)
        return -1;
    ssize_t w = send(c->fd, wire, n, MSG_NOSIGNAL);
    if (w != (ssize_t)n) {
        /* A few dozen bytes do not fit a socket buffer only when the peer stopped reading. */
        B.send_failed++;
        note_error("%s: send failed (%d)", "terminal", w < 0 ? errno : (int)w);
        conn_close(c, 1);
        return -1;
    }
    if (await) {
        if (c->n_out == OUT_MAX) { /* the oldest never got its answer */
            B.lost++;
            memmove(c->out, c->out + 1, sizeof(c->out[0]) * (OUT_MAX - 1));
            c->n_out--;
        }
        c->out[c->n_out++] = (struct out){h.serial, id, bench_mono_ns()};
    }
    return 0;
}

static void on_conn(evutil_socket_t fd, short what, void *arg);

static void send_auth(struct conn *c, int idx)
{
    char code[32];
    code_of(idx, code, sizeof(code));
    conn_send(c, idx, JT808T_AUTH, (const uint8_t *)code, strlen(code), 1);
}

static void send_position(struct conn *c, int idx)
{
    /* Each vehicle drives north from its own spot inside the enterprise's area at ~32 km/h,
     * and back after 20 reports: realistic fixes, no rule fires. */
    uint32_t k = c->positions++ % 40;
    double step = k < 20 ? k : 40 - k;
    struct jt808t_fix f = {.utc_s = (int64_t)time(NULL),
                           .lat = 49.16 + (idx / 500 % 250) * 0.0005 + step * 0.0008,
                           .lon = 119.62 + (idx % 500) * 0.0005,
                           .alt_m = 610,
                           .speed_kmh = 32,
                           .course_deg = k < 20 ? 0 : 180,
                           .fix_valid = 1,
                           .acc_on = 1,
                           .mileage_km = 1000 + c->positions * 0.09,
                           .signal = 25,
                           .satellites = 12};
    uint8_t body[JT808T_LOCATION_MAX];
    size_t len = jt808t_location(body, sizeof(body), &f);
    if (conn_send(c, idx, JT808T_LOCATION, body, len, 1) == 0)
        B.sent_pos++;
}

static void handle_frame(struct conn *c, int idx, const uint8_t *f, size_t flen)
{
    struct jt808_header h;
    const uint8_t *body;
    size_t blen;
    const char *why;
    if (jt808_header_parse(f, flen, &h, &body, &blen, &why) != 0) {
        B.unexpected++;
        return;
    }
    if (h.msg_id == JT808P_SET_PARAMS) {
        uint8_t r[5];
        jt808t_general_reply(r, sizeof(r), h.serial, h.msg_id, 0);
        conn_send(c, idx, JT808T_GENERAL_REPLY, r, sizeof(r), 0);
        B.params++;
        return;
    }
    struct jt808t_reply rep;
    if (h.msg_id != JT808P_GENERAL_REPLY || jt808t_parse_general(body, blen, &rep) != 0) {
        B.unexpected++;
        return;
    }
    int k = 0;
    while (k < c->n_out && (c->out[k].serial != rep.serial || c->out[k].id != rep.msg_id))
        k++;
    if (k == c->n_out) {
        B.unexpected++;
        return;
    }
    double ms = (double)(bench_mono_ns() - c->out[k].sent_ns) / 1e6;
    memmove(c->out + k, c->out + k + 1, sizeof(c->out[0]) * (size_t)(c->n_out - k - 1));
    c->n_out--;
    if (rep.msg_id == JT808T_AUTH) {
        if (rep.result != 0) {
            B.auth_failed++;
            note_error("%s refused: result %d", "0x0102", rep.result);
            conn_close(c, 1);
            return;
        }
        c->state = C_ONLINE;
        B.pending--;
        B.online++;
        B.auth_ok++;
        push(&B.auth_lat, &B.n_auth, &B.cap_auth, ms);
        return;
    }
    if (rep.result != 0) {
        B.refused++;
        note_error("%s refused: result %d", rep.msg_id == JT808T_LOCATION ? "0x0200" : "0x0002",
                   rep.result);
    } else if (rep.msg_id == JT808T_LOCATION) {
        B.acked_pos++;
    } else {
        B.acked_hb++;
    }
    if (B.measuring) {
        push(&B.lat, &B.n_lat, &B.cap_lat, ms);
        /* the slowest answer of each second of the window: a stall shows as a few slow
         * seconds, a load that is too high as all of them */
        int64_t sec = (bench_mono_ns() - B.window_start) / 1000000000LL;
        if (sec >= 0 && sec < WINDOW_MAX_S && ms > B.sec_max[sec])
            B.sec_max[sec] = ms;
    }
}

static void conn_read(struct conn *c, int idx)
{
    static uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            B.closed_by_peer++;
            note_error("%s closed by dispatchd (%d)", "terminal", n < 0 ? errno : 0);
            conn_close(c, 1);
            return;
        }
        struct jt808_deframer *d = c->df;
        if (d == NULL) {
            d = &B.shared;
            jt808_deframer_init(d);
        }
        for (size_t at = 0; at < (size_t)n && c->state != C_DEAD;) {
            size_t used;
            enum jt808_feed r = jt808_deframer_feed(d, buf + at, (size_t)n - at, &used);
            at += used;
            if (r == JT808_FRAME) {
                size_t flen;
                const uint8_t *f = jt808_deframer_frame(d, &flen);
                handle_frame(c, idx, f, flen);
            } else if (r == JT808_BAD) {
                B.unexpected++;
            }
        }
        if (c->state == C_DEAD)
            return;
        /* a reply split across reads keeps its own deframer until it completes */
        if (d->in_frame && d->n > 0 && c->df == NULL) {
            c->df = malloc(sizeof(*c->df));
            if (c->df == NULL) {
                conn_close(c, 1);
                return;
            }
            *c->df = *d;
        } else if (c->df != NULL && !(c->df->in_frame && c->df->n > 0)) {
            free(c->df);
            c->df = NULL;
        }
        if ((size_t)n < sizeof(buf))
            return;
    }
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    int idx = (int)(c - B.c);
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            B.auth_failed++;
            note_error("%s: connect: errno %d", "terminal", err);
            conn_close(c, 1);
            return;
        }
        c->state = C_AUTH;
        event_free(c->ev);
        c->ev = event_new(B.base, c->fd, EV_READ | EV_PERSIST, on_conn, c);
        if (c->ev == NULL || event_add(c->ev, NULL) != 0) {
            conn_close(c, 1);
            return;
        }
        send_auth(c, idx);
        return;
    }
    conn_read(c, idx);
}

static struct in_addr source_of(int i)
{
    /* 127.1.x.y, y in 1..250: addresses interleaved, so that the terminals being authenticated
     * at one moment come from many addresses (per-address limits on unauthenticated
     * connections) and no address holds more than PER_ADDRESS */
    int n_addr = (B.n + PER_ADDRESS - 1) / PER_ADDRESS;
    int a = i % n_addr;
    struct in_addr in;
    in.s_addr = htonl((127u << 24) | (1u << 16) | ((unsigned)(a / 250) << 8) | (1u + a % 250));
    return in;
}

static void open_one(int i)
{
    struct conn *c = &B.c[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        note_error("%s: socket: errno %d", "terminal", errno);
        c->state = C_DEAD;
        B.dead++;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = source_of(i)};
    c->state = C_CONNECTING;
    B.pending++;
    if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        (connect(c->fd, (struct sockaddr *)&B.server, sizeof(B.server)) != 0 &&
         errno != EINPROGRESS)) {
        note_error("%s: bind/connect: errno %d", "terminal", errno);
        conn_close(c, 1);
        return;
    }
    c->ev = event_new(B.base, c->fd, EV_WRITE, on_conn, c);
    if (c->ev == NULL || event_add(c->ev, NULL) != 0)
        conn_close(c, 1);
}

/* The clock: new connections (a bounded number pending), then the sends the clock owes. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (interrupted)
        event_base_loopbreak(B.base);
    while (B.opened < B.target && B.pending < opt.parallel)
        open_one(B.opened++);
    int64_t now = bench_mono_ns();
    double dt = (double)(now - B.last_tick) / 1e9;
    B.last_tick = now;
    if (B.opened == 0)
        return;
    /* Every opened slot is visited once per period: each connection's sends stay evenly spaced
     * whatever the others do; a slot not on line lets its turn pass. */
    B.pos_due += dt * B.opened / POSITION_PERIOD_S;
    B.hb_due += dt * B.opened / HEARTBEAT_PERIOD_S;
    if (B.pos_due > B.opened) /* a stall (the machine is shared): no burst to catch up */
        B.pos_due = B.opened;
    if (B.hb_due > B.opened)
        B.hb_due = B.opened;
    for (; B.pos_due >= 1; B.pos_due -= 1) {
        int i = B.pos_cursor++ % B.opened;
        if (B.c[i].state == C_ONLINE)
            send_position(&B.c[i], i);
    }
    for (; B.hb_due >= 1; B.hb_due -= 1) {
        int i = B.hb_cursor++ % B.opened;
        if (B.c[i].state == C_ONLINE && conn_send(&B.c[i], i, JT808T_HEARTBEAT, NULL, 0, 1) == 0)
            B.sent_hb++;
    }
    /* authentication answers that never come */
    static int sweep;
    for (int k = 0; k < 64 && B.opened > 0; k++) {
        struct conn *c = &B.c[sweep++ % B.opened];
        if ((c->state == C_AUTH || c->state == C_CONNECTING) && c->n_out > 0 &&
            now - c->out[0].sent_ns > AUTH_TIMEOUT_NS) {
            B.auth_failed++;
            note_error("%s: no answer to 0x0102 within %d s", "terminal", 30);
            conn_close(c, 1);
        }
    }
}

static void run_ms(int64_t ms)
{
    int64_t end = bench_mono_ns() + ms * 1000000LL;
    while (!interrupted && bench_mono_ns() < end) {
        struct timeval tv = {0, 100000};
        event_base_loopexit(B.base, &tv);
        event_base_dispatch(B.base);
    }
}

/* Opens connections up to target and waits until none is pending. */
static int connect_up_to(int target)
{
    int64_t t0 = bench_mono_ns();
    size_t n_auth0 = B.n_auth;
    uint64_t ok0 = B.auth_ok;
    B.target = target;
    while (!interrupted && (B.opened < B.target || B.pending > 0))
        run_ms(100);
    double s = (double)(bench_mono_ns() - t0) / 1e9;
    double p99 = quantile(B.auth_lat + n_auth0, B.n_auth - n_auth0, 0.99);
    printf("connected: %d on line (%llu authenticated in %.1f s: %.0f a second; 0x0102 answer "
           "p99 %.1f ms), %d dead%s%s\n",
           B.online, (unsigned long long)(B.auth_ok - ok0), s, (double)(B.auth_ok - ok0) / s, p99,
           B.dead, B.first_error[0] ? "; first problem: " : "", B.first_error);
    return interrupted || B.online < target * 99 / 100 ? -1 : 0;
}

struct window {
    int connections;
    double pos_per_s, hb_per_s, p50, p99, max, cpu_pct, redis_pct, self_pct, others_pct;
    long long rss;
    uint64_t lost, refused;
};

/* Settle, a measurement window, then VmRSS sampled every second (median). */
static void measure(pid_t dispatchd, pid_t redis, struct window *w)
{
    run_ms((int64_t)opt.settle_s * 1000);
    uint64_t pos0 = B.acked_pos, hb0 = B.acked_hb, lost0 = B.lost, ref0 = B.refused;
    double d0 = bench_proc_cpu_s(dispatchd), r0 = redis > 0 ? bench_proc_cpu_s(redis) : 0,
           s0 = bench_self_cpu_s(), m0 = bench_machine_busy_s();
    int64_t t0 = bench_mono_ns();
    B.n_lat = 0;
    memset(B.sec_max, 0, sizeof(B.sec_max));
    B.window_start = bench_mono_ns();
    B.measuring = 1;
    run_ms((int64_t)opt.window_s * 1000);
    B.measuring = 0;
    double secs = (double)(bench_mono_ns() - t0) / 1e9;
    double d1 = bench_proc_cpu_s(dispatchd), r1 = redis > 0 ? bench_proc_cpu_s(redis) : 0,
           s1 = bench_self_cpu_s(), m1 = bench_machine_busy_s();
    w->connections = B.online;
    w->pos_per_s = (double)(B.acked_pos - pos0) / secs;
    w->hb_per_s = (double)(B.acked_hb - hb0) / secs;
    w->lost = B.lost - lost0;
    w->refused = B.refused - ref0;
    w->cpu_pct = 100 * (d1 - d0) / secs;
    w->redis_pct = 100 * (r1 - r0) / secs;
    w->self_pct = 100 * (s1 - s0) / secs;
    w->others_pct = 100 * ((m1 - m0) - (d1 - d0) - (r1 - r0) - (s1 - s0)) / secs;
    w->max = B.n_lat ? quantile(B.lat, B.n_lat, 1.0) : 0;
    w->p50 = quantile(B.lat, B.n_lat, 0.5);
    w->p99 = quantile(B.lat, B.n_lat, 0.99);
    double rss[600];
    int n = 0;
    for (int i = 0; i < opt.rss_s && i < 600 && !interrupted; i++) {
        run_ms(1000);
        long long v = bench_proc_status_bytes(dispatchd, "VmRSS");
        if (v > 0)
            rss[n++] = (double)v;
    }
    w->rss = n ? (long long)quantile(rss, (size_t)n, 0.5) : -1;
    /* The machine's busy time from /proc/stat can fall below the sum of the processes' own
     * (seen in containers whose /proc/stat is not the processes' accounting): then it says
     * nothing about other processes, and the line says so instead of a negative share. */
    char others[64];
    if (w->others_pct >= 0)
        snprintf(others, sizeof(others), "%.1f", w->others_pct);
    else
        snprintf(others, sizeof(others), "unknown (/proc/stat below the processes' sum)");
    printf("at %d connections (window %.0f s): %.0f positions/s acknowledged (%.0f sent by the "
           "clock), %.1f heartbeats/s; 0x8001 latency p50 %.2f ms, p99 %.2f ms, max %.1f ms; "
           "lost %llu, refused %llu; CPU %% of one core: dispatchd %.1f, redis %.1f, this "
           "generator %.1f, other processes %s; dispatchd VmRSS %.2f MiB (median of %d s)\n",
           w->connections, secs, w->pos_per_s, w->connections / POSITION_PERIOD_S, w->hb_per_s,
           w->p50, w->p99, w->max, (unsigned long long)w->lost, (unsigned long long)w->refused,
           w->cpu_pct, w->redis_pct, w->self_pct, others, w->rss / 1048576.0, n);
    int secs_n = (int)secs < WINDOW_MAX_S ? (int)secs : WINDOW_MAX_S, slow = 0;
    char worst[256] = "";
    size_t wl = 0;
    for (int k = 0; k < secs_n; k++)
        if (B.sec_max[k] > 50) {
            slow++;
            if (wl + 24 < sizeof(worst))
                wl += (size_t)snprintf(worst + wl, sizeof(worst) - wl, " %ds:%.0fms", k,
                                       B.sec_max[k]);
        }
    printf("   seconds of the window whose slowest answer took over 50 ms: %d of %d%s%s\n", slow,
           secs_n, slow ? ";" : "", worst);
}

/* ---- provisioning over HTTP ---- */

static struct {
    int port, next, done, failed, phase;
    char auth[128];
    struct evhttp_connection *conn[PROVISION_PARALLEL];
} P;

static void prov_send(int k);

static void prov_done(struct evhttp_request *req, void *arg)
{
    int k = (int)(intptr_t)arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code != 201 && code != 409) { /* 409: there from an earlier run on the same data */
        P.failed++;
        if (B.first_error[0] == '\0') {
            char body[160] = "";
            struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
            if (in) {
                ev_ssize_t n = evbuffer_copyout(in, body, sizeof(body) - 1);
                body[n > 0 ? n : 0] = '\0';
            }
            snprintf(B.first_error, sizeof(B.first_error), "POST /v1/terminals -> %d %s", code,
                     body);
        }
    }
    P.done++;
    if (P.done == B.n || P.failed)
        event_base_loopbreak(B.base);
    else
        prov_send(k);
}

static void prov_send(int k)
{
    if (P.next >= B.n)
        return;
    int i = P.next++;
    struct evhttp_request *req = evhttp_request_new(prov_done, (void *)(intptr_t)k);
    if (req == NULL) {
        P.failed++;
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", "127.0.0.1");
    evhttp_add_header(h, "Authorization", P.auth);
    evhttp_add_header(h, "Content-Type", "application/json");
    char phone[JT808_PHONE_DIGITS + 1], code[32];
    phone_of(i, phone);
    code_of(i, code, sizeof(code));
    evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                        "{\"id\":\"%s\",\"vehicle_id\":\"JV%06d\",\"protocol\":\"jt808\","
                        "\"auth_code\":\"%s\"}",
                        phone, i, code);
    if (evhttp_make_request(P.conn[k], req, EVHTTP_REQ_POST, "/v1/terminals") != 0)
        P.failed++;
}

/* POST with a body of any media type; returns the status. */
static int http_post(int port, const char *auth, const char *path, const char *ctype,
                     const char *body, char *resp, size_t cap)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "%sContent-Type: %s\r\n", auth, ctype);
    /* harness_http_req always says application/json: the CSV goes with our own header line,
     * which the server takes as the last one given */
    int status = -1;
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    size_t blen = strlen(body);
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n\r\n", path,
                      headers, blen);
    if (harness_send_all(fd, head, (size_t)hl) == 0 && harness_send_all(fd, body, blen) == 0) {
        size_t used = 0;
        int eof = 0;
        while (used + 1 < cap && !eof) {
            if (harness_recv_exact(fd, resp + used, 1, 120000, &eof) != 0)
                break;
            used++;
        }
        resp[used] = '\0';
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
            status = -1;
    }
    close(fd);
    return status;
}

static int provision(struct harness_stack *s)
{
    char tok[64];
    if (harness_stack_admin_token(s, tok) != 0)
        return -1;
    snprintf(P.auth, sizeof(P.auth), "Bearer %s", tok);
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    int port = s->d.http_port;
    static char resp[65536];
    int64_t t0 = bench_mono_ns();
    if (http_post(port, auth, "/v1/enterprises", "application/json",
                  "{\"id\":\"E0\",\"name\":\"Bench Transport\",\"area\":{\"type\":\"Polygon\","
                  "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
                  "[119.6,49.15]]]}}",
                  resp, sizeof(resp)) != 201) {
        fprintf(stderr, "bench-jt808: POST /v1/enterprises: %.300s\n", resp);
        return -1;
    }
    char *body = malloc(ROWS_PER_IMPORT * 40 + 64);
    if (body == NULL)
        return -1;
    for (int i = 0; i < B.n && !interrupted; i += ROWS_PER_IMPORT) {
        int n = B.n - i < ROWS_PER_IMPORT ? B.n - i : ROWS_PER_IMPORT;
        size_t used = (size_t)sprintf(body, "id,plate,kind,capacity\n");
        for (int j = i; j < i + n; j++)
            used += (size_t)sprintf(body + used, "JV%06d,JT-%06d,truck,20\n", j, j);
        int st = http_post(port, auth, "/v1/import/vehicles?enterprise_id=E0", "text/csv", body,
                           resp, sizeof(resp));
        if (st != 200) {
            fprintf(stderr, "bench-jt808: vehicles import -> %d: %.300s\n", st, resp);
            free(body);
            return -1;
        }
    }
    free(body);
    double t_veh = (double)(bench_mono_ns() - t0) / 1e9;
    int64_t t1 = bench_mono_ns();
    P.port = port;
    for (int k = 0; k < PROVISION_PARALLEL; k++) {
        P.conn[k] = evhttp_connection_base_new(B.base, NULL, "127.0.0.1", (ev_uint16_t)port);
        if (P.conn[k] == NULL)
            return -1;
        evhttp_connection_set_timeout(P.conn[k], 120);
    }
    for (int k = 0; k < PROVISION_PARALLEL; k++)
        prov_send(k);
    while (!interrupted && P.done < B.n && !P.failed)
        event_base_dispatch(B.base);
    for (int k = 0; k < PROVISION_PARALLEL; k++)
        evhttp_connection_free(P.conn[k]);
    double t_term = (double)(bench_mono_ns() - t1) / 1e9;
    if (P.failed || interrupted) {
        fprintf(stderr, "bench-jt808: provisioning failed: %s\n", B.first_error);
        return -1;
    }
    printf("provisioned: %d vehicles (CSV imports of %d rows) in %.1f s; %d terminals with an "
           "auth code (POST /v1/terminals on %d keep-alive connections) in %.1f s, %.0f a "
           "second\n",
           B.n, ROWS_PER_IMPORT, t_veh, B.n, PROVISION_PARALLEL, t_term, B.n / t_term);
    return 0;
}

/* ---- --self-test: a minimal platform, to measure the generator alone ---- */

struct fake_conn {
    struct event *ev;
    struct jt808_deframer d;
};

static void fake_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct fake_conn *fc = arg;
    uint8_t buf[16384];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        event_free(fc->ev);
        free(fc);
        close(fd);
        return;
    }
    for (size_t at = 0; at < (size_t)n;) {
        size_t used;
        enum jt808_feed r = jt808_deframer_feed(&fc->d, buf + at, (size_t)n - at, &used);
        at += used;
        if (r != JT808_FRAME)
            continue;
        size_t flen, blen;
        const uint8_t *f = jt808_deframer_frame(&fc->d, &flen), *body;
        struct jt808_header h;
        const char *why;
        if (jt808_header_parse(f, flen, &h, &body, &blen, &why) != 0 ||
            h.msg_id == JT808T_GENERAL_REPLY)
            continue;
        uint8_t rb[5], wire[64];
        jt808t_general_reply(rb, sizeof(rb), h.serial, h.msg_id, 0);
        struct jt808_header rh = {.msg_id = JT808P_GENERAL_REPLY, .serial = h.serial};
        memcpy(rh.phone, h.phone, sizeof(rh.phone));
        size_t wl = jt808_frame_build(&rh, rb, sizeof(rb), wire, sizeof(wire));
        if (wl && send(fd, wire, wl, MSG_NOSIGNAL) < 0)
            break;
    }
}

static void fake_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    struct event_base *base = arg;
    for (int k = 0; k < 64; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct fake_conn *fc = calloc(1, sizeof(*fc));
        if (fc == NULL) {
            close(fd);
            continue;
        }
        jt808_deframer_init(&fc->d);
        fc->ev = event_new(base, fd, EV_READ | EV_PERSIST, fake_read, fc);
        event_add(fc->ev, NULL);
    }
}

static pid_t fake_platform_start(int port)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4096) != 0)
        return -1;
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the bench */
    signal(SIGINT, SIG_IGN);
    struct event_base *base = event_base_new();
    struct event *ev = event_new(base, lfd, EV_READ | EV_PERSIST, fake_accept, base);
    event_add(ev, NULL);
    event_base_dispatch(base);
    _exit(0);
}

/* ---- main ---- */

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0) {
            opt.connections = 10000;
            opt.lo = 2000;
            opt.settle_s = 5;
            opt.window_s = 15;
            opt.rss_s = 5;
        }
    int lo_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : "";
#define OPT_INT(name, field, lo_, hi_)                                                             \
    if (strncmp(a, "--" name "=", strlen(name) + 3) == 0) {                                        \
        opt.field = atoi(v);                                                                       \
        if (opt.field < (lo_) || opt.field > (hi_)) {                                              \
            fprintf(stderr, "bench-jt808: --%s must be in %d..%d\n", name, lo_, hi_);              \
            return -1;                                                                             \
        }                                                                                          \
        continue;                                                                                  \
    }
        if (strncmp(a, "--lo=", 5) == 0)
            lo_set = 1;
        if (strcmp(a, "--connections=max") == 0) {
            /* as many as the hard limit of descriptors allows, in dispatchd as here */
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < NOFILE_SPARE + 2)
                return -1;
            opt.connections = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1000000 + NOFILE_SPARE
                                  ? 1000000
                                  : (int)(rl.rlim_max - NOFILE_SPARE);
            continue;
        }
        OPT_INT("connections", connections, 2, 1000000)
        OPT_INT("lo", lo, 1, 1000000)
        OPT_INT("settle", settle_s, 0, 3600)
        OPT_INT("window", window_s, 1, WINDOW_MAX_S)
        OPT_INT("rss-samples", rss_s, 1, 600)
        OPT_INT("parallel", parallel, 1, 10000)
#undef OPT_INT
        if (strncmp(a, "--dispatchd=", 12) == 0) {
            opt.dispatchd = v;
            continue;
        }
        if (strncmp(a, "--dispatchd-arg=", 16) == 0 && opt.n_extra < 12) {
            opt.extra[opt.n_extra++] = v;
            continue;
        }
        if (strcmp(a, "--self-test") == 0) {
            opt.self_test = 1;
            continue;
        }
        if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
            continue;
        }
        if (strcmp(a, "--quick") == 0)
            continue;
        fprintf(stderr, "usage: bench-jt808 [--quick] [--connections=N] [--lo=N] [--settle=S] "
                        "[--window=S] [--rss-samples=S] [--parallel=N] [--dispatchd=PATH] "
                        "[--dispatchd-arg=--name=value]... [--self-test] [--keep]\n");
        return -1;
    }
    if (!lo_set && opt.lo >= opt.connections)
        opt.lo = opt.connections / 10 > 0 ? opt.connections / 10 : 1;
    if (opt.lo >= opt.connections) {
        fprintf(stderr, "bench-jt808: --lo must be below --connections\n");
        return -1;
    }
    return 0;
}

/* This process holds N sockets and dispatchd as many (it inherits the limit): soft and hard
 * raised together (root may raise the hard limit; dispatchd raises its soft limit to it). */
static int raise_nofile(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur >= want)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        rl.rlim_max = want;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        struct rlimit now;
        getrlimit(RLIMIT_NOFILE, &now);
        fprintf(
            stderr,
            "bench-jt808: cannot raise RLIMIT_NOFILE to %llu (%s): the hard limit is %llu "
            "and only a process with CAP_SYS_RESOURCE may raise it (root outside a "
            "container, or ulimit -Hn before). --connections=max takes what the limit "
            "allows here (%llu).\n",
            (unsigned long long)want, strerror(errno), (unsigned long long)now.rlim_max,
            (unsigned long long)(now.rlim_max > NOFILE_SPARE ? now.rlim_max - NOFILE_SPARE : 0));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (opt.dispatchd != NULL)
        setenv("LPG_TEST_DISPATCHD", opt.dispatchd, 1);
    if (raise_nofile((rlim_t)opt.connections + NOFILE_SPARE) != 0)
        return 2;
    int64_t start_ns = bench_mono_ns();
    B.n = opt.connections;
    B.c = calloc((size_t)B.n, sizeof(*B.c));
    B.base = event_base_new();
    if (B.c == NULL || B.base == NULL)
        return 1;
    for (int i = 0; i < B.n; i++)
        B.c[i].fd = -1;
    printf("bench-jt808: %d terminals (memory slope from %d), settle %d s, window %d s, RSS "
           "median of %d s; %s\n",
           opt.connections, opt.lo, opt.settle_s, opt.window_s, opt.rss_s,
           opt.self_test ? "--self-test: a minimal platform instead of dispatchd"
                         : harness_dispatchd_path());

    struct harness_stack stack;
    memset(&stack, 0, sizeof(stack));
    pid_t dispatchd = 0, redis = 0, fake = 0;
    int jt_port = harness_free_port(), rc = 1;
    if (opt.self_test) {
        fake = fake_platform_start(jt_port);
        if (fake < 0)
            return 1;
        dispatchd = fake;
    } else {
        /* The harness gives the JT/T 808 listener a free port (harness_dispatchd.jt808_port). */
        char a_max[64];
        snprintf(a_max, sizeof(a_max), "--jt808-max-connections=%d", opt.connections + 10000);
        const char *extra[24] = {"--log-level=info", a_max};
        int ne = 2;
        for (int i = 0; i < opt.n_extra; i++)
            extra[ne++] = opt.extra[i];
        extra[ne] = NULL;
        if (harness_stack_start(&stack, "bench-jt808", extra) != 0) {
            fprintf(stderr, "bench-jt808: cannot start redis-server and dispatchd\n");
            if (stack.dir[0])
                harness_rmdir(stack.dir);
            return 1;
        }
        stack.keep_dir = opt.keep;
        dispatchd = stack.d.proc.pid;
        redis = stack.redis.proc.pid;
        jt_port = stack.d.jt808_port;
        printf("dispatchd pid %d (JT/T 808 on 127.0.0.1:%d), redis-server pid %d, dir %s\n",
               (int)dispatchd, jt_port, (int)redis, stack.dir);
    }
    B.server.sin_family = AF_INET;
    B.server.sin_port = htons((uint16_t)jt_port);
    B.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct window lo = {0}, hi = {0};
    double slope = 0;
    struct event *tick = NULL;
    if (!opt.self_test && provision(&stack) != 0)
        goto out;
    long long rss0 = bench_proc_status_bytes(dispatchd, "VmRSS");
    tick = event_new(B.base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, TICK_US};
    B.last_tick = B.t_start = bench_mono_ns();
    if (tick == NULL || event_add(tick, &tv) != 0)
        goto out;
    printf("dispatchd VmRSS %.2f MiB before any terminal\n", rss0 / 1048576.0);
    if (connect_up_to(opt.lo) != 0)
        goto out;
    measure(dispatchd, redis, &lo);
    if (interrupted || connect_up_to(opt.connections) != 0)
        goto out;
    measure(dispatchd, redis, &hi);
    slope = (double)(hi.rss - lo.rss) / (double)(hi.connections - lo.connections);
    printf("memory: dispatchd VmRSS %.2f MiB at %d connections, %.2f MiB at %d: the slope "
           "(rss%d - rss%d) / %d = %.0f bytes per connection (measured the same way at both "
           "sizes, the traffic running)\n",
           lo.rss / 1048576.0, lo.connections, hi.rss / 1048576.0, hi.connections, hi.connections,
           lo.connections, hi.connections - lo.connections, slope);
    printf("totals: positions %llu sent / %llu acknowledged, heartbeats %llu / %llu, refused "
           "%llu, lost %llu, 0x8103 answered %llu, unexpected frames %llu, closed by the "
           "platform %llu, send failures %llu, authentication failures %llu%s%s\n",
           (unsigned long long)B.sent_pos, (unsigned long long)B.acked_pos,
           (unsigned long long)B.sent_hb, (unsigned long long)B.acked_hb,
           (unsigned long long)B.refused, (unsigned long long)B.lost, (unsigned long long)B.params,
           (unsigned long long)B.unexpected, (unsigned long long)B.closed_by_peer,
           (unsigned long long)B.send_failed, (unsigned long long)B.auth_failed,
           B.first_error[0] ? "; first problem: " : "", B.first_error);
    rc = B.dead > 0 || B.refused > 0 ? 1 : 0;

out:
    if (tick)
        event_free(tick);
    for (int i = 0; i < B.n; i++)
        if (B.c[i].state != C_NEW && B.c[i].state != C_DEAD)
            conn_close(&B.c[i], 0);
    event_base_free(B.base);
    if (fake > 0) {
        kill(fake, SIGKILL);
        waitpid(fake, NULL, 0);
    }
    if (stack.d.proc.pid > 0 && harness_proc_stop(&stack.d.proc, SIGTERM, 20000) != 0)
        fprintf(stderr, "bench-jt808: dispatchd did not stop cleanly\n");
    if (stack.redis.proc.pid > 0)
        harness_redis_stop(&stack.redis);
    if (stack.dir[0]) {
        if (opt.keep)
            fprintf(stderr, "bench-jt808: kept %s\n", stack.dir);
        else
            harness_rmdir(stack.dir);
    }
    free(B.c);
    free(B.lat);
    free(B.auth_lat);
    printf("run took %.0f s\n", (double)(bench_mono_ns() - start_ns) / 1e9);
    printf("bench-jt808 connections=%d positions_per_s=%.0f rss_per_connection_bytes=%.0f "
           "cpu_pct=%.1f reply_p99_ms=%.2f\n",
           hi.connections, hi.pos_per_s, slope, hi.cpu_pct, hi.p99);
    return rc;
}
