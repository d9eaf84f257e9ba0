/* model.c -- small helpers of the domain model: enum names, ids, calendar days, the cylinder
 * spec table, geometry release. Pure. */
#include "core/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lpg_geometry_free(struct lpg_geometry *g)
{
    if (g == NULL)
        return;
    free(g->polys);
    free(g->rings);
    free(g->pts);
    memset(g, 0, sizeof(*g));
}

int32_t lpg_order_cylinders(const struct lpg_order *o)
{
    int32_t n = 0;
    for (int32_t i = 0; i < o->n_items; i++)
        n += o->items[i].count;
    return n;
}

void lpg_order_add_rejection(struct lpg_order *o, const char *staff_id)
{
    if (lpg_order_rejected_by(o, staff_id))
        return;
    if (o->n_rejected == LPG_ORDER_REJECTS_MAX) {
        memmove(o->rejected_by[0], o->rejected_by[1],
                (size_t)(LPG_ORDER_REJECTS_MAX - 1) * sizeof(o->rejected_by[0]));
        o->n_rejected--;
    }
    snprintf(o->rejected_by[o->n_rejected], sizeof(o->rejected_by[0]), "%s", staff_id);
    o->n_rejected++;
}

bool lpg_order_rejected_by(const struct lpg_order *o, const char *staff_id)
{
    for (int32_t i = 0; i < o->n_rejected && i < LPG_ORDER_REJECTS_MAX; i++)
        if (strcmp(o->rejected_by[i], staff_id) == 0)
            return true;
    return false;
}

/* GB 5842 welded steel LPG cylinders; the -II variant is the gas-liquid two-phase 50 kg
 * cylinder that may not be supplied to restaurants (§二(四)3). */
static const struct lpg_cylinder_spec cylinder_specs[] = {
    {"YSP-4.7", 2.0, false},   {"YSP-12", 5.0, false},   {"YSP-26.2", 11.0, false},
    {"YSP-35.5", 15.0, false}, {"YSP-118", 50.0, false}, {"YSP-118-II", 50.0, true},
};

const struct lpg_cylinder_spec *lpg_cylinder_spec_find(const char *name)
{
    for (size_t i = 0; i < sizeof(cylinder_specs) / sizeof(cylinder_specs[0]); i++)
        if (strcmp(cylinder_specs[i].name, name) == 0)
            return &cylinder_specs[i];
    return NULL;
}

/* ---- enum names ---- */

static const char *const staff_role_names[] = {"driver", "escort", "delivery"};
static const char *const vehicle_kind_names[] = {"truck", "van", "tricycle", "e-bike"};
static const char *const customer_kind_names[] = {"household", "restaurant", "school",
                                                  "hospital",  "market",     "elder-care",
                                                  "mixed-use", "reseller"};
static const char *const order_state_names[] = {"created",   "assigned", "accepted",
                                                "loaded",    "en_route", "arrived",
                                                "delivered", "failed",   "cancelled"};
static const char *const order_kind_names[] = {"delivery", "re-inspection"};
static const char *const cylinder_status_names[] = {
    "in_stock",        "loaded",         "at_customer",
    "collected_empty", "returned_empty", "due_inspection",
    "sent_inspection", "scrapped",       "lost"};
static const char *const hazard_status_names[] = {"open", "closed"};
_Static_assert(sizeof(cylinder_status_names) / sizeof(cylinder_status_names[0]) ==
                   LPG_CYL_STATUS_COUNT,
               "one name per cylinder status");

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

static int parse_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

#define NAMES(a) a, sizeof(a) / sizeof(a[0])

const char *lpg_staff_role_name(enum lpg_staff_role r)
{
    return name_of(NAMES(staff_role_names), (int)r);
}
int lpg_staff_role_parse(const char *s)
{
    return parse_name(NAMES(staff_role_names), s);
}
const char *lpg_vehicle_kind_name(enum lpg_vehicle_kind k)
{
    return name_of(NAMES(vehicle_kind_names), (int)k);
}
int lpg_vehicle_kind_parse(const char *s)
{
    return parse_name(NAMES(vehicle_kind_names), s);
}
bool lpg_vehicle_kind_needs_escort(enum lpg_vehicle_kind k)
{
    return k == LPG_VEHICLE_TRUCK;
}

const char *lpg_customer_kind_name(enum lpg_customer_kind k)
{
    return name_of(NAMES(customer_kind_names), (int)k);
}
int lpg_customer_kind_parse(const char *s)
{
    return parse_name(NAMES(customer_kind_names), s);
}
const char *lpg_order_state_name(enum lpg_order_state s)
{
    return name_of(NAMES(order_state_names), (int)s);
}
int lpg_order_state_parse(const char *s)
{
    return parse_name(NAMES(order_state_names), s);
}
const char *lpg_order_kind_name(enum lpg_order_kind k)
{
    return name_of(NAMES(order_kind_names), (int)k);
}
int lpg_order_kind_parse(const char *s)
{
    return parse_name(NAMES(order_kind_names), s);
}

const char *lpg_cylinder_status_name(enum lpg_cylinder_status s)
{
    return name_of(NAMES(cylinder_status_names), (int)s);
}
int lpg_cylinder_status_parse(const char *s)
{
    return parse_name(NAMES(cylinder_status_names), s);
}
const char *lpg_hazard_status_name(enum lpg_hazard_status s)
{
    return name_of(NAMES(hazard_status_names), (int)s);
}
int lpg_hazard_status_parse(const char *s)
{
    return parse_name(NAMES(hazard_status_names), s);
}

/* ---- ids ---- */

bool lpg_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > LPG_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool lpg_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const unsigned min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* ---- calendar days (proleptic Gregorian; Howard Hinnant's days_from_civil) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

int32_t lpg_local_day(int64_t ms, int32_t utc_offset_min)
{
    int64_t local_ms = ms + (int64_t)utc_offset_min * 60000;
    int64_t day = local_ms / 86400000;
    if (local_ms % 86400000 < 0)
        day--; /* floor for instants before 1970 */
    return (int32_t)day;
}

int lpg_day_parse(const char *s, int32_t *day)
{
    int y, m, d;
    char tail;
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return -1;
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t z = days_from_civil(y, (unsigned)m, (unsigned)d);
    int yy;
    unsigned mm, dd;
    civil_from_days(z, &yy, &mm, &dd);
    if (yy != y || (int)mm != m || (int)dd != d)
        return -1; /* e.g. 2026-02-30 */
    *day = (int32_t)z;
    return 0;
}

void lpg_day_format(int32_t day, char out[11])
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    /* y is 0..9999 for every day a date can hold here; clamp so the output always fits. */
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    char buf[32];
    snprintf(buf, sizeof(buf), "%04d-%02u-%02u", y, m, d);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

int32_t lpg_day_add_years(int32_t day, int years)
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    y += years;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        d = 28;
    return (int32_t)days_from_civil(y, m, d);
}
