/*
 * agent_receiver.c - epochs of TPVs to fixes, with the receiver rules of agent_receiver.h.
 */
#include "agent/agent_receiver.h"

#include <math.h>
#include <string.h>

#include "geo_sphere.h"

/* Below this distance between fixes a derived course is noise, not a direction. */
#define HEADING_MIN_MOVE_M 1.0

void agent_receiver_init(struct agent_receiver *r, int64_t time_offset_ms,
                         int64_t derive_max_gap_ms)
{
    memset(r, 0, sizeof(*r));
    r->time_offset_ms = time_offset_ms;
    r->derive_max_gap_ms = derive_max_gap_ms;
}

/* A later TPV of the same epoch knows at least as much, except where it says nothing. */
static void merge(struct agent_reading *into, const struct agent_reading *rd)
{
    struct agent_reading old = *into;
    *into = *rd;
    if (isnan(into->speed_m_s))
        into->speed_m_s = old.speed_m_s;
    if (isnan(into->track_deg))
        into->track_deg = old.track_deg;
    if (isnan(into->eph_m))
        into->eph_m = old.eph_m;
    if (isnan(into->epx_m))
        into->epx_m = old.epx_m;
    if (isnan(into->epy_m))
        into->epy_m = old.epy_m;
    if (isnan(into->alt_msl_m))
        into->alt_msl_m = old.alt_msl_m;
    if (into->satellites_used < 0)
        into->satellites_used = old.satellites_used;
    if (into->mode < old.mode)
        into->mode = old.mode;
}

static uint32_t to_u32(double v, double max)
{
    if (!(v >= 0))
        return 0;
    return v >= max ? (uint32_t)max : (uint32_t)lround(v);
}

/* The pending epoch as a fix; 0 when it must be skipped. */
static int finish(struct agent_receiver *r, struct agent_fix *out)
{
    const struct agent_reading *p = &r->pending;
    r->has_pending = false;
    if (r->has_last && p->time_ms <= r->last_time_ms) {
        r->c.backwards++;
        /* A few epochs back in time are a glitch (or a spliced log): dropped. A receiver that
         * stays on its new timeline was wrong before, not now: follow it. */
        if (++r->backwards_run < AGENT_REANCHOR_EPOCHS)
            return 0;
        r->has_last = false;
        r->c.reanchored++;
    }
    r->backwards_run = 0;
    memset(out, 0, sizeof(*out));
    out->time_ms = (uint64_t)(p->time_ms + r->time_offset_ms);
    out->rx_ms = (uint64_t)r->pending_rx_ms;
    out->lat_e7 = (int32_t)lround(p->lat * 1e7);
    out->lon_e7 = (int32_t)lround(p->lon * 1e7);
    out->mode = (uint8_t)(p->mode >= 3 ? 3 : 2);
    out->source = 1; /* GNSS */
    double acc = p->eph_m;
    if (isnan(acc) && !isnan(p->epx_m) && !isnan(p->epy_m))
        acc = p->epx_m > p->epy_m ? p->epx_m : p->epy_m;
    if (!isnan(acc)) {
        out->has_accuracy = true;
        out->accuracy_cm = to_u32(acc * 100.0, 4e9);
    }
    if (p->mode >= 3 && !isnan(p->alt_msl_m)) {
        out->has_altitude = true;
        out->altitude_cm = (int32_t)lround(p->alt_msl_m * 100.0);
    }
    if (p->satellites_used >= 0) {
        out->has_satellites = true;
        out->satellites = (uint8_t)(p->satellites_used > 255 ? 255 : p->satellites_used);
    }
    if (!isnan(p->speed_m_s)) {
        out->has_speed = true;
        out->speed_cm_s = to_u32(p->speed_m_s * 100.0, 4e9);
    }
    if (!isnan(p->track_deg)) {
        out->has_heading = true;
        out->heading_cdeg = to_u32(fmod(p->track_deg, 360.0) * 100.0, 35999);
    }
    int64_t dt = r->has_last ? p->time_ms - r->last_time_ms : 0;
    if ((!out->has_speed || !out->has_heading) && r->has_last && dt <= r->derive_max_gap_ms) {
        struct geo_point a = {.lon = r->last_lon, .lat = r->last_lat};
        struct geo_point b = {.lon = p->lon, .lat = p->lat};
        double d = geo_distance_m(a, b);
        if (!out->has_speed) {
            out->has_speed = true;
            out->speed_cm_s = to_u32(d * 100.0 / ((double)dt / 1000.0), 4e9);
            out->speed_derived = true;
            r->c.derived++;
        }
        if (!out->has_heading && d >= HEADING_MIN_MOVE_M) {
            out->has_heading = true;
            out->heading_cdeg = to_u32(geo_initial_bearing_deg(a, b) * 100.0, 35999);
            out->speed_derived = true;
        }
    }
    r->has_last = true;
    r->last_time_ms = p->time_ms;
    r->last_lat = p->lat;
    r->last_lon = p->lon;
    r->c.epochs++;
    return 1;
}

int agent_receiver_offer(struct agent_receiver *r, const struct agent_reading *rd, int64_t rx_ms,
                         struct agent_fix *out)
{
    r->c.reports++;
    if (rd->mode < 2 || isnan(rd->lat) || isnan(rd->lon)) {
        r->c.no_fix++;
        return 0;
    }
    if (!rd->has_time || rd->time_ms < AGENT_MIN_TIME_MS) {
        r->c.no_time++;
        return 0;
    }
    if (r->has_pending && rd->time_ms == r->pending.time_ms) {
        merge(&r->pending, rd);
        return 0;
    }
    int done = r->has_pending ? finish(r, out) : 0;
    r->pending = *rd;
    r->pending_rx_ms = rx_ms;
    r->has_pending = true;
    return done;
}

int agent_receiver_flush(struct agent_receiver *r, struct agent_fix *out)
{
    return r->has_pending ? finish(r, out) : 0;
}
