/*
 * agent_gpsd.c - gpsd on the event loop (see agent_gpsd.h).
 */
#define LOG_TAG "gpsd"
#include "agent/agent_gpsd.h"

#include <errno.h>
#include <gps.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/backoff.h"
#include "common/log.h"
#include "common/timeval_ms.h"

/* Longest gpsd report kept for the class check (gpsd's JSON lines are at most 10 KB). */
#define GPSD_LINE_MAX 10240

struct agent_gpsd {
    struct event_base *base;
    const struct agent_config *cfg;
    agent_gpsd_fix_fn on_fix;
    void *arg;
    struct gps_data_t gd;
    bool connected;
    bool got_data; /* something arrived on this connection (logged once) */
    struct event *read_ev, *retry_ev, *epoch_ev;
    struct backoff backoff;
    struct agent_receiver rcv;
    unsigned connects;
    unsigned failures; /* consecutive failed attempts, for the log */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void schedule_retry(struct agent_gpsd *g)
{
    struct timeval tv = timeval_from_ms(backoff_next(&g->backoff));
    evtimer_add(g->retry_ev, &tv);
}

static void take_epoch(struct agent_gpsd *g)
{
    struct agent_fix f;
    if (agent_receiver_flush(&g->rcv, &f))
        g->on_fix(g->arg, &f);
}

static void drop(struct agent_gpsd *g, const char *why)
{
    if (!g->connected)
        return;
    log_warn("lost gpsd at %s:%lld (%s); reconnecting with backoff", g->cfg->gpsd_host,
             (long long)g->cfg->gpsd_port, why);
    event_free(g->read_ev);
    g->read_ev = NULL;
    gps_close(&g->gd);
    g->connected = false;
    take_epoch(g);
    schedule_retry(g);
}

/* One report decoded by libgps into g->gd, as the receiver rules take it. */
static void reading_from_gd(const struct gps_data_t *gd, struct agent_reading *rd)
{
    memset(rd, 0, sizeof(*rd));
    rd->mode = gd->fix.mode;
    int64_t t = (int64_t)gd->fix.time.tv_sec * 1000 + gd->fix.time.tv_nsec / 1000000;
    rd->has_time = gd->fix.time.tv_sec > 0;
    rd->time_ms = t;
    rd->lat = gd->fix.latitude;
    rd->lon = gd->fix.longitude;
    rd->speed_m_s = gd->fix.speed;
    rd->track_deg = gd->fix.track;
    rd->eph_m = gd->fix.eph;
    rd->epx_m = gd->fix.epx;
    rd->epy_m = gd->fix.epy;
    rd->alt_msl_m = gd->fix.altMSL;
    rd->satellites_used = gd->satellites_used > 0 ? gd->satellites_used : -1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent_gpsd *g = arg;
    char msg[GPSD_LINE_MAX];
    do {
        msg[0] = '\0';
        int n = gps_read(&g->gd, msg, (int)sizeof(msg));
        if (n < 0) {
            drop(g, "connection closed or read error");
            return;
        }
        if (n == 0)
            break;
        if (!g->got_data) {
            g->got_data = true;
            backoff_reset(&g->backoff);
            log_info("gpsd is streaming");
        }
        /* After a SKY report libgps keeps the previous TPV's flags set: only the JSON class
         * says that this line is a position report. */
        if (strstr(msg, "\"class\":\"TPV\"") == NULL)
            continue;
        struct agent_reading rd;
        reading_from_gd(&g->gd, &rd);
        struct agent_fix f;
        if (agent_receiver_offer(&g->rcv, &rd, wall_ms(), &f))
            g->on_fix(g->arg, &f);
        struct timeval tv = timeval_from_ms(g->cfg->epoch_timeout);
        evtimer_add(g->epoch_ev, &tv);
    } while (g->connected && gps_waiting(&g->gd, 0));
}

static void on_epoch_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    take_epoch(arg);
}

static void try_connect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent_gpsd *g = arg;
    char port[16];
    snprintf(port, sizeof(port), "%lld", (long long)g->cfg->gpsd_port);
    memset(&g->gd, 0, sizeof(g->gd));
    if (gps_open(g->cfg->gpsd_host, port, &g->gd) != 0) {
        /* Said once, then again every 10th attempt: gpsd may be down for long. */
        if (g->failures++ % 10 == 0)
            log_warn("cannot connect to gpsd at %s:%s (%s); retrying with backoff "
                     "(is gpsd running? attempt %u)",
                     g->cfg->gpsd_host, port, gps_errstr(errno), g->failures);
        schedule_retry(g);
        return;
    }
    if (gps_stream(&g->gd, WATCH_ENABLE | WATCH_JSON, NULL) != 0) {
        log_warn("gpsd at %s:%s refused the WATCH request; retrying", g->cfg->gpsd_host, port);
        gps_close(&g->gd);
        schedule_retry(g);
        return;
    }
    g->read_ev = event_new(g->base, g->gd.gps_fd, EV_READ | EV_PERSIST, on_read, g);
    if (!g->read_ev || event_add(g->read_ev, NULL) != 0) {
        log_error("out of memory watching gpsd's socket");
        if (g->read_ev)
            event_free(g->read_ev);
        g->read_ev = NULL;
        gps_close(&g->gd);
        schedule_retry(g);
        return;
    }
    g->connected = true;
    g->got_data = false;
    g->failures = 0;
    g->connects++;
    log_info("connected to gpsd at %s:%s", g->cfg->gpsd_host, port);
}

struct agent_gpsd *agent_gpsd_new(struct event_base *base, const struct agent_config *cfg,
                                  agent_gpsd_fix_fn on_fix, void *arg)
{
    struct agent_gpsd *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->base = base;
    g->cfg = cfg;
    g->on_fix = on_fix;
    g->arg = arg;
    backoff_init(&g->backoff, (int)cfg->reconnect_min, (int)cfg->reconnect_max);
    agent_receiver_init(&g->rcv, cfg->time_offset * 1000, cfg->derive_max_gap * 1000);
    g->retry_ev = evtimer_new(base, try_connect, g);
    g->epoch_ev = evtimer_new(base, on_epoch_timeout, g);
    if (!g->retry_ev || !g->epoch_ev) {
        agent_gpsd_free(g);
        return NULL;
    }
    struct timeval now = {0, 0};
    evtimer_add(g->retry_ev, &now);
    return g;
}

void agent_gpsd_free(struct agent_gpsd *g)
{
    if (!g)
        return;
    if (g->connected) {
        event_free(g->read_ev);
        gps_close(&g->gd);
    }
    if (g->on_fix)
        take_epoch(g);
    if (g->retry_ev)
        event_free(g->retry_ev);
    if (g->epoch_ev)
        event_free(g->epoch_ev);
    free(g);
}

bool agent_gpsd_connected(const struct agent_gpsd *g)
{
    return g->connected;
}

const struct agent_receiver_counters *agent_gpsd_counters(const struct agent_gpsd *g)
{
    return &g->rcv.c;
}

unsigned agent_gpsd_connects(const struct agent_gpsd *g)
{
    return g->connects;
}
