/* jt808sim.c -- lpg-jt808-sim: ONE JT/T 808 terminal (2013 edition) replaying a recorded drive
 * against a platform, for the live demo (deploy/run.sh) and for integration tests.
 *
 *   lpg-jt808-sim --track FILE --terminal ID (--auth-code CODE | --register) [options]
 *
 * What it does, as a real terminal does it:
 *   - connects; with --register first sends 0x0100 and takes the code of 0x8100 (result 0),
 *     then authenticates with 0x0102 (after every connect) and waits for 0x8001 result 0;
 *   - once authenticated the first time, sends the driver's card (0x0702) when a driver is
 *     given; answers the platform's 0x8103 with 0x0001 result 0 (other platform requests:
 *     0x0001 result 3, unsupported);
 *   - reports the track's points as 0x0200 at their recorded pace (/ --speedup), the fix time
 *     being the moment it is due (or the recorded time: --track-times), and a heartbeat 0x0002
 *     every --heartbeat seconds;
 *   - sends one message at a time and waits for its 0x8001; without an answer within the
 *     timeout it sends the SAME bytes again (same serial), up to --retries times with a growing
 *     timeout (T, 2T, 3T, ...: parameters 0x0002/0x0003 of the standard), then drops the link
 *     and reconnects;
 *   - while the link is down (--backfill=AT:LEN: cut for LEN s of track time from AT s; or a
 *     lost link) it keeps its positions and, once authenticated again, sends them as 0x0704
 *     type 1 (blind-area backfill), up to 20 a message;
 *   - logs every message it sends and every answer, and exits 0 at the end of the track when
 *     every message was acknowledged with result 0 (4: alarm confirmed), 1 otherwise, 2 on bad
 *     arguments. SIGTERM / SIGINT stop it (exit 0).
 */
#include "jt808/jt808_codec.h"
#include "jt808_term.h"
#include "track.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define QUEUE_MAX      8192 /* messages waiting for their turn (positions of a long outage) */
#define BACKFILL_BATCH 20   /* 0x0704 items per message: 3 + 20 x (2 + 40) bytes < 1023 */
#define READ_MAX       (64 * 1024)
#define RECONNECTS_MAX 20 /* in a row without authenticating: the platform refuses us */

static struct {
    const char *host, *track, *terminal, *plate, *auth_code, *driver_name, *certificate, *issuer,
        *cert_expiry;
    int port, reg, track_times, quiet;
    double speedup, heartbeat_s, timeout_s, interval_s, odometer_km;
    int retries;
    double backfill_at, backfill_len; /* track seconds; len 0: none */
} opt = {.host = "127.0.0.1",
         .port = 7808,
         .plate = "蒙E·J8080",
         .issuer = "呼伦贝尔市交通运输局",
         .cert_expiry = "20281231",
         .speedup = 1,
         .heartbeat_s = 30,
         .timeout_s = 10,
         .retries = 3,
         .odometer_km = 12345.6};

struct msg {
    uint16_t id, serial;
    int resent; /* was sent on a link that dropped before its answer */
    size_t len;
    uint8_t wire[];
};

static struct {
    struct event_base *base;
    struct bufferevent *bev;
    struct event *ev_point, *ev_hb, *ev_retx, *ev_reconnect, *ev_sigterm, *ev_sigint;
    struct jt808_deframer df;
    struct track tr;
    struct timespec t0; /* start of the program (monotonic), for the log */
    double replay_t0;   /* elapsed_s() when the replay started: the first authentication */
    size_t next;        /* next track point */
    int connected, authed, ever_authed, driver_sent, finished;
    int cut;         /* in the --backfill window: the link is down on purpose */
    int reconnects;  /* in a row without authenticating */
    uint16_t serial; /* the last serial used */
    char code[JT808T_AUTH_CODE_MAX + 1];
    struct msg *cur; /* sent, waiting for its answer */
    int tries;       /* sends of cur */
    struct msg *q[QUEUE_MAX];
    size_t q_head, q_len;
    struct jt808t_fix *held; /* positions kept while offline */
    size_t n_held, cap_held;
    double km;          /* odometer */
    double last_sent_t; /* track time (s) of the last point reported */
    /* figures */
    unsigned long sent, acked, retransmitted, refused, dropped, positions, backfilled;
    int exit_code;
} S = {.exit_code = 0, .last_sent_t = -1e18};

static double elapsed_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - S.t0.tv_sec) + (double)(now.tv_nsec - S.t0.tv_nsec) / 1e9;
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("jt808-sim [%7.1fs] %s: ", elapsed_s(), opt.terminal);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static struct timeval tv_of(double s)
{
    if (s < 0)
        s = 0;
    struct timeval tv = {(time_t)s, (suseconds_t)((s - floor(s)) * 1e6)};
    return tv;
}

/* A framed message with the next serial (a retransmission reuses the msg, so its serial). */
static struct msg *msg_new(uint16_t id, const uint8_t *body, size_t len)
{
    struct msg *m = malloc(sizeof(*m) + JT808_WIRE_MAX);
    if (m == NULL)
        return NULL;
    struct jt808_header h = {.msg_id = id, .edition = JT808_2013, .serial = ++S.serial};
    snprintf(h.phone, sizeof(h.phone), "%s", opt.terminal);
    m->id = id;
    m->serial = h.serial;
    m->resent = 0;
    m->len = jt808_frame_build(&h, body, len, m->wire, JT808_WIRE_MAX);
    if (m->len == 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void write_msg(const struct msg *m)
{
    if (S.bev != NULL && S.connected)
        bufferevent_write(S.bev, m->wire, m->len);
}

static void link_down(const char *why);

static void arm_retx(void)
{
    /* The standard's growing timeout: T(n+1) = T(n) x (n + 1). */
    struct timeval tv = tv_of(opt.timeout_s * S.tries);
    event_add(S.ev_retx, &tv);
}

/* Sends m now and waits for its answer. */
static void send_cur(struct msg *m)
{
    S.cur = m;
    S.tries = 1;
    if (m->resent)
        S.retransmitted++;
    else
        S.sent++;
    write_msg(m);
    arm_retx();
}

static void queue_push(struct msg *m)
{
    if (S.q_len == QUEUE_MAX) {
        free(S.q[S.q_head]); /* the oldest goes: a terminal's memory is finite too */
        S.q_head = (S.q_head + 1) % QUEUE_MAX;
        S.q_len--;
        S.dropped++;
    }
    S.q[(S.q_head + S.q_len) % QUEUE_MAX] = m;
    S.q_len++;
}

static void queue_push_front(struct msg *m)
{
    if (S.q_len == QUEUE_MAX) {
        free(m);
        S.dropped++;
        return;
    }
    S.q_head = (S.q_head + QUEUE_MAX - 1) % QUEUE_MAX;
    S.q[S.q_head] = m;
    S.q_len++;
}

static void maybe_finish(void);
static void schedule_point(void);

/* The next queued message, when authenticated and nothing is in flight. */
static void pump(void)
{
    if (S.cur != NULL || !S.authed || !S.connected)
        return;
    if (S.q_len > 0) {
        struct msg *m = S.q[S.q_head];
        S.q_head = (S.q_head + 1) % QUEUE_MAX;
        S.q_len--;
        send_cur(m);
        return;
    }
    maybe_finish();
}

static void enqueue(uint16_t id, const uint8_t *body, size_t len)
{
    struct msg *m = msg_new(id, body, len);
    if (m == NULL) {
        say("cannot build message 0x%04X (body %zu bytes)", id, len);
        S.exit_code = 1;
        return;
    }
    queue_push(m);
    pump();
}

/* ---- what is sent ---- */

static void send_register(void)
{
    /* Terminal id: the last 7 digits of the phone number; province 15 (Inner Mongolia), city
     * 0700 (Hulunbuir), as the demo's vehicles. */
    size_t n = strlen(opt.terminal);
    struct jt808t_register r = {.province = 15,
                                .city = 700,
                                .maker = "LPGSM",
                                .model = "LPG-JT808-SIM",
                                .terminal_id = opt.terminal + (n > 7 ? n - 7 : 0),
                                .plate_colour = 2,
                                .plate = opt.plate};
    uint8_t body[JT808_BODY_MAX];
    size_t len = jt808t_register_body(body, sizeof(body), &r);
    struct msg *m = len ? msg_new(JT808T_REGISTER, body, len) : NULL;
    if (m == NULL) {
        say("cannot build 0x0100 (plate \"%s\" not GBK?)", opt.plate);
        S.exit_code = 1;
        event_base_loopbreak(S.base);
        return;
    }
    say("-> 0x0100 register serial %u plate \"%s\"", m->serial, opt.plate);
    send_cur(m);
}

static void send_auth(void)
{
    uint8_t body[JT808T_AUTH_CODE_MAX];
    size_t len = jt808t_auth(body, sizeof(body), S.code);
    struct msg *m = len ? msg_new(JT808T_AUTH, body, len) : NULL;
    if (m == NULL) {
        S.exit_code = 1;
        event_base_loopbreak(S.base);
        return;
    }
    say("-> 0x0102 authenticate serial %u code \"%s\"", m->serial, S.code);
    send_cur(m);
}

static void send_driver(void)
{
    if (opt.driver_name == NULL && opt.certificate == NULL)
        return;
    struct jt808t_driver d = {.utc_s = (int64_t)time(NULL),
                              .name = opt.driver_name ? opt.driver_name : "",
                              .certificate = opt.certificate ? opt.certificate : "",
                              .issuer = opt.issuer,
                              .expiry = opt.cert_expiry};
    uint8_t body[JT808_BODY_MAX];
    size_t len = jt808t_driver_body(body, sizeof(body), &d);
    if (len == 0) {
        say("cannot build 0x0702 (name, certificate of at most 20 bytes, expiry YYYYMMDD)");
        S.exit_code = 1;
        return;
    }
    say("queue 0x0702 driver card: %s, certificate %s, expiry %s", d.name, d.certificate, d.expiry);
    enqueue(JT808T_DRIVER, body, len);
}

static void send_backfill(void)
{
    size_t at = 0;
    while (at < S.n_held) {
        size_t n = S.n_held - at < BACKFILL_BATCH ? S.n_held - at : BACKFILL_BATCH;
        uint8_t body[JT808_BODY_MAX];
        size_t len = jt808t_batch(body, sizeof(body), 1, S.held + at, n);
        if (len == 0) {
            say("cannot build 0x0704");
            S.exit_code = 1;
            break;
        }
        enqueue(JT808T_BATCH, body, len);
        S.backfilled += n;
        at += n;
    }
    if (S.n_held)
        say("queue %zu held positions as 0x0704 type 1 (%zu messages)", S.n_held,
            (S.n_held + BACKFILL_BATCH - 1) / BACKFILL_BATCH);
    S.n_held = 0;
}

static void hold(const struct jt808t_fix *f)
{
    if (S.n_held == S.cap_held) {
        size_t nc = S.cap_held ? S.cap_held * 2 : 256;
        if (nc > TRACK_POINTS_MAX)
            return; /* bounded by the track anyway */
        struct jt808t_fix *p = realloc(S.held, nc * sizeof(*p));
        if (p == NULL)
            return;
        S.held = p;
        S.cap_held = nc;
    }
    S.held[S.n_held++] = *f;
}

/* ---- the link ---- */

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void connect_now(void)
{
    if (S.cut || S.finished)
        return;
    S.bev = bufferevent_socket_new(S.base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char hp[300];
    snprintf(hp, sizeof(hp), "%s:%d", opt.host, opt.port);
    if (S.bev == NULL || evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sl) != 0) {
        say("cannot use address %s", hp);
        S.exit_code = 2;
        event_base_loopbreak(S.base);
        return;
    }
    bufferevent_setcb(S.bev, on_read, NULL, on_event, NULL);
    bufferevent_enable(S.bev, EV_READ | EV_WRITE);
    jt808_deframer_init(&S.df);
    say("connecting to %s", hp);
    if (bufferevent_socket_connect(S.bev, (struct sockaddr *)&ss, sl) != 0)
        link_down("connect failed");
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    connect_now();
}

/* The link is gone (or cut on purpose): what was in flight waits for the next one. */
static void link_down(const char *why)
{
    say("link down: %s", why);
    if (S.bev) {
        bufferevent_free(S.bev);
        S.bev = NULL;
    }
    S.connected = S.authed = 0;
    event_del(S.ev_retx);
    if (S.cur != NULL) {
        if (S.cur->id == JT808T_REGISTER || S.cur->id == JT808T_AUTH)
            free(S.cur); /* made afresh on the next connect */
        else {
            S.cur->resent = 1;
            queue_push_front(S.cur); /* sent again after authentication, same serial */
        }
        S.cur = NULL;
    }
    if (S.finished || S.cut)
        return;
    if (++S.reconnects > RECONNECTS_MAX) {
        say("giving up after %d connections without authentication", RECONNECTS_MAX);
        S.exit_code = 1;
        event_base_loopbreak(S.base);
        return;
    }
    struct timeval tv = tv_of(S.reconnects < 5 ? S.reconnects : 5);
    event_add(S.ev_reconnect, &tv);
}

static void on_retx(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (S.cur == NULL)
        return;
    if (S.tries > opt.retries) {
        say("no answer to 0x%04X serial %u after %d sends", S.cur->id, S.cur->serial, S.tries);
        S.exit_code = 1;
        link_down("no answer");
        return;
    }
    S.tries++;
    S.retransmitted++;
    say("-> 0x%04X serial %u again (send %d, no answer yet)", S.cur->id, S.cur->serial, S.tries);
    write_msg(S.cur);
    arm_retx();
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev, (void)arg;
    if (what & BEV_EVENT_CONNECTED) {
        S.connected = 1;
        int one = 1;
        setsockopt(bufferevent_getfd(S.bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        say("connected");
        if (S.code[0] == '\0')
            send_register();
        else
            send_auth();
        return;
    }
    link_down(what & BEV_EVENT_EOF ? "closed by the platform"
                                   : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void on_authenticated(void)
{
    S.authed = 1;
    S.reconnects = 0;
    if (!S.ever_authed) {
        /* The drive starts once the terminal is on line (its first points are not backfill). */
        S.ever_authed = 1;
        send_driver();
        S.replay_t0 = elapsed_s();
        schedule_point();
    }
    send_backfill();
    pump();
}

static void each_param(uint32_t id, const uint8_t *v, uint8_t len, void *arg)
{
    (void)arg;
    uint32_t x = 0;
    for (int i = 0; i < len && i < 4; i++)
        x = (x << 8) | v[i];
    say("   parameter 0x%04X (%u bytes) = %u", id, len, x);
}

static void reply_general(uint16_t serial, uint16_t id, uint8_t result)
{
    uint8_t body[5];
    jt808t_general_reply(body, sizeof(body), serial, id, result);
    struct msg *m = msg_new(JT808T_GENERAL_REPLY, body, sizeof(body));
    if (m != NULL) {
        write_msg(m); /* a reply is not answered: not queued */
        free(m);
    }
}

static void handle(const struct jt808_header *h, const uint8_t *body, size_t len)
{
    if (h->msg_id == JT808P_GENERAL_REPLY) {
        struct jt808t_reply r;
        if (jt808t_parse_general(body, len, &r) != 0) {
            say("<- 0x8001 too short (%zu bytes)", len);
            return;
        }
        if (S.cur == NULL || r.serial != S.cur->serial || r.msg_id != S.cur->id) {
            say("<- 0x8001 serial %u id 0x%04X result %u (not the one awaited: ignored)", r.serial,
                r.msg_id, r.result);
            return;
        }
        say("<- 0x8001 serial %u id 0x%04X result %u", r.serial, r.msg_id, r.result);
        event_del(S.ev_retx);
        struct msg *m = S.cur;
        S.cur = NULL;
        if (r.result == 0 || r.result == 4)
            S.acked++;
        else
            S.refused++;
        if (m->id == JT808T_AUTH) {
            free(m);
            if (r.result != 0) {
                say("authentication refused (result %u)", r.result);
                S.exit_code = 1;
                event_base_loopbreak(S.base);
                return;
            }
            say("authenticated");
            on_authenticated();
            return;
        }
        if (r.result != 0 && r.result != 4)
            S.exit_code = 1;
        free(m);
        pump();
        return;
    }
    if (h->msg_id == JT808P_REGISTER_REPLY) {
        uint16_t serial;
        uint8_t result;
        char code[JT808T_AUTH_CODE_MAX + 1];
        if (jt808t_parse_register_reply(body, len, &serial, &result, code, sizeof(code)) != 0) {
            say("<- 0x8100 unreadable (%zu bytes)", len);
            return;
        }
        if (S.cur == NULL || S.cur->id != JT808T_REGISTER || serial != S.cur->serial) {
            say("<- 0x8100 serial %u result %u (not awaited: ignored)", serial, result);
            return;
        }
        event_del(S.ev_retx);
        free(S.cur);
        S.cur = NULL;
        if (result != 0) {
            static const char *const why[] = {"ok", "vehicle already registered", "vehicle unknown",
                                              "terminal already registered", "terminal unknown"};
            say("<- 0x8100 result %u (%s): registration refused", result,
                result < 5 ? why[result] : "?");
            S.exit_code = 1;
            event_base_loopbreak(S.base);
            return;
        }
        snprintf(S.code, sizeof(S.code), "%s", code);
        say("<- 0x8100 result 0, code \"%s\"", S.code);
        send_auth();
        return;
    }
    if (h->msg_id == JT808P_SET_PARAMS) {
        say("<- 0x8103 set parameters serial %u:", h->serial);
        int bad = jt808t_parse_params(body, len, each_param, NULL);
        say("-> 0x0001 answer to 0x8103 serial %u result %d", h->serial, bad ? 2 : 0);
        reply_general(h->serial, h->msg_id, bad ? 2 : 0);
        return;
    }
    say("<- 0x%04X serial %u (%zu bytes): unsupported, -> 0x0001 result 3", h->msg_id, h->serial,
        len);
    reply_general(h->serial, h->msg_id, 3);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t buf[4096];
    int n;
    while (S.bev == bev && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
        size_t at = 0;
        while (at < (size_t)n && S.bev == bev) {
            size_t used;
            enum jt808_feed r = jt808_deframer_feed(&S.df, buf + at, (size_t)n - at, &used);
            at += used;
            if (r == JT808_BAD) {
                say("<- a bad frame dropped: %s", jt808_deframer_error(&S.df));
            } else if (r == JT808_FRAME) {
                size_t flen, blen;
                const uint8_t *f = jt808_deframer_frame(&S.df, &flen), *body;
                struct jt808_header h;
                const char *why;
                if (jt808_header_parse(f, flen, &h, &body, &blen, &why) != 0)
                    say("<- a frame with a bad header dropped: %s", why);
                else
                    handle(&h, body, blen);
            }
        }
    }
}

/* ---- the replay ---- */

static int in_cut(double track_s)
{
    return opt.backfill_len > 0 && track_s >= opt.backfill_at &&
           track_s < opt.backfill_at + opt.backfill_len;
}

static void on_point(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    const struct track_point *p = &S.tr.p[S.next];
    const struct track_point *first = &S.tr.p[0];
    double track_s = (double)(p->t_ms - first->t_ms) / 1000.0;
    if (S.next > 0) {
        const struct track_point *q = &S.tr.p[S.next - 1];
        S.km += track_distance_m(q->lat, q->lon, p->lat, p->lon) / 1000.0;
    }
    if (!S.cut && in_cut(track_s)) {
        S.cut = 1;
        link_down("--backfill: the terminal loses its link (blind area)");
    } else if (S.cut && !in_cut(track_s)) {
        S.cut = 0;
        say("--backfill: out of the blind area, %zu positions held", S.n_held);
        connect_now();
    }
    if (track_s - S.last_sent_t >= opt.interval_s) {
        S.last_sent_t = track_s;
        struct jt808t_fix f = {.utc_s = opt.track_times ? p->t_ms / 1000 : (int64_t)time(NULL),
                               .lat = p->lat,
                               .lon = p->lon,
                               .alt_m = p->ele_m,
                               .speed_kmh = p->speed_ms * 3.6,
                               .course_deg = p->course_deg,
                               .fix_valid = 1,
                               .acc_on = 1,
                               .mileage_km = opt.odometer_km + S.km,
                               .signal = 25,
                               .satellites = p->sats >= 0 ? p->sats : 10};
        S.positions++;
        if (S.authed) {
            uint8_t body[JT808T_LOCATION_MAX];
            size_t len = jt808t_location(body, sizeof(body), &f);
            if (!opt.quiet)
                say("queue 0x0200 %.6f,%.6f %.1f km/h course %.0f", f.lat, f.lon, f.speed_kmh,
                    f.course_deg);
            enqueue(JT808T_LOCATION, body, len);
        } else {
            hold(&f);
        }
    }
    S.next++;
    schedule_point();
}

static void schedule_point(void)
{
    if (S.next >= S.tr.n) {
        say("end of the track (%zu points)", S.tr.n);
        if (S.cut) { /* the track ended in the blind area: come back to deliver what is held */
            S.cut = 0;
            connect_now();
        }
        S.finished = 1;
        maybe_finish();
        return;
    }
    double due = (double)(S.tr.p[S.next].t_ms - S.tr.p[0].t_ms) / 1000.0 / opt.speedup;
    struct timeval tv = tv_of(S.replay_t0 + due - elapsed_s());
    event_add(S.ev_point, &tv);
}

static void maybe_finish(void)
{
    if (!S.finished || S.cur != NULL || S.q_len > 0 || S.n_held > 0)
        return;
    say("done: %lu positions, %lu messages sent, %lu acknowledged, %lu refused, %lu "
        "retransmissions, %lu positions backfilled, %lu dropped",
        S.positions, S.sent, S.acked, S.refused, S.retransmitted, S.backfilled, S.dropped);
    event_base_loopbreak(S.base);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (S.authed && !S.finished) {
        if (!opt.quiet)
            say("queue 0x0002 heartbeat");
        enqueue(JT808T_HEARTBEAT, NULL, 0);
    }
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    say("stopped by a signal: %lu positions, %lu acknowledged", S.positions, S.acked);
    event_base_loopbreak(S.base);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: lpg-jt808-sim --track=FILE --terminal=DIGITS (--auth-code=CODE | --register)\n"
            "  [--host=127.0.0.1] [--port=7808] [--plate=TEXT] [--speedup=N] [--interval=S]\n"
            "  [--heartbeat=S] [--timeout=S] [--retries=N] [--track-times] [--quiet]\n"
            "  [--driver-name=NAME] [--certificate=NO] [--issuer=TEXT] [--cert-expiry=YYYYMMDD]\n"
            "  [--backfill[=AT:LEN]] [--odometer=KM]\n"
            "FILE: GPX, or time_ms,lat,lon,speed_m_s lines (tests/agent/gpx_to_nmea.py's CSV).\n");
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : NULL;
        size_t kl = eq ? (size_t)(eq - a) : strlen(a);
        /* "--name value" as well as "--name=value" */
#define IS(name) (kl == strlen(name) && strncmp(a, name, kl) == 0)
#define VAL()                                                                                      \
    do {                                                                                           \
        if (v == NULL) {                                                                           \
            if (i + 1 >= argc)                                                                     \
                return -1;                                                                         \
            v = argv[++i];                                                                         \
        }                                                                                          \
    } while (0)
        if (IS("--register")) {
            opt.reg = 1;
        } else if (IS("--track-times")) {
            opt.track_times = 1;
        } else if (IS("--quiet")) {
            opt.quiet = 1;
        } else if (IS("--backfill")) {
            opt.backfill_at = 120;
            opt.backfill_len = 60;
            if (v != NULL && sscanf(v, "%lf:%lf", &opt.backfill_at, &opt.backfill_len) != 2)
                return -1;
        } else {
            VAL();
            if (IS("--host"))
                opt.host = v;
            else if (IS("--port"))
                opt.port = atoi(v);
            else if (IS("--track"))
                opt.track = v;
            else if (IS("--terminal"))
                opt.terminal = v;
            else if (IS("--plate"))
                opt.plate = v;
            else if (IS("--auth-code"))
                opt.auth_code = v;
            else if (IS("--speedup"))
                opt.speedup = atof(v);
            else if (IS("--interval"))
                opt.interval_s = atof(v);
            else if (IS("--heartbeat"))
                opt.heartbeat_s = atof(v);
            else if (IS("--timeout"))
                opt.timeout_s = atof(v);
            else if (IS("--retries"))
                opt.retries = atoi(v);
            else if (IS("--driver-name"))
                opt.driver_name = v;
            else if (IS("--certificate"))
                opt.certificate = v;
            else if (IS("--issuer"))
                opt.issuer = v;
            else if (IS("--cert-expiry"))
                opt.cert_expiry = v;
            else if (IS("--odometer"))
                opt.odometer_km = atof(v);
            else
                return -1;
        }
#undef IS
#undef VAL
    }
    size_t tl = opt.terminal ? strlen(opt.terminal) : 0;
    if (opt.track == NULL || tl < 1 || tl > 12 || strspn(opt.terminal, "0123456789") != tl) {
        fprintf(stderr, "lpg-jt808-sim: --track and --terminal (1 to 12 digits: the 2013 header's "
                        "BCD[6]) are required\n");
        return -1;
    }
    if ((opt.auth_code == NULL) == (opt.reg == 0)) {
        fprintf(stderr, "lpg-jt808-sim: give --auth-code=CODE or --register (one of them)\n");
        return -1;
    }
    if (opt.auth_code && (strlen(opt.auth_code) == 0 || strlen(opt.auth_code) > 64)) {
        fprintf(stderr, "lpg-jt808-sim: --auth-code: 1 to 64 bytes\n");
        return -1;
    }
    if (opt.port < 1 || opt.port > 65535 || !(opt.speedup > 0) || !(opt.heartbeat_s > 0) ||
        !(opt.timeout_s > 0) || opt.retries < 0 || opt.retries > 10 || opt.interval_s < 0 ||
        opt.backfill_len < 0) {
        fprintf(stderr, "lpg-jt808-sim: a numeric option is out of range\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &S.t0);
    if (parse_args(argc, argv) != 0) {
        usage();
        return 2;
    }
    char err[256];
    if (track_read(opt.track, &S.tr, err, sizeof(err)) != 0) {
        fprintf(stderr, "lpg-jt808-sim: %s\n", err);
        return 2;
    }
    track_complete(&S.tr);
    if (opt.auth_code)
        snprintf(S.code, sizeof(S.code), "%s", opt.auth_code);
    S.base = event_base_new();
    if (S.base == NULL)
        return 1;
    S.ev_point = evtimer_new(S.base, on_point, NULL);
    S.ev_hb = event_new(S.base, -1, EV_PERSIST, on_heartbeat, NULL);
    S.ev_retx = evtimer_new(S.base, on_retx, NULL);
    S.ev_reconnect = evtimer_new(S.base, on_reconnect, NULL);
    S.ev_sigterm = evsignal_new(S.base, SIGTERM, on_signal, NULL);
    S.ev_sigint = evsignal_new(S.base, SIGINT, on_signal, NULL);
    if (!S.ev_point || !S.ev_hb || !S.ev_retx || !S.ev_reconnect || !S.ev_sigterm || !S.ev_sigint)
        return 1;
    event_add(S.ev_sigterm, NULL);
    event_add(S.ev_sigint, NULL);
    struct timeval hb = tv_of(opt.heartbeat_s);
    event_add(S.ev_hb, &hb);
    double dur = (double)(S.tr.p[S.tr.n - 1].t_ms - S.tr.p[0].t_ms) / 1000.0;
    say("replaying %s: %zu points, %.1f min of driving in %.1f min (speedup %g)%s", opt.track,
        S.tr.n, dur / 60, dur / 60 / opt.speedup, opt.speedup,
        opt.backfill_len > 0 ? "; a blind area to backfill" : "");
    connect_now();
    event_base_dispatch(S.base);

    if (S.bev)
        bufferevent_free(S.bev);
    free(S.cur);
    while (S.q_len > 0) {
        free(S.q[S.q_head]);
        S.q_head = (S.q_head + 1) % QUEUE_MAX;
        S.q_len--;
    }
    free(S.held);
    event_free(S.ev_point);
    event_free(S.ev_hb);
    event_free(S.ev_retx);
    event_free(S.ev_reconnect);
    event_free(S.ev_sigterm);
    event_free(S.ev_sigint);
    event_base_free(S.base);
    track_free(&S.tr);
    return S.exit_code;
}
