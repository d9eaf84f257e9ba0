/* jt808_server.c -- the JT/T 808 protocol over the device connections of
 * common/stream_server.h (see jt808_server.h; the decisions, message by message, are in
 * docs/jt808.md).
 *
 * Memory per connection is what 100,000 terminals cost (bench-jt808), so a connection holds
 * only its identity, its reply serial and a few bits between messages. The deframer (1 KiB)
 * exists only while a frame is incomplete at the end of a read, the bytes read but not yet
 * handled only while a message waits for the store (reading is paused then), and the
 * subpackage reassembly only while a message is in pieces.
 */
#define LOG_TAG "jt808"
#include "jt808/jt808_server.h"

#include "app/driver_sign_on.h"
#include "app/events.h"
#include "app/ingest.h"
#include "app/service.h"
#include "app/terminals.h"
#include "app/vehicle_thresholds.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/prometheus.h"
#include "common/stream_server.h"
#include "core/login_guard.h"
#include "jt808/jt808_codec.h"
#include "jt808/jt808_msg.h"
#include "jt808/jt808_reasm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* Bytes read from the socket at once (several reports of one terminal at most). */
#define JT808_READ_MAX 4096
/* Messages refused before authentication before the connection is closed: a terminal that
 * lost its session gets the hint (0x8001 failure) a few times, a scanner does not stay. */
#define JT808_BEFORE_AUTH_MAX 8
/* Recent messages remembered per connection, to answer a retransmission without storing it
 * again (the store is idempotent too: this spares it the work). */
#define JT808_RECENT 4
/* Location reports of one 0x0704 taken at most: a reassembled 0x0704 (32 packets of 1,023
 * bytes) holds at most ~1,100 items of 28 bytes and more; they go to ingest in parts of
 * position_batch_max. */
#define JT808_BATCH_MAX 1200

/* The alarm bits the terminal clears only once the platform confirms them (0x8001 result 4):
 * SOS, danger warning, area/route in-out, route time, illegal ignition and displacement. */
#define JT808_ALARMS_TO_CONFIRM                                                                    \
    ((1u << 0) | (1u << 3) | (1u << 20) | (1u << 21) | (1u << 22) | (1u << 27) | (1u << 28))

struct recent_msg {
    uint16_t msg_id, serial;
    uint32_t sum; /* of the body */
};

/* The protocol's state of one connection (stream_conn_state). */
struct jt808_conn {
    struct stream_conn *sc;
    struct jt808_server *srv;
    struct jt808_deframer *dec; /* only while a frame is incomplete */
    uint8_t *carry;             /* input read but not handled yet (a message waits) */
    size_t carry_len;
    struct jt808_reasm *reasm;                  /* only while subpackages are in progress */
    struct jt808_conn *reasm_prev, *reasm_next; /* in the server's list of those */
    struct ingest_device *dev; /* ingest's state of this terminal, once it reports */
    /* The terminal number without left padding (terminal_id_significant): the session's key. */
    char terminal[JT808_PHONE_DIGITS + 1];
    /* Its id as registered, once authenticated: ingest's device (terminal ids and handset
     * device ids are one namespace, so their sequence marks never meet). */
    char device_id[TERMINAL_ID_MAX_DIGITS + 1];
    uint16_t serial_out; /* our own message counter */
    uint8_t refused_before_auth;
    unsigned authenticated : 1;
    unsigned after_flag : 1; /* the last byte read was a flag (the deframer's state when freed) */
    unsigned in_reasm_list : 1;
    unsigned registering : 1; /* its own 0x0100 replaces the code: not a revocation of it */
    unsigned last_2019 : 1;   /* the layout of its last frame, for the messages we start */
    uint8_t last_version;     /* and its protocol version (2019) */
    uint32_t params_sum;      /* of the 0x8103 body last sent (0: none): sent again on change */
    uint8_t recent_next;
    struct recent_msg recent[JT808_RECENT];
};

struct jt808_server {
    struct stream_server *ss;
    struct service *s;
    struct jt808_server_options opt;
    struct event *tick; /* reassembly timeouts, every second while any is in progress */
    struct jt808_conn *reasm_list;
    struct event *limits_timer; /* a pass over the sessions after EV_LIMITS_CHANGED */
    int freeing;
    struct jt808_stats stats;
};

/* A message answered once the store has spoken: what its reply needs. */
struct jt808_wait {
    struct jt808_conn *c;
    struct jt808_header req;
    uint8_t ok_result; /* 0x8001 result when stored (4 confirms an alarm) */
    uint32_t sum;
    /* Reports handed to ingest a batch at a time: fixes[next..n) are still to go. Owned (with
     * their vehicle data) when there may be more than one batch; else borrowed for the call. */
    const struct ingest_fix *fixes;
    size_t n, next;
    struct ingest_fix *owned_fixes;
    struct lpg_vehicle_data *owned_vds;
};

static void wait_free(struct jt808_wait *w)
{
    free(w->owned_fixes);
    free(w->owned_vds);
    free(w);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t body_sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u; /* FNV-1a */
    return h;
}

/* ---- replies ---- */

/* Sends msg_id with body in the request's header layout (a 2019 request gets a 2019 reply with
 * its 20-digit number; a 2013 one a 2013 reply), with our own serial. */
static void send_msg(struct jt808_conn *c, const struct jt808_header *req, uint16_t msg_id,
                     const uint8_t *body, size_t len)
{
    struct jt808_header h;
    memset(&h, 0, sizeof(h));
    h.msg_id = msg_id;
    h.edition = req->edition;
    h.proto_version = req->proto_version;
    memcpy(h.phone, req->phone, sizeof(h.phone));
    h.serial = c->serial_out++;
    uint8_t out[JT808_WIRE_MAX];
    size_t n = jt808_frame_build(&h, body, len, out, sizeof(out));
    if (n == 0) {
        log_error("%s: reply 0x%04x of %zu bytes cannot be framed; not sent",
                  stream_conn_peer(c->sc), msg_id, len);
        return;
    }
    stream_conn_write(c->sc, out, n);
    c->srv->stats.frames_out++;
}

/* 0x8001, the platform's general reply, echoing the request's serial and id. */
static void reply_general(struct jt808_conn *c, const struct jt808_header *req, uint8_t result)
{
    uint8_t body[8];
    size_t n = jt808_build_platform_reply(req->serial, req->msg_id, result, body, sizeof(body));
    send_msg(c, req, JT808_MSG_PLATFORM_REPLY, body, n);
}

static int recent_seen(const struct jt808_conn *c, uint16_t msg_id, uint16_t serial, uint32_t sum)
{
    for (size_t i = 0; i < JT808_RECENT; i++)
        if (c->recent[i].msg_id == msg_id && c->recent[i].serial == serial &&
            c->recent[i].sum == sum && (msg_id | serial | sum) != 0)
            return 1;
    return 0;
}

static void recent_add(struct jt808_conn *c, uint16_t msg_id, uint16_t serial, uint32_t sum)
{
    c->recent[c->recent_next] = (struct recent_msg){msg_id, serial, sum};
    c->recent_next = (uint8_t)((c->recent_next + 1) % JT808_RECENT);
}

/* A header for a message of our own to c (not a reply): the layout of the terminal's last frame
 * (not guessed from its number: a 2019 terminal's significant digits are often an 11-digit
 * phone number) and its number (padded back to 12 digits in 2013, 20 in 2019). */
static void conn_header(const struct jt808_conn *c, struct jt808_header *h)
{
    memset(h, 0, sizeof(*h));
    h->edition = c->last_2019 ? JT808_2019 : JT808_2013;
    h->proto_version = c->last_version;
    snprintf(h->phone, sizeof(h->phone), "%s", c->terminal);
}

/* ---- the thresholds we push (0x8103) ---- */

/* Sends them when `always`, or when they differ from what c was last sent. 0x0055 is the highest
 * limit the server's overspeed rule can apply to the vehicle anywhere (vehicle_thresholds.h): a
 * terminal holds one value and cannot follow the zones the vehicle is in, so its own alarm is
 * kept from firing at a legal speed and the server's rule judges violations. */
static void push_parameters(struct jt808_conn *c, int always)
{
    const struct terminal_record *t = terminals_get(c->srv->s, c->terminal);
    struct vehicle_thresholds th;
    vehicle_thresholds(c->srv->s, t ? t->vehicle_id : NULL, &th);
    struct jt808_param p[] = {
        {0x0001, 4, (uint32_t)c->srv->opt.heartbeat_s},
        {0x0055, 4, (uint32_t)lround(th.max_speed_kmh)},
        {0x0056, 4, (uint32_t)th.overspeed_duration_s},
        {0x0057, 4, (uint32_t)th.continuous_driving_s},
        {0x0058, 4, (uint32_t)th.daily_driving_s},
        {0x0059, 4, (uint32_t)th.min_rest_s},
        {0x005A, 4, (uint32_t)th.max_parking_s},
        {0x005B, 2, (uint32_t)lround(th.overspeed_warning_kmh * 10)}, /* 0.1 km/h */
        {0x005C, 2, (uint32_t)th.fatigue_warning_s},
    };
    uint8_t body[128];
    size_t n = jt808_build_set_params(p, sizeof(p) / sizeof(p[0]), body, sizeof(body));
    uint32_t sum = body_sum(body, n) | 1u; /* never 0, "none sent" */
    if (n == 0 || (!always && sum == c->params_sum))
        return;
    struct jt808_header h;
    conn_header(c, &h);
    send_msg(c, &h, JT808_MSG_SET_PARAMS, body, n);
    c->params_sum = sum;
    c->srv->stats.params_sent++;
}

static void push_if_changed(void *arg, struct stream_conn *sc)
{
    (void)arg;
    push_parameters(stream_conn_state(sc), 0);
}

/* Some limits changed (a zone, a vehicle): one pass over the sessions, a second after the
 * first change, so that an import of a thousand zones or vehicles costs one pass. */
static void on_limits_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct jt808_server *srv = arg;
    stream_server_each_session(srv->ss, push_if_changed, srv);
    srv->stats.limits_passes++;
}

static void on_limits_changed(void *arg, const struct service_event *ev)
{
    (void)ev;
    struct jt808_server *srv = arg;
    if (!evtimer_pending(srv->limits_timer, NULL)) {
        struct timeval one = {1, 0};
        evtimer_add(srv->limits_timer, &one);
    }
}

/* ---- registration and authentication ---- */

static void on_registered(void *arg, enum terminal_reg_result result, const char *code)
{
    struct jt808_wait *w = arg;
    struct jt808_conn *c = w->c;
    if (!c->srv->freeing) {
        if (result == TERMINAL_REG_UNAVAILABLE) {
            /* 0x8100 has no "later": no answer, the terminal sends 0x0100 again. */
            log_info("%s: terminal %s: registration not recorded now (store unavailable)",
                     stream_conn_peer(c->sc), c->terminal);
        } else {
            uint8_t body[160];
            size_t n = jt808_build_register_reply(w->req.serial, (uint8_t)result,
                                                  result == TERMINAL_REG_OK ? code : NULL, body,
                                                  sizeof(body));
            send_msg(c, &w->req, JT808_MSG_REGISTER_REPLY, body, n);
            if (result == TERMINAL_REG_OK)
                c->srv->stats.registered++;
            else
                c->srv->stats.register_refused++;
            log_info("%s: terminal %s registration: result %d", stream_conn_peer(c->sc),
                     c->terminal, (int)result);
        }
    }
    c->registering = 0;
    struct stream_conn *sc = c->sc;
    free(w);
    stream_conn_release(sc);
}

static void handle_register(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                            size_t len)
{
    struct jt808_register reg;
    const char *why = "";
    if (jt808_register_parse(body, len, h->edition == JT808_2019, &reg, &why) != 0) {
        log_info("%s: terminal %s: bad 0x0100 (%s)", stream_conn_peer(c->sc), c->terminal, why);
        reply_general(c, h, JT808_RESULT_BAD_MESSAGE);
        return;
    }
    struct jt808_wait *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        reply_general(c, h, JT808_RESULT_FAILURE);
        return;
    }
    w->c = c;
    w->req = *h;
    stream_conn_hold(c->sc); /* released by on_registered, now or once stored */
    c->registering = 1;
    terminal_register(c->srv->s, c->terminal, reg.plate, on_registered, w);
}

static void handle_auth(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                        size_t len)
{
    struct service *s = c->srv->s;
    char addr[64];
    stream_conn_peer_address(c->sc, addr, sizeof(addr));
    int64_t now = lpg_now_ms();
    /* The handset's login limits, on the same tables (terminal ids and device ids are one
     * namespace): after auth_max_failures wrong codes for a terminal, or
     * auth_max_failures_address from an address, attempts are refused untried for a growing
     * delay. Issued codes cannot be guessed, but operators' preset ones may be weak. */
    int64_t retry_ms = 0;
    if (s->guard && login_guard_check(s->guard, LOGIN_HELLO, c->terminal, addr, now, &retry_ms) !=
                        THROTTLE_ALLOW) {
        c->srv->stats.auth_throttled++;
        login_guard_stats(s->guard)->hello_throttled++;
        reply_general(c, h, JT808_RESULT_FAILURE);
        stream_conn_close(c->sc);
        return;
    }
    struct jt808_auth a;
    const char *why = "";
    int ok = jt808_auth_parse(body, len, h->edition == JT808_2019, &a, &why) == 0 &&
             terminal_authenticate(s, c->terminal, (const uint8_t *)a.code, a.code_len) == 0;
    if (!ok) {
        c->srv->stats.auth_refused++;
        if (s->guard) {
            login_guard_failed(s->guard, LOGIN_HELLO, c->terminal, addr, now);
            login_guard_stats(s->guard)->hello_failed++;
        }
        /* Refused logins come by the thousand from a scanner: counted, logged when debugging. */
        log_debug("%s: terminal %s: authentication refused", stream_conn_peer(c->sc), c->terminal);
        reply_general(c, h, JT808_RESULT_FAILURE);
        stream_conn_close(c->sc);
        return;
    }
    if (s->guard)
        login_guard_succeeded(s->guard, LOGIN_HELLO, c->terminal, addr);
    const struct terminal_record *t = terminals_get(s, c->terminal);
    if (!c->authenticated && t != NULL) {
        c->authenticated = 1;
        snprintf(c->device_id, sizeof(c->device_id), "%s", t->id);
        stream_conn_session_open(c->sc);
        /* One session per terminal: an older connection of the same terminal is closed. */
        struct stream_conn *older = stream_conn_set_key(c->sc, c->terminal);
        if (older != NULL) {
            log_info("%s: terminal %s connected again; closing its older connection",
                     stream_conn_peer(c->sc), c->terminal);
            stream_conn_close(older);
        }
        c->srv->stats.authenticated++;
        log_info("%s: terminal %s authenticated (%s header)", stream_conn_peer(c->sc), c->terminal,
                 h->edition == JT808_2019 ? "2019" : "2011/2013");
    }
    reply_general(c, h, JT808_RESULT_OK);
    push_parameters(c, 1);
}

/* ---- positions ---- */

/* A location report as a fix of the vehicle (core/fix.h units) with the terminal's data. */
static void fix_of(const struct jt808_location *l, int backfill, struct ingest_fix *out,
                   struct lpg_vehicle_data *vd)
{
    memset(out, 0, sizeof(*out));
    memset(vd, 0, sizeof(*vd));
    struct lpg_fix *x = &out->fix;
    /* No per-fix sequence in JT/T 808 (the serial is 16 bits and wraps): ingest's time mode. A
     * report without a valid time has seq 0 and is counted invalid. */
    x->time_ms = l->time_valid ? l->time_ms : 0;
    out->seq = x->time_ms > 0 ? (uint64_t)x->time_ms : 0;
    x->pos.lat = l->lat;
    x->pos.lon = l->lon;
    x->has_speed = true;
    x->speed_kmh = l->speed_kmh;
    x->has_heading = l->direction < 360;
    x->heading_deg = l->direction;
    /* JT/T 808 does not tell 2D from 3D: a positioned report is "not said" (taken as 3D); an
     * unpositioned one is kept, marked no-fix (the filters refuse it for the rules). */
    x->mode = (l->status & JT808_STATUS_FIXED) ? 0 : LPG_FIX_MODE_NONE;
    x->flags = backfill ? LPG_FIX_LATE : 0;
    vd->status = l->status;
    vd->alarm = l->alarm;
    vd->altitude_m = l->altitude_m;
    vd->present = LPG_VD_ALTITUDE;
    if (l->present & JT808_LOC_MILEAGE) {
        vd->present |= LPG_VD_MILEAGE;
        vd->mileage_100m = l->mileage_100m;
    }
    if (l->present & JT808_LOC_FUEL) {
        vd->present |= LPG_VD_FUEL;
        vd->fuel_dl = l->fuel_dl;
    }
    if (l->present & JT808_LOC_RECORDER_SPEED) {
        vd->present |= LPG_VD_RECORDER_SPEED;
        vd->recorder_speed_dkmh = l->recorder_speed_dkmh;
    }
    if (l->present & JT808_LOC_SIGNAL) {
        vd->present |= LPG_VD_SIGNAL;
        vd->signal = l->signal;
    }
    if (l->present & JT808_LOC_SATELLITES) {
        vd->present |= LPG_VD_SATELLITES;
        vd->satellites = l->satellites;
    }
    out->vehicle_data = vd;
}

static void ingest_part(struct jt808_wait *w);

/* Ingest's answer: the next part of the message, or 0x8001 once all is stored; nothing when the
 * store could not take it (the terminal retransmits, and a retransmission is stored once). */
static void on_ingested(void *arg, const struct ingest_result *r)
{
    struct jt808_wait *w = arg;
    struct jt808_conn *c = w->c;
    if (!c->srv->freeing && r->refusal.kind == REFUSAL_NONE && w->next < w->n) {
        ingest_part(w); /* the connection stays held for the rest */
        return;
    }
    if (!c->srv->freeing) {
        const struct refusal *no = &r->refusal;
        switch (no->kind) {
        case REFUSAL_NONE:
            recent_add(c, w->req.msg_id, w->req.serial, w->sum);
            reply_general(c, &w->req, w->ok_result);
            break;
        case REFUSAL_INVALID:
        case REFUSAL_RATE_LIMITED:
        case REFUSAL_RULE:
        case REFUSAL_CONFLICT:
            log_info("%s: terminal %s: report refused (%s): %s", stream_conn_peer(c->sc),
                     c->terminal, no->code, no->message);
            reply_general(c, &w->req, JT808_RESULT_FAILURE);
            break;
        default:
            log_info("%s: terminal %s: report not stored now (%s); it will be resent",
                     stream_conn_peer(c->sc), c->terminal, no->message);
            break;
        }
    }
    struct stream_conn *sc = c->sc;
    wait_free(w);
    stream_conn_release(sc);
}

/* Hands the next part of w's reports to ingest: at most position_batch_max at a time, so that a
 * reassembled 0x0704 with more items than one batch may hold is stored whole, part after part
 * (each part waits for the previous one to be stored; the reply waits for the last). */
static void ingest_part(struct jt808_wait *w)
{
    struct jt808_conn *c = w->c;
    struct service *s = c->srv->s;
    const struct terminal_record *t = terminals_get(s, c->terminal);
    if (t == NULL) {
        /* Deleted while connected (its revocation closes the connection right after). */
        reply_general(c, &w->req, JT808_RESULT_FAILURE);
        struct stream_conn *sc = c->sc;
        wait_free(w);
        stream_conn_release(sc);
        return;
    }
    struct ingest_source src = {
        .kind = INGEST_SOURCE_JT808,
        .device_id = c->device_id,
        .staff_id = NULL, /* the vehicle's bound person */
        .vehicle_id = t->vehicle_id,
        .seq_mode = INGEST_SEQ_TIME,
    };
    size_t max = s->cfg.position_batch_max > 0 ? (size_t)s->cfg.position_batch_max : 1;
    size_t k = w->n - w->next < max ? w->n - w->next : max;
    const struct ingest_fix *part = w->fixes + w->next;
    w->next += k;
    c->srv->stats.positions += k;
    ingest_positions(s, &src, part, k, on_ingested, w);
}

/* Stores n reports of the message h and answers it once all are stored. fixes is borrowed for
 * the call, or (owned_fixes, owned_vds) handed over: freed with the wait, in every case. */
static void ingest_reports(struct jt808_conn *c, const struct jt808_header *h, uint32_t sum,
                           const struct ingest_fix *fixes, size_t n, uint8_t ok_result,
                           struct ingest_fix *owned_fixes, struct lpg_vehicle_data *owned_vds)
{
    struct jt808_wait *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        free(owned_fixes);
        free(owned_vds);
        reply_general(c, h, JT808_RESULT_FAILURE);
        return;
    }
    w->c = c;
    w->req = *h;
    w->ok_result = ok_result;
    w->sum = sum;
    w->fixes = fixes;
    w->n = n;
    w->owned_fixes = owned_fixes;
    w->owned_vds = owned_vds;
    if (c->dev == NULL)
        c->dev = ingest_device_of(c->srv->s, c->device_id);
    stream_conn_hold(c->sc); /* released once answered, now or once stored */
    ingest_part(w);
}

static void handle_location(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                            size_t len, uint32_t sum)
{
    struct jt808_location l;
    const char *why = "";
    if (jt808_location_parse(body, len, &l, &why) != 0) {
        log_info("%s: terminal %s: bad 0x0200 (%s)", stream_conn_peer(c->sc), c->terminal, why);
        reply_general(c, h, JT808_RESULT_BAD_MESSAGE);
        return;
    }
    struct ingest_fix f;
    struct lpg_vehicle_data vd;
    fix_of(&l, 0, &f, &vd);
    uint8_t ok =
        (l.alarm & JT808_ALARMS_TO_CONFIRM) ? JT808_RESULT_ALARM_CONFIRMED : JT808_RESULT_OK;
    ingest_reports(c, h, sum, &f, 1, ok, NULL, NULL); /* one report: one part, borrowed */
}

static void handle_batch(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                         size_t len, uint32_t sum)
{
    struct jt808_batch_iter it;
    const char *why = "";
    if (jt808_batch_begin(body, len, &it, &why) != 0) {
        reply_general(c, h, JT808_RESULT_BAD_MESSAGE);
        return;
    }
    size_t cap = it.count < JT808_BATCH_MAX ? it.count : JT808_BATCH_MAX;
    struct ingest_fix *fixes = cap ? calloc(cap, sizeof(*fixes)) : NULL;
    struct lpg_vehicle_data *vds = cap ? calloc(cap, sizeof(*vds)) : NULL;
    if (cap > 0 && (fixes == NULL || vds == NULL)) {
        free(fixes);
        free(vds);
        reply_general(c, h, JT808_RESULT_FAILURE);
        return;
    }
    size_t n = 0, bad = 0;
    struct jt808_location l;
    int item_bad, rc;
    while (n < cap && (rc = jt808_batch_next(&it, &l, &item_bad)) == 1) {
        if (item_bad) {
            bad++;
            continue;
        }
        fix_of(&l, it.type == 1, &fixes[n], &vds[n]);
        n++;
    }
    if (bad > 0)
        log_info("%s: terminal %s: 0x0704 with %zu unreadable item(s) of %u",
                 stream_conn_peer(c->sc), c->terminal, bad, (unsigned)it.count);
    if (n == 0) {
        reply_general(c, h, bad > 0 ? JT808_RESULT_BAD_MESSAGE : JT808_RESULT_OK);
        free(fixes);
        free(vds);
        return;
    }
    ingest_reports(c, h, sum, fixes, n, JT808_RESULT_OK, fixes, vds); /* ownership moves */
}

/* The driver-card use case's answer: 0x8001 once recorded; nothing when the store could not
 * record it (the terminal resends); failure when the vehicle is gone. */
static void on_card_recorded(void *arg, const struct refusal *r)
{
    struct jt808_wait *w = arg;
    struct jt808_conn *c = w->c;
    if (!c->srv->freeing) {
        if (r->kind == REFUSAL_NONE)
            reply_general(c, &w->req, JT808_RESULT_OK);
        else if (r->kind == REFUSAL_NOT_FOUND)
            reply_general(c, &w->req, JT808_RESULT_FAILURE);
        else
            log_info("%s: terminal %s: driver card not recorded now (%s); it will be resent",
                     stream_conn_peer(c->sc), c->terminal, r->message);
    }
    struct stream_conn *sc = c->sc;
    free(w);
    stream_conn_release(sc);
}

static void handle_driver(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                          size_t len)
{
    struct jt808_driver d;
    const char *why = "";
    if (jt808_driver_parse(body, len, h->edition == JT808_2019, &d, &why) != 0) {
        log_info("%s: terminal %s: bad 0x0702 (%s)", stream_conn_peer(c->sc), c->terminal, why);
        reply_general(c, h, JT808_RESULT_BAD_MESSAGE);
        return;
    }
    const struct terminal_record *t = terminals_get(c->srv->s, c->terminal);
    struct jt808_wait *w = t ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL) {
        reply_general(c, h, JT808_RESULT_FAILURE);
        return;
    }
    c->srv->stats.driver_cards++;
    /* 2011 reports have no status: a report is a card inserted. */
    struct driver_card card = {
        .inserted = d.status != 2,
        .read_ok = d.read_result == 0,
        .time_ms = d.time_valid ? d.time_ms : 0,
        .expiry_day = d.expiry_day,
    };
    snprintf(card.name, sizeof(card.name), "%s", d.name);
    snprintf(card.certificate, sizeof(card.certificate), "%s", d.certificate);
    log_info("%s: terminal %s: driver card %s (certificate %s, read result %u)",
             stream_conn_peer(c->sc), c->terminal, card.inserted ? "inserted" : "removed",
             card.certificate, (unsigned)d.read_result);
    w->c = c;
    w->req = *h;
    stream_conn_hold(c->sc); /* released by on_card_recorded, now or once stored */
    driver_card_report(c->srv->s, t->vehicle_id, c->device_id, &card, on_card_recorded, w);
}

static void handle_terminal_reply(struct jt808_conn *c, const uint8_t *body, size_t len)
{
    struct jt808_reply r;
    const char *why = "";
    if (jt808_reply_parse(body, len, &r, &why) != 0)
        return;
    if (r.msg_id == JT808_MSG_SET_PARAMS) {
        c->srv->stats.params_answered++;
        log_info("%s: terminal %s answered our parameters (0x8103 serial %u): result %u",
                 stream_conn_peer(c->sc), c->terminal, (unsigned)r.serial, (unsigned)r.result);
    }
}

/* ---- one complete message ---- */

static void handle_message(struct jt808_conn *c, const struct jt808_header *h, const uint8_t *body,
                           size_t len)
{
    struct jt808_server *srv = c->srv;
    if (h->encryption != 0) {
        srv->stats.unsupported++;
        reply_general(c, h, JT808_RESULT_UNSUPPORTED); /* RSA bodies: we publish no key */
        return;
    }
    if (!c->authenticated && h->msg_id != JT808_MSG_REGISTER && h->msg_id != JT808_MSG_AUTH) {
        srv->stats.before_auth_refused++;
        reply_general(c, h, JT808_RESULT_FAILURE);
        if (++c->refused_before_auth >= JT808_BEFORE_AUTH_MAX) {
            log_info("%s: terminal %s sent %d messages without authenticating; closing",
                     stream_conn_peer(c->sc), c->terminal, JT808_BEFORE_AUTH_MAX);
            stream_conn_close(c->sc);
        }
        return;
    }
    uint32_t sum = body_sum(body, len);
    switch (h->msg_id) {
    case JT808_MSG_REGISTER:
        handle_register(c, h, body, len);
        break;
    case JT808_MSG_AUTH:
        handle_auth(c, h, body, len);
        break;
    case JT808_MSG_HEARTBEAT:
        reply_general(c, h, JT808_RESULT_OK);
        break;
    case JT808_MSG_LOGOUT:
        reply_general(c, h, JT808_RESULT_OK);
        stream_conn_close(c->sc);
        break;
    case JT808_MSG_LOCATION:
    case JT808_MSG_BATCH:
        if (recent_seen(c, h->msg_id, h->serial, sum)) {
            /* A retransmission of what is stored: answered, not stored again. */
            srv->stats.retransmissions++;
            reply_general(c, h, JT808_RESULT_OK);
        } else if (h->msg_id == JT808_MSG_LOCATION) {
            handle_location(c, h, body, len, sum);
        } else {
            handle_batch(c, h, body, len, sum);
        }
        break;
    case JT808_MSG_DRIVER:
        handle_driver(c, h, body, len);
        break;
    case JT808_MSG_TERMINAL_REPLY:
        handle_terminal_reply(c, body, len);
        break;
    default:
        srv->stats.unsupported++;
        reply_general(c, h, JT808_RESULT_UNSUPPORTED);
        break;
    }
}

/* ---- subpackages ---- */

static void reasm_list_add(struct jt808_conn *c)
{
    struct jt808_server *srv = c->srv;
    if (c->in_reasm_list)
        return;
    c->in_reasm_list = 1;
    c->reasm_prev = NULL;
    c->reasm_next = srv->reasm_list;
    if (srv->reasm_list)
        srv->reasm_list->reasm_prev = c;
    srv->reasm_list = c;
    if (!evtimer_pending(srv->tick, NULL)) {
        struct timeval one = {1, 0};
        evtimer_add(srv->tick, &one);
    }
}

static void reasm_drop(struct jt808_conn *c)
{
    if (c->in_reasm_list) {
        if (c->reasm_prev)
            c->reasm_prev->reasm_next = c->reasm_next;
        else
            c->srv->reasm_list = c->reasm_next;
        if (c->reasm_next)
            c->reasm_next->reasm_prev = c->reasm_prev;
        c->in_reasm_list = 0;
    }
    jt808_reasm_free(c->reasm);
    c->reasm = NULL;
}

static void handle_subpackage(struct jt808_conn *c, const struct jt808_header *h,
                              const uint8_t *body, size_t len)
{
    c->srv->stats.subpackages++;
    if (!c->authenticated) {
        handle_message(c, h, body, len); /* refused like any message before authentication */
        return;
    }
    if (c->reasm == NULL && (c->reasm = jt808_reasm_new()) == NULL) {
        reply_general(c, h, JT808_RESULT_FAILURE);
        return;
    }
    reasm_list_add(c);
    const uint8_t *whole;
    size_t whole_len;
    uint16_t first_serial;
    enum jt808_reasm_result r =
        jt808_reasm_add(c->reasm, h, body, len, now_ms(), &whole, &whole_len, &first_serial);
    if (r == JT808_REASM_REFUSED) {
        reply_general(c, h, JT808_RESULT_BAD_MESSAGE);
    } else if (r == JT808_REASM_COMPLETE) {
        c->srv->stats.reassembled++;
        struct jt808_header whole_h = *h;
        whole_h.subpackage = 0;
        whole_h.pkg_total = whole_h.pkg_index = 0;
        whole_h.serial = first_serial; /* the reply goes to the message's first packet */
        whole_h.body_len = (uint16_t)(whole_len > 0xFFFF ? 0xFFFF : whole_len);
        handle_message(c, &whole_h, whole, whole_len);
    }
}

struct missing_ctx {
    struct jt808_conn *c;
};

static void on_missing(void *arg, uint16_t msg_id, uint16_t first_serial, const uint16_t *indices,
                       size_t n)
{
    struct jt808_conn *c = ((struct missing_ctx *)arg)->c;
    (void)msg_id;
    struct jt808_header req;
    conn_header(c, &req);
    uint8_t body[JT808_BODY_MAX];
    size_t len = jt808_build_resend_request(first_serial, indices, n, req.edition == JT808_2019,
                                            body, sizeof(body));
    if (len > 0) {
        send_msg(c, &req, JT808_MSG_RESEND_REQUEST, body, len);
        c->srv->stats.resend_requests++;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct jt808_server *srv = arg;
    int64_t now = now_ms();
    int64_t timeout = (int64_t)srv->opt.reassembly_timeout_s * 1000;
    struct jt808_conn *c = srv->reasm_list;
    while (c) {
        struct jt808_conn *next = c->reasm_next;
        struct missing_ctx mc = {c};
        stream_conn_enter(c->sc);
        if (jt808_reasm_tick(c->reasm, now, timeout, on_missing, &mc) == 0) {
            srv->stats.reassembly_dropped++;
            reasm_drop(c);
        }
        stream_conn_leave(c->sc);
        c = next;
    }
    if (srv->reasm_list) {
        struct timeval one = {1, 0};
        evtimer_add(srv->tick, &one);
    }
}

/* ---- input ---- */

/* The frame the deframer handed out: header, then the message (or its packet). */
static void handle_frame(struct jt808_conn *c, const uint8_t *frame, size_t len)
{
    struct jt808_header h;
    const uint8_t *body;
    size_t body_len;
    const char *why = "";
    c->srv->stats.frames_in++;
    if (jt808_header_parse(frame, len, &h, &body, &body_len, &why) != 0) {
        c->srv->stats.headers_bad++;
        log_debug("%s: frame dropped: %s", stream_conn_peer(c->sc), why);
        return;
    }
    /* The number without its left padding: a 2013 "013912345678" and a 2019
     * "00000000013912345678" are one terminal. A number without significant digits (all zeros,
     * or a packed IMEI read as hex) is kept as sent: never a registered terminal (0x0100 answers
     * 4, 0x0102 fails), and still one number per connection. */
    const char *digits = terminal_id_significant(h.phone);
    if (digits == NULL)
        digits = h.phone;
    if (c->terminal[0] == '\0') {
        snprintf(c->terminal, sizeof(c->terminal), "%s", digits);
    } else if (strcmp(c->terminal, digits) != 0) {
        /* One connection, one terminal: another number here is not trusted with the session. */
        log_info("%s: terminal %s sent a frame as %s; closing", stream_conn_peer(c->sc),
                 c->terminal, digits);
        stream_conn_close(c->sc);
        return;
    }
    c->last_2019 = h.edition == JT808_2019;
    c->last_version = h.proto_version;
    if (h.subpackage)
        handle_subpackage(c, &h, body, body_len);
    else
        handle_message(c, &h, body, body_len);
}

/* Feeds in[0..n) to the deframer and handles each frame, until the input ends, a message waits
 * for the store or the connection closes. Returns the bytes consumed. */
static size_t consume(struct jt808_conn *c, const uint8_t *in, size_t n)
{
    size_t off = 0;
    while (off < n && !stream_conn_closing(c->sc) && stream_conn_jobs(c->sc) == 0) {
        if (c->dec == NULL) {
            if ((c->dec = malloc(sizeof(*c->dec))) == NULL) {
                log_error("%s: out of memory reading a frame; closing", stream_conn_peer(c->sc));
                stream_conn_close(c->sc);
                break;
            }
            jt808_deframer_init(c->dec);
            c->dec->in_frame = c->after_flag;
        }
        size_t used = 0;
        enum jt808_feed f = jt808_deframer_feed(c->dec, in + off, n - off, &used);
        off += used;
        if (f == JT808_FRAME) {
            size_t len;
            const uint8_t *frame = jt808_deframer_frame(c->dec, &len);
            handle_frame(c, frame, len);
        } else if (f == JT808_BAD) {
            c->srv->stats.frames_bad++;
            log_debug("%s: frame dropped: %s", stream_conn_peer(c->sc),
                      jt808_deframer_error(c->dec));
        }
    }
    /* Between frames the deframer holds nothing but "the last byte was a flag": keep that bit
     * and give the kilobyte back. */
    if (c->dec != NULL && c->dec->n == 0 && !c->dec->escaped && !c->dec->overflow &&
        !c->dec->bad_escape) {
        c->after_flag = c->dec->in_frame ? 1 : 0;
        free(c->dec);
        c->dec = NULL;
    }
    return off;
}

/* Keeps in[off..n) for when the waiting message is answered. */
static void keep_rest(struct jt808_conn *c, const uint8_t *in, size_t n, size_t off)
{
    if (off >= n || stream_conn_closing(c->sc))
        return;
    uint8_t *rest = malloc(n - off);
    if (rest == NULL) {
        log_error("%s: out of memory keeping input; closing", stream_conn_peer(c->sc));
        stream_conn_close(c->sc);
        return;
    }
    memcpy(rest, in + off, n - off);
    c->carry = rest;
    c->carry_len = n - off;
}

static void proto_input(void *ctx, struct stream_conn *sc)
{
    (void)ctx;
    struct jt808_conn *c = stream_conn_state(sc);
    /* Input kept while a message waited comes first. */
    if (c->carry != NULL) {
        uint8_t *in = c->carry;
        size_t n = c->carry_len;
        c->carry = NULL;
        c->carry_len = 0;
        size_t off = consume(c, in, n);
        keep_rest(c, in, n, off);
        free(in);
    }
    /* Then the socket, one buffer at a time: a buffer is handled whole unless a message
     * waits; after a few buffers the connection yields to the others. */
    for (int reads = 0; reads < 4; reads++) {
        if (stream_conn_closing(sc) || stream_conn_jobs(sc) > 0)
            return;
        uint8_t buf[JT808_READ_MAX];
        ssize_t r = stream_conn_recv(sc, buf, sizeof(buf));
        if (r <= 0)
            return; /* nothing more now, or the peer is gone */
        size_t off = consume(c, buf, (size_t)r);
        keep_rest(c, buf, (size_t)r, off);
    }
    stream_conn_yield(sc);
}

static int proto_init(void *ctx, struct stream_conn *sc)
{
    struct jt808_conn *c = stream_conn_state(sc);
    c->sc = sc;
    c->srv = ctx;
    return 0;
}

static void proto_destroy(void *ctx, struct stream_conn *sc)
{
    (void)ctx;
    struct jt808_conn *c = stream_conn_state(sc);
    reasm_drop(c);
    free(c->dec);
    free(c->carry);
    if (c->dev)
        ingest_device_session_ended(c->dev);
}

static void proto_end(void *ctx, struct stream_conn *sc, enum stream_end why, const char *message)
{
    (void)ctx;
    struct jt808_conn *c = stream_conn_state(sc);
    /* JT/T 808 has no message for "goodbye": the terminal reconnects by itself. */
    int quiet =
        why == STREAM_END_CAP || why == STREAM_END_UNAUTH_CAP || why == STREAM_END_ADDRESS_CAP;
    log_at_(quiet ? LL_DEBUG : LL_INFO, "%s%s%s: %s", stream_conn_peer(sc),
            c->terminal[0] ? " terminal " : "", c->terminal, message);
}

static const struct stream_protocol jt808_protocol = {
    .conn_size = sizeof(struct jt808_conn),
    .init = proto_init,
    .input = proto_input,
    .end = proto_end,
    .destroy = proto_destroy,
};

/* ---- the server ---- */

struct jt808_server *jt808_server_new(struct event_base *base,
                                      const struct jt808_server_options *opt, struct service *s,
                                      char *errbuf, size_t errlen)
{
    struct jt808_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    srv->s = s;
    srv->opt = *opt;
    srv->opt.bind = NULL;
    if (srv->opt.reassembly_timeout_s <= 0)
        srv->opt.reassembly_timeout_s = 10;
    srv->tick = evtimer_new(base, on_tick, srv);
    srv->limits_timer = evtimer_new(base, on_limits_timer, srv);
    struct stream_server_options so = {
        .name = "jt808",
        .bind = opt->bind,
        .port = opt->port,
        .max_connections = opt->max_connections,
        .idle_timeout_s = opt->idle_timeout_s,
        .login_timeout_s = opt->auth_timeout_s,
        .max_unauthenticated = opt->max_unauthenticated,
        .max_unauthenticated_per_address = opt->max_unauthenticated_per_address,
    };
    if (srv->tick == NULL || srv->limits_timer == NULL)
        snprintf(errbuf, errlen, "out of memory");
    else
        srv->ss = stream_server_new(base, &so, &jt808_protocol, srv, errbuf, errlen);
    if (srv->ss == NULL) {
        if (srv->tick)
            event_free(srv->tick);
        if (srv->limits_timer)
            event_free(srv->limits_timer);
        free(srv);
        return NULL;
    }
    return srv;
}

void jt808_server_adopt(struct jt808_server *srv, int fd)
{
    stream_server_adopt(srv->ss, fd);
}

/* EV_TERMINAL_REVOKED: the terminal was deleted, moved to another vehicle or given a new code. */
static void on_terminal_revoked(void *arg, const struct service_event *ev)
{
    struct jt808_server *srv = arg;
    if (ev->terminal_id == NULL)
        return;
    /* Sessions are keyed by the number without its left padding. */
    const char *id = terminal_id_significant(ev->terminal_id);
    struct stream_conn *sc = stream_server_find(srv->ss, id);
    struct jt808_conn *c = sc ? stream_conn_state(sc) : NULL;
    if (c != NULL && !c->registering) {
        log_info("%s: terminal %s: %s; closing its session", stream_conn_peer(sc), id,
                 ev->reason ? ev->reason : "revoked");
        stream_conn_close(sc);
    }
}

int jt808_server_subscribe(struct jt808_server *srv)
{
    return event_bus_subscribe(srv->s->bus, EV_TERMINAL_REVOKED, on_terminal_revoked, srv) != 0 ||
                   event_bus_subscribe(srv->s->bus, EV_LIMITS_CHANGED, on_limits_changed, srv) != 0
               ? -1
               : 0;
}

void jt808_server_shutdown(struct jt808_server *srv)
{
    stream_server_shutdown(srv->ss);
}

size_t jt808_server_connections(const struct jt808_server *srv)
{
    return stream_server_connections(srv->ss);
}

size_t jt808_server_unauthenticated(const struct jt808_server *srv)
{
    return stream_server_unauthenticated(srv->ss);
}

const struct jt808_stats *jt808_server_stats(const struct jt808_server *srv)
{
    return &srv->stats;
}

/* ---- /healthz and /metrics (families documented in docs/http-api.md) ---- */

static size_t probe_connections(void *arg)
{
    return jt808_server_connections(arg);
}

static void probe_metrics(void *arg, struct evbuffer *out)
{
    struct jt808_server *srv = arg;
    const struct stream_stats *ss = stream_server_stats(srv->ss);
    const struct jt808_stats *st = &srv->stats;
    prom_family(out, "lpg_jt808_connections", "gauge", "Open JT/T 808 terminal connections.");
    prom_sample_u64(out, "lpg_jt808_connections", NULL, stream_server_connections(srv->ss));
    prom_family(out, "lpg_jt808_unauthenticated", "gauge",
                "Open JT/T 808 connections not authenticated (0x0102) yet.");
    prom_sample_u64(out, "lpg_jt808_unauthenticated", NULL, stream_server_unauthenticated(srv->ss));
    struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        {"lpg_jt808_accepted_total", "Connections accepted.", ss->accepted},
        {"lpg_jt808_refused_total",
         "Connections refused at the connection cap or the caps of unauthenticated ones.",
         ss->refused_cap + ss->refused_unauth + ss->refused_address},
        {"lpg_jt808_auth_timeouts_total", "Connections closed: not authenticated in time.",
         ss->login_timeouts},
        {"lpg_jt808_idle_timeouts_total", "Connections closed: silent too long.",
         ss->idle_timeouts},
        {"lpg_jt808_frames_in_total", "Frames received with a valid checksum.", st->frames_in},
        {"lpg_jt808_frames_out_total", "Frames sent.", st->frames_out},
        {"lpg_jt808_frames_bad_total", "Frames dropped: checksum, escape or length.",
         st->frames_bad + st->headers_bad},
        {"lpg_jt808_registered_total", "0x0100 answered 0x8100 result 0.", st->registered},
        {"lpg_jt808_register_refused_total", "0x0100 answered with another result.",
         st->register_refused},
        {"lpg_jt808_authenticated_total", "0x0102 accepted.", st->authenticated},
        {"lpg_jt808_auth_refused_total", "0x0102 refused (connection closed).", st->auth_refused},
        {"lpg_jt808_auth_throttled_total",
         "0x0102 refused untried: too many failures of the terminal or from the address.",
         st->auth_throttled},
        {"lpg_jt808_before_auth_refused_total", "Messages refused before authentication.",
         st->before_auth_refused},
        {"lpg_jt808_positions_total", "Location reports handed to ingest.", st->positions},
        {"lpg_jt808_retransmissions_total", "Retransmissions answered without storing again.",
         st->retransmissions},
        {"lpg_jt808_unsupported_total", "Messages answered 0x8001 result 3 (unsupported).",
         st->unsupported},
        {"lpg_jt808_subpackages_total", "Subpackage frames received.", st->subpackages},
        {"lpg_jt808_reassembled_total", "Messages reassembled from subpackages.", st->reassembled},
        {"lpg_jt808_resend_requests_total", "0x8003 sent for missing subpackages.",
         st->resend_requests},
        {"lpg_jt808_params_sent_total", "0x8103 thresholds sent.", st->params_sent},
        {"lpg_jt808_params_answered_total", "0x0001 answers to our 0x8103.", st->params_answered},
        {"lpg_jt808_limits_passes_total",
         "Passes over the sessions after a zone, person or vehicle changed.", st->limits_passes},
        {"lpg_jt808_driver_cards_total", "0x0702 driver identity reports.", st->driver_cards},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        prom_family(out, counters[i].name, "counter", counters[i].help);
        prom_sample_u64(out, counters[i].name, NULL, counters[i].v);
    }
}

struct transport_probe jt808_server_probe(struct jt808_server *srv)
{
    struct transport_probe p = {
        .name = "jt808",
        .connections = probe_connections,
        .metrics = probe_metrics,
        .arg = srv,
    };
    return p;
}

void jt808_server_free(struct jt808_server *srv)
{
    if (srv == NULL)
        return;
    srv->freeing = 1;
    stream_server_free(srv->ss);
    if (srv->tick)
        event_free(srv->tick);
    if (srv->limits_timer)
        event_free(srv->limits_timer);
    free(srv);
}
