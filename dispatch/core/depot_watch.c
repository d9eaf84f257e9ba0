/* depot_watch.c -- see depot_watch.h. */
#include "core/depot_watch.h"

#include "geo_sphere.h"

#include <string.h>

/* Segments are not needed here: the current run of stopped intervals is read from the state. */
static void ignore_segment(void *arg, const struct motion_segment *seg)
{
    (void)arg;
    (void)seg;
}

void depot_watch_init(struct depot_watch *w)
{
    memset(w, 0, sizeof(*w));
}

size_t depot_watch_push(struct depot_watch *w, const struct depot_watch_config *cfg,
                        const struct lpg_station *st, const struct lpg_fix *f,
                        struct depot_event *out)
{
    size_t n = 0;
    if (!w->motion_ready) {
        motion_init(&w->motion, &cfg->motion, ignore_segment, NULL);
        w->motion_ready = true;
    }
    bool inside = st != NULL && lpg_station_contains(st, f->pos);
    /* The first fix since start only says where the vehicle is. */
    if (w->known && st != NULL && inside != w->inside)
        out[n++] = (struct depot_event){.kind = inside ? DEPOT_EV_ENTERED : DEPOT_EV_LEFT,
                                        .at_ms = f->time_ms,
                                        .start_ms = f->time_ms,
                                        .pos = f->pos,
                                        .station_event = true};
    w->known = true;
    w->inside = inside;

    motion_push(&w->motion, f);
    const struct motion *m = &w->motion;
    bool stopped = m->run_open && m->run_end_ms - m->run_start_ms >= cfg->motion.min_stop_ms;
    if (w->stop_start_ms != 0 && (!m->run_open || m->run_start_ms != w->stop_start_ms)) {
        /* The reported stop is over (the run closed, or a new one began after a move). */
        out[n++] = (struct depot_event){.kind = DEPOT_EV_STOP_ENDED,
                                        .at_ms = f->time_ms,
                                        .start_ms = w->stop_start_ms,
                                        .pos = w->stop_pos};
        w->stop_start_ms = 0;
        w->stop_long = false;
    }
    if (stopped && w->stop_start_ms == 0) {
        w->stop_start_ms = m->run_start_ms;
        w->stop_pos = m->anchor;
        out[n++] = (struct depot_event){.kind = DEPOT_EV_STOP_BEGAN,
                                        .at_ms = f->time_ms,
                                        .start_ms = m->run_start_ms,
                                        .pos = m->anchor};
    }
    if (stopped && !w->stop_long && m->run_end_ms - m->run_start_ms >= cfg->long_stop_ms) {
        w->stop_long = true;
        out[n++] = (struct depot_event){.kind = DEPOT_EV_STOP_LONG,
                                        .at_ms = f->time_ms,
                                        .start_ms = m->run_start_ms,
                                        .pos = m->anchor};
    }
    return n;
}

bool depot_stop_is_planned(struct geo_point p, const struct geo_point *places, size_t n,
                           double radius_m, const struct lpg_station *st)
{
    if (st != NULL && lpg_station_contains(st, p))
        return true;
    for (size_t i = 0; i < n; i++)
        if (geo_distance_m(p, places[i]) <= radius_m)
            return true;
    return false;
}
