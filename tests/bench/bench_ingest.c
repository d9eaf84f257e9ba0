/*
 * bench_ingest.c - end-to-end position ingest against a real dispatchd and Redis, with a Redis
 * ceiling that is an exact replay of what dispatchd wrote (issue 11 item 5). See
 * tests/bench/README.md for what every figure means; in short:
 *
 *   1. a private redis-server (the harness's, then the settings of deploy/redis.conf applied
 *      with CONFIG SET) and dispatchd (--dispatchd=PATH or the one built); an enterprise, Z zones
 *      of 20-80 vertices (imported as GeoJSON), M staff each with a zone and a bound vehicle
 *      (CSV imports) and M handsets (POST /v1/devices); the route keys of the N first vehicles
 *      pre-filled with days of fixes (one pipelined connection), then the AOF rewritten;
 *   2. N handsets log in (one libevent loop here). Vehicles drive inside their zone at 30-48
 *      km/h; a share speeds (15 fixes of 45 at ~70 km/h: overspeed alerts) and a share drives
 *      to the neighbouring zone and back (zone-exit alerts). Fix times are 1 Hz from days ago
 *      (7 h of driving a day, a 30 min rest after 3.5 h, so no fatigue rule fires);
 *   3. for each batch size (1, 5, 25): REPS times { the day keys of the run deleted (the same
 *      pre-filled state); closed loop (each handset one batch outstanding) for warm-up +
 *      duration s, the increment of Redis's AOF captured; the day keys deleted again; the
 *      captured warm-up part replayed (untimed), then the measured part replayed and timed,
 *      through ONE pipelined connection into the same Redis }; then two open-loop phases paced
 *      at 50 % and 80 % of the measured rate (Ack latency from the intended send time);
 *   4. memory: VmRSS after the runs with the N handsets connected and idle, then with M: all
 *      send batches (peak sampled), idle again; the slope between the two is per connection.
 *
 * The ratio ingest / replay (the same commands, so ratio = replay time / ingest time) above
 * 1.05 means the replay is no ceiling: the run is refused (exit 3). Last line:
 *   bench-ingest batch=<b> positions_per_s=.. batches_per_s=.. redis_ratio=..
 *     ack_p99_ms_at50=.. ack_p99_ms_at80=.. queue_delay_p99_ms=.. rss_per_conn_bytes=..
 *     rss_peak_mib=.. rss_peak_per_conn_bytes=..
 * Not a test; run it from a Release build without sanitizers.
 */
#define _GNU_SOURCE /* getrusage, M_PI, setenv, memmem */

#include "bench_util.h"
#include "harness.h"
#include "frame.h"
#include "lpg/v1/envelope.pb-c.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_REDIS_CONF
#error "BENCH_REDIS_CONF (path of deploy/redis.conf) must be defined by the build"
#endif

#define WINDOW_MAX     8
#define BATCH_MAX      100
#define LOGIN_PARALLEL 24 /* below handset_max_unauthenticated_per_address (32) */
#define SIZES_MAX      8
#define KEY_PREFIX     "lpg:"
#define DAY_MS         86400000LL

/* Enterprise area (the supply area of every zone). */
#define AREA_LON0 119.6
#define AREA_LON1 119.9
#define AREA_LAT0 49.15
#define AREA_LAT1 49.3
#define M_PER_DEG 111195.0

/* Overspeed: OVER_FIXES of every CYCLE_FIXES at ~70 km/h (the rule: 60 km/h, 10 s, 3 fixes). */
#define OVER_FIXES  15
#define CYCLE_FIXES 45
#define OVER_SPEED  19.5
#define LEG_FIXES   600 /* zone leavers: 10 min (fix time) at home, 10 min at the neighbour's */

/* ---- options ---- */

static struct {
    int connections, mem_connections, warmup_s, duration_s, paced_s, settle_s, reps;
    int n_sizes, sizes[SIZES_MAX], headline;
    int zones, alert_share_pct, prefill_days, prefill_fixes, days_back, maxmemory_mib;
    int keep;
    const char *dispatchd;
    double max_ratio; /* refused above it */
} opt = {1000, 10000, 5, 60, 15, 3, 2, 3, {1, 5, 25}, 5, 50, 5, 2, 1800, 8, 8192, 0, NULL, 1.05};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- clocks, /proc ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* p-quantile of v (sorted here), 0 when empty. */
static double quantile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), bench_cmp_double);
    size_t i = (size_t)ceil(p * (double)n);
    return v[i > 0 ? (i <= n ? i - 1 : n - 1) : 0];
}

/* The middle value, or the mean of the two middle ones. */
static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- zones and simulated vehicles ---- */

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) /* xorshift64*, [0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

struct zone {
    double lat, lon, r_m; /* centre; the shape lies between 0.6 and 1.0 r_m from it */
    int n_vertices;
};
static struct zone *zones;

static double m_per_deg_lon(double lat)
{
    return M_PER_DEG * cos(lat * M_PI / 180);
}

/* Z zones on a grid over the area, each a star-shaped (hence simple) polygon of 20-80 vertices
 * around its cell's centre: radius r_m (0.8 + 0.1 sin(3a + k) + 0.1 sin(7a + 2k)). */
static void zones_init(void)
{
    int cols = (int)ceil(sqrt(opt.zones * 2.0)), rows = (opt.zones + cols - 1) / cols;
    double cw = (AREA_LON1 - AREA_LON0) / cols, ch = (AREA_LAT1 - AREA_LAT0) / rows;
    double mid = (AREA_LAT0 + AREA_LAT1) / 2;
    double r = 0.42 * fmin(cw * m_per_deg_lon(mid), ch * M_PER_DEG);
    for (int k = 0; k < opt.zones; k++) {
        zones[k].lon = AREA_LON0 + cw * (k % cols + 0.5);
        zones[k].lat = AREA_LAT0 + ch * (k / cols + 0.5);
        zones[k].r_m = r;
        zones[k].n_vertices = 20 + (k * 37) % 61;
    }
}

static void zone_vertex(int k, int j, double *lon, double *lat)
{
    const struct zone *z = &zones[k];
    double a = 2 * M_PI * j / z->n_vertices;
    double r = z->r_m * (0.8 + 0.1 * sin(3 * a + k) + 0.1 * sin(7 * a + 2 * k));
    *lon = z->lon + r * cos(a) / m_per_deg_lon(z->lat);
    *lat = z->lat + r * sin(a) / M_PER_DEG;
}

enum vclass { V_NORMAL, V_SPEEDER, V_LEAVER };

struct vehicle_sim {
    double lat, lon, heading, speed; /* degrees, degrees from north, m/s */
    int64_t t_ms;                    /* time of the next fix */
    int zone, cls, over, cycle_pos;
    long fixes;
};

static int64_t sim_day0_ms; /* 00:00 UTC of the first day of driving */
static long exhausted;      /* fixes that had to be clamped to the clock */

static void sim_init(struct vehicle_sim *v, int i)
{
    int every = opt.alert_share_pct > 0 ? 100 / opt.alert_share_pct : 0;
    v->zone = i % opt.zones;
    v->cls = every > 0 && i % every == every / 2   ? V_SPEEDER
             : every > 0 && i % every == every / 4 ? V_LEAVER
                                                   : V_NORMAL;
    const struct zone *z = &zones[v->zone];
    double a = rnd() * 2 * M_PI, d = rnd() * 0.3 * z->r_m;
    v->lat = z->lat + d * sin(a) / M_PER_DEG;
    v->lon = z->lon + d * cos(a) / m_per_deg_lon(z->lat);
    v->heading = rnd() * 360;
    v->speed = 8.5 + rnd() * 5; /* 30..48 km/h */
    v->t_ms = sim_day0_ms + (int64_t)(rnd() * 60000);
    v->cycle_pos = (int)(rnd() * CYCLE_FIXES);
}

/* One second of driving: the heading drifts and turns towards the target (the zone's centre,
 * or for a leaver every other LEG_FIXES the neighbouring zone's) once farther than 0.45 r_m;
 * then the next fix time: 1 s later, but a 30 min rest at 03:30 UTC and the end of the day
 * at 07:30 UTC (7 h of driving a day, 3.5 h at most without a rest). */
static void sim_step(struct vehicle_sim *v, int64_t now_ms)
{
    v->fixes++;
    if (v->cls == V_SPEEDER) {
        v->over = v->cycle_pos < OVER_FIXES;
        v->cycle_pos = (v->cycle_pos + 1) % CYCLE_FIXES;
    }
    v->heading += (rnd() - 0.5) * 10;
    if (v->over)
        v->speed = OVER_SPEED + (rnd() - 0.5) * 0.4;
    else {
        v->speed += (rnd() - 0.5) * 0.6;
        v->speed = v->speed < 8.5 ? 8.5 : v->speed > 13.3 ? 13.3 : v->speed;
    }
    int target = v->zone;
    if (v->cls == V_LEAVER && (v->fixes / LEG_FIXES) % 2 == 1)
        target = (v->zone + 1) % opt.zones;
    const struct zone *z = &zones[target];
    double dy = (z->lat - v->lat) * M_PER_DEG, dx = (z->lon - v->lon) * m_per_deg_lon(v->lat);
    if (sqrt(dx * dx + dy * dy) > 0.45 * z->r_m)
        v->heading = atan2(dx, dy) * 180 / M_PI + (rnd() - 0.5) * 30;
    v->heading = fmod(v->heading + 720, 360);
    double h = v->heading * M_PI / 180;
    v->lat += v->speed * cos(h) / M_PER_DEG;
    v->lon += v->speed * sin(h) / m_per_deg_lon(v->lat);
    int64_t t = v->t_ms + 1000, tod = t % DAY_MS;
    if (tod >= 12600000 && tod < 14400000)
        t += 14400000 - tod;
    else if (tod >= 27000000)
        t += DAY_MS - tod;
    if (t > now_ms - 120000) { /* out of days: stay valid, but say so */
        exhausted++;
        t = v->t_ms + 1000 < now_ms ? v->t_ms + 1000 : v->t_ms + 1;
    }
    v->t_ms = t;
}

/* ---- handsets ---- */

enum hs_state { HS_IDLE, HS_CONNECTING, HS_HELLO, HS_READY, HS_DEAD };
enum mode { MODE_IDLE, MODE_CLOSED, MODE_PACED };

struct handset {
    int idx;
    enum hs_state state;
    struct bufferevent *bev;
    char device[16];
    char secret[64];
    uint64_t next_req, next_seq, acked;
    int outstanding;
    uint64_t req_ring[WINDOW_MAX];
    int64_t sent_ns[WINDOW_MAX], due_ns[WINDOW_MAX];
    int64_t next_due_ns;  /* paced */
    int64_t deferred_due; /* paced: the due batch last held back by a full window */
    struct vehicle_sim sim;
    /* overspeed: which batch completes the rule's condition (alert latency, paced phases) */
    int64_t run_start_ms;
    int run_n, run_done;
    int64_t alert_sent_ns;
    uint64_t alert_req;
};

static struct {
    struct event_base *base;
    struct handset *hs;
    int n;      /* handsets allocated (mem_connections) */
    int lo, hi; /* the handsets taking part in the current phase */
    int handset_port;
    enum mode mode;
    int measuring, batch_now, sample_peak;
    int next_to_connect, connect_hi, logging_in, logged_in, dead;
    int64_t period_ns; /* paced: per handset */
    /* the measured window */
    uint64_t positions, batches, alerts, deferred;
    double *lat, *lat_send, *alert_lat;
    size_t n_lat, cap_lat, n_lat_send, cap_lat_send, n_alert_lat, cap_alert_lat;
    /* totals */
    uint64_t errors, unexpected, alerts_overspeed, alerts_zone, alerts_other;
    char first_error[200];
    long long rss_peak;
} B;

static struct {
    pid_t dispatchd, redis;
    int redis_port;
    char dir[256];
} S;

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
    static uint8_t buf[LPG_FRAME_HEADER_SIZE + 80 * BATCH_MAX + 256];
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

/* Sends one batch of B.batch_now fixes; due_ns is when it was meant to go (paced), or now. */
static void send_batch(struct handset *h, int64_t due_ns)
{
    Lpg__V1__Fix fixes[BATCH_MAX], *ptrs[BATCH_MAX];
    int64_t now = wall_ms();
    int completes = 0;
    for (int i = 0; i < B.batch_now; i++) {
        Lpg__V1__Fix *f = &fixes[i];
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
        /* The overspeed condition as the rule sees it (60 km/h for 10 s and 3 fixes). */
        if (f->speed_cm_s * 0.036 > 60.0) {
            if (h->run_n++ == 0)
                h->run_start_ms = (int64_t)f->time_ms;
            if (!h->run_done && (int64_t)f->time_ms - h->run_start_ms >= 10000 && h->run_n >= 3) {
                h->run_done = 1;
                completes = 1;
            }
        } else {
            h->run_n = h->run_done = 0;
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
    h->sent_ns[slot] = bench_mono_ns();
    h->due_ns[slot] = due_ns ? due_ns : h->sent_ns[slot];
    if (send_env(h, &env) != 0) {
        hs_fail(h, "cannot send a batch");
        return;
    }
    h->outstanding++;
    if (completes) {
        h->alert_sent_ns = h->sent_ns[slot];
        h->alert_req = env.request_id;
    }
}

static int in_phase(const struct handset *h)
{
    return h->idx >= B.lo && h->idx < B.hi && h->state == HS_READY;
}

static void fill_window(struct handset *h)
{
    if (B.mode == MODE_CLOSED && in_phase(h) && h->outstanding == 0)
        send_batch(h, 0);
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

static void connect_more(void);

static void handle_env(struct handset *h, const Lpg__V1__Envelope *env)
{
    int64_t now = bench_mono_ns();
    switch (env->body_case) {
    case LPG__V1__ENVELOPE__BODY_ACK: {
        const Lpg__V1__Ack *ack = env->ack;
        if (h->state == HS_HELLO) {
            h->state = HS_READY;
            B.logging_in--;
            B.logged_in++;
            connect_more();
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
        h->acked += adv;
        if (h->alert_sent_ns != 0 && h->alert_req == ack->ack_seq)
            h->alert_sent_ns = 0; /* the Alert comes before the batch's Ack: none came */
        if (B.measuring) {
            B.positions += adv;
            B.batches++;
            push_double(&B.lat, &B.n_lat, &B.cap_lat, (double)(now - h->due_ns[slot]) / 1e6);
            push_double(&B.lat_send, &B.n_lat_send, &B.cap_lat_send,
                        (double)(now - h->sent_ns[slot]) / 1e6);
        }
        fill_window(h);
        return;
    }
    case LPG__V1__ENVELOPE__BODY_ERROR: {
        const Lpg__V1__Error *e = env->error;
        B.errors++;
        if (B.first_error[0] == '\0')
            snprintf(B.first_error, sizeof(B.first_error), "%s: Error %d \"%s\"", h->device,
                     (int)e->code, e->message ? e->message : "");
        if (e->fatal) {
            hs_fail(h, "fatal Error");
            connect_more();
            return;
        }
        if (h->outstanding > 0)
            h->outstanding--;
        fill_window(h);
        return;
    }
    case LPG__V1__ENVELOPE__BODY_ALERT: {
        const Lpg__V1__Alert *a = env->alert;
        int overspeed = a->kind && strcmp(a->kind, "overspeed") == 0;
        if (B.measuring)
            B.alerts++;
        if (overspeed)
            B.alerts_overspeed++;
        else if (a->kind && strcmp(a->kind, "zone_exit") == 0)
            B.alerts_zone++;
        else
            B.alerts_other++;
        if (overspeed && a->has_severity && a->severity == 2 && h->alert_sent_ns != 0) {
            if (B.measuring && B.mode == MODE_PACED)
                push_double(&B.alert_lat, &B.n_alert_lat, &B.cap_alert_lat,
                            (double)(now - h->alert_sent_ns) / 1e6);
            h->alert_sent_ns = 0;
        }
        return;
    }
    default:
        return; /* OrderAssigned and the like: pushed, not an answer */
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
        hs_fail(h, what & BEV_EVENT_EOF ? "closed by the server" : strerror(errno));
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

static void connect_more(void)
{
    while (B.next_to_connect < B.connect_hi && B.logging_in < LOGIN_PARALLEL)
        connect_one(&B.hs[B.next_to_connect++]);
}

/* ---- the event loop, driven from main in sequence ---- */

static void run_ms(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_base_loopexit(B.base, &tv);
    event_base_dispatch(B.base);
}

static int in_flight(void)
{
    int busy = 0;
    for (int i = 0; i < B.n; i++)
        busy += B.hs[i].state == HS_READY && B.hs[i].outstanding > 0;
    return busy;
}

/* Lets every batch in flight be answered (at most 20 s). */
static void drain(void)
{
    B.mode = MODE_IDLE;
    int64_t deadline = bench_mono_ns() + 20000000000LL;
    while (in_flight() > 0 && bench_mono_ns() < deadline && !interrupted)
        run_ms(20);
    if (in_flight() > 0)
        fprintf(stderr, "bench-ingest: %d handsets still wait for an Ack\n", in_flight());
}

/* Logs in handsets [from, to). */
static int login(int from, int to)
{
    int64_t t0 = bench_mono_ns();
    B.next_to_connect = from;
    B.connect_hi = to;
    int before = B.logged_in + B.dead;
    connect_more();
    while (B.logged_in + B.dead - before < to - from && !interrupted) {
        if (bench_mono_ns() - t0 > 120000000000LL) {
            fprintf(stderr, "bench-ingest: logins did not finish within 120 s\n");
            return -1;
        }
        run_ms(20);
    }
    printf("logged in: handsets %d..%d (%d in all, %d failed) in %.1f s%s%s\n", from, to - 1,
           B.logged_in, B.dead, (double)(bench_mono_ns() - t0) / 1e9,
           B.dead ? "; first problem: " : "", B.dead ? B.first_error : "");
    return B.dead > 0 ? -1 : 0;
}

/* ---- Redis: commands, the shipped settings, one pipelined connection ---- */

static int redis_cmd(char *reply, size_t cap, int argc, const char *const argv[])
{
    return harness_redis_cmd(S.redis_port, reply, cap, argc, argv);
}

/* An integer field of INFO (default sections), or -1. harness_redis_cmd keeps only a bulk
 * reply's first line: read the whole text here. */
static long long redis_info_int(const char *field)
{
    int fd = harness_tcp_connect(S.redis_port);
    if (fd < 0)
        return -1;
    static char buf[65536];
    size_t used = 0;
    long long v = -1;
    if (harness_send_all(fd, "INFO\r\n", 6) == 0) {
        int64_t deadline = bench_mono_ns() + 5000000000LL;
        while (used < sizeof(buf) - 1 && bench_mono_ns() < deadline) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (poll(&pfd, 1, 100) <= 0)
                continue;
            ssize_t r = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
            if (r <= 0)
                break;
            used += (size_t)r;
            buf[used] = '\0';
            long long len = buf[0] == '$' ? strtoll(buf + 1, NULL, 10) : -1;
            const char *body = strstr(buf, "\r\n");
            if (len >= 0 && body && (size_t)(body + 2 - buf) + (size_t)len <= used)
                break;
        }
        buf[used] = '\0';
        char pat[96];
        snprintf(pat, sizeof(pat), "\n%s:", field);
        const char *at = strstr(buf, pat);
        if (at)
            v = strtoll(at + strlen(pat), NULL, 10);
    }
    close(fd);
    return v;
}

/* Applies deploy/redis.conf with CONFIG SET: every directive but the ones about where the
 * server listens, its files and its password (the bench's own Redis listens on a free
 * loopback port in a temp dir, without a password). maxmemory is raised to --maxmemory-mib
 * when that is larger: one 60 s phase at 25 fixes per batch stores ~20 M positions (~3.5 GB,
 * docs/scaling.md), more than the shipped 4 GB holds besides the pre-filled days. */
static int redis_apply_shipped_conf(void)
{
    static const char *const skip[] = {"bind",        "port",       "protected-mode", "daemonize",
                                       "requirepass", "dir",        "logfile",        "pidfile",
                                       "supervised",  "unixsocket", "unixsocketperm", "include",
                                       NULL};
    FILE *f = fopen(BENCH_REDIS_CONF, "r");
    if (f == NULL) {
        fprintf(stderr, "bench-ingest: %s: %s\n", BENCH_REDIS_CONF, strerror(errno));
        return -1;
    }
    char line[512], save[256] = "", applied[1024] = "";
    int rc = 0;
    while (fgets(line, sizeof(line), f) && rc == 0) {
        char key[64], val[256];
        if (sscanf(line, " %63s %255[^\n]", key, val) != 2 || key[0] == '#')
            continue;
        size_t vl = strlen(val);
        while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\r'))
            val[--vl] = '\0';
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            memmove(val, val + 1, vl - 2);
            val[vl - 2] = '\0';
        }
        int skipped = 0;
        for (int i = 0; skip[i]; i++)
            skipped |= strcmp(key, skip[i]) == 0;
        if (skipped)
            continue;
        if (strcmp(key, "save") == 0) { /* one CONFIG SET for all the save lines */
            snprintf(save + strlen(save), sizeof(save) - strlen(save), "%s%s", save[0] ? " " : "",
                     val);
            continue;
        }
        if (strcmp(key, "maxmemory") == 0) {
            long long want = (long long)opt.maxmemory_mib << 20;
            long long v = strtoll(val, NULL, 10);
            const char *unit = val + strspn(val, "0123456789");
            v <<= *unit == 'g' || *unit == 'G' ? 30 : *unit == 'm' || *unit == 'M' ? 20 : 0;
            if (v < want) {
                printf("redis: maxmemory %s raised to %d MiB (--maxmemory-mib)\n", val,
                       opt.maxmemory_mib);
                snprintf(val, sizeof(val), "%lld", want);
            }
        }
        char reply[256];
        const char *argv[] = {"CONFIG", "SET", key, val};
        if (redis_cmd(reply, sizeof(reply), 4, argv) != 0 || strcmp(reply, "+OK") != 0) {
            fprintf(stderr, "bench-ingest: CONFIG SET %s %s: %s\n", key, val, reply);
            rc = -1;
        }
        snprintf(applied + strlen(applied), sizeof(applied) - strlen(applied), " %s=%s", key, val);
    }
    fclose(f);
    if (rc == 0 && save[0]) {
        char reply[256];
        const char *argv[] = {"CONFIG", "SET", "save", save};
        if (redis_cmd(reply, sizeof(reply), 4, argv) != 0 || strcmp(reply, "+OK") != 0) {
            fprintf(stderr, "bench-ingest: CONFIG SET save %s: %s\n", save, reply);
            rc = -1;
        }
        snprintf(applied + strlen(applied), sizeof(applied) - strlen(applied), " save=\"%s\"",
                 save);
    }
    if (rc == 0)
        printf("redis: settings of %s applied:%s\n", BENCH_REDIS_CONF, applied);
    return rc;
}

/* Waits until no AOF rewrite nor RDB save runs (at most 10 min). */
static void redis_wait_bg(void)
{
    int64_t deadline = bench_mono_ns() + 600000000000LL;
    while (bench_mono_ns() < deadline && !interrupted &&
           (redis_info_int("aof_rewrite_in_progress") > 0 ||
            redis_info_int("rdb_bgsave_in_progress") > 0 ||
            redis_info_int("aof_rewrite_scheduled") > 0))
        harness_sleep_ms(100);
}

/* A stretch of a file of RESP commands (an AOF increment, or a file written here). */
struct seg {
    int fd;
    off_t start, end;
};

struct replay_count {
    long long commands, route_members, bytes, errors;
    long long tail; /* bytes of an incomplete last command, not sent */
};

/* Length of the complete RESP command at p (n bytes available), 0 when incomplete, -1 when
 * malformed. Counts the members of a ZADD to a route key; *in_multi follows MULTI ... EXEC. */
static long long resp_command(const char *p, size_t n, struct replay_count *c, int *in_multi)
{
    const char *end = p + n, *q = p;
    if (q >= end)
        return 0;
    if (*q != '*')
        return -1;
    char *nx;
    long argc = strtol(q + 1, &nx, 10);
    if (nx + 2 > end)
        return 0;
    if (nx[0] != '\r' || argc < 1)
        return -1;
    q = nx + 2;
    int zadd_route = 0;
    for (long i = 0; i < argc; i++) {
        if (q >= end)
            return 0;
        if (*q != '$')
            return -1;
        long len = strtol(q + 1, &nx, 10);
        if (nx + 2 > end)
            return 0;
        if (nx[0] != '\r' || len < 0)
            return -1;
        q = nx + 2;
        if (q + len + 2 > end)
            return 0;
        if (i == 0) {
            zadd_route = len == 4 && strncasecmp(q, "ZADD", 4) == 0;
            if (len == 5 && strncasecmp(q, "MULTI", 5) == 0)
                *in_multi = 1;
            else if ((len == 4 && strncasecmp(q, "EXEC", 4) == 0) ||
                     (len == 7 && strncasecmp(q, "DISCARD", 7) == 0))
                *in_multi = 0;
        } else if (i == 1 && zadd_route)
            zadd_route = memmem(q, (size_t)len, ":route:", 7) != NULL;
        q += len + 2;
    }
    c->commands++;
    if (zadd_route)
        c->route_members += (argc - 2) / 2;
    return q - p;
}

/* Sends the complete commands of segs through ONE connection, pipelined (writing while the
 * replies are read), then ECHO of a token, and waits for the token: every command has been
 * executed. A mark is the AOF's size when it was read, which can fall inside a large write()
 * still being copied (Redis writes seconds of commands at once after a postponed fsync): an
 * incomplete last command or transaction is left out, its length returned in cnt->tail.
 * Returns the seconds from the first byte sent to the token, or -1. */
static double redis_pipe(const struct seg *segs, int nseg, struct replay_count *cnt)
{
    enum { BUF = 4 << 20 };
    memset(cnt, 0, sizeof(*cnt));
    int fd = harness_tcp_connect(S.redis_port);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    char *out = malloc(BUF), *in = malloc(65536);
    if (out == NULL || in == NULL) {
        free(out);
        free(in);
        close(fd);
        return -1;
    }
    static unsigned token_n;
    char token[64], token_cmd[128];
    snprintf(token, sizeof(token), "bench-ingest-end-%u-%d", ++token_n, (int)getpid());
    int tcl = snprintf(token_cmd, sizeof(token_cmd), "*2\r\n$4\r\nECHO\r\n$%zu\r\n%s\r\n",
                       strlen(token), token);
    size_t olen = 0, osent = 0, parsed = 0;
    int si = 0, token_queued = 0, found = 0, bad = 0;
    off_t pos = nseg > 0 ? segs[0].start : 0;
    char tail[128] = ""; /* the last bytes read, so a token split across reads is found */
    size_t tl = 0;
    int64_t t0 = bench_mono_ns(), progress = t0;
    while (!found && !bad && !interrupted) {
        if (bench_mono_ns() - progress > 120000000000LL) {
            fprintf(stderr, "bench-ingest: Redis answered nothing for 120 s\n");
            break;
        }
        if (osent == parsed && !token_queued) {
            /* Every complete command read so far is sent: keep the start of an incomplete one
             * (not sent) and read on. */
            size_t keep = olen - parsed;
            memmove(out, out + parsed, keep);
            olen = keep;
            osent = parsed = 0;
            while (si < nseg && pos >= segs[si].end && ++si < nseg)
                pos = segs[si].start;
            if (si < nseg) {
                size_t want = BUF - olen;
                if ((off_t)want > segs[si].end - pos)
                    want = (size_t)(segs[si].end - pos);
                ssize_t r = pread(segs[si].fd, out + olen, want, pos);
                if (r <= 0) {
                    bad = 1;
                    break;
                }
                pos += r;
                cnt->bytes += r;
                olen += (size_t)r;
                /* Whole transactions only: a cut between MULTI and EXEC would leave the
                 * connection inside a transaction (the token's ECHO only QUEUED). The counts
                 * of a unit are committed once it is complete. */
                size_t at = parsed;
                int in_multi = 0;
                struct replay_count unit = {0};
                for (;;) {
                    long long l = resp_command(out + at, olen - at, &unit, &in_multi);
                    if (l < 0) {
                        fprintf(stderr, "bench-ingest: not RESP at a command start\n");
                        bad = 1;
                    }
                    if (l <= 0)
                        break;
                    at += (size_t)l;
                    if (!in_multi) {
                        parsed = at;
                        cnt->commands += unit.commands;
                        cnt->route_members += unit.route_members;
                        unit = (struct replay_count){0};
                    }
                }
            } else {
                /* The input ended inside a command or a transaction (a mark taken while Redis
                 * was still writing it): not sent; the caller starts the next stretch there. */
                cnt->tail = (long long)olen;
                memcpy(out, token_cmd, (size_t)tcl);
                olen = parsed = (size_t)tcl;
                osent = 0;
                token_queued = 1;
            }
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (osent < parsed ? POLLOUT : 0)};
        if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
            break;
        if (pfd.revents & POLLOUT) {
            ssize_t w = send(fd, out + osent, parsed - osent, MSG_NOSIGNAL);
            if (w > 0) {
                osent += (size_t)w;
                progress = bench_mono_ns();
            } else if (w < 0 && errno != EAGAIN && errno != EINTR)
                bad = 1;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, in, 65536, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                bad = 1;
                break;
            }
            if (r < 0)
                continue;
            progress = bench_mono_ns();
            /* Errors: a reply line starting with '-' (write replies hold no bulk text). */
            for (ssize_t i = 0; i < r; i++)
                if (in[i] == '-' &&
                    ((i == 0 && (tl == 0 || tail[tl - 1] == '\n')) || (i > 0 && in[i - 1] == '\n')))
                    cnt->errors++;
            char look[65536 + 128];
            memcpy(look, tail, tl);
            memcpy(look + tl, in, (size_t)r);
            size_t ll = tl + (size_t)r;
            if (token_queued && memmem(look, ll, token, strlen(token)) != NULL)
                found = 1;
            tl = ll < 100 ? ll : 100;
            memcpy(tail, look + ll - tl, tl);
        }
    }
    double secs = (double)(bench_mono_ns() - t0) / 1e9;
    free(out);
    free(in);
    close(fd);
    if (!found) {
        fprintf(stderr, "bench-ingest: the pipelined connection failed\n");
        return -1;
    }
    return secs;
}

/* Writes buf to a new file in the bench's dir and sends it through redis_pipe. */
static double redis_pipe_file(const char *name, FILE *f, struct replay_count *cnt)
{
    fflush(f);
    struct seg s = {fileno(f), 0, ftello(f)};
    (void)name;
    return redis_pipe(&s, 1, cnt);
}

static void resp_begin(FILE *f, int argc)
{
    fprintf(f, "*%d\r\n", argc);
}

static void resp_arg(FILE *f, const char *s)
{
    fprintf(f, "$%zu\r\n%s\r\n", strlen(s), s);
}

static void day_str(int64_t ms, char out[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d", &tm);
}

/* Deletes the route keys of the days driven in the run (from sim_day0_ms to today) of the
 * first opt.connections vehicles: the pre-filled state again (vehicle positions, seqs and rule
 * states are overwritten by every phase; alerts stay, a few MB). */
static int restore_prefilled(void)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/restore.resp", S.dir);
    FILE *f = fopen(path, "w+");
    if (f == NULL)
        return -1;
    for (int64_t day = sim_day0_ms; day <= wall_ms(); day += DAY_MS) {
        char ds[16];
        day_str(day, ds);
        for (int i = 0; i < opt.connections; i += 100) {
            int n = opt.connections - i < 100 ? opt.connections - i : 100;
            resp_begin(f, n + 1);
            resp_arg(f, "DEL");
            for (int j = i; j < i + n; j++) {
                char key[96];
                snprintf(key, sizeof(key), KEY_PREFIX "route:V-%s:%s", B.hs[j].device, ds);
                resp_arg(f, key);
            }
        }
    }
    struct replay_count c;
    double s = redis_pipe_file(path, f, &c);
    fclose(f);
    unlink(path);
    return s < 0 || c.errors ? -1 : 0;
}

/* Pre-fills the route keys of the first opt.connections vehicles with opt.prefill_fixes fixes
 * a day for the opt.prefill_days days before the run's first day, as ingest stores them, then
 * rewrites the AOF (as a Redis that has run for days would have). */
static int prefill(void)
{
    if (opt.prefill_days == 0 || opt.prefill_fixes == 0)
        return 0;
    char path[300];
    snprintf(path, sizeof(path), "%s/prefill.resp", S.dir);
    FILE *f = fopen(path, "w+");
    if (f == NULL)
        return -1;
    int64_t t0 = bench_mono_ns();
    long long before = redis_info_int("used_memory");
    for (int i = 0; i < opt.connections; i++) {
        struct vehicle_sim v;
        sim_init(&v, i);
        uint64_t seq = 1;
        for (int d = opt.prefill_days; d >= 1; d--) {
            int64_t day = sim_day0_ms - d * DAY_MS;
            char ds[16], key[96];
            day_str(day, ds);
            snprintf(key, sizeof(key), KEY_PREFIX "route:V-%s:%s", B.hs[i].device, ds);
            v.t_ms = day + (int64_t)(rnd() * 60000);
            for (int k = 0; k < opt.prefill_fixes; k += 500) {
                int n = opt.prefill_fixes - k < 500 ? opt.prefill_fixes - k : 500;
                resp_begin(f, 2 + 2 * n);
                resp_arg(f, "ZADD");
                resp_arg(f, key);
                for (int j = 0; j < n; j++) {
                    char score[32], member[160];
                    snprintf(score, sizeof(score), "%lld", (long long)v.t_ms);
                    snprintf(member, sizeof(member), "%llu:%lld:%ld:%ld:%ld:%ld:%d:3:0",
                             (unsigned long long)seq++, (long long)v.t_ms, lround(v.lat * 1e7),
                             lround(v.lon * 1e7), lround(v.speed * 100), lround(v.heading * 100),
                             300 + (int)(rnd() * 500));
                    resp_arg(f, score);
                    resp_arg(f, member);
                    sim_step(&v, v.t_ms + DAY_MS);
                }
            }
            char exp[32];
            snprintf(exp, sizeof(exp), "%lld", (long long)((day + DAY_MS) / 1000 + 184 * 86400));
            resp_begin(f, 3);
            resp_arg(f, "EXPIREAT");
            resp_arg(f, key);
            resp_arg(f, exp);
        }
    }
    struct replay_count c;
    double s = redis_pipe_file(path, f, &c);
    fclose(f);
    unlink(path);
    if (s < 0 || c.errors) {
        fprintf(stderr, "bench-ingest: pre-filling failed (%lld errors)\n", c.errors);
        return -1;
    }
    char reply[256];
    const char *argv[] = {"BGREWRITEAOF"};
    redis_cmd(reply, sizeof(reply), 1, argv);
    harness_sleep_ms(200);
    redis_wait_bg();
    long long after = redis_info_int("used_memory");
    printf("pre-filled: %lld route fixes (%d vehicles x %d days x %d), %.0f MiB of Redis, "
           "%.1f s (AOF rewritten)\n",
           c.route_members, opt.connections, opt.prefill_days, opt.prefill_fixes,
           (double)(after - before) / 1048576.0, (double)(bench_mono_ns() - t0) / 1e9);
    return 0;
}

/* ---- capture of the AOF increment ---- */

static struct {
    struct seg segs[64];
    int nseg, active;
    char name[256];
} AOF;

struct aof_mark {
    int seg;
    off_t off;
};

/* The newest increment file named by the manifest (Redis 7 multi-part AOF). */
static int aof_newest(char *out, size_t cap)
{
    char path[400], line[512];
    snprintf(path, sizeof(path), "%s/appendonlydir/appendonly.aof.manifest", S.dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int found = -1;
    while (fgets(line, sizeof(line), f)) {
        char name[256], type[8];
        if (sscanf(line, "file %255s seq %*d type %7s", name, type) == 2 && type[0] == 'i') {
            snprintf(out, cap, "%s", name);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static off_t fd_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Follows a switch to a new increment file (an AOF rewrite started): the old one is complete
 * (Redis writes only the new one from then on) and stays readable through our descriptor after
 * the rewrite deletes it. Called every 50 ms and at every mark. */
static void aof_poll(void)
{
    char name[256];
    if (!AOF.active || aof_newest(name, sizeof(name)) != 0 || strcmp(name, AOF.name) == 0)
        return;
    char path[600];
    snprintf(path, sizeof(path), "%s/appendonlydir/%s", S.dir, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || AOF.nseg == (int)(sizeof(AOF.segs) / sizeof(AOF.segs[0]))) {
        fprintf(stderr, "bench-ingest: cannot follow the AOF to %s\n", name);
        if (fd >= 0)
            close(fd);
        return;
    }
    struct seg *last = &AOF.segs[AOF.nseg - 1];
    last->end = fd_size(last->fd);
    AOF.segs[AOF.nseg++] = (struct seg){fd, 0, -1};
    snprintf(AOF.name, sizeof(AOF.name), "%s", name);
}

static int aof_begin(struct aof_mark *m)
{
    char path[600];
    if (aof_newest(AOF.name, sizeof(AOF.name)) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/appendonlydir/%s", S.dir, AOF.name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    AOF.segs[0] = (struct seg){fd, fd_size(fd), -1};
    AOF.nseg = 1;
    AOF.active = 1;
    *m = (struct aof_mark){0, AOF.segs[0].start};
    return 0;
}

static void aof_mark(struct aof_mark *m)
{
    aof_poll();
    *m = (struct aof_mark){AOF.nseg - 1, fd_size(AOF.segs[AOF.nseg - 1].fd)};
}

/* The stretches between two marks. */
static int aof_range(struct aof_mark a, struct aof_mark b, struct seg *out)
{
    int n = 0;
    for (int i = a.seg; i <= b.seg; i++)
        out[n++] = (struct seg){AOF.segs[i].fd, i == a.seg ? a.off : 0,
                                i == b.seg ? b.off : AOF.segs[i].end};
    return n;
}

static void aof_end(void)
{
    for (int i = 0; i < AOF.nseg; i++)
        close(AOF.segs[i].fd);
    AOF.nseg = AOF.active = 0;
}

/* ---- periodic: peak RSS, following the AOF ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (interrupted)
        event_base_loopbreak(B.base);
    if (B.sample_peak) {
        long long rss = bench_proc_status_bytes(S.dispatchd, "VmRSS");
        if (rss > B.rss_peak)
            B.rss_peak = rss;
    }
    aof_poll();
}

/* Paced phases: every 1 ms, the batches that are due (open loop: a batch goes when due even
 * while earlier ones wait for their Ack, up to WINDOW_MAX outstanding). */
static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (B.mode != MODE_PACED)
        return;
    int64_t now = bench_mono_ns();
    for (int i = B.lo; i < B.hi; i++) {
        struct handset *h = &B.hs[i];
        while (in_phase(h) && now >= h->next_due_ns) {
            if (h->outstanding >= WINDOW_MAX) {
                if (h->deferred_due != h->next_due_ns) /* count each batch held back once */
                    B.deferred++;
                h->deferred_due = h->next_due_ns;
                break;
            }
            send_batch(h, h->next_due_ns);
            h->next_due_ns += B.period_ns;
        }
    }
}

/* ---- phases ---- */

struct cpu_mark {
    double d, r, self, machine;
    int64_t t;
};

static void cpu_mark(struct cpu_mark *c)
{
    c->d = bench_proc_cpu_s(S.dispatchd);
    c->r = bench_proc_cpu_s(S.redis);
    c->self = bench_self_cpu_s();
    c->machine = bench_machine_busy_s();
    c->t = bench_mono_ns();
}

static void measure_reset(void)
{
    B.positions = B.batches = B.alerts = B.deferred = 0;
    B.n_lat = B.n_lat_send = B.n_alert_lat = 0;
}

struct closed_result {
    double secs, pps, bps, p99, aof_pps, replay_pps, ratio, alerts_ps;
    double d_us, r_us, others;
    long long aof_members, aof_bytes;
};

/* One closed-loop phase at batch b (AOF captured) and its replay; see the file comment. */
static int closed_phase(int b, struct closed_result *r)
{
    memset(r, 0, sizeof(*r));
    if (restore_prefilled() != 0)
        return -1;
    redis_wait_bg();
    struct aof_mark ma, mb, mc;
    if (aof_begin(&ma) != 0) {
        fprintf(stderr, "bench-ingest: cannot open the AOF of %s\n", S.dir);
        return -1;
    }
    uint64_t errors0 = B.errors;
    B.batch_now = b;
    B.mode = MODE_CLOSED;
    B.lo = 0;
    B.hi = opt.connections;
    measure_reset();
    for (int i = B.lo; i < B.hi; i++)
        fill_window(&B.hs[i]);
    run_ms((int64_t)opt.warmup_s * 1000);
    struct cpu_mark c0, c1;
    aof_mark(&mb);
    cpu_mark(&c0);
    B.measuring = 1;
    run_ms((int64_t)opt.duration_s * 1000);
    B.measuring = 0;
    cpu_mark(&c1);
    aof_mark(&mc);
    drain();
    r->secs = (double)(c1.t - c0.t) / 1e9;
    r->pps = (double)B.positions / r->secs;
    r->bps = (double)B.batches / r->secs;
    r->alerts_ps = (double)B.alerts / r->secs;
    r->p99 = quantile(B.lat, B.n_lat, 0.99);
    r->d_us = B.positions ? (c1.d - c0.d) / (double)B.positions * 1e6 : 0;
    r->r_us = B.positions ? (c1.r - c0.r) / (double)B.positions * 1e6 : 0;
    r->others =
        ((c1.machine - c0.machine) - (c1.d - c0.d) - (c1.r - c0.r) - (c1.self - c0.self)) / r->secs;
    printf("  ingest  batch %2d: %.0f positions/s, %.0f batches/s, queue delay (closed-loop Ack) "
           "p50 %.2f ms p99 %.2f ms; %.0f alerts/s; CPU per position dispatchd %.2f us, Redis "
           "%.2f us; other processes %.2f cores; %llu Error replies\n",
           b, r->pps, r->bps, quantile(B.lat, B.n_lat, 0.5), r->p99, r->alerts_ps, r->d_us, r->r_us,
           r->others, (unsigned long long)(B.errors - errors0));
    /* The replay: the same pre-filled state, the warm-up's writes, then the timed part. */
    if (restore_prefilled() != 0)
        return -1;
    redis_wait_bg();
    struct seg warm[64], meas[64];
    int nw = aof_range(ma, mb, warm), nm = aof_range(mb, mc, meas);
    struct replay_count cw, cm;
    if (redis_pipe(warm, nw, &cw) < 0) {
        aof_end();
        return -1;
    }
    /* The measured stretch starts where the warm-up's last complete command ended (a command
     * lies within one increment file, so the cut is in the warm-up's last stretch). */
    if (cw.tail > 0 && meas[0].fd == warm[nw - 1].fd)
        meas[0].start -= (off_t)cw.tail;
    double c_r0 = bench_proc_cpu_s(S.redis);
    double secs = redis_pipe(meas, nm, &cm);
    double c_r1 = bench_proc_cpu_s(S.redis);
    aof_end();
    if (secs <= 0)
        return -1;
    if (cw.errors || cm.errors)
        fprintf(stderr, "bench-ingest: the replay got %lld error replies\n", cw.errors + cm.errors);
    r->aof_members = cm.route_members;
    r->aof_bytes = cm.bytes;
    r->aof_pps = (double)cm.route_members / r->secs;
    r->replay_pps = (double)cm.route_members / secs;
    r->ratio = r->aof_pps / r->replay_pps;
    printf("  replay  batch %2d: %lld commands, %.1f MiB, %lld route fixes (Acks counted %llu) in "
           "%.2f s through one connection: %.0f positions/s (Redis CPU %.2f us per position); "
           "ingest/replay %.3f\n",
           b, cm.commands, (double)cm.bytes / 1048576.0, cm.route_members,
           (unsigned long long)B.positions, secs, r->replay_pps,
           cm.route_members ? (c_r1 - c_r0) / (double)cm.route_members * 1e6 : 0, r->ratio);
    return 0;
}

/* An open-loop phase: every handset one batch of b every period, at `rate` positions/s in all;
 * 2 s to settle, then measured for opt.paced_s. Returns the Ack p99 from the intended send. */
static double paced_phase(int b, double rate, const char *label, double *alert_p99)
{
    int n = opt.connections;
    /* Not inside an AOF rewrite the replay's writes triggered (ingest would trigger its own). */
    redis_wait_bg();
    uint64_t errors0 = B.errors;
    B.batch_now = b;
    B.period_ns = (int64_t)((double)b * n / rate * 1e9);
    int64_t now = bench_mono_ns();
    for (int i = 0; i < n; i++)
        B.hs[i].next_due_ns = now + (int64_t)(rnd() * (double)B.period_ns);
    B.lo = 0;
    B.hi = n;
    B.mode = MODE_PACED;
    measure_reset();
    run_ms(2000);
    struct cpu_mark c0, c1;
    cpu_mark(&c0);
    B.measuring = 1;
    run_ms((int64_t)opt.paced_s * 1000);
    B.measuring = 0;
    cpu_mark(&c1);
    double secs = (double)(c1.t - c0.t) / 1e9;
    double others =
        ((c1.machine - c0.machine) - (c1.d - c0.d) - (c1.r - c0.r) - (c1.self - c0.self)) / secs;
    drain();
    double p50 = quantile(B.lat, B.n_lat, 0.5), p99 = quantile(B.lat, B.n_lat, 0.99);
    double s99 = quantile(B.lat_send, B.n_lat_send, 0.99);
    *alert_p99 = quantile(B.alert_lat, B.n_alert_lat, 0.99);
    printf("  paced   batch %2d at %s of the maximum (%.0f positions/s asked): %.0f reached; "
           "Ack from the intended send p50 %.2f ms p99 %.2f ms max %.2f ms (from the actual "
           "send p99 %.2f ms); %llu batches held back (8 outstanding); overspeed Alert p99 %.2f ms "
           "(%zu); other processes %.2f cores; %llu Error replies\n",
           b, label, rate, (double)B.positions / secs, p50, p99, B.n_lat ? B.lat[B.n_lat - 1] : 0,
           s99, (unsigned long long)B.deferred, *alert_p99, B.n_alert_lat, others,
           (unsigned long long)(B.errors - errors0));
    return p99;
}

/* Waits opt.settle_s with nothing in flight (dispatchd trims its heap once ingest is idle for
 * 500 ms), then dispatchd's VmRSS. */
static long long settled_rss(void)
{
    B.mode = MODE_IDLE;
    run_ms((int64_t)opt.settle_s * 1000);
    return bench_proc_status_bytes(S.dispatchd, "VmRSS");
}

/* ---- provisioning over HTTP ---- */

/* POST with a body of any media type (the harness's requests are JSON). */
static int http_post(int port, const char *auth, const char *path, const char *ctype,
                     const char *body, char *resp, size_t cap)
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    size_t blen = strlen(body);
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%sContent-Type: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, auth, ctype, blen);
    int status = -1;
    if (harness_send_all(fd, head, (size_t)hl) == 0 && harness_send_all(fd, body, blen) == 0) {
        size_t used = 0;
        for (;;) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (used + 1 >= cap || poll(&pfd, 1, 60000) <= 0)
                break;
            ssize_t r = recv(fd, resp + used, cap - 1 - used, 0);
            if (r <= 0)
                break;
            used += (size_t)r;
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
    char tok[64], auth[128], path[128];
    static char resp[65536];
    if (harness_stack_admin_token(s, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    int port = s->d.http_port;
    int64_t t0 = bench_mono_ns();
    char area[512];
    snprintf(area, sizeof(area),
             "{\"id\":\"E0\",\"name\":\"Bench Gas\",\"area\":{\"type\":\"Polygon\","
             "\"coordinates\":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}",
             AREA_LON0, AREA_LAT0, AREA_LON1, AREA_LAT0, AREA_LON1, AREA_LAT1, AREA_LON0, AREA_LAT1,
             AREA_LON0, AREA_LAT0);
    if (http_post(port, auth, "/v1/enterprises", "application/json", area, resp, sizeof(resp)) !=
        201) {
        fprintf(stderr, "bench-ingest: POST /v1/enterprises: %s\n", resp);
        return -1;
    }
    size_t cap = (size_t)opt.zones * 81 * 48 + 4096, used = 0;
    char *body = malloc(cap > 300000 ? cap : 300000);
    if (body == NULL)
        return -1;
    used += (size_t)snprintf(body, cap, "{\"type\":\"FeatureCollection\",\"features\":[");
    int vertices = 0;
    for (int k = 0; k < opt.zones; k++) {
        used += (size_t)snprintf(body + used, cap - used,
                                 "%s{\"type\":\"Feature\",\"properties\":{\"id\":\"Z%03d\","
                                 "\"name\":\"Zone %d\"},\"geometry\":{\"type\":\"Polygon\","
                                 "\"coordinates\":[[",
                                 k ? "," : "", k, k);
        for (int j = 0; j <= zones[k].n_vertices; j++) {
            double lon, lat;
            zone_vertex(k, j % zones[k].n_vertices, &lon, &lat);
            used +=
                (size_t)snprintf(body + used, cap - used, "%s[%.7f,%.7f]", j ? "," : "", lon, lat);
        }
        used += (size_t)snprintf(body + used, cap - used, "]]}}");
        vertices += zones[k].n_vertices;
    }
    snprintf(body + used, cap - used, "]}");
    int st = http_post(port, auth, "/v1/import/zones?enterprise_id=E0", "application/geo+json",
                       body, resp, sizeof(resp));
    if (st != 200) {
        fprintf(stderr, "bench-ingest: zones import -> %d: %.500s\n", st, resp);
        free(body);
        return -1;
    }
    /* Staff (each with a zone), then vehicles bound to them: CSV imports of 2,000 rows. */
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < B.n; i += 2000) {
            int n = B.n - i < 2000 ? B.n - i : 2000;
            used = (size_t)snprintf(body, 300000, "%s",
                                    kind == 0 ? "id,name,role,zone_id\n"
                                              : "id,plate,kind,capacity,staff_id\n");
            for (int j = i; j < i + n; j++)
                used += (size_t)(kind == 0 ? snprintf(body + used, 300000 - used,
                                                      "S-%s,Driver %d,delivery,Z%03d\n",
                                                      B.hs[j].device, j, j % opt.zones)
                                           : snprintf(body + used, 300000 - used,
                                                      "V-%s,MENG-E-%05d,van,20,S-%s\n",
                                                      B.hs[j].device, j, B.hs[j].device));
            snprintf(path, sizeof(path), "/v1/import/%s?enterprise_id=E0",
                     kind == 0 ? "staff" : "vehicles");
            st = http_post(port, auth, path, "text/csv", body, resp, sizeof(resp));
            if (st != 200) {
                fprintf(stderr, "bench-ingest: %s -> %d: %.500s\n", path, st, resp);
                free(body);
                return -1;
            }
        }
    free(body);
    printf("provisioned: %d zones (%d vertices in all, 20-80 each), %d staff and bound vehicles "
           "(imports), %.1f s\n",
           opt.zones, vertices, B.n, (double)(bench_mono_ns() - t0) / 1e9);
    for (int i = 0; i < B.n && !interrupted; i++) {
        struct handset *h = &B.hs[i];
        char jb[256];
        snprintf(jb, sizeof(jb), "{\"device_id\":\"%s\",\"staff_id\":\"S-%s\"}", h->device,
                 h->device);
        st = http_post(port, auth, "/v1/devices", "application/json", jb, resp, sizeof(resp));
        const char *json = strstr(resp, "\r\n\r\n");
        if (st != 201 || json == NULL ||
            harness_json_str(json, "secret", h->secret, sizeof(h->secret)) != 0) {
            fprintf(stderr, "bench-ingest: POST /v1/devices %s -> %d: %.300s\n", h->device, st,
                    resp);
            return -1;
        }
    }
    printf("provisioned: %d handsets (POST /v1/devices), %.1f s in all\n", B.n,
           (double)(bench_mono_ns() - t0) / 1e9);
    return interrupted ? -1 : 0;
}

/* ---- main ---- */

static int parse_sizes(const char *v)
{
    opt.n_sizes = 0;
    while (*v && opt.n_sizes < SIZES_MAX) {
        char *end;
        long b = strtol(v, &end, 10);
        if (end == v || b < 1 || b > BATCH_MAX)
            return -1;
        opt.sizes[opt.n_sizes++] = (int)b;
        v = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            return -1;
    }
    return opt.n_sizes > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0) {
            /* Smoke use: every step, small and short (the figures are not the benchmark's). */
            opt.connections = 200;
            opt.mem_connections = 1000;
            opt.warmup_s = 1;
            opt.duration_s = 5;
            opt.paced_s = 3;
            opt.settle_s = 2;
            opt.reps = 1;
            opt.zones = 20;
            opt.prefill_fixes = 300;
        }
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
        OPT_INT("mem-connections", mem_connections, 0, 10000)
        OPT_INT("warmup", warmup_s, 0, 600)
        OPT_INT("duration", duration_s, 1, 3600)
        OPT_INT("paced", paced_s, 1, 3600)
        OPT_INT("settle", settle_s, 1, 600)
        OPT_INT("reps", reps, 1, 10)
        OPT_INT("headline", headline, 1, BATCH_MAX)
        OPT_INT("zones", zones, 1, 999)
        OPT_INT("alert-share", alert_share_pct, 0, 50)
        OPT_INT("prefill-days", prefill_days, 0, 30)
        OPT_INT("prefill-fixes", prefill_fixes, 0, 86400)
        OPT_INT("days-back", days_back, 2, 150)
        OPT_INT("maxmemory-mib", maxmemory_mib, 0, 1 << 20)
#undef OPT_INT
        if (strncmp(a, "--batches=", 10) == 0 && parse_sizes(v) == 0)
            continue;
        if (strncmp(a, "--max-ratio=", 12) == 0) { /* to see the refusal work */
            opt.max_ratio = atof(v);
            continue;
        }
        if (strncmp(a, "--dispatchd=", 12) == 0) {
            opt.dispatchd = v;
            continue;
        }
        if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
            continue;
        }
        if (strcmp(a, "--quick") == 0)
            continue;
        fprintf(stderr,
                "usage: bench-ingest [--quick] [--batches=1,5,25] [--duration=S] [--warmup=S] "
                "[--paced=S] [--reps=N] [--connections=N] [--mem-connections=N] [--settle=S] "
                "[--headline=B] [--zones=N] [--alert-share=PCT] [--prefill-days=D] "
                "[--prefill-fixes=N] [--days-back=D] [--maxmemory-mib=N] [--max-ratio=R] "
                "[--dispatchd=PATH] "
                "[--keep]\n");
        return -1;
    }
    if (opt.mem_connections != 0 && opt.mem_connections <= opt.connections) {
        fprintf(stderr, "bench-ingest: --mem-connections must be above --connections (or 0)\n");
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
    int64_t start_ns = bench_mono_ns();

    B.n = opt.mem_connections > opt.connections ? opt.mem_connections : opt.connections;
    /* B.n handset sockets here and as many in dispatchd (which inherits this limit). */
    struct rlimit rl;
    rlim_t want = (rlim_t)B.n + 512;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want) {
            fprintf(stderr, "bench-ingest: RLIMIT_NOFILE %llu is below %llu (ulimit -n)\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
            return 2;
        }
    }
    B.hs = calloc((size_t)B.n, sizeof(*B.hs));
    zones = calloc((size_t)opt.zones, sizeof(*zones));
    if (B.hs == NULL || zones == NULL)
        return 1;
    zones_init();
    int64_t today = wall_ms() / DAY_MS * DAY_MS;
    sim_day0_ms = today - (int64_t)opt.days_back * DAY_MS;
    for (int i = 0; i < B.n; i++) {
        B.hs[i].idx = i;
        snprintf(B.hs[i].device, sizeof(B.hs[i].device), "B%05d", i);
        B.hs[i].next_req = B.hs[i].next_seq = 1;
        sim_init(&B.hs[i].sim, i);
    }
    printf("bench-ingest: %d handsets, batches of", opt.connections);
    for (int i = 0; i < opt.n_sizes; i++)
        printf(" %d", opt.sizes[i]);
    printf(" fixes, %d x (%d s warm-up + %d s measured + replay) each, paced %d s at 50 %% and "
           "80 %%; memory at %d and %d connections; dispatchd %s\n",
           opt.reps, opt.warmup_s, opt.duration_s, opt.paced_s, opt.connections,
           opt.mem_connections, harness_dispatchd_path());

    /* Production log level; the device rate limit out of the way: each simulated handset sends
     * hundreds of fixes a second (standing for hundreds of real 1 Hz units). */
    const char *const extra[] = {"--log-level=info", "--position-rate-max=100000",
                                 "--position-rate-burst=10000000", NULL};
    struct harness_stack stack;
    if (harness_stack_start(&stack, "bench-ingest", extra) != 0) {
        fprintf(stderr, "bench-ingest: cannot start redis-server and dispatchd\n");
        if (stack.dir[0]) /* the harness stopped what it started; its dir is left */
            harness_rmdir(stack.dir);
        return 1;
    }
    stack.keep_dir = opt.keep;
    S.dispatchd = stack.d.proc.pid;
    S.redis = stack.redis.proc.pid;
    S.redis_port = stack.redis.port;
    snprintf(S.dir, sizeof(S.dir), "%s", stack.dir);
    B.handset_port = stack.d.handset_port;
    printf("dispatchd pid %d, redis-server pid %d (port %d), dir %s\n", (int)S.dispatchd,
           (int)S.redis, S.redis_port, S.dir);

    int rc = 1, refused = 0;
    struct event *tick = NULL, *pace = NULL;
    struct closed_result res[SIZES_MAX][10];
    double pps[SIZES_MAX] = {0}, bps[SIZES_MAX] = {0}, ratio[SIZES_MAX] = {0}, qd[SIZES_MAX] = {0},
           at50[SIZES_MAX] = {0}, at80[SIZES_MAX] = {0}, al50[SIZES_MAX] = {0},
           al80[SIZES_MAX] = {0}, rpps[SIZES_MAX] = {0};
    long long rss_prov = 0, rss_lo = 0, rss_hi = 0;
    double slope = 0, peak_per_conn = 0;
    if (redis_apply_shipped_conf() != 0 || provision(&stack) != 0 || prefill() != 0)
        goto out;
    rss_prov = bench_proc_status_bytes(S.dispatchd, "VmRSS");
    B.base = event_base_new();
    if (B.base == NULL)
        goto out;
    tick = event_new(B.base, -1, EV_PERSIST, on_tick, NULL);
    pace = event_new(B.base, -1, EV_PERSIST, on_pace, NULL);
    struct timeval tv50 = {0, 50000}, tv1 = {0, 1000};
    event_add(tick, &tv50);
    event_add(pace, &tv1);
    if (login(0, opt.connections) != 0)
        goto out;

    for (int s = 0; s < opt.n_sizes && !interrupted; s++) {
        int b = opt.sizes[s];
        printf("batch %d:\n", b);
        double v_pps[10], v_bps[10], v_qd[10], v_rpps[10], t_ingest = 0, t_replay = 0;
        for (int r = 0; r < opt.reps; r++) {
            if (closed_phase(b, &res[s][r]) != 0)
                goto out;
            v_pps[r] = res[s][r].pps;
            v_bps[r] = res[s][r].bps;
            v_qd[r] = res[s][r].p99;
            v_rpps[r] = res[s][r].replay_pps;
            t_ingest += res[s][r].secs;
            t_replay += (double)res[s][r].aof_members / res[s][r].replay_pps;
        }
        pps[s] = median(v_pps, opt.reps);
        bps[s] = median(v_bps, opt.reps);
        qd[s] = median(v_qd, opt.reps);
        rpps[s] = median(v_rpps, opt.reps);
        /* ingest / replay over all the reps = replay time / ingest time of the same writes */
        ratio[s] = t_replay / t_ingest;
        at50[s] = paced_phase(b, 0.5 * pps[s], "50 %", &al50[s]);
        at80[s] = paced_phase(b, 0.8 * pps[s], "80 %", &al80[s]);
        if (ratio[s] > opt.max_ratio)
            refused = 1;
        printf("bench-ingest-batch batch=%d positions_per_s=%.0f batches_per_s=%.0f "
               "replay_positions_per_s=%.0f redis_ratio=%.3f queue_delay_p99_ms=%.2f "
               "ack_p99_ms_at50=%.2f ack_p99_ms_at80=%.2f alert_p99_ms_at50=%.2f\n",
               b, pps[s], bps[s], rpps[s], ratio[s], qd[s], at50[s], at80[s], al50[s]);
    }
    if (interrupted)
        goto out;

    /* Memory: the same measurement (idle, after dispatchd's own trim) at both sizes. */
    rss_lo = settled_rss();
    if (opt.mem_connections > 0) {
        if (login(opt.connections, opt.mem_connections) != 0)
            goto out;
        B.batch_now = opt.headline;
        B.lo = 0;
        B.hi = opt.mem_connections;
        B.mode = MODE_CLOSED;
        uint64_t errors0 = B.errors;
        B.rss_peak = 0;
        B.sample_peak = 1;
        for (int i = B.lo; i < B.hi; i++)
            fill_window(&B.hs[i]);
        run_ms((int64_t)(opt.warmup_s + 3) * 1000);
        drain();
        B.sample_peak = 0;
        rss_hi = settled_rss();
        if (B.errors > errors0)
            printf("memory: %llu Error replies while the %d handsets sent\n",
                   (unsigned long long)(B.errors - errors0), opt.mem_connections);
        slope = (double)(rss_hi - rss_lo) / (opt.mem_connections - opt.connections);
        peak_per_conn = (double)(B.rss_peak - rss_hi) / opt.mem_connections;
        printf("memory: dispatchd VmRSS %.2f MiB provisioned (no handset), %.2f MiB with %d "
               "handsets connected, tracked and idle, %.2f MiB with %d; slope %.0f bytes per "
               "connection; peak %.2f MiB with %d batches of %d in flight (%.0f bytes per "
               "connection above the idle %d)\n",
               rss_prov / 1048576.0, rss_lo / 1048576.0, opt.connections, rss_hi / 1048576.0,
               opt.mem_connections, slope, B.rss_peak / 1048576.0, opt.mem_connections,
               opt.headline, peak_per_conn, opt.mem_connections);
    }
    printf("alerts pushed to the handsets: %llu overspeed, %llu zone exit, %llu other; errors "
           "%llu, unexpected replies %llu%s%s\n",
           (unsigned long long)B.alerts_overspeed, (unsigned long long)B.alerts_zone,
           (unsigned long long)B.alerts_other, (unsigned long long)B.errors,
           (unsigned long long)B.unexpected, B.first_error[0] ? "; first problem: " : "",
           B.first_error);
    if (exhausted > 0)
        fprintf(stderr,
                "bench-ingest: %ld fixes ran out of days and were clamped to the clock: raise "
                "--days-back\n",
                exhausted);
    rc = B.dead > 0 || B.errors > 0 ? 1 : 0;

out:
    B.mode = MODE_IDLE;
    for (int i = 0; i < B.n; i++)
        if (B.hs[i].bev)
            bufferevent_free(B.hs[i].bev);
    if (tick)
        event_free(tick);
    if (pace)
        event_free(pace);
    if (B.base)
        event_base_free(B.base);
    if (AOF.active)
        aof_end();
    if (stack.d.proc.pid > 0 && harness_proc_stop(&stack.d.proc, SIGTERM, 10000) != 0)
        fprintf(stderr, "bench-ingest: dispatchd did not stop cleanly\n");
    if (stack.redis.proc.pid > 0)
        harness_redis_stop(&stack.redis);
    if (opt.keep)
        fprintf(stderr, "bench-ingest: kept %s\n", stack.dir);
    else
        harness_rmdir(stack.dir);
    free(B.lat);
    free(B.lat_send);
    free(B.alert_lat);
    free(B.hs);
    free(zones);
    printf("run took %.0f s\n", (double)(bench_mono_ns() - start_ns) / 1e9);
    int h = 0;
    for (int s = 0; s < opt.n_sizes; s++)
        if (opt.sizes[s] == opt.headline)
            h = s;
    if (rc == 0 && refused) {
        fprintf(stderr,
                "bench-ingest: REFUSED: ingest ran faster than the replay of its own writes "
                "through one connection (ratio above %.2f): the ceiling is not a ceiling here\n",
                opt.max_ratio);
        rc = 3;
    }
    printf("bench-ingest %sbatch=%d positions_per_s=%.0f batches_per_s=%.0f redis_ratio=%.3f "
           "ack_p99_ms_at50=%.2f ack_p99_ms_at80=%.2f queue_delay_p99_ms=%.2f "
           "rss_per_conn_bytes=%.0f rss_peak_mib=%.1f rss_peak_per_conn_bytes=%.0f\n",
           rc == 3 ? "REFUSED " : "", opt.sizes[h], pps[h], bps[h], ratio[h], at50[h], at80[h],
           qd[h], slope, B.rss_peak / 1048576.0, peak_per_conn);
    return rc;
}
