/* vehicle_thresholds.c -- see vehicle_thresholds.h. */
#include "app/vehicle_thresholds.h"

#include "core/registry.h"
#include "core/rules.h"

#include <string.h>

void vehicle_thresholds(const struct service *s, const char *vehicle_id,
                        struct vehicle_thresholds *t)
{
    const struct rules_config *cfg = &s->rules_cfg;
    struct rules_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    const struct lpg_vehicle *v = vehicle_id ? registry_vehicle(s->registry, vehicle_id) : NULL;
    const struct lpg_staff *p =
        v && v->staff_id[0] ? registry_staff(s->registry, v->staff_id) : NULL;
    const struct lpg_zone *z = p && p->zone_id[0] ? registry_zone(s->registry, p->zone_id) : NULL;
    if (z) {
        ctx.has_zone = true;
        ctx.zone_limit_kmh = z->speed_limit_kmh;
        ctx.expressway = z->expressway;
    }
    t->max_speed_kmh = rules_speed_limit_kmh(cfg, &ctx);
    t->overspeed_duration_s = cfg->overspeed_duration_ms / 1000;
    t->overspeed_warning_kmh = cfg->overspeed_warning_margin_kmh;
    t->continuous_driving_s = cfg->continuous_driving_max_ms / 1000;
    t->daily_driving_s = cfg->daily_driving_max_ms / 1000;
    t->min_rest_s = cfg->min_rest_ms / 1000;
    t->fatigue_warning_s = cfg->fatigue_warning_ms / 1000;
    t->max_parking_s = 0;
}
