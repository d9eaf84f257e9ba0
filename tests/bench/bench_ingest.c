/*
 * bench_ingest.c - end-to-end position ingest: a load generator of 1,000 handsets on loopback
 * against a real dispatchd and Redis, and, in the same run, the Redis ceiling of the same
 * commands through redis-benchmark (tracking issue item 7).
 *
 * What it does:
 *   1. starts a private redis-server (AOF on, as the harness runs it) and dispatchd on free
 *      loopback ports in a temp dir (tests/harness), creates the admin, and provisions N
 *      devices over HTTP: per device a staff member "S-Bnnnn", a vehicle "V-Bnnnn" bound to
 *      that person, and the handset "Bnnnn" (its secret); one admin token for all of it;
 *   2. opens N handset connections from ONE libevent loop in this process (bufferevents,
 *      non-blocking), logs each in (Hello), then every connection keeps `window` batches
 *      outstanding (default 1): a PositionBatch of `batch` fixes (default 25) of a vehicle
 *      driving around Hailar at 30-48 km/h, 1 Hz fix times in the past (from now - 3 h, so the
 *      future filter passes and no fatigue episode starts), seq increasing per device; the
 *      next batch goes out when an Ack arrives;
 *   3. after `warmup` s it measures for `duration` s: stored positions/s = the sum of
 *      Ack.position_seq advances of the Acks received in the window; Ack latency (send of the
 *      batch -> its Ack) p50/p99; dispatchd CPU (utime+stime from /proc/<pid>/stat over the
 *      window), Redis CPU and this process's CPU; dispatchd VmRSS after provisioning (before
 *      any handset connects) and at the end (connections still open): the difference over N
 *      is the RSS per tracked vehicle;
 *   4. alert latency (unless --no-alerts; alone with --alerts): the same handsets paced to
 *      --alert-rate fixes/s in total (10,000), --alert-batch fixes per batch (10: one batch per
 *      handset per second), --alert-share % of the vehicles (5) driving 15 fixes at ~70 km/h
 *      out of every 45, so the overspeed rule (60 km/h, 10 s, >= 3 fixes) raises; for each
 *      Alert (overspeed, violation start) on the handset: the time from the send of the batch
 *      holding the fix that completes the 10 s condition (the server pushes the Alert before
 *      that batch's Ack); p50/p99 and the count, printed as
 *        bench-ingest-alerts alert_p50_ms=<x> alert_p99_ms=<y> alerts=<n>
 *      just before the last line;
 *   5. with the handsets closed, the Redis ceiling: redis-benchmark -P 50 against the same
 *      Redis, one run per command that ingest sends per batch, with the same shapes (one ZADD
 *      of B members, see redis_ceiling below); the ceiling in positions/s = B / (sum of the
 *      per-batch command times) and positions_per_s / ceiling;
 *   6. stops dispatchd and Redis (SIGTERM, wait, SIGKILL fallback) and removes the temp dir.
 *
 * Options (--name=value): connections (1000), batch (25), window (1), warmup (3 s),
 * duration (10 s), rb-requests (200000 per redis-benchmark run; 3 rounds per command),
 * perf=FILE (perf record -g -p <dispatchd> over the measured window), --keep (keep the temp
 * dir), --no-aof (diagnostic), --alerts / --no-alerts, alert-rate (10000 fixes/s), alert-batch
 * (10), alert-duration (20 s), alert-share (5 %). See tests/bench/README.md. Not a test; run
 * it from a Release build without sanitizers: build-rel/tests/bench/bench-ingest. Last line:
 *   bench-ingest positions_per_s=<n> redis_ratio=<r> ack_p99_ms=<ms> rss_per_vehicle_bytes=<b>
 */
#define _DEFAULT_SOURCE /* getrusage, M_PI */

#include "harness.h"
#include "frame.h"
#include "lpg/v1/envelope.pb-c.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_REDIS_BENCHMARK
#error "BENCH_REDIS_BENCHMARK (path of redis-benchmark) must be defined by the build"
#endif

#define WINDOW_MAX     8
#define BATCH_MAX      500
#define LOGIN_PARALLEL 100 /* handsets connecting / logging in at the same time */

/* ---- options ---- */

static struct {
    int connections, batch, window, warmup_s, duration_s, rb_requests, keep, no_aof, settle_s;
    const char *perf_out;
    /* alert-latency phase: 0 after the throughput phase, 1 alone (--alerts), -1 none */
    int alerts, alert_rate, alert_batch, alert_duration_s, alert_share_pct;
} opt = {1000, 25, 1, 3, 10, 200000, 0, 0, 3, NULL, 0, 10000, 10, 20, 5};

/* Alert phase: a speeding vehicle drives OVER_FIXES fixes (1 Hz fix times) at ~70 km/h, then
 * CYCLE_FIXES - OVER_FIXES at 30-48 km/h, and again. The overspeed rule (60 km/h road default,
 * 10 s, >= 3 fixes) raises at the 11th fast fix; its end is raised on the first slow fix. */
#define OVER_FIXES   15
#define CYCLE_FIXES  45
#define OVER_SPEED   19.5 /* m/s: 70.2 km/h */
#define LIMIT_KMH    60.0
#define OVER_MIN_MS  10000
#define OVER_MIN_FIX 3

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- clocks, /proc ---- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* utime + stime of pid, in seconds (/proc/<pid>/stat fields 14 and 15). */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Name:   123 kB" field of /proc/<pid>/status in bytes (VmRSS, RssAnon, RssFile), or -1. */
static long long proc_status_bytes(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long long kb = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            kb = strtoll(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static long long proc_rss_bytes(pid_t pid)
{
    return proc_status_bytes(pid, "VmRSS");
}

/* Busy CPU time of the whole machine (all CPUs), seconds, from /proc/stat. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return -1;
    /* user nice system idle iowait irq softirq steal: busy is all but idle and iowait */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- simulated vehicles ---- */

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) /* xorshift64*, [0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Inside the enterprise's licensed area (119.6..119.9 E, 49.15..49.3 N), with a margin. */
#define LON_MIN 119.65
#define LON_MAX 119.85
#define LAT_MIN 49.17
#define LAT_MAX 49.28

struct vehicle_sim {
    double lat, lon; /* degrees */
    double heading;  /* degrees from north */
    double speed;    /* m/s */
    int64_t t_ms;    /* time of the next fix */
    int over;        /* alert phase: driving above the limit (no 48 km/h cap) */
};

static void sim_init(struct vehicle_sim *v, int64_t start_ms)
{
    v->lat = LAT_MIN + rnd() * (LAT_MAX - LAT_MIN);
    v->lon = LON_MIN + rnd() * (LON_MAX - LON_MIN);
    v->heading = rnd() * 360;
    v->speed = 8.5 + rnd() * 5; /* 30..48 km/h: below every speed limit */
    v->t_ms = start_ms + (int64_t)(rnd() * 1000);
}

/* Advances one second of driving: a slowly turning heading, speed drifting in 30..48 km/h,
 * turning back at the edges of the area. */
static void sim_step(struct vehicle_sim *v, int64_t now_ms)
{
    v->heading += (rnd() - 0.5) * 10;
    v->speed += (rnd() - 0.5) * 0.6;
    if (v->speed < 8.5)
        v->speed = 8.5;
    if (v->speed > 13.3 && !v->over)
        v->speed = 13.3;
    double h = v->heading * M_PI / 180;
    double nlat = v->lat + v->speed * cos(h) / 111195.0;
    double nlon = v->lon + v->speed * sin(h) / (111195.0 * cos(v->lat * M_PI / 180));
    if (nlat < LAT_MIN || nlat > LAT_MAX || nlon < LON_MIN || nlon > LON_MAX) {
        v->heading += 180;
        h = v->heading * M_PI / 180;
        nlat = v->lat + v->speed * cos(h) / 111195.0;
        nlon = v->lon + v->speed * sin(h) / (111195.0 * cos(v->lat * M_PI / 180));
    }
    v->heading = fmod(v->heading + 360, 360);
    v->lat = nlat;
    v->lon = nlon;
    /* 1 Hz fixes from the past; should a device ever catch up with the clock, its fixes stay
     * strictly increasing and at most a few ms ahead (the future filter allows 60 s). */
    int64_t next = v->t_ms + 1000;
    if (next > now_ms)
        next = now_ms > v->t_ms ? now_ms : v->t_ms + 1;
    v->t_ms = next;
}

/* ---- handsets ---- */

enum hs_state { HS_IDLE, HS_CONNECTING, HS_HELLO, HS_READY, HS_DEAD };

struct handset {
    int idx;
    enum hs_state state;
    struct bufferevent *bev;
    char device[16];
    char secret[64];
    uint64_t next_req;
    uint64_t next_seq; /* seq of the next fix */
    uint64_t acked;    /* last Ack.position_seq */
    int outstanding;
    uint64_t req_ring[WINDOW_MAX];
    int64_t sent_ns[WINDOW_MAX];
    struct vehicle_sim sim;
    /* alert phase */
    int speeding;          /* one of the alert_share_pct % that speed */
    int cycle_pos;         /* position in the CYCLE_FIXES cycle */
    int64_t run_start_ms;  /* first over fix of the current run (fix time) */
    int run_n, run_done;   /* over fixes in the run; the run has met the condition */
    int64_t alert_sent_ns; /* send of the batch that completed the condition; 0 none */
    uint64_t alert_req;    /* its request id */
    int64_t next_due_ns;   /* paced: when the next batch is due */
};

enum phase { PH_LOGIN, PH_WARMUP, PH_RUN, PH_DRAIN, PH_SETTLE, PH_ALERTS, PH_ALERT_DRAIN, PH_DONE };

static struct {
    struct event_base *base;
    struct handset *hs;
    int n;
    int handset_port;
    enum phase phase;
    int next_to_connect, logging_in, logged_in, dead;
    /* measured window */
    int64_t t0_ns, t1_ns;
    uint64_t positions, batches_acked;
    double *lat_ms;
    size_t n_lat, cap_lat;
    /* totals */
    uint64_t positions_all, batches_sent, errors, pushes, unexpected;
    uint64_t err_by_code[16];
    char first_error[200];
    int batch_now;                  /* fixes per batch of the current phase */
    uint64_t member_bytes, members; /* route member length, as ingest formats it */
    /* alert phase */
    int64_t a_t0_ns, a_t1_ns, period_ns;
    uint64_t a_positions, a_batches, a_expected, a_start, a_end, a_other, a_unmatched, a_missing,
        a_speeding;
    double *a_lat_ms, *a_ack_ms;
    size_t n_alat, cap_alat, n_aack, cap_aack;
} B;

static void hs_fail(struct handset *h, const char *why)
{
    if (h->state == HS_DEAD)
        return;
    if (B.first_error[0] == '\0')
        snprintf(B.first_error, sizeof(B.first_error), "%s: %s", h->device, why);
    if (h->state == HS_CONNECTING || h->state == HS_HELLO)
        B.logging_in--;
    if (h->state == HS_READY)
        B.logged_in--;
    h->state = HS_DEAD;
    B.dead++;
    if (h->bev) {
        bufferevent_free(h->bev);
        h->bev = NULL;
    }
}

static int send_env(struct handset *h, const Lpg__V1__Envelope *env)
{
    static uint8_t buf[LPG_FRAME_HEADER_SIZE + 64 * BATCH_MAX + 256];
    size_t len = lpg__v1__envelope__get_packed_size(env);
    if (len + LPG_FRAME_HEADER_SIZE > sizeof(buf) || lpg_frame_put_header(buf, len) != 0)
        return -1;
    lpg__v1__envelope__pack(env, buf + LPG_FRAME_HEADER_SIZE);
    return bufferevent_write(h->bev, buf, LPG_FRAME_HEADER_SIZE + len);
}

static void send_hello(struct handset *h)
{
    Lpg__V1__Hello hello = LPG__V1__HELLO__INIT;
    hello.has_protocol_version = 1;
    hello.protocol_version = 1;
    hello.device_id = h->device;
    hello.has_credential = 1;
    hello.credential.data = (uint8_t *)h->secret;
    hello.credential.len = strlen(h->secret);
    hello.software = (char *)"bench-ingest";
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = h->next_req++;
    env.body_case = LPG__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    if (send_env(h, &env) != 0)
        hs_fail(h, "cannot send Hello");
    else
        h->state = HS_HELLO;
}

static void send_batch(struct handset *h)
{
    Lpg__V1__Fix fixes[BATCH_MAX], *ptrs[BATCH_MAX];
    int64_t now = wall_ms();
    int completes = 0;
    int alerting = B.phase == PH_ALERTS || B.phase == PH_ALERT_DRAIN;
    for (int i = 0; i < B.batch_now; i++) {
        Lpg__V1__Fix *f = &fixes[i];
        if (alerting && h->speeding) {
            h->sim.over = h->cycle_pos < OVER_FIXES;
            if (h->sim.over)
                h->sim.speed = OVER_SPEED + (rnd() - 0.5) * 0.4;
            else if (h->sim.speed > 13.3)
                h->sim.speed = 11 + rnd() * 2;
            h->cycle_pos = (h->cycle_pos + 1) % CYCLE_FIXES;
        } else {
            h->sim.over = 0;
        }
        lpg__v1__fix__init(f);
        f->has_seq = f->has_time_ms = f->has_lat_e7 = f->has_lon_e7 = 1;
        f->seq = h->next_seq++;
        f->time_ms = (uint64_t)h->sim.t_ms;
        f->lat_e7 = (int32_t)lround(h->sim.lat * 1e7);
        f->lon_e7 = (int32_t)lround(h->sim.lon * 1e7);
        f->has_speed_cm_s = f->has_heading_cdeg = f->has_accuracy_cm = f->has_mode = 1;
        f->speed_cm_s = (uint32_t)lround(h->sim.speed * 100);
        f->heading_cdeg = (uint32_t)lround(h->sim.heading * 100) % 36000;
        f->accuracy_cm = 300 + (uint32_t)(rnd() * 500);
        f->mode = LPG__V1__FIX__MODE__FIX_3D;
        f->has_altitude_cm = f->has_source = f->has_satellites = 1;
        f->altitude_cm = 61000 + (int32_t)(rnd() * 500);
        f->source = LPG__V1__FIX__SOURCE__GNSS;
        f->satellites = 9;
        ptrs[i] = f;
        /* The overspeed condition as the rule sees it: which fix completes it. */
        if (f->speed_cm_s * 0.036 > LIMIT_KMH) {
            if (h->run_n++ == 0)
                h->run_start_ms = (int64_t)f->time_ms;
            if (!h->run_done && (int64_t)f->time_ms - h->run_start_ms >= OVER_MIN_MS &&
                h->run_n >= OVER_MIN_FIX) {
                h->run_done = 1;
                completes = 1;
            }
        } else {
            h->run_n = h->run_done = 0;
        }
        if (B.phase == PH_RUN && h->idx == 0) {
            /* The member ingest stores for this fix (dispatch/app/ingest.c): its length. */
            char m[200];
            B.member_bytes += (uint64_t)snprintf(
                m, sizeof(m), "%llu:%llu:%d:%d:%u:%u:%u:%d:0", (unsigned long long)f->seq,
                (unsigned long long)f->time_ms, (int)f->lat_e7, (int)f->lon_e7, f->speed_cm_s,
                f->heading_cdeg, f->accuracy_cm, (int)f->mode);
            B.members++;
        }
        sim_step(&h->sim, now);
    }
    Lpg__V1__PositionBatch b = LPG__V1__POSITION_BATCH__INIT;
    b.n_fixes = (size_t)B.batch_now;
    b.fixes = ptrs;
    Lpg__V1__Envelope env = LPG__V1__ENVELOPE__INIT;
    env.has_request_id = 1;
    env.request_id = h->next_req++;
    env.body_case = LPG__V1__ENVELOPE__BODY_POSITION_BATCH;
    env.position_batch = &b;
    int slot = (int)(env.request_id % WINDOW_MAX);
    h->req_ring[slot] = env.request_id;
    h->sent_ns[slot] = mono_ns();
    if (send_env(h, &env) != 0) {
        hs_fail(h, "cannot send a batch");
        return;
    }
    h->outstanding++;
    B.batches_sent++;
    if (completes) {
        if (h->alert_sent_ns != 0)
            B.a_missing++; /* the previous one never came */
        h->alert_sent_ns = h->sent_ns[slot];
        h->alert_req = env.request_id;
        B.a_expected++;
    }
}

/* Alert phase: the batch is due and the previous one answered. */
static void pace_send(struct handset *h, int64_t now)
{
    if (h->state != HS_READY || B.phase != PH_ALERTS || h->outstanding > 0 || now < h->next_due_ns)
        return;
    send_batch(h);
    h->next_due_ns += B.period_ns;
    if (h->next_due_ns < now - B.period_ns)
        h->next_due_ns = now; /* far behind: no burst to catch up */
}

static void fill_window(struct handset *h)
{
    while (h->state == HS_READY && (B.phase == PH_WARMUP || B.phase == PH_RUN) &&
           h->outstanding < opt.window)
        send_batch(h);
}

static void push_double(double **v, size_t *n, size_t *capp, double x)
{
    if (*n == *capp) {
        size_t cap = *capp ? *capp * 2 : 65536;
        double *p = realloc(*v, cap * sizeof(*p));
        if (p == NULL)
            return;
        *v = p;
        *capp = cap;
    }
    (*v)[(*n)++] = x;
}

static void record_latency(double ms)
{
    push_double(&B.lat_ms, &B.n_lat, &B.cap_lat, ms);
}

static void connect_more(void);

static void handle_env(struct handset *h, const Lpg__V1__Envelope *env)
{
    int64_t now = mono_ns();
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_ACK: {
        const Lpg__V1__Ack *ack = env->ack;
        if (h->state == HS_HELLO) {
            h->state = HS_READY;
            B.logging_in--;
            B.logged_in++;
            connect_more();
            fill_window(h);
            return;
        }
        int slot = (int)(ack->ack_seq % WINDOW_MAX);
        if (h->outstanding == 0 || h->req_ring[slot] != ack->ack_seq) {
            B.unexpected++;
            return;
        }
        h->outstanding--;
        uint64_t adv = ack->has_position_seq && ack->position_seq > h->acked
                           ? ack->position_seq - h->acked
                           : 0;
        if (ack->has_position_seq && ack->position_seq > h->acked)
            h->acked = ack->position_seq;
        B.positions_all += adv;
        if (B.phase == PH_RUN) {
            B.positions += adv;
            B.batches_acked++;
            record_latency((double)(now - h->sent_ns[slot]) / 1e6);
        }
        if (B.phase == PH_ALERTS || B.phase == PH_ALERT_DRAIN) {
            B.a_positions += adv;
            B.a_batches++;
            push_double(&B.a_ack_ms, &B.n_aack, &B.cap_aack,
                        (double)(now - h->sent_ns[slot]) / 1e6);
            if (h->alert_sent_ns != 0 && h->alert_req == ack->ack_seq) {
                /* The server pushes the Alert before the batch's Ack: none came. */
                B.a_missing++;
                h->alert_sent_ns = 0;
            }
            pace_send(h, now);
            return;
        }
        fill_window(h);
        return;
    }
    case LPG__V1__ENVELOPE__BODY_ERROR: {
        const Lpg__V1__Error *e = env->error;
        B.errors++;
        B.err_by_code[e->code < 16 ? e->code : 0]++;
        if (B.first_error[0] == '\0')
            snprintf(B.first_error, sizeof(B.first_error), "%s: Error %d \"%s\"", h->device,
                     (int)e->code, e->message ? e->message : "");
        if (e->fatal) {
            hs_fail(h, "fatal Error");
            if (B.phase == PH_LOGIN)
                connect_more();
            return;
        }
        if (h->outstanding > 0)
            h->outstanding--; /* a non-fatal error answers a batch: go on */
        fill_window(h);
        return;
    }
    case LPG__V1__ENVELOPE__BODY_ALERT: {
        const Lpg__V1__Alert *a = env->alert;
        if (B.phase != PH_ALERTS && B.phase != PH_ALERT_DRAIN) {
            B.pushes++; /* no rule should fire in the throughput phase */
            return;
        }
        int overspeed = a->kind && strcmp(a->kind, "overspeed") == 0;
        if (overspeed && a->has_severity && a->severity == 2) {
            B.a_start++;
            if (h->alert_sent_ns != 0) {
                push_double(&B.a_lat_ms, &B.n_alat, &B.cap_alat,
                            (double)(now - h->alert_sent_ns) / 1e6);
                h->alert_sent_ns = 0;
            } else {
                B.a_unmatched++;
            }
        } else if (overspeed && a->has_severity && a->severity == 0) {
            B.a_end++;
        } else {
            B.a_other++;
        }
        return;
    }
    default:
        B.pushes++; /* OrderAssigned: pushed, not an answer */
        return;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct handset *h = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (h->state != HS_DEAD) {
        uint8_t hdr[LPG_FRAME_HEADER_SIZE];
        if (evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
            return;
        uint32_t len =
            (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
        if (len == 0 || len > LPG_FRAME_MAX_PAYLOAD) {
            hs_fail(h, "bad frame length from the server");
            return;
        }
        if (evbuffer_get_length(in) < LPG_FRAME_HEADER_SIZE + (size_t)len)
            return;
        uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(LPG_FRAME_HEADER_SIZE + len));
        Lpg__V1__Envelope *env =
            p ? lpg__v1__envelope__unpack(NULL, len, p + LPG_FRAME_HEADER_SIZE) : NULL;
        evbuffer_drain(in, LPG_FRAME_HEADER_SIZE + (size_t)len);
        if (env == NULL) {
            hs_fail(h, "undecodable frame from the server");
            return;
        }
        handle_env(h, env);
        lpg__v1__envelope__free_unpacked(env, NULL);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct handset *h = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(h->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        send_hello(h);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        int phase_login = B.phase == PH_LOGIN;
        hs_fail(h, what & BEV_EVENT_EOF ? "closed by the server" : strerror(errno));
        if (phase_login)
            connect_more();
    }
}

static void connect_one(struct handset *h)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)B.handset_port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->bev = bufferevent_socket_new(B.base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (h->bev == NULL) {
        hs_fail(h, "bufferevent_socket_new");
        return;
    }
    bufferevent_setcb(h->bev, on_read, NULL, on_event, h);
    bufferevent_enable(h->bev, EV_READ | EV_WRITE);
    h->state = HS_CONNECTING;
    B.logging_in++;
    if (bufferevent_socket_connect(h->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        hs_fail(h, "connect");
}

/* Keeps LOGIN_PARALLEL handsets connecting or logging in until every one has had a go. */
static void connect_more(void)
{
    while (B.phase == PH_LOGIN && B.next_to_connect < B.n && B.logging_in < LOGIN_PARALLEL)
        connect_one(&B.hs[B.next_to_connect++]);
}

/* ---- phases ---- */

static struct {
    pid_t dispatchd, redis;
    double d_cpu0, d_cpu1, r_cpu0, r_cpu1, self_cpu0, self_cpu1, m_cpu0, m_cpu1;
    pid_t perf;
    long long rss_login, rss_end, rss_peak, delayed1, rewrites1;
    long long anon_before, file_before, anon_end, file_end; /* the split of VmRSS */
    int redis_port;
    struct event *pace;
} M;

static long long redis_info_int(int port, const char *field);

/* Alert phase pacing: every 2 ms, send the batches that are due. */
static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = mono_ns();
    for (int i = 0; i < B.n; i++)
        pace_send(&B.hs[i], now);
}

/* The end of the throughput phase (or the logins, with --alerts): what it measures at its end,
 * then the alert phase or the end. */
static void throughput_done(int64_t now)
{
    if (opt.alerts != 1) {
        M.delayed1 = redis_info_int(M.redis_port, "aof_delayed_fsync");
        M.rewrites1 = redis_info_int(M.redis_port, "aof_rewrites");
    }
    if (opt.alerts < 0) {
        B.phase = PH_DONE;
        event_base_loopbreak(B.base);
        return;
    }
    int n = B.logged_in > 0 ? B.logged_in : 1;
    B.batch_now = opt.alert_batch;
    B.period_ns = (int64_t)((double)opt.alert_batch * n / opt.alert_rate * 1e9);
    int every = opt.alert_share_pct > 0 ? 100 / opt.alert_share_pct : 0;
    for (int i = 0; i < B.n; i++) {
        struct handset *h = &B.hs[i];
        h->speeding = every > 0 && i % every == every / 2;
        B.a_speeding += h->speeding && h->state == HS_READY;
        h->cycle_pos = (int)(rnd() * CYCLE_FIXES);
        h->run_n = h->run_done = 0;
        h->alert_sent_ns = 0;
        h->next_due_ns = now + (int64_t)(rnd() * (double)B.period_ns);
    }
    printf("alert phase: %d fixes/s in total, %d fixes per batch (one batch per handset every "
           "%.0f ms), %llu vehicles speeding (%d fixes at ~70 km/h of every %d), %d s\n",
           opt.alert_rate, opt.alert_batch, B.period_ns / 1e6, (unsigned long long)B.a_speeding,
           OVER_FIXES, CYCLE_FIXES, opt.alert_duration_s);
    fflush(stdout);
    B.phase = PH_ALERTS;
    B.a_t0_ns = now;
    M.pace = event_new(B.base, -1, EV_PERSIST, on_pace, NULL);
    struct timeval tv = {0, 2000};
    event_add(M.pace, &tv);
}

static void perf_start(void)
{
    if (opt.perf_out == NULL)
        return;
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)M.dispatchd);
    pid_t p = fork();
    if (p == 0) {
        execlp("perf", "perf", "record", "-q", "-g", "-o", opt.perf_out, "-p", pid, (char *)NULL);
        _exit(127);
    }
    M.perf = p > 0 ? p : 0;
}

static void perf_stop(void)
{
    if (M.perf <= 0)
        return;
    kill(M.perf, SIGINT);
    int st;
    for (int i = 0; i < 300 && waitpid(M.perf, &st, WNOHANG) == 0; i++)
        harness_sleep_ms(20);
    if (waitpid(M.perf, &st, WNOHANG) == 0) {
        kill(M.perf, SIGKILL);
        waitpid(M.perf, &st, 0);
    }
    M.perf = 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    static int64_t phase_start_ns, last_print_ns;
    int64_t now = mono_ns();
    if (phase_start_ns == 0)
        phase_start_ns = now;
    if (interrupted) {
        fprintf(stderr, "bench-ingest: interrupted\n");
        B.phase = PH_DONE;
        event_base_loopbreak(B.base);
        return;
    }
    /* Peak: the highest VmRSS sampled (every 50 ms) while batches flow. */
    if (B.phase == PH_WARMUP || B.phase == PH_RUN || B.phase == PH_DRAIN) {
        long long rss = proc_rss_bytes(M.dispatchd);
        if (rss > M.rss_peak)
            M.rss_peak = rss;
    }
    switch (B.phase) {
    case PH_LOGIN:
        if (B.logged_in + B.dead == B.n && B.next_to_connect == B.n) {
            printf("logged in: %d handsets (%d failed) in %.1f s\n", B.logged_in, B.dead,
                   (double)(now - phase_start_ns) / 1e9);
            fflush(stdout);
            if (B.logged_in == 0) {
                B.phase = PH_DONE;
                event_base_loopbreak(B.base);
                return;
            }
            M.rss_login = proc_rss_bytes(M.dispatchd);
            if (opt.alerts == 1) {
                throughput_done(now);
                phase_start_ns = now;
                return;
            }
            B.phase = PH_WARMUP;
            phase_start_ns = now;
            for (int i = 0; i < B.n; i++)
                fill_window(&B.hs[i]);
        } else if (now - phase_start_ns > 60 * 1000000000LL) {
            fprintf(stderr, "bench-ingest: logins did not finish within 60 s (%d of %d)\n",
                    B.logged_in, B.n);
            B.phase = PH_DONE;
            event_base_loopbreak(B.base);
        }
        return;
    case PH_WARMUP:
        if (now - phase_start_ns >= (int64_t)opt.warmup_s * 1000000000LL) {
            printf("warm-up done (%.0f positions acked); measuring for %d s\n",
                   (double)B.positions_all, opt.duration_s);
            fflush(stdout);
            B.phase = PH_RUN;
            phase_start_ns = last_print_ns = now;
            B.t0_ns = now;
            M.d_cpu0 = proc_cpu_s(M.dispatchd);
            M.r_cpu0 = proc_cpu_s(M.redis);
            M.self_cpu0 = self_cpu_s();
            M.m_cpu0 = machine_busy_s();
            perf_start();
        }
        return;
    case PH_RUN:
        if (now - last_print_ns >= 2000000000LL) {
            printf("  %4.1f s: %.0f positions/s so far\n", (double)(now - B.t0_ns) / 1e9,
                   (double)B.positions / ((double)(now - B.t0_ns) / 1e9));
            fflush(stdout);
            last_print_ns = now;
        }
        if (now - phase_start_ns >= (int64_t)opt.duration_s * 1000000000LL) {
            B.t1_ns = now;
            M.d_cpu1 = proc_cpu_s(M.dispatchd);
            M.r_cpu1 = proc_cpu_s(M.redis);
            M.self_cpu1 = self_cpu_s();
            M.m_cpu1 = machine_busy_s();
            perf_stop();
            B.phase = PH_DRAIN;
            phase_start_ns = now;
        }
        return;
    case PH_DRAIN: {
        int busy = 0;
        for (int i = 0; i < B.n; i++)
            busy += B.hs[i].state == HS_READY && B.hs[i].outstanding > 0;
        if (busy == 0 || now - phase_start_ns > 10 * 1000000000LL) {
            if (busy)
                fprintf(stderr, "bench-ingest: %d handsets still waiting for an Ack\n", busy);
            B.phase = PH_SETTLE;
            phase_start_ns = now;
        }
        return;
    }
    case PH_SETTLE:
        /* Steady state: every handset still connected and its vehicle tracked, nothing in
         * flight, after --settle s (dispatchd returns freed heap once ingest is idle). */
        if (now - phase_start_ns >= (int64_t)opt.settle_s * 1000000000LL) {
            M.rss_end = proc_rss_bytes(M.dispatchd);
            M.anon_end = proc_status_bytes(M.dispatchd, "RssAnon");
            M.file_end = proc_status_bytes(M.dispatchd, "RssFile");
            throughput_done(now);
            phase_start_ns = now;
        }
        return;
    case PH_ALERTS:
        if (now - phase_start_ns >= (int64_t)opt.alert_duration_s * 1000000000LL) {
            B.a_t1_ns = now;
            B.phase = PH_ALERT_DRAIN;
            phase_start_ns = now;
            event_del(M.pace);
        }
        return;
    case PH_ALERT_DRAIN: {
        int busy = 0;
        for (int i = 0; i < B.n; i++)
            busy += B.hs[i].state == HS_READY && B.hs[i].outstanding > 0;
        if (busy == 0 || now - phase_start_ns > 10 * 1000000000LL) {
            if (busy)
                fprintf(stderr, "bench-ingest: %d handsets still waiting for an Ack\n", busy);
            for (int i = 0; i < B.n; i++)
                if (B.hs[i].alert_sent_ns != 0) {
                    B.a_missing++;
                    B.hs[i].alert_sent_ns = 0;
                }
            B.phase = PH_DONE;
            event_base_loopbreak(B.base);
        }
        return;
    }
    case PH_DONE:
        return;
    }
}

/* An integer field of Redis INFO (e.g. "aof_delayed_fsync"), or -1. */
static long long redis_info_int(int port, const char *field)
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    static const char req[] = "INFO\r\n";
    char buf[16384];
    size_t used = 0;
    long long v = -1;
    if (harness_send_all(fd, req, sizeof(req) - 1) == 0) {
        /* "$<len>\r\n" then the text: read until it is all there (or 2 s). */
        int64_t deadline = mono_ns() + 2000000000LL;
        while (used < sizeof(buf) - 1 && mono_ns() < deadline) {
            ssize_t r = recv(fd, buf + used, sizeof(buf) - 1 - used, MSG_DONTWAIT);
            if (r > 0)
                used += (size_t)r;
            else if (r == 0)
                break;
            else
                harness_sleep_ms(5);
            buf[used] = '\0';
            long long len = buf[0] == '$' ? strtoll(buf + 1, NULL, 10) : -1;
            const char *body = strstr(buf, "\r\n");
            if (len >= 0 && body && (size_t)(body + 2 - buf) + (size_t)len <= used)
                break;
        }
        buf[used] = '\0';
        char pat[96];
        snprintf(pat, sizeof(pat), "\r\n%s:", field);
        const char *at = strstr(buf, pat);
        if (at)
            v = strtoll(at + strlen(pat), NULL, 10);
    }
    close(fd);
    return v;
}

/* ---- provisioning over HTTP ---- */

static int post(int port, const char *auth, const char *path, const char *body, int want,
                char *resp, size_t cap)
{
    int status = 0;
    if (harness_http_req(port, "POST", path, auth, body, &status, resp, cap) != 0 ||
        status != want) {
        fprintf(stderr, "bench-ingest: POST %s %s -> %d %s\n", path, body, status, resp);
        return -1;
    }
    return 0;
}

static int provision(struct harness_stack *s)
{
    char tok[64], auth[128], resp[8192], body[512];
    if (harness_stack_admin_token(s, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    int port = s->d.http_port;
    if (post(port, auth, "/v1/enterprises",
             "{\"id\":\"E0\",\"name\":\"Bench Gas\",\"area\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
             "[119.6,49.15]]]}}",
             201, resp, sizeof(resp)) != 0)
        return -1;
    int64_t t0 = mono_ns();
    for (int i = 0; i < B.n && !interrupted; i++) {
        struct handset *h = &B.hs[i];
        snprintf(body, sizeof(body),
                 "{\"id\":\"S-%s\",\"enterprise_id\":\"E0\",\"name\":\"Driver %d\","
                 "\"role\":\"delivery\"}",
                 h->device, i);
        if (post(port, auth, "/v1/staff", body, 201, resp, sizeof(resp)) != 0)
            return -1;
        snprintf(body, sizeof(body),
                 "{\"id\":\"V-%s\",\"enterprise_id\":\"E0\",\"plate\":\"MENG-E-%05d\","
                 "\"kind\":\"van\",\"capacity\":20,\"staff_id\":\"S-%s\"}",
                 h->device, i, h->device);
        if (post(port, auth, "/v1/vehicles", body, 201, resp, sizeof(resp)) != 0)
            return -1;
        snprintf(body, sizeof(body), "{\"device_id\":\"%s\",\"staff_id\":\"S-%s\"}", h->device,
                 h->device);
        if (post(port, auth, "/v1/devices", body, 201, resp, sizeof(resp)) != 0 ||
            harness_json_str(resp, "secret", h->secret, sizeof(h->secret)) != 0) {
            fprintf(stderr, "bench-ingest: no secret for %s: %s\n", h->device, resp);
            return -1;
        }
        if ((i + 1) % 100 == 0 || i + 1 == B.n) {
            printf("provisioned %d/%d (staff + bound vehicle + device), %.1f s\n", i + 1, B.n,
                   (double)(mono_ns() - t0) / 1e9);
            fflush(stdout);
        }
    }
    return interrupted ? -1 : 0;
}

/* ---- Redis ceiling through redis-benchmark ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs redis-benchmark -q with -P 50 and -r 1000 (1,000 vehicles: __rand_int__ is replaced
 * by a fresh 12-digit number below 1000 at each occurrence) for one command (argv, NULL-
 * terminated; no shell); returns its requests per second, or -1. */
static double rb_run(int port, const char *const *cmd, int requests, double *redis_cpu_us)
{
    char portstr[16], nstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(nstr, sizeof(nstr), "%d", requests);
    int argc = 0;
    while (cmd[argc])
        argc++;
    const char **argv = calloc((size_t)argc + 13, sizeof(*argv));
    if (argv == NULL)
        return -1;
    const char *const head[12] = {BENCH_REDIS_BENCHMARK,
                                  "-p",
                                  portstr,
                                  "-n",
                                  nstr,
                                  "-c",
                                  "50",
                                  "-P",
                                  "50",
                                  "-r",
                                  "1000",
                                  "-q"};
    memcpy(argv, head, sizeof(head));
    int n = 12;
    for (int i = 0; i < argc; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        free(argv);
        return -1;
    }
    double cpu0 = proc_cpu_s(M.redis);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(argv);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    free(argv);
    /* Progress lines end in \r and the label repeats the command: keep only the tail. */
    static char out[65536];
    size_t used = 0;
    for (;;) {
        if (used > sizeof(out) - 4096) {
            memmove(out, out + used - 2048, 2048);
            used = 2048;
        }
        ssize_t r = read(fds[0], out + used, sizeof(out) - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fds[0]);
    out[used] = '\0';
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    /* "...: 123456.78 requests per second, p50=..." */
    const char *rq = NULL;
    for (const char *q = strstr(out, " requests per second"); q;
         q = strstr(q + 1, " requests per second"))
        rq = q;
    if (rq == NULL || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    *redis_cpu_us = (proc_cpu_s(M.redis) - cpu0) / requests * 1e6;
    const char *num = rq;
    while (num > out && num[-1] != ' ')
        num--;
    return strtod(num, NULL);
}

/* Removes the ceiling's route keys (1,000 of them: __rand_int__ is 12 zero-padded digits), so
 * each round's ZADDs insert new members into sets of a realistic size and memory stays
 * bounded. */
static void rb_drop_routes(int port)
{
    const char *argv[] = {"EVAL",
                          "for i = 0, 999 do redis.call('UNLINK', "
                          "string.format('rb:route:%012d:20261128', i)) end return 1",
                          "0"};
    char reply[256];
    if (harness_redis_cmd(port, reply, sizeof(reply), 3, argv) != 0)
        fprintf(stderr, "bench-ingest: could not drop the ceiling's route keys\n");
}

/* The commands ingest sends for one batch of B stored fixes (dispatch/app/ingest.c, store_batch),
 * all in one MULTI/EXEC:
 *   ZADD route:{vehicle}:{day} t1 m1 ... tB mB   (one per UTC day the batch touches: one)
 *   EXPIREAT route:{vehicle}:{day} <ts>          (one per day key)
 *   SET device:{id}:seq <n>, HSET vehicle:{id}:last (6 fields),
 *   GEOADD geo:vehicles <lon> <lat> <vehicle>, SET vehicle:{id}:rules <state>
 *   (alerts, when raised: none in the throughput phase)
 * Each command is run alone, pipelined, on keys of the same shapes (1,000 vehicles); MULTI and
 * EXEC cannot be pipelined alone, so each is costed as a PING (the cheapest command: this
 * slightly flatters the ceiling). Ceiling: B / (sum of the per-batch command times)
 * positions/s, where a command's time is the inverse of its rate. member_len is the length of
 * the members ingest stores (measured from the fixes sent). */
static double redis_ceiling(int port, const char *rules_state, double fixes_per_batch,
                            double member_len, double *cpu_us_per_pos)
{
    int nb = (int)lround(fixes_per_batch);
    if (nb < 1)
        nb = 1;
    if (nb > BATCH_MAX)
        nb = BATCH_MAX;
    int mlen = (int)lround(member_len);
    if (mlen < 40)
        mlen = 40;
    if (mlen > 150)
        mlen = 150;
    char rules_label[64], zadd_label[64];
    snprintf(rules_label, sizeof(rules_label), "SET vehicle rules (%zu bytes)",
             strlen(rules_state));
    snprintf(zadd_label, sizeof(zadd_label), "ZADD route (%d new members of %d B)", nb, mlen);
    /* ZADD rb:route:<v>:20261128 (score member)*nb. A member: its index in the command, two
     * random numbers (10^6 combinations per key, so almost every member is new: ingest only
     * adds new ones) and a tail of route fields, to the measured length of a real member. */
    static const char *zadd[2 + 2 * BATCH_MAX + 1];
    static char zpool[BATCH_MAX][2][200];
    static const char tail[] = "492100000:1197500000:1123:27120:512:3:0:492100000:1197500000:"
                               "1123:27120:512:3:0:492100000:1197500000:1123:27120:512:3:0:"
                               "492100000:1197500000:1123:27120:512:3:0";
    zadd[0] = "ZADD";
    zadd[1] = "rb:route:__rand_int__:20261128";
    for (int i = 0; i < nb; i++) {
        snprintf(zpool[i][0], sizeof(zpool[i][0]), "17__rand_int__");
        int head = snprintf(zpool[i][1], sizeof(zpool[i][1]), "%03d__rand_int__:__rand_int__:", i);
        int rest = mlen - head > 0 ? mlen - head : 0;
        snprintf(zpool[i][1] + head, sizeof(zpool[i][1]) - (size_t)head, "%.*s", rest, tail);
        zadd[2 + 2 * i] = zpool[i][0];
        zadd[3 + 2 * i] = zpool[i][1];
    }
    zadd[2 + 2 * nb] = NULL;
    static const char *const expireat[] = {"EXPIREAT", "rb:route:__rand_int__:20261128",
                                           "1811721600", NULL};
    static const char *const setseq[] = {"SET", "rb:device:B__rand_int__:seq", "__rand_int__",
                                         NULL};
    static const char *const hset[] = {"HSET",       "rb:vehicle:V__rand_int__:last",
                                       "time_ms",    "1795824__rand_int__",
                                       "lat_e7",     "492100000",
                                       "lon_e7",     "1197500000",
                                       "speed_cm_s", "1123",
                                       "seq",        "__rand_int__",
                                       "device",     "B__rand_int__",
                                       NULL};
    static const char *const geoadd[] = {"GEOADD",     "rb:geo:vehicles", "119.7512345",
                                         "49.2112345", "V__rand_int__",   NULL};
    const char *const setrules[] = {"SET", "rb:vehicle:V__rand_int__:rules", rules_state, NULL};
    static const char *const ping[] = {"PING", NULL};
    /* ZADD runs insert nb members per request: fewer requests (at most 2 M members a run). */
    int n_zadd = opt.rb_requests / 5;
    if (n_zadd > 2000000 / nb)
        n_zadd = 2000000 / nb;
    if (n_zadd < 1000)
        n_zadd = 1000;
    const struct {
        const char *label;
        const char *const *cmd;
        int per_batch, requests;
    } cmds[] = {
        {zadd_label, zadd, 1, n_zadd},
        {"EXPIREAT route", expireat, 1, opt.rb_requests},
        {"SET device seq", setseq, 1, opt.rb_requests},
        {"HSET vehicle last (6 fields)", hset, 1, opt.rb_requests},
        {"GEOADD vehicles", geoadd, 1, opt.rb_requests},
        {rules_label, setrules, 1, opt.rb_requests},
        {"PING (for MULTI and EXEC)", ping, 2, opt.rb_requests},
    };
    enum { NCMD = sizeof(cmds) / sizeof(cmds[0]), ROUNDS = 3 };
    double rps[NCMD][ROUNDS], cpu[NCMD][ROUNDS];
    printf("Redis ceiling (same Redis, dispatchd idle, handsets closed; %d rounds, median); per "
           "batch of %d fixes (measured mean %.1f), route members of %d bytes (measured mean "
           "%.1f):\n",
           ROUNDS, nb, fixes_per_batch, mlen, member_len);
    /* Rounds interleaved, so an AOF rewrite or fsync stall hits one sample of a command, not
     * all of them. */
    rb_drop_routes(port);
    for (int r = 0; r < ROUNDS; r++) {
        for (int c = 0; c < NCMD; c++)
            if ((rps[c][r] = rb_run(port, cmds[c].cmd, cmds[c].requests, &cpu[c][r])) <= 0) {
                fprintf(stderr, "bench-ingest: redis-benchmark failed for %s\n", cmds[c].label);
                return -1;
            }
        rb_drop_routes(port); /* after EXPIREAT, which needs the keys */
    }
    double t_batch = 0, c_batch = 0;
    printf("  %-40s %9s %19s %9s %9s %12s\n", "command (redis-benchmark -c 50 -P 50)", "per batch",
           "commands/s (range)", "us each", "us/batch", "Redis CPU us");
    for (int c = 0; c < NCMD; c++) {
        double v[ROUNDS], w[ROUNDS];
        memcpy(v, rps[c], sizeof(v));
        memcpy(w, cpu[c], sizeof(w));
        qsort(v, ROUNDS, sizeof(double), cmp_double);
        qsort(w, ROUNDS, sizeof(double), cmp_double);
        double med = v[ROUNDS / 2], cmed = w[ROUNDS / 2];
        char range[48];
        snprintf(range, sizeof(range), "%.0f (%.0f..%.0f)", med, v[0], v[ROUNDS - 1]);
        printf("  %-40s %9d %19s %9.2f %9.2f %12.2f\n", cmds[c].label, cmds[c].per_batch, range,
               1e6 / med, cmds[c].per_batch * 1e6 / med, cmed);
        t_batch += cmds[c].per_batch / med;
        c_batch += cmds[c].per_batch * cmed;
    }
    *cpu_us_per_pos = c_batch / nb;
    printf("  per batch: %.2f us of Redis wall time, %.2f us of Redis CPU; per position (/ %d): "
           "%.2f us wall, %.2f us CPU\n",
           t_batch * 1e6, c_batch, nb, t_batch * 1e6 / nb, *cpu_us_per_pos);
    printf("  ceiling = %d fixes / %.2f us = %.0f positions/s\n", nb, t_batch * 1e6, nb / t_batch);
    return nb / t_batch;
}

/* A stored rule state, for the ceiling's SET of the same size. */
static void read_rules_state(int port, char *out, size_t cap)
{
    const char *argv[] = {"GET", "lpg:vehicle:V-B0000:rules"};
    char reply[4096];
    if (harness_redis_cmd(port, reply, sizeof(reply), 2, argv) != 0 || reply[0] == '(' ||
        reply[0] == '-') {
        /* Not found: a placeholder of the typical size. */
        snprintf(out, cap, "%s", "v1|f:0:0:0:0:0:0|o:0:0:0:0:0|g:0:0:0:0:0:0:0|z:0:0:0|s:0:0");
        return;
    }
    snprintf(out, cap, "%s", reply);
}

/* ---- main ---- */

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : "";
#define OPT_INT(name, field, lo, hi)                                                               \
    if (strncmp(a, "--" name "=", strlen(name) + 3) == 0) {                                        \
        opt.field = atoi(v);                                                                       \
        if (opt.field < (lo) || opt.field > (hi)) {                                                \
            fprintf(stderr, "bench-ingest: --%s must be in %d..%d\n", name, lo, hi);               \
            return -1;                                                                             \
        }                                                                                          \
        continue;                                                                                  \
    }
        OPT_INT("connections", connections, 1, 10000)
        OPT_INT("batch", batch, 1, BATCH_MAX)
        OPT_INT("window", window, 1, WINDOW_MAX)
        OPT_INT("warmup", warmup_s, 0, 600)
        OPT_INT("duration", duration_s, 1, 3600)
        OPT_INT("rb-requests", rb_requests, 1000, 100000000)
        OPT_INT("settle", settle_s, 0, 600)
        OPT_INT("alert-rate", alert_rate, 1, 10000000)
        OPT_INT("alert-batch", alert_batch, 1, BATCH_MAX)
        OPT_INT("alert-duration", alert_duration_s, 1, 3600)
        OPT_INT("alert-share", alert_share_pct, 0, 100)
#undef OPT_INT
        if (strncmp(a, "--perf=", 7) == 0) {
            opt.perf_out = v;
            continue;
        }
        if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
            continue;
        }
        if (strcmp(a, "--no-aof") == 0) {
            opt.no_aof = 1;
            continue;
        }
        if (strcmp(a, "--alerts") == 0) {
            opt.alerts = 1;
            continue;
        }
        if (strcmp(a, "--no-alerts") == 0) {
            opt.alerts = -1;
            continue;
        }
        fprintf(stderr, "usage: bench-ingest [--connections=N] [--batch=B] [--window=W] "
                        "[--warmup=S] [--duration=S] [--settle=S] [--rb-requests=N] "
                        "[--perf=FILE] [--keep] "
                        "[--no-aof] [--alerts | --no-alerts] [--alert-rate=FIXES_PER_S] "
                        "[--alert-batch=B] [--alert-duration=S] [--alert-share=PCT]\n");
        return -1;
    }
    return 0;
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
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

    /* N handset sockets here, and as many in dispatchd (which inherits this limit). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = (rlim_t)opt.connections * 2 + 256;
        if (rl.rlim_cur < want) {
            rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur < want)
            fprintf(stderr, "bench-ingest: RLIMIT_NOFILE is %llu, below %llu\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
    }

    B.n = opt.connections;
    B.hs = calloc((size_t)B.n, sizeof(*B.hs));
    if (B.hs == NULL)
        return 1;
    int64_t start_ms = wall_ms() - 3 * 3600 * 1000LL; /* 1 Hz fixes from 3 h ago */
    for (int i = 0; i < B.n; i++) {
        B.hs[i].idx = i;
        snprintf(B.hs[i].device, sizeof(B.hs[i].device), "B%04d", i);
        B.hs[i].next_req = 1;
        B.hs[i].next_seq = 1;
        sim_init(&B.hs[i].sim, start_ms);
    }

    int rc = 1;
    struct harness_stack stack;
    /* Production log level: the harness's default (debug) would log every batch. */
    const char *const extra[] = {"--log-level=info", NULL};
    printf("bench-ingest: %d handsets, %d fixes per batch, window %d, warm-up %d s, "
           "measured %d s\n",
           opt.connections, opt.batch, opt.window, opt.warmup_s, opt.duration_s);
    if (harness_stack_start(&stack, "bench-ingest", extra) != 0) {
        fprintf(stderr, "bench-ingest: cannot start redis-server and dispatchd\n");
        return 1;
    }
    stack.keep_dir = opt.keep;
    M.dispatchd = stack.d.proc.pid;
    M.redis = stack.redis.proc.pid;
    B.handset_port = stack.d.handset_port;
    M.redis_port = stack.redis.port;
    B.batch_now = opt.batch;
    printf("dispatchd pid %d (http %d, handsets %d), redis-server pid %d (port %d), dir %s\n",
           (int)M.dispatchd, stack.d.http_port, stack.d.handset_port, (int)M.redis,
           stack.redis.port, stack.dir);

    double ceiling = -1, ratio = 0, p50 = 0, p99 = 0, pps = 0, rss_per_vehicle = 0;
    double a_p50 = 0, a_p99 = 0, d_cpu = 0, r_cpu = 0;
    size_t n_alerts = 0;
    int rc_alerts = 0;
    long long rss_before = 0, rss_after = 0;
    struct event *tick = NULL;
    if (provision(&stack) != 0)
        goto out;
    rss_before = proc_rss_bytes(M.dispatchd);
    M.anon_before = proc_status_bytes(M.dispatchd, "RssAnon");
    M.file_before = proc_status_bytes(M.dispatchd, "RssFile");
    if (opt.no_aof) {
        /* Diagnostic only: what the run would do without the append-only file. */
        char reply[128];
        const char *argv_cfg[] = {"CONFIG", "SET", "appendonly", "no"};
        if (harness_redis_cmd(stack.redis.port, reply, sizeof(reply), 4, argv_cfg) != 0 ||
            strcmp(reply, "+OK") != 0) {
            fprintf(stderr, "bench-ingest: CONFIG SET appendonly no failed: %s\n", reply);
            goto out;
        }
        printf("diagnostic: Redis AOF turned off (--no-aof): not the production setup\n");
    }
    long long delayed0 = redis_info_int(stack.redis.port, "aof_delayed_fsync");
    long long rewrites0 = redis_info_int(stack.redis.port, "aof_rewrites");

    B.base = event_base_new();
    if (B.base == NULL)
        goto out;
    tick = event_new(B.base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 50000};
    event_add(tick, &tv);
    B.phase = PH_LOGIN;
    connect_more();
    event_base_dispatch(B.base);
    if (B.phase != PH_DONE || interrupted || (opt.alerts != 1 && B.t1_ns == 0))
        goto out;
    if (opt.alerts == 1)
        goto alerts; /* --alerts: no throughput phase */
    rss_after = M.rss_end;
    long long delayed1 = M.delayed1;
    long long rewrites1 = M.rewrites1;

    double secs = (double)(B.t1_ns - B.t0_ns) / 1e9;
    pps = (double)B.positions / secs;
    qsort(B.lat_ms, B.n_lat, sizeof(double), cmp_double);
    p50 = percentile(B.lat_ms, B.n_lat, 0.50);
    p99 = percentile(B.lat_ms, B.n_lat, 0.99);
    double p999 = percentile(B.lat_ms, B.n_lat, 0.999);
    double lmax = B.n_lat ? B.lat_ms[B.n_lat - 1] : 0;
    d_cpu = M.d_cpu1 - M.d_cpu0;
    r_cpu = M.r_cpu1 - M.r_cpu0;
    double s_cpu = M.self_cpu1 - M.self_cpu0;
    int tracked = B.logged_in;
    rss_per_vehicle = tracked > 0 ? (double)(rss_after - rss_before) / tracked : 0;
    double rss_peak_per_vehicle = tracked > 0 ? (double)(M.rss_peak - rss_before) / tracked : 0;

    printf("\nresults over %.2f s with %d handsets logged in (%d failed):\n", secs, B.logged_in,
           B.dead);
    printf("  stored positions:   %llu (%.0f positions/s), %llu batches acked (%.0f/s)\n",
           (unsigned long long)B.positions, pps, (unsigned long long)B.batches_acked,
           (double)B.batches_acked / secs);
    printf("  ack latency:        p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", p50, p99,
           p999, lmax);
    printf("  CPU (of one core):  dispatchd %.0f %% (%.2f us per position), redis-server "
           "%.0f %%, bench %.0f %%\n",
           100 * d_cpu / secs, pps > 0 ? d_cpu / (double)B.positions * 1e6 : 0, 100 * r_cpu / secs,
           100 * s_cpu / secs);
    double others = (M.m_cpu1 - M.m_cpu0) - d_cpu - r_cpu - s_cpu;
    printf("  machine:            %ld CPUs, %.0f %% busy; other processes used %.2f CPU-s "
           "(%.0f %% of one core)%s\n",
           sysconf(_SC_NPROCESSORS_ONLN),
           100 * (M.m_cpu1 - M.m_cpu0) / secs / (double)sysconf(_SC_NPROCESSORS_ONLN), others,
           100 * others / secs,
           others / secs > 0.2 ? ": the figures are depressed by other load" : "");
    printf("  dispatchd RSS:      %.2f MiB provisioned (registry loaded, no handset), %.2f MiB "
           "logged in, %.2f MiB at the peak of the run, %.2f MiB steady (%d s after the last "
           "Ack, all connected)\n",
           rss_before / 1048576.0, M.rss_login / 1048576.0, M.rss_peak / 1048576.0,
           rss_after / 1048576.0, opt.settle_s);
    printf("  RSS per tracked vehicle: peak %.0f bytes (batches in flight), steady %.0f bytes "
           "(reported below)\n",
           rss_peak_per_vehicle, rss_per_vehicle);
    if (tracked > 0)
        printf("  steady, split:      anonymous (heap, stacks) %+.0f bytes, file-backed (code and "
               "libraries first run by ingest) %+.0f bytes per vehicle\n",
               (double)(M.anon_end - M.anon_before) / tracked,
               (double)(M.file_end - M.file_before) / tracked);
    printf("  Redis AOF during the handset run: %lld rewrites, %lld delayed fsyncs (%s)\n",
           rewrites1 - rewrites0, delayed1 - delayed0,
           opt.no_aof ? "AOF off" : "appendonly yes, appendfsync everysec");
    printf("  errors %llu, unexpected replies %llu, pushed messages (Alert, OrderAssigned) "
           "%llu\n",
           (unsigned long long)B.errors, (unsigned long long)B.unexpected,
           (unsigned long long)B.pushes);
    if (B.first_error[0])
        printf("  first problem: %s\n", B.first_error);

alerts:
    if (opt.alerts >= 0) {
        double asecs = (double)(B.a_t1_ns - B.a_t0_ns) / 1e9;
        qsort(B.a_lat_ms, B.n_alat, sizeof(double), cmp_double);
        qsort(B.a_ack_ms, B.n_aack, sizeof(double), cmp_double);
        a_p50 = percentile(B.a_lat_ms, B.n_alat, 0.50);
        a_p99 = percentile(B.a_lat_ms, B.n_alat, 0.99);
        n_alerts = B.n_alat;
        printf("\nalert phase over %.2f s (paced to %d fixes/s, %d per batch):\n", asecs,
               opt.alert_rate, opt.alert_batch);
        printf("  stored positions:   %.0f positions/s, %.0f batches/s; ack latency p50 %.2f ms, "
               "p99 %.2f ms, max %.2f ms\n",
               asecs > 0 ? (double)B.a_positions / asecs : 0,
               asecs > 0 ? (double)B.a_batches / asecs : 0, percentile(B.a_ack_ms, B.n_aack, 0.50),
               percentile(B.a_ack_ms, B.n_aack, 0.99), B.n_aack ? B.a_ack_ms[B.n_aack - 1] : 0);
        printf("  overspeed alerts:   %llu conditions completed by %llu speeding vehicles; %llu "
               "Alerts (violation start) received, %zu matched, %llu unmatched, %llu missing "
               "(Ack or next completion first); %llu episode ends, %llu other alerts\n",
               (unsigned long long)B.a_expected, (unsigned long long)B.a_speeding,
               (unsigned long long)B.a_start, B.n_alat, (unsigned long long)B.a_unmatched,
               (unsigned long long)B.a_missing, (unsigned long long)B.a_end,
               (unsigned long long)B.a_other);
        printf("  alert latency (send of the batch completing the 10 s condition -> Alert on the "
               "handset): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               a_p50, percentile(B.a_lat_ms, B.n_alat, 0.90), a_p99,
               B.n_alat ? B.a_lat_ms[B.n_alat - 1] : 0);
        printf("targets: alert p99 <= 100 ms at 10000 fixes/s: %s\n", B.n_alat == 0 ? "NOT MEASURED"
                                                                      : a_p99 <= 100 ? "met"
                                                                                     : "MISSED");
        if (B.first_error[0] && opt.alerts == 1)
            printf("  first problem: %s\n", B.first_error);
        rc_alerts = B.a_missing > 0 || B.n_alat == 0;
        if (opt.alerts == 1) {
            rc = B.dead > 0 || B.errors > 0 || rc_alerts ? 1 : 0;
            goto out;
        }
    }

    /* Close the handsets, then measure Redis alone. */
    for (int i = 0; i < B.n; i++)
        if (B.hs[i].bev) {
            bufferevent_free(B.hs[i].bev);
            B.hs[i].bev = NULL;
        }
    char rules_state[4096];
    read_rules_state(stack.redis.port, rules_state, sizeof(rules_state));
    double rb_cpu_us = 0;
    ceiling = redis_ceiling(
        stack.redis.port, rules_state,
        B.batches_acked ? (double)B.positions / (double)B.batches_acked : (double)opt.batch,
        B.members ? (double)B.member_bytes / (double)B.members : 58, &rb_cpu_us);
    if (ceiling > 0) {
        ratio = pps / ceiling;
        printf("  Redis ceiling: %.0f positions/s; ingest reaches %.1f %% of it\n", ceiling,
               100 * ratio);
        /* CPU-normalised view, robust to other load on the machine. */
        double ingest_redis_us = B.positions ? r_cpu / (double)B.positions * 1e6 : 0;
        double d_us = B.positions ? d_cpu / (double)B.positions * 1e6 : 0;
        printf("  per position, CPU: dispatchd %.2f us, Redis %.2f us under ingest vs %.2f us "
               "under redis-benchmark;\n  one core each would carry dispatchd %.0f and Redis "
               "%.0f positions/s (ceiling %.0f)\n",
               d_us, ingest_redis_us, rb_cpu_us, d_us > 0 ? 1e6 / d_us : 0,
               ingest_redis_us > 0 ? 1e6 / ingest_redis_us : 0,
               rb_cpu_us > 0 ? 1e6 / rb_cpu_us : 0);
    }
    printf("targets: positions/s >= 100000: %s; >= 50 %% of Redis: %s; RSS <= 1024 B per "
           "vehicle: %s\n",
           pps >= 100000 ? "met" : "MISSED", ratio >= 0.5 ? "met" : "MISSED",
           rss_per_vehicle <= 1024 ? "met" : "MISSED");
    rc = B.dead > 0 || B.errors > 0 || (opt.alerts == 0 && rc_alerts) ? 1 : 0;

out:
    perf_stop();
    for (int i = 0; i < B.n; i++)
        if (B.hs[i].bev)
            bufferevent_free(B.hs[i].bev);
    if (tick)
        event_free(tick);
    if (B.base)
        event_base_free(B.base);
    if (stack.d.proc.pid > 0 && harness_proc_stop(&stack.d.proc, SIGTERM, 10000) != 0)
        fprintf(stderr, "bench-ingest: dispatchd did not stop cleanly\n");
    if (stack.redis.proc.pid > 0)
        harness_redis_stop(&stack.redis);
    if (opt.keep)
        fprintf(stderr, "bench-ingest: kept %s\n", stack.dir);
    else
        harness_rmdir(stack.dir);
    if (M.pace)
        event_free(M.pace);
    free(B.lat_ms);
    free(B.a_lat_ms);
    free(B.a_ack_ms);
    free(B.hs);
    if (n_alerts > 0 || opt.alerts >= 0)
        printf("bench-ingest-alerts alert_p50_ms=%.2f alert_p99_ms=%.2f alerts=%zu\n", a_p50, a_p99,
               n_alerts);
    printf("bench-ingest positions_per_s=%.0f redis_ratio=%.3f ack_p99_ms=%.2f "
           "rss_per_vehicle_bytes=%.0f\n",
           pps, ratio, p99, rss_per_vehicle);
    return rc;
}
