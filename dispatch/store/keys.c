/* keys.c -- the names of the Redis keys (keys.h). */
#include "store/keys.h"

#include "core/model.h"
#include "core/route_seal.h"

#include <stdarg.h>
#include <stdio.h>

/* snprintf that reports a key that does not fit as -1. */
static int key_printf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int key_printf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int keys_record(char *out, size_t cap, const char *kind, const char *id)
{
    return key_printf(out, cap, "%s:%s", kind, id);
}

int keys_index(char *out, size_t cap, const char *kind)
{
    return key_printf(out, cap, "index:%s", kind);
}

int keys_order_history(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "order:%s:history", id);
}

int keys_cylinder_history(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "cylinder:%s:history", id);
}

int keys_check(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "check:%s", id);
}

int keys_order_checks(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "order:%s:checks", id);
}

int keys_customer_checks(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "customer:%s:checks", id);
}

int keys_device_session(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "device:%s:session", id);
}

int keys_device_seq(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "device:%s:seq", id);
}

int keys_staff_pushes(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "staff:%s:pushes", id);
}

int keys_route_day(char *out, size_t cap, const char *vehicle, int32_t utc_day)
{
    char date[11]; /* YYYY-MM-DD; the key has YYYYMMDD */
    lpg_day_format(utc_day, date);
    return key_printf(out, cap, "route:%s:%.4s%.2s%.2s", vehicle, date, date + 5, date + 8);
}

int keys_route_log(char *out, size_t cap, const char *vehicle, const struct route_seal_day *rd)
{
    char tag[ROUTE_DAY_TAG_MAX];
    route_seal_day_tag(rd, tag);
    return key_printf(out, cap, "route-log:%s:%s", vehicle, tag);
}

int keys_route_seal(char *out, size_t cap, const char *vehicle, const struct route_seal_day *rd)
{
    char tag[ROUTE_DAY_TAG_MAX];
    route_seal_day_tag(rd, tag);
    return key_printf(out, cap, "route-seal:%s:%s", vehicle, tag);
}

int keys_vehicle_last(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "vehicle:%s:last", id);
}

int keys_vehicle_rules(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "vehicle:%s:rules", id);
}

int keys_vehicle_alarms(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "vehicle:%s:alarms", id);
}

int keys_vehicle_depot(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "vehicle:%s:depot", id);
}

int keys_staff_fatigue(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "staff:%s:fatigue", id);
}

int keys_refusals_month(char *out, size_t cap, const char *enterprise, const char *month)
{
    return key_printf(out, cap, "refusals:%s:%s", enterprise, month);
}

int keys_staff_drives(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "staff:%s:drives", id);
}

int keys_alert(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "alert:%s", id);
}

int keys_alerts_enterprise(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "alerts:%s", id);
}

int keys_alerts_vehicle(char *out, size_t cap, const char *id)
{
    return key_printf(out, cap, "alerts:vehicle:%s", id);
}

int keys_alerts_by_rule(char *out, size_t cap, const char *rule, int per_vehicle, const char *id)
{
    return key_printf(out, cap, "alerts-by-rule:%s:%s%s", rule, per_vehicle ? "vehicle:" : "", id);
}

int keys_expiring(char *out, size_t cap, const char *kind, const char *id, const char *document,
                  const char *day)
{
    return key_printf(out, cap, "expiring:%s:%s:%s:%s", kind, id, document, day);
}
