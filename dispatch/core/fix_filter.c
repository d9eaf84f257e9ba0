/*
 * fix_filter.c - the pre-rule fix filters (see fix_filter.h for the checks and their order).
 */
#include "core/fix_filter.h"

#include "core/legal_defaults.h"

#include "geo_sphere.h"

#include <math.h>
#include <stddef.h>

static const char *const reason_names[FIX_FILTER_REASON_COUNT] = {
    [FIX_FILTER_OK] = "ok",
    [FIX_FILTER_INVALID] = "invalid",
    [FIX_FILTER_ZERO] = "zero",
    [FIX_FILTER_FUTURE] = "future",
    [FIX_FILTER_ACCURACY] = "accuracy",
    [FIX_FILTER_DUPLICATE] = "duplicate",
    [FIX_FILTER_OUT_OF_ORDER] = "out_of_order",
    [FIX_FILTER_JUMP] = "jump",
};

const char *fix_filter_reason_name(enum fix_filter_reason r)
{
    if ((unsigned)r >= FIX_FILTER_REASON_COUNT)
        return "unknown";
    return reason_names[r];
}

void fix_filter_config_default(struct fix_filter_config *cfg)
{
    cfg->max_future_ms = LEGAL_FIX_MAX_FUTURE_S * 1000LL;
    cfg->max_implied_speed_kmh = LEGAL_FIX_MAX_IMPLIED_SPEED_KMH;
    cfg->max_accuracy_m = LEGAL_FIX_MAX_ACCURACY_M;
    cfg->jump_confirm_fixes = 3;
}

void fix_filter_state_init(struct fix_filter_state *st)
{
    *st = (struct fix_filter_state){0};
}

/* Speed implied by moving from a (at a_ms) to b (at b_ms), km/h; b_ms > a_ms. */
static double implied_kmh(struct geo_point a, int64_t a_ms, struct geo_point b, int64_t b_ms)
{
    return geo_distance_m(a, b) / ((double)(b_ms - a_ms) / 1000.0) * 3.6;
}

static bool fix_valid(const struct lpg_fix *f)
{
    if (f->mode < LPG_FIX_MODE_2D || f->mode > LPG_FIX_MODE_3D || f->time_ms <= 0)
        return false;
    if (!isfinite(f->pos.lon) || !isfinite(f->pos.lat) || f->pos.lon < -180.0 ||
        f->pos.lon > 180.0 || f->pos.lat < -90.0 || f->pos.lat > 90.0)
        return false;
    if (f->has_speed && !(isfinite(f->speed_kmh) && f->speed_kmh >= 0.0))
        return false;
    if (f->has_accuracy && !(isfinite(f->accuracy_m) && f->accuracy_m >= 0.0))
        return false;
    return true;
}

enum fix_filter_reason fix_filter_apply(const struct fix_filter_config *cfg,
                                        struct fix_filter_state *st, const struct lpg_fix *fix,
                                        int64_t now_ms, double *implied_speed_kmh, bool *reanchored)
{
    double implied = NAN;
    bool re = false;
    enum fix_filter_reason r = FIX_FILTER_OK;

    if (!fix_valid(fix))
        r = FIX_FILTER_INVALID;
    else if (fix->pos.lon == 0.0 && fix->pos.lat == 0.0)
        r = FIX_FILTER_ZERO;
    else if (fix->time_ms > now_ms + cfg->max_future_ms)
        r = FIX_FILTER_FUTURE;
    else if (fix->has_accuracy && fix->accuracy_m > cfg->max_accuracy_m)
        r = FIX_FILTER_ACCURACY;
    else if (st->last_ms != 0 && fix->time_ms == st->last_ms)
        r = FIX_FILTER_DUPLICATE;
    else if (st->last_ms != 0 && fix->time_ms < st->last_ms)
        r = FIX_FILTER_OUT_OF_ORDER;
    else if (st->last_ms != 0) {
        implied = implied_kmh(st->last_pos, st->last_ms, fix->pos, fix->time_ms);
        if (!(implied <= cfg->max_implied_speed_kmh)) {
            /* A jump: count it towards re-anchoring when consistent with the candidate. */
            if (st->cand_ms != 0 && fix->time_ms > st->cand_ms &&
                implied_kmh(st->cand_pos, st->cand_ms, fix->pos, fix->time_ms) <=
                    cfg->max_implied_speed_kmh)
                st->cand_count++;
            else
                st->cand_count = 1;
            st->cand_ms = fix->time_ms;
            st->cand_pos = fix->pos;
            if (cfg->jump_confirm_fixes > 0 && st->cand_count >= cfg->jump_confirm_fixes) {
                re = true;
                implied = NAN;
            } else {
                r = FIX_FILTER_JUMP;
            }
        }
    }

    if (r == FIX_FILTER_OK) {
        st->last_ms = fix->time_ms;
        st->last_pos = fix->pos;
        st->cand_ms = 0;
        st->cand_pos = (struct geo_point){0};
        st->cand_count = 0;
    } else {
        implied = NAN;
    }
    if (implied_speed_kmh != NULL)
        *implied_speed_kmh = implied;
    if (reanchored != NULL)
        *reanchored = re;
    return r;
}
