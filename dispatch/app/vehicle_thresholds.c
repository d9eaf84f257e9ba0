/* vehicle_thresholds.c -- see vehicle_thresholds.h. */
#include "app/vehicle_thresholds.h"

#include "core/registry.h"
#include "core/rules.h"

#include <stdio.h>
#include <string.h>

/* Zones read per page while looking for the highest limit. */
#define ZONES_PAGE 64

/* The highest limit the server's overspeed rule can apply to vehicle v anywhere (rules.h:
 * rules_speed_limit_kmh with rules_ctx_zones_at, the same two functions the rule calls): the
 * largest of the limit off every zone (the road default) and the limit inside each zone of the
 * enterprise alone, with the vehicle's own limit as the ceiling over each. Where zones overlap
 * the rule takes the lowest of them (or the expressway zones' alone), never more than one of
 * them alone gives, so this bounds every position from above. In practice: the expressway
 * limit when the enterprise has an expressway zone (lowered if every one of them has a lower
 * limit of its own), else the road default; the vehicle's speed_limit_kmh over that. */
static double highest_speed_limit_kmh(const struct service *s, const struct lpg_vehicle *v)
{
    struct rules_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    if (v)
        ctx.vehicle_limit_kmh = v->speed_limit_kmh;
    double hi = rules_speed_limit_kmh(&s->rules_cfg, &ctx);
    if (v == NULL)
        return hi;
    const struct lpg_zone *page[ZONES_PAGE];
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    do {
        n = registry_list_zones(s->registry, v->enterprise_id, after, ZONES_PAGE, NULL, NULL, page);
        for (size_t i = 0; i < n; i++) {
            rules_ctx_zones_at(&ctx, &page[i], 1);
            double lim = rules_speed_limit_kmh(&s->rules_cfg, &ctx);
            if (lim > hi)
                hi = lim;
        }
        if (n > 0)
            snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    } while (n == ZONES_PAGE);
    return hi;
}

void vehicle_thresholds(const struct service *s, const char *vehicle_id,
                        struct vehicle_thresholds *t)
{
    const struct rules_config *cfg = &s->rules_cfg;
    const struct lpg_vehicle *v = vehicle_id ? registry_vehicle(s->registry, vehicle_id) : NULL;
    t->max_speed_kmh = highest_speed_limit_kmh(s, v);
    t->overspeed_duration_s = cfg->overspeed_duration_ms / 1000;
    t->overspeed_warning_kmh = cfg->overspeed_warning_margin_kmh;
    t->continuous_driving_s = cfg->continuous_driving_max_ms / 1000;
    t->daily_driving_s = cfg->daily_driving_max_ms / 1000;
    t->min_rest_s = cfg->min_rest_ms / 1000;
    t->fatigue_warning_s = cfg->fatigue_warning_ms / 1000;
    t->max_parking_s = 0;
}
