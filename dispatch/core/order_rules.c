/* order_rules.c -- the order-creation rules (order_rules.h): one small function per rule, run in
 * the order of the `rules[]` table; the first refusal wins. Pure. */
#include "core/order_rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What every rule reads. */
struct rule_ctx {
    const struct lpg_enterprise *e;
    const struct lpg_customer *c;
    const struct lpg_order *o;
    int64_t now_ms;
};

typedef int rule_fn(const struct rule_ctx *x, struct order_refusal *out);

/* Field names of indexed items, static so a refusal can be copied freely. */
_Static_assert(LPG_ORDER_ITEMS_MAX == 8, "extend the item field tables");
static const char *const item_spec_field[LPG_ORDER_ITEMS_MAX] = {
    "items[0].spec", "items[1].spec", "items[2].spec", "items[3].spec",
    "items[4].spec", "items[5].spec", "items[6].spec", "items[7].spec",
};
static const char *const item_count_field[LPG_ORDER_ITEMS_MAX] = {
    "items[0].count", "items[1].count", "items[2].count", "items[3].count",
    "items[4].count", "items[5].count", "items[6].count", "items[7].count",
};

__attribute__((format(printf, 4, 5))) static int refuse(struct order_refusal *out, const char *code,
                                                        const char *field, const char *fmt, ...)
{
    out->code = code;
    out->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_reinspection(const struct lpg_order *o)
{
    return o->kind == LPG_ORDER_REINSPECTION;
}

/* "2026-11-28 21:15" in the enterprise's local time, for messages. */
static void local_time_str(int64_t ms, int32_t utc_offset_min, char out[32])
{
    int32_t day = lpg_local_day(ms, utc_offset_min);
    int64_t in_day = ms + (int64_t)utc_offset_min * 60000 - (int64_t)day * 86400000;
    char date[11];
    lpg_day_format(day, date);
    snprintf(out, 32, "%s %02d:%02d", date, (int)(in_day / 3600000), (int)(in_day / 60000 % 60));
}

/* ---- the order itself ---- */

static int rule_kind(const struct rule_ctx *x, struct order_refusal *out)
{
    if (x->o->kind != LPG_ORDER_DELIVERY && x->o->kind != LPG_ORDER_REINSPECTION)
        return refuse(out, "invalid_order_kind", "kind", "order %s has an unknown kind (%d)",
                      x->o->id, (int)x->o->kind);
    return 0;
}

static int rule_items_present(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_order *o = x->o;
    if (o->n_items < 0 || o->n_items > LPG_ORDER_ITEMS_MAX)
        return refuse(out, "too_many_items", "items",
                      "order %s has %" PRId32 " items; at most %d distinct cylinder specs "
                      "(LPG_ORDER_ITEMS_MAX) are allowed",
                      o->id, o->n_items, LPG_ORDER_ITEMS_MAX);
    if (is_reinspection(o) && o->n_items > 0)
        return refuse(out, "reinspection_with_items", "items",
                      "re-inspection order %s carries cylinders; a re-inspection is a visit "
                      "only: deliver on a separate order once the check has passed",
                      o->id);
    if (!is_reinspection(o) && o->n_items == 0)
        return refuse(out, "no_items", "items",
                      "delivery order %s has no items: give at least one cylinder spec and "
                      "count",
                      o->id);
    return 0;
}

static int rule_item_counts(const struct rule_ctx *x, struct order_refusal *out)
{
    for (int32_t i = 0; i < x->o->n_items; i++) {
        const struct lpg_order_item *it = &x->o->items[i];
        if (it->count < 1 || it->count > ORDER_RULES_ITEM_COUNT_MAX)
            return refuse(out, "invalid_item_count", item_count_field[i],
                          "item %" PRId32 " (%s) asks for %" PRId32 " cylinders; each item "
                          "takes 1 to %d (ORDER_RULES_ITEM_COUNT_MAX)",
                          i, it->spec, it->count, ORDER_RULES_ITEM_COUNT_MAX);
    }
    return 0;
}

static int rule_specs_known(const struct rule_ctx *x, struct order_refusal *out)
{
    for (int32_t i = 0; i < x->o->n_items; i++) {
        const char *spec = x->o->items[i].spec;
        if (lpg_cylinder_spec_find(spec) == NULL)
            return refuse(out, "unknown_cylinder_spec", item_spec_field[i],
                          "item %" PRId32 ": unknown cylinder spec \"%s\"", i, spec);
    }
    return 0;
}

static int rule_specs_distinct(const struct rule_ctx *x, struct order_refusal *out)
{
    for (int32_t i = 1; i < x->o->n_items; i++)
        for (int32_t j = 0; j < i; j++)
            if (strcmp(x->o->items[i].spec, x->o->items[j].spec) == 0)
                return refuse(out, "duplicate_cylinder_spec", item_spec_field[i],
                              "cylinder spec %s is listed in items %" PRId32 " and %" PRId32
                              "; give each spec once with its total count",
                              x->o->items[i].spec, j, i);
    return 0;
}

static int rule_window_valid(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_order *o = x->o;
    if (o->window_start_ms < 0 || o->window_end_ms < 0)
        return refuse(out, "invalid_window", o->window_end_ms < 0 ? "window_end" : "window_start",
                      "order %s: a delivery window instant is before 1970", o->id);
    if (o->window_start_ms != 0 && o->window_end_ms != 0 && o->window_end_ms < o->window_start_ms) {
        char s[32], t[32];
        local_time_str(o->window_start_ms, x->e->utc_offset_min, s);
        local_time_str(o->window_end_ms, x->e->utc_offset_min, t);
        return refuse(out, "invalid_window", "window_end",
                      "order %s: the delivery window ends (%s) before it starts (%s)", o->id, t, s);
    }
    return 0;
}

static int rule_window_future(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_order *o = x->o;
    if (o->window_end_ms != 0 && o->window_end_ms <= x->now_ms) {
        char t[32];
        local_time_str(o->window_end_ms, x->e->utc_offset_min, t);
        return refuse(out, "window_in_past", "window_end",
                      "order %s: the delivery window ended at %s, before the order was created",
                      o->id, t);
    }
    return 0;
}

/* ---- who the order is for ---- */

static int rule_references(const struct rule_ctx *x, struct order_refusal *out)
{
    if (strcmp(x->o->enterprise_id, x->e->id) != 0)
        return refuse(out, "enterprise_mismatch", "enterprise_id",
                      "order %s is for enterprise %s, checked against enterprise %s", x->o->id,
                      x->o->enterprise_id, x->e->id);
    if (strcmp(x->o->customer_id, x->c->id) != 0)
        return refuse(out, "customer_mismatch", "customer_id",
                      "order %s is for customer %s, checked against customer %s", x->o->id,
                      x->o->customer_id, x->c->id);
    return 0;
}

static int rule_customer_enterprise(const struct rule_ctx *x, struct order_refusal *out)
{
    if (strcmp(x->c->enterprise_id, x->o->enterprise_id) != 0)
        /* Names the order's enterprise only: the customer's own is none of the caller's
         * business (over HTTP this case is answered as an unknown customer before). */
        return refuse(out, "customer_not_in_enterprise", "customer_id",
                      "customer %s is not a customer of enterprise %s", x->c->id,
                      x->o->enterprise_id);
    return 0;
}

/* An enterprise with an expired gas business licence (燃气经营许可证, 燃气经营许可管理办法)
 * takes no new orders: the licence's last valid day is its enterprise-local expiry day. */
static int rule_enterprise_licence(const struct rule_ctx *x, struct order_refusal *out)
{
    int32_t exp = x->e->licence_expiry_day;
    if (exp == LPG_DAY_NONE || lpg_local_day(x->now_ms, x->e->utc_offset_min) <= exp)
        return 0;
    char day[16];
    lpg_day_format(exp, day);
    return refuse(out, "enterprise_licence_expired", "enterprise_id",
                  "enterprise %s's gas business licence %s expired on %s", x->e->id,
                  x->e->licence_no[0] ? x->e->licence_no : "(no number)", day);
}

/* §二(一)3: no supply without a supply contract in force. */
static int rule_contract(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_customer *c = x->c;
    if (c->contract_no[0] == '\0')
        return refuse(out, "no_supply_contract", "customer_id",
                      "customer %s has no supply contract", c->id);
    int32_t today = lpg_local_day(x->now_ms, x->e->utc_offset_min);
    char day[11];
    if (c->contract_from_day != LPG_DAY_NONE && today < c->contract_from_day) {
        lpg_day_format(c->contract_from_day, day);
        return refuse(out, "supply_contract_not_in_force", "customer_id",
                      "customer %s's supply contract %s only starts on %s", c->id, c->contract_no,
                      day);
    }
    if (c->contract_to_day != LPG_DAY_NONE && today > c->contract_to_day) {
        lpg_day_format(c->contract_to_day, day);
        return refuse(out, "supply_contract_not_in_force", "customer_id",
                      "customer %s's supply contract %s expired on %s", c->id, c->contract_no, day);
    }
    return 0;
}

/* §二(一)3: no LPG for resale to anyone without a gas business licence (向未取得燃气经营许可证的
 * 单位或者个人提供用于经营的液化气); a reseller's licence must be in force on the local day. */
static int rule_reseller_licence(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_customer *c = x->c;
    if (c->kind != LPG_CUSTOMER_RESELLER)
        return 0;
    if (c->licence_no[0] == '\0' || c->licence_expiry_day == LPG_DAY_NONE)
        return refuse(out, "reseller_unlicensed", "customer_id",
                      "customer %s is a reseller without a gas business licence (number and "
                      "expiry)",
                      c->id);
    if (lpg_local_day(x->now_ms, x->e->utc_offset_min) > c->licence_expiry_day) {
        char day[16];
        lpg_day_format(c->licence_expiry_day, day);
        return refuse(out, "reseller_licence_expired", "customer_id",
                      "customer %s's gas business licence %s expired on %s", c->id, c->licence_no,
                      day);
    }
    return 0;
}

/* §四(一)2: supply suspended until the hazard is fixed; a re-inspection is how it is lifted. */
static int rule_not_suspended(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct lpg_customer *c = x->c;
    if (c->status != LPG_CUSTOMER_SUSPENDED || is_reinspection(x->o))
        return 0;
    return refuse(out, "customer_suspended", "customer_id",
                  "supply to customer %s is suspended: %s; a passing re-inspection lifts it", c->id,
                  c->suspended_reason[0] != '\0' ? c->suspended_reason : "no reason recorded");
}

/* §二(一)3: no supply to underground or semi-underground spaces or high-rise buildings
 * (向地下、半地下空间或者高层民用建筑用户供应液化气的). §二(四)2 says it again of restaurants
 * (在地下或半地下空间使用瓶装液化石油气). */
static int rule_premises(const struct rule_ctx *x, struct order_refusal *out)
{
    static const struct {
        uint32_t bit;
        const char *code, *what;
    } refused[] = {
        {LPG_PREMISES_UNDERGROUND, "premises_underground", "underground"},
        {LPG_PREMISES_SEMI_UNDERGROUND, "premises_semi_underground", "semi-underground"},
        {LPG_PREMISES_HIGH_RISE_RESIDENTIAL, "premises_high_rise_residential",
         "in a high-rise residential building"},
        {LPG_PREMISES_HIGH_RISE_PUBLIC, "premises_high_rise_public",
         "in a high-rise public building"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (x->c->premises & refused[i].bit)
            return refuse(out, refused[i].code, "customer_id",
                          "customer %s's premises are %s: bottled LPG may not be supplied there",
                          x->c->id, refused[i].what);
    return 0;
}

/* §二(四)3: no 50 kg gas-liquid two-phase cylinders for restaurants. */
static int rule_two_phase(const struct rule_ctx *x, struct order_refusal *out)
{
    if (x->c->kind != LPG_CUSTOMER_RESTAURANT)
        return 0;
    for (int32_t i = 0; i < x->o->n_items; i++) {
        const struct lpg_cylinder_spec *s = lpg_cylinder_spec_find(x->o->items[i].spec);
        if (s != NULL && s->two_phase)
            return refuse(out, "two_phase_cylinder_to_restaurant", item_spec_field[i],
                          "%s is a gas-liquid two-phase cylinder and customer %s is a "
                          "restaurant: two-phase cylinders are never supplied to restaurants",
                          s->name, x->c->id);
    }
    return 0;
}

/* §二(一)3: no supply beyond the enterprise's supply area (超供应范围经营); the source does not
 * say the area is written in the licence, so the message says "supply area". The API still
 * names the field the enterprise's `area` and the code outside_service_area. */
static int rule_service_area(const struct rule_ctx *x, struct order_refusal *out)
{
    const struct geo_multipolygon *mp = &x->e->area.mp;
    if (mp->n_polys == 0 || mp->polys == NULL)
        return refuse(out, "outside_service_area", "customer_id",
                      "enterprise %s has no supply area", x->e->id);
    if (!geo_multipolygon_contains(mp, x->c->location))
        return refuse(out, "outside_service_area", "customer_id",
                      "customer %s's location (lon %.6f, lat %.6f) is outside enterprise %s's "
                      "supply area",
                      x->c->id, x->c->location.lon, x->c->location.lat, x->e->id);
    return 0;
}

/* The rules in check order. Keep in step with the table in order_rules.h and codes[] below. */
static rule_fn *const rules[] = {
    rule_kind,
    rule_items_present,
    rule_item_counts,
    rule_specs_known,
    rule_specs_distinct,
    rule_window_valid,
    rule_window_future,
    rule_references,
    rule_customer_enterprise,
    rule_enterprise_licence,
    rule_contract,
    rule_reseller_licence,
    rule_not_suspended,
    rule_premises,
    rule_two_phase,
    rule_service_area,
};

static const char *const codes[] = {
    "invalid_order_kind",
    "too_many_items",
    "reinspection_with_items",
    "no_items",
    "invalid_item_count",
    "unknown_cylinder_spec",
    "duplicate_cylinder_spec",
    "invalid_window",
    "window_in_past",
    "enterprise_mismatch",
    "customer_mismatch",
    "customer_not_in_enterprise",
    "enterprise_licence_expired",
    "no_supply_contract",
    "supply_contract_not_in_force",
    "reseller_unlicensed",
    "reseller_licence_expired",
    "customer_suspended",
    "premises_underground",
    "premises_semi_underground",
    "premises_high_rise_residential",
    "premises_high_rise_public",
    "two_phase_cylinder_to_restaurant",
    "outside_service_area",
};

const char *order_rules_code(size_t i)
{
    return i < sizeof(codes) / sizeof(codes[0]) ? codes[i] : NULL;
}

int order_rules_check(const struct lpg_enterprise *e, const struct lpg_customer *c,
                      const struct lpg_order *o, int64_t now_ms, struct order_refusal *out)
{
    const struct rule_ctx x = {.e = e, .c = c, .o = o, .now_ms = now_ms};
    struct order_refusal r;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (rules[i](&x, &r) != 0) {
            *out = r;
            return -1;
        }
    }
    return 0;
}
