/* motion.c - trips and stops from a sequence of fixes (motion.h). */
#include "core/motion.h"

#include "geo_sphere.h"

#include <string.h>

void motion_config_from_rules(struct motion_config *m, const struct rules_config *cfg,
                              int64_t min_stop_ms)
{
    m->stop_speed_kmh = cfg->stop_speed_kmh;
    m->min_displacement_m = cfg->min_displacement_m;
    m->fix_gap_ms = cfg->fix_gap_ms;
    m->gap_rest_max_distance_m = cfg->gap_rest_max_distance_m;
    m->gap_assumed_speed_kmh = cfg->gap_assumed_speed_kmh;
    m->min_stop_ms = min_stop_ms;
}

void motion_init(struct motion *m, const struct motion_config *cfg, motion_emit_fn *emit, void *arg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->emit = emit;
    m->arg = arg;
}

static bool measured(const struct lpg_fix *f)
{
    return f->has_speed && !(f->flags & LPG_FIX_DERIVED_SPEED);
}

static void seg_open_at(struct motion *m, int64_t t, struct geo_point pos, bool from_first)
{
    memset(&m->seg, 0, sizeof(m->seg));
    m->seg.kind = MOTION_TRIP;
    m->seg.start_ms = m->seg.end_ms = t;
    m->seg.start_pos = m->seg.end_pos = pos;
    m->seg_open = true;
    m->seg_from_first = from_first;
    m->seg_moved = false;
    m->seg_after_stop = false;
}

/* Emits the open trip (if it moved at all), ending where it ended; open_end when it ends at
 * the last fix of the input. */
static void seg_close(struct motion *m, bool open_end)
{
    if (m->seg_open && m->seg_moved) {
        m->seg.open_start = m->seg_from_first;
        m->seg.open_end = open_end;
        m->emit(m->arg, &m->seg);
    }
    m->seg_open = false;
}

static bool run_is_stop(const struct motion *m)
{
    return m->run_open && m->run_end_ms - m->run_start_ms >= m->cfg.min_stop_ms;
}

static void emit_stop(struct motion *m, bool open_end)
{
    struct motion_segment s;
    memset(&s, 0, sizeof(s));
    s.kind = MOTION_STOP;
    s.start_ms = m->run_start_ms;
    s.end_ms = m->run_end_ms;
    s.start_pos = s.end_pos = m->anchor;
    s.open_start = m->run_from_first;
    s.open_end = open_end;
    m->emit(m->arg, &s);
}

/* A short stopped run becomes part of the open trip. */
static void run_absorb(struct motion *m)
{
    m->seg.distance_m += m->run_distance_m;
    m->seg.end_ms = m->run_end_ms;
    m->seg.end_pos = m->run_end_pos;
    m->run_open = false;
}

void motion_push(struct motion *m, const struct lpg_fix *f)
{
    const struct motion_config *c = &m->cfg;
    const int64_t t = f->time_ms;
    if (m->have_last && t <= m->last_ms) {
        m->n_ignored++;
        return;
    }
    m->n_fixes++;
    if (!m->have_last) {
        /* As the fatigue rule: the first fix is moving when its measured speed says so; if
         * not, a stopped run begins here with the anchor at the fix. */
        m->have_last = true;
        m->last_ms = t;
        m->last_pos = f->pos;
        m->last_moving = measured(f) && f->speed_kmh >= c->stop_speed_kmh;
        seg_open_at(m, t, f->pos, true);
        if (!m->last_moving) {
            m->run_open = true;
            m->run_from_first = true;
            m->run_start_ms = m->run_end_ms = t;
            m->anchor = m->run_end_pos = f->pos;
            m->run_distance_m = 0;
        }
        return;
    }

    const int64_t dt = t - m->last_ms;
    const double d_m = geo_distance_m(m->last_pos, f->pos);
    const double avg_kmh = d_m / ((double)dt / 1000.0) * 3.6;
    bool moving;
    int64_t credit = dt;
    if (dt > c->fix_gap_ms) {
        moving = !(d_m <= c->gap_rest_max_distance_m && avg_kmh < c->stop_speed_kmh);
        if (moving && c->gap_assumed_speed_kmh > 0.0) {
            double need_ms = d_m / (c->gap_assumed_speed_kmh / 3.6) * 1000.0;
            if (need_ms < (double)dt)
                credit = (int64_t)need_ms;
        }
    } else if (m->last_moving) {
        moving = measured(f) ? f->speed_kmh >= c->stop_speed_kmh : avg_kmh >= c->stop_speed_kmh;
    } else {
        moving = geo_distance_m(m->anchor, f->pos) >= c->min_displacement_m &&
                 (!measured(f) || f->speed_kmh >= c->stop_speed_kmh);
    }

    if (moving) {
        double leg = d_m;
        if (m->run_open) {
            if (run_is_stop(m)) {
                seg_close(m, false);
                emit_stop(m, false);
                /* The trip leaves from the stop's position at the stop's end. */
                seg_open_at(m, m->run_end_ms, m->anchor, false);
                m->seg_after_stop = true;
                m->run_open = false;
            } else {
                run_absorb(m);
            }
        }
        if (!m->seg_open)
            seg_open_at(m, m->last_ms, m->last_pos, false);
        if (m->seg_after_stop && !m->seg_moved)
            leg = geo_distance_m(m->seg.start_pos, f->pos);
        m->seg.distance_m += leg;
        m->seg.driving_ms += credit;
        m->seg.end_ms = t;
        m->seg.end_pos = f->pos;
        m->seg_moved = true;
        if (measured(f) && (!m->seg.has_max_speed || f->speed_kmh > m->seg.max_speed_kmh)) {
            m->seg.max_speed_kmh = f->speed_kmh;
            m->seg.has_max_speed = true;
        }
    } else {
        if (!m->run_open) {
            m->run_open = true;
            m->run_from_first = false;
            m->run_start_ms = m->last_ms;
            m->anchor = f->pos;
            m->run_distance_m = 0;
        }
        m->run_end_ms = t;
        m->run_end_pos = f->pos;
        m->run_distance_m += d_m;
    }
    m->last_moving = moving;
    m->last_ms = t;
    m->last_pos = f->pos;
}

void motion_finish(struct motion *m)
{
    if (!m->have_last)
        return;
    if (run_is_stop(m)) {
        seg_close(m, false);
        emit_stop(m, true);
    } else {
        if (m->run_open && m->seg_open)
            run_absorb(m);
        seg_close(m, true);
    }
    m->run_open = false;
    m->have_last = false;
}
