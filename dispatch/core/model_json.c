/* model_json.c -- entities <-> JSON (jansson) with validation; the contract is in model_json.h.
 *
 * Table-driven: each entity is a table of fields (name, type, flags, offset, cap); one reader and
 * one writer walk the tables, so every entity gets the same treatment of unknown, missing,
 * read-only and null fields. Types that need more than a generic rule (geometry, order items,
 * premises flags, locations) have their own small parsers. Pure: no I/O. */
#include "core/model_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and paths ---- */

/* snprintf for paths and messages, where truncation at the documented cap is intended. */
__attribute__((format(printf, 3, 4))) static void bprintf(char *out, size_t cap, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static int fail(struct lpg_json_error *err, const char *code,
                                                      const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    bprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* Path of a member: "name" at the top, "prefix.name" below. */
static void path_member(char out[LPG_JSON_FIELD_MAX + 1], const char *prefix, const char *name)
{
    if (prefix[0] == '\0')
        bprintf(out, LPG_JSON_FIELD_MAX + 1, "%s", name);
    else
        bprintf(out, LPG_JSON_FIELD_MAX + 1, "%s.%s", prefix, name);
}

/* Path of an array element: "prefix[i]". */
static void path_index(char out[LPG_JSON_FIELD_MAX + 1], const char *prefix, size_t i)
{
    bprintf(out, LPG_JSON_FIELD_MAX + 1, "%s[%zu]", prefix, i);
}

static int oom(struct lpg_json_error *err)
{
    return fail(err, "internal", "", "out of memory");
}

/* ---- instants: RFC 3339 ---- */

#define MS_PER_DAY     86400000LL
#define INSTANT_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* n decimal digits at s into *v; -1 if any is not a digit. */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int lpg_json_instant_parse(const char *s, int64_t *ms)
{
    if (s == NULL || strlen(s) < 20)
        return -1;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    int32_t day;
    if (lpg_day_parse(date, &day) != 0)
        return -1;
    int hh, mi, ss;
    if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &hh) != 0 || s[13] != ':' ||
        digits(s + 14, 2, &mi) != 0 || s[16] != ':' || digits(s + 17, 2, &ss) != 0)
        return -1;
    if (hh > 23 || mi > 59 || ss > 59) /* leap second 60 refused: no such instant in ms */
        return -1;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (n < 1 || n > 9)
            return -1;
        for (int i = 0; i < 3; i++)
            frac_ms = frac_ms * 10 + (i < n ? p[i] - '0' : 0);
        p += n;
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) != 0 || p[3] != ':' || digits(p + 4, 2, &om) != 0 || oh > 23 ||
            om > 59)
            return -1;
        offset_min = (*p == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t t = (int64_t)day * MS_PER_DAY + ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac_ms -
                offset_min * 60000;
    if (t <= 0 || t > INSTANT_MAX_MS)
        return -1;
    *ms = t;
    return 0;
}

void lpg_json_instant_format(int64_t ms, char out[LPG_JSON_INSTANT_LEN + 1])
{
    if (ms < 0)
        ms = 0;
    if (ms > INSTANT_MAX_MS)
        ms = INSTANT_MAX_MS;
    int32_t day = (int32_t)(ms / MS_PER_DAY);
    int64_t r = ms % MS_PER_DAY;
    char date[11], buf[64];
    lpg_day_format(day, date);
    snprintf(buf, sizeof(buf), "%sT%02d:%02d:%02d.%03dZ", date, (int)(r / 3600000),
             (int)(r / 60000 % 60), (int)(r / 1000 % 60), (int)(r % 1000));
    memcpy(out, buf, LPG_JSON_INSTANT_LEN);
    out[LPG_JSON_INSTANT_LEN] = '\0';
}

json_t *lpg_json_instant(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(ms, buf);
    return json_string(buf);
}

/* ---- enums ---- */

struct enum_names {
    const char *(*name)(int v);
    int (*parse)(const char *s);
    int count;
};

static const char *role_name(int v)
{
    return lpg_staff_role_name((enum lpg_staff_role)v);
}
static const char *vehicle_kind_name(int v)
{
    return lpg_vehicle_kind_name((enum lpg_vehicle_kind)v);
}
static const char *customer_kind_name(int v)
{
    return lpg_customer_kind_name((enum lpg_customer_kind)v);
}
static const char *order_state_name(int v)
{
    return lpg_order_state_name((enum lpg_order_state)v);
}
static const char *order_kind_name(int v)
{
    return lpg_order_kind_name((enum lpg_order_kind)v);
}
static const char *actor_name(int v)
{
    return order_fsm_actor_name((enum order_actor)v);
}

static const char *const customer_status_names[] = {"active", "suspended"};
static const char *customer_status_name(int v)
{
    return v == LPG_CUSTOMER_ACTIVE || v == LPG_CUSTOMER_SUSPENDED ? customer_status_names[v] : "?";
}
static int customer_status_parse(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, customer_status_names[i]) == 0)
            return i;
    return -1;
}

static const char *cylinder_status_name(int v)
{
    return lpg_cylinder_status_name((enum lpg_cylinder_status)v);
}
static const char *hazard_status_name(int v)
{
    return lpg_hazard_status_name((enum lpg_hazard_status)v);
}

static const struct enum_names role_enum = {role_name, lpg_staff_role_parse, LPG_STAFF_ROLE_COUNT};
static const struct enum_names vehicle_kind_enum = {vehicle_kind_name, lpg_vehicle_kind_parse,
                                                    LPG_VEHICLE_KIND_COUNT};
static const struct enum_names customer_kind_enum = {customer_kind_name, lpg_customer_kind_parse,
                                                     LPG_CUSTOMER_KIND_COUNT};
static const struct enum_names customer_status_enum = {customer_status_name, customer_status_parse,
                                                       2};
static const struct enum_names order_state_enum = {order_state_name, lpg_order_state_parse,
                                                   LPG_ORDER_STATE_COUNT};
static const struct enum_names order_kind_enum = {order_kind_name, lpg_order_kind_parse, 2};
static const struct enum_names cylinder_status_enum = {
    cylinder_status_name, lpg_cylinder_status_parse, LPG_CYL_STATUS_COUNT};
static const struct enum_names hazard_status_enum = {hazard_status_name, lpg_hazard_status_parse,
                                                     2};
static const struct enum_names actor_enum = {actor_name, order_fsm_actor_parse, ORDER_ACTOR_COUNT};

/* The enums of the model are stored as int-sized objects; fields are read and written as int. */
_Static_assert(sizeof(enum lpg_staff_role) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_vehicle_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_customer_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_customer_status) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_order_state) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_order_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(enum order_actor) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_cylinder_status) == sizeof(int), "enum size");
_Static_assert(sizeof(enum lpg_hazard_status) == sizeof(int), "enum size");

/* ---- field tables ---- */

enum ftype {
    FT_ID,       /* char[LPG_ID_MAX + 1], lpg_id_valid; "" = none */
    FT_TEXT,     /* char[size]; "" = none */
    FT_DAY,      /* int32_t day, "YYYY-MM-DD"; LPG_DAY_NONE = none */
    FT_INSTANT,  /* int64_t ms, RFC 3339; 0 = none */
    FT_BOOL,     /* bool */
    FT_INT,      /* int32_t in [min, max] */
    FT_ENUM,     /* int-sized enum, by name */
    FT_POINT,    /* struct geo_point {lon, lat}; none when the bool at has_off is false */
    FT_GEOMETRY, /* struct lpg_geometry, GeoJSON */
    FT_ITEMS,    /* struct lpg_order items[] + n_items (orders only) */
    FT_PREMISES, /* uint32_t enum lpg_premises bits, array of names */
    FT_REJECTS,  /* struct lpg_order rejected_by[] + n_rejected: array of ids (orders only) */
};

#define F_REQUIRED  0x1u /* must be present on creation and load */
#define F_READONLY  0x2u /* server-owned: refused in client input, accepted by load */
#define F_DERIVED   0x4u /* written, ignored by every reader */
#define F_IMMUTABLE 0x8u /* a patch may only repeat the current value */

#define NO_OFF ((size_t)-1)

struct field {
    const char *name;
    enum ftype type;
    unsigned flags;
    size_t off;
    size_t size;                 /* FT_ID, FT_TEXT: the array's size (cap + 1) */
    const char *cap_name;        /* FT_ID, FT_TEXT: the cap's name for messages */
    int32_t min, max;            /* FT_INT */
    const struct enum_names *en; /* FT_ENUM */
    size_t has_off; /* FT_POINT: offset of its presence bool, or NO_OFF (always present) */
};

enum mode {
    MODE_CREATE, /* client input, a whole entity */
    MODE_LOAD,   /* a stored record: server-owned fields accepted */
    MODE_PATCH,  /* client input, only present fields change */
};

#define ID(T, m, fl)                                                                               \
    {                                                                                              \
        .name = #m, .type = FT_ID, .flags = (fl), .off = offsetof(T, m),                           \
        .size = sizeof(((T *)0)->m), .cap_name = "LPG_ID_MAX", .has_off = NO_OFF                   \
    }
#define TEXT(T, m, cap, fl)                                                                        \
    {                                                                                              \
        .name = #m, .type = FT_TEXT, .flags = (fl), .off = offsetof(T, m),                         \
        .size = sizeof(((T *)0)->m), .cap_name = #cap, .has_off = NO_OFF                           \
    }
#define FIELD(json, T, m, ty, fl)                                                                  \
    {                                                                                              \
        .name = json, .type = ty, .flags = (fl), .off = offsetof(T, m), .has_off = NO_OFF          \
    }
#define INT(T, m, lo, hi, fl)                                                                      \
    {                                                                                              \
        .name = #m, .type = FT_INT, .flags = (fl), .off = offsetof(T, m), .min = (lo),             \
        .max = (hi), .has_off = NO_OFF                                                             \
    }
#define ENUM(T, m, e, fl)                                                                          \
    {                                                                                              \
        .name = #m, .type = FT_ENUM, .flags = (fl), .off = offsetof(T, m), .en = &(e),             \
        .has_off = NO_OFF                                                                          \
    }

#define RQ  F_REQUIRED
#define RO  F_READONLY
#define IMM (F_REQUIRED | F_IMMUTABLE)

#define E struct lpg_enterprise
static const struct field enterprise_fields[] = {
    ID(E, id, IMM),
    TEXT(E, name, LPG_NAME_MAX, RQ),
    TEXT(E, licence_no, LPG_TEXT_MAX, 0),
    FIELD("area", E, area, FT_GEOMETRY, RQ),
    INT(E, utc_offset_min, -720, 840, 0),
    FIELD("created_at", E, created_ms, FT_INSTANT, RO),
    FIELD("licence_expiry", E, licence_expiry_day, FT_DAY, 0),
};
#undef E

#define Z struct lpg_zone
static const struct field zone_fields[] = {
    ID(Z, id, IMM),
    ID(Z, enterprise_id, IMM),
    TEXT(Z, name, LPG_NAME_MAX, RQ),
    FIELD("shape", Z, shape, FT_GEOMETRY, RQ),
    /* a zone may only lower the legal limit (80 km/h on expressways); 0 = none */
    INT(Z, speed_limit_kmh, 0, 80, 0),
    FIELD("expressway", Z, expressway, FT_BOOL, 0),
    FIELD("created_at", Z, created_ms, FT_INSTANT, RO),
};
#undef Z

#define ST struct lpg_station
static const struct field station_fields[] = {
    ID(ST, id, IMM),
    ID(ST, enterprise_id, IMM),
    TEXT(ST, name, LPG_NAME_MAX, RQ),
    FIELD("shape", ST, shape, FT_GEOMETRY, 0), /* a polygon, or center + radius_m */
    {.name = "center",
     .type = FT_POINT,
     .flags = 0,
     .off = offsetof(ST, center),
     .has_off = offsetof(ST, has_center)},
    INT(ST, radius_m, 0, LPG_STATION_RADIUS_MAX_M, 0),
    FIELD("created_at", ST, created_ms, FT_INSTANT, RO),
};
#undef ST

#define S struct lpg_staff
static const struct field staff_fields[] = {
    ID(S, id, IMM),
    ID(S, enterprise_id, IMM),
    TEXT(S, name, LPG_NAME_MAX, RQ),
    ENUM(S, role, role_enum, RQ),
    TEXT(S, qualification_no, LPG_TEXT_MAX, 0),
    FIELD("qualification_expiry", S, qualification_expiry_day, FT_DAY, 0),
    FIELD("qualification_from", S, qualification_from_day, FT_DAY, 0),
    TEXT(S, training_no, LPG_TEXT_MAX, 0),
    FIELD("training_expiry", S, training_expiry_day, FT_DAY, 0),
    FIELD("training_from", S, training_from_day, FT_DAY, 0),
    ID(S, zone_id, 0),
    ID(S, vehicle_id, 0),
    ID(S, device_id, 0),
    FIELD("on_duty", S, on_duty, FT_BOOL, 0),
    FIELD("rest_until", S, rest_until_ms, FT_INSTANT, RO),
    INT(S, active_orders, 0, INT32_MAX, RO | F_DERIVED),
    FIELD("created_at", S, created_ms, FT_INSTANT, RO),
};
#undef S

#define V struct lpg_vehicle
static const struct field vehicle_fields[] = {
    ID(V, id, IMM),
    ID(V, enterprise_id, IMM),
    TEXT(V, plate, LPG_NAME_MAX, RQ),
    ENUM(V, kind, vehicle_kind_enum, RQ),
    TEXT(V, permit_no, LPG_TEXT_MAX, 0),
    FIELD("permit_expiry", V, permit_expiry_day, FT_DAY, 0),
    INT(V, capacity, 1, 10000, RQ), /* cylinders */
    ID(V, staff_id, 0),
    {.name = "position",
     .type = FT_POINT,
     .flags = RO,
     .off = offsetof(V, position),
     .has_off = offsetof(V, has_position)},
    FIELD("position_at", V, position_ms, FT_INSTANT, RO),
    INT(V, committed, 0, INT32_MAX, RO | F_DERIVED),
    FIELD("trip_started_at", V, trip_started_ms, FT_INSTANT, RO),
    INT(V, trip_loaded, 0, INT32_MAX, RO),
    INT(V, trip_handed_over, 0, INT32_MAX, RO),
    INT(V, trip_returned_full, 0, INT32_MAX, RO),
    INT(V, trip_empties, 0, INT32_MAX, RO),
    ID(V, driver_id, RO),
    TEXT(V, driver_via, LPG_DRIVER_VIA_MAX, RO),
    FIELD("driver_since", V, driver_since_ms, FT_INSTANT, RO),
    ID(V, handset_driver_id, RO),
    TEXT(V, driver_hold, LPG_TEXT_MAX, RO),
    FIELD("created_at", V, created_ms, FT_INSTANT, RO),
    ID(V, station_id, 0),
    INT(V, speed_limit_kmh, 0, 80, 0), /* a ceiling only: 0 = none */
    ID(V, escort_id, 0),
};
#undef V

#define C struct lpg_customer
static const struct field customer_fields[] = {
    ID(C, id, IMM),
    ID(C, enterprise_id, IMM),
    TEXT(C, name, LPG_NAME_MAX, RQ),
    ENUM(C, kind, customer_kind_enum, RQ),
    FIELD("location", C, location, FT_POINT, RQ),
    TEXT(C, address, LPG_TEXT_MAX, 0),
    FIELD("premises", C, premises, FT_PREMISES, 0),
    TEXT(C, contract_no, LPG_TEXT_MAX, 0),
    FIELD("contract_from", C, contract_from_day, FT_DAY, 0),
    FIELD("contract_to", C, contract_to_day, FT_DAY, 0),
    ENUM(C, status, customer_status_enum, RO),
    TEXT(C, suspended_reason, LPG_TEXT_MAX, RO),
    FIELD("created_at", C, created_ms, FT_INSTANT, RO),
    TEXT(C, licence_no, LPG_TEXT_MAX, 0),
    FIELD("licence_expiry", C, licence_expiry_day, FT_DAY, 0),
};
#undef C

#define CY struct lpg_cylinder
static const struct field cylinder_fields[] = {
    ID(CY, id, IMM),
    ID(CY, enterprise_id, IMM),
    TEXT(CY, spec, LPG_SPEC_MAX, RQ),
    TEXT(CY, manufacturer, LPG_NAME_MAX, 0),
    TEXT(CY, serial, LPG_NAME_MAX, 0),
    FIELD("manufactured", CY, manufactured_day, FT_DAY, RQ),
    FIELD("last_inspection", CY, last_inspection_day, FT_DAY, 0),
    FIELD("next_inspection", CY, next_inspection_day, FT_DAY, 0),
    INT(CY, service_life_years, 0, 50, 0),
    FIELD("blacklisted", CY, blacklisted, FT_BOOL, 0),
    TEXT(CY, blacklist_reason, LPG_TEXT_MAX, 0),
    ENUM(CY, status, cylinder_status_enum, RO),
    ID(CY, vehicle_id, RO),
    ID(CY, customer_id, RO),
    ID(CY, order_id, RO),
    ID(CY, check_id, RO),
    FIELD("created_at", CY, created_ms, FT_INSTANT, RO),
    FIELD("updated_at", CY, updated_ms, FT_INSTANT, RO),
};
#undef CY

#define HZ struct lpg_hazard
static const struct field hazard_fields[] = {
    ID(HZ, id, IMM),
    ID(HZ, enterprise_id, IMM),
    ID(HZ, customer_id, RQ),
    ID(HZ, order_id, RQ),
    ID(HZ, cylinder_id, 0),
    ID(HZ, check_id, RQ),
    TEXT(HZ, hazard, LPG_NOTES_MAX, RQ),
    ID(HZ, found_by, RQ),
    FIELD("found_at", HZ, found_ms, FT_INSTANT, RQ),
    TEXT(HZ, responsible, LPG_NAME_MAX, RQ),
    FIELD("deadline", HZ, deadline_ms, FT_INSTANT, RQ),
    ENUM(HZ, status, hazard_status_enum, RQ),
    FIELD("closed_at", HZ, closed_ms, FT_INSTANT, 0),
    ID(HZ, closed_by, 0),
    ID(HZ, closing_check_id, 0),
    ID(HZ, closing_order_id, 0),
    FIELD("created_at", HZ, created_ms, FT_INSTANT, RO),
};
#undef HZ

#define O struct lpg_order
static const struct field order_fields[] = {
    ID(O, id, IMM),
    ID(O, enterprise_id, IMM),
    ID(O, customer_id, RQ),
    ENUM(O, kind, order_kind_enum, 0),
    FIELD("items", O, items, FT_ITEMS, 0),
    FIELD("window_start", O, window_start_ms, FT_INSTANT, 0),
    FIELD("window_end", O, window_end_ms, FT_INSTANT, 0),
    TEXT(O, notes, LPG_NOTES_MAX, 0),
    ENUM(O, state, order_state_enum, RO),
    ID(O, staff_id, RO),
    ID(O, vehicle_id, RO),
    TEXT(O, reason, LPG_TEXT_MAX, RO),
    FIELD("rejected_by", O, rejected_by, FT_REJECTS, RO),
    FIELD("created_at", O, created_ms, FT_INSTANT, RO),
    FIELD("updated_at", O, updated_ms, FT_INSTANT, RO),
    FIELD("late", O, late, FT_BOOL, RO),
};
#undef O

#define I struct lpg_order_item
static const struct field item_fields[] = {
    TEXT(I, spec, LPG_SPEC_MAX, RQ),
    /* bounded so that lpg_order_cylinders() cannot overflow; order_rules sets the real cap */
    INT(I, count, 1, INT32_MAX / LPG_ORDER_ITEMS_MAX, RQ),
};
#undef I

#define EV struct order_event
static const struct field event_fields[] = {
    FIELD("at", EV, at_ms, FT_INSTANT, RQ),
    ENUM(EV, from, order_state_enum, RQ),
    ENUM(EV, to, order_state_enum, RQ),
    ENUM(EV, actor, actor_enum, RQ),
    ID(EV, actor_id, 0),
    TEXT(EV, reason, LPG_TEXT_MAX, 0),
};
#undef EV

#define N(a) (sizeof(a) / sizeof(a[0]))

/* ---- locations ---- */

static json_t *point_to_json(struct geo_point p)
{
    return json_pack("{s:f, s:f}", "lon", p.lon, "lat", p.lat);
}

/* A coordinate value at path; what is "lon" or "lat". */
static int coord_from_json(const json_t *v, const char *path, const char *what, double lo,
                           double hi, double *out, struct lpg_json_error *err)
{
    if (!json_is_number(v))
        return fail(err, "invalid_field", path, "%s must be a number of degrees", what);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return fail(err, "invalid_field", path, "%s %g is outside [%g, %g]", what, d, lo, hi);
    *out = d;
    return 0;
}

static int point_from_json(const json_t *v, const char *path, struct geo_point *out,
                           struct lpg_json_error *err)
{
    char p[LPG_JSON_FIELD_MAX + 1];
    if (!json_is_object(v))
        return fail(err, "invalid_field", path, "%s must be an object {\"lon\": .., \"lat\": ..}",
                    path);
    const char *key;
    json_t *m;
    json_object_foreach((json_t *)v, key, m)
    {
        if (strcmp(key, "lon") != 0 && strcmp(key, "lat") != 0) {
            path_member(p, path, key);
            return fail(err, "unknown_field", p, "a location has only \"lon\" and \"lat\"");
        }
    }
    const json_t *lon = json_object_get(v, "lon"), *lat = json_object_get(v, "lat");
    struct geo_point pt;
    path_member(p, path, "lon");
    if (lon == NULL)
        return fail(err, "missing_field", p, "%s is required", p);
    if (coord_from_json(lon, p, "lon", -180, 180, &pt.lon, err) != 0)
        return -1;
    path_member(p, path, "lat");
    if (lat == NULL)
        return fail(err, "missing_field", p, "%s is required", p);
    if (json_is_number(lat) && fabs(json_number_value(lat)) > 90 && fabs(pt.lon) <= 90)
        return fail(err, "invalid_field", p,
                    "lat %g is outside [-90, 90]; are lon and lat swapped?",
                    json_number_value(lat));
    if (coord_from_json(lat, p, "lat", -90, 90, &pt.lat, err) != 0)
        return -1;
    *out = pt;
    return 0;
}

/* ---- GeoJSON geometry ---- */

static int geometry_from_json(const json_t *in, const char *path, struct lpg_geometry *out,
                              bool client, struct lpg_json_error *err);

static json_t *ring_to_json(const struct geo_ring *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < r->n; i++)
        if (json_array_append_new(a, json_pack("[f, f]", r->pts[i].lon, r->pts[i].lat)) != 0)
            goto fail;
    /* RFC 7946 rings are closed; geometry parsed here is stored closed already. */
    if (a != NULL && r->n > 0 &&
        (r->pts[0].lon != r->pts[r->n - 1].lon || r->pts[0].lat != r->pts[r->n - 1].lat))
        if (json_array_append_new(a, json_pack("[f, f]", r->pts[0].lon, r->pts[0].lat)) != 0)
            goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

static json_t *polygon_to_json(const struct geo_polygon *poly)
{
    json_t *a = json_array();
    if (a == NULL || json_array_append_new(a, ring_to_json(&poly->outer)) != 0)
        goto fail;
    for (size_t h = 0; h < poly->n_holes; h++)
        if (json_array_append_new(a, ring_to_json(&poly->holes[h])) != 0)
            goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

json_t *lpg_json_from_geometry(const struct lpg_geometry *g)
{
    const struct geo_multipolygon *mp = &g->mp;
    if (mp->n_polys == 0 || mp->polys == NULL)
        return json_null();
    if (mp->n_polys == 1)
        return json_pack("{s:s, s:o}", "type", "Polygon", "coordinates",
                         polygon_to_json(&mp->polys[0]));
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < mp->n_polys; i++)
        if (json_array_append_new(a, polygon_to_json(&mp->polys[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return json_pack("{s:s, s:o}", "type", "MultiPolygon", "coordinates", a);
}

/* Checks one GeoJSON position at path; stores it in *out when out is not NULL. */
static int position_from_json(const json_t *v, const char *path, struct geo_point *out,
                              struct lpg_json_error *err)
{
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n < 2 || n > 3)
        return fail(err, "invalid_field", path,
                    "a GeoJSON position is an array [lon, lat] (or [lon, lat, altitude])");
    for (size_t i = 0; i < n; i++)
        if (!json_is_number(json_array_get(v, i)))
            return fail(err, "invalid_field", path, "position values must be numbers");
    double lon = json_number_value(json_array_get(v, 0));
    double lat = json_number_value(json_array_get(v, 1));
    if (!(lon >= -180 && lon <= 180))
        return fail(err, "invalid_field", path,
                    "longitude %g is outside [-180, 180]; GeoJSON positions are [lon, lat]", lon);
    if (!(lat >= -90 && lat <= 90)) {
        if (fabs(lon) <= 90 && fabs(lat) <= 180)
            return fail(err, "invalid_field", path,
                        "latitude %g is outside [-90, 90]; GeoJSON positions are [lon, lat]: "
                        "are they swapped ([lat, lon])?",
                        lat);
        return fail(err, "invalid_field", path, "latitude %g is outside [-90, 90]", lat);
    }
    if (out != NULL) {
        out->lon = lon;
        out->lat = lat;
    }
    return 0;
}

/* Validates a ring; *n_store is the number of vertices it takes closed. */
static int ring_check(const json_t *ring, const char *path, size_t *n_store,
                      struct lpg_json_error *err)
{
    char p[LPG_JSON_FIELD_MAX + 1];
    if (!json_is_array(ring))
        return fail(err, "invalid_field", path, "a linear ring is an array of positions");
    size_t n = json_array_size(ring);
    struct geo_point first = {0, 0}, last = {0, 0};
    for (size_t i = 0; i < n; i++) {
        path_index(p, path, i);
        if (position_from_json(json_array_get(ring, i), p, i == 0 ? &first : &last, err) != 0)
            return -1;
    }
    bool closed = n >= 2 && first.lon == last.lon && first.lat == last.lat;
    size_t distinct = closed ? n - 1 : n;
    if (distinct < 3)
        return fail(err, "invalid_field", path,
                    "a ring needs at least 3 distinct vertices (4 positions when closed); this "
                    "one has %zu",
                    distinct);
    *n_store = distinct + 1;
    return 0;
}

/* Copies a validated ring into pts (closing it), sets r. */
static void ring_fill(const json_t *ring, struct geo_point *pts, size_t n_store, struct geo_ring *r)
{
    for (size_t i = 0; i + 1 < n_store; i++)
        position_from_json(json_array_get(ring, i), "", &pts[i], NULL);
    pts[n_store - 1] = pts[0];
    r->pts = pts;
    r->n = n_store;
}

static const char *geojson_type(const json_t *o)
{
    const char *t = json_string_value(json_object_get(o, "type"));
    return t != NULL ? t : "";
}

int lpg_json_to_geometry(const json_t *in, const char *path, struct lpg_geometry *out,
                         struct lpg_json_error *err)
{
    return geometry_from_json(in, path, out, true, err);
}

static int geometry_from_json(const json_t *in, const char *path, struct lpg_geometry *out,
                              bool client, struct lpg_json_error *err)
{
    char gpath[LPG_JSON_FIELD_MAX + 1], p[LPG_JSON_FIELD_MAX + 1], pp[LPG_JSON_FIELD_MAX + 1];
    memset(out, 0, sizeof(*out));
    bprintf(gpath, sizeof(gpath), "%s", path);
    static const char expected[] = "expected a GeoJSON Polygon, MultiPolygon, or a Feature "
                                   "whose geometry is one";
    if (!json_is_object(in))
        return fail(err, "invalid_field", gpath, "%s", expected);
    if (json_object_get(in, "type") == NULL || !json_is_string(json_object_get(in, "type"))) {
        path_member(p, gpath, "type");
        return fail(err, json_object_get(in, "type") ? "invalid_field" : "missing_field", p,
                    "a GeoJSON object needs a string \"type\"; %s", expected);
    }
    if (strcmp(geojson_type(in), "Feature") == 0) {
        const json_t *g = json_object_get(in, "geometry");
        path_member(p, gpath, "geometry");
        bprintf(gpath, sizeof(gpath), "%s", p);
        if (!json_is_object(g))
            return fail(err, g == NULL ? "missing_field" : "invalid_field", gpath,
                        "the Feature's geometry must be a Polygon or MultiPolygon");
        in = g;
    }
    const char *type = geojson_type(in);
    bool multi = strcmp(type, "MultiPolygon") == 0;
    if (!multi && strcmp(type, "Polygon") != 0) {
        path_member(p, gpath, "type");
        return fail(err, "invalid_field", p, "unsupported GeoJSON type \"%.40s\"; %s", type,
                    expected);
    }
    const json_t *coords = json_object_get(in, "coordinates");
    char cpath[LPG_JSON_FIELD_MAX + 1];
    path_member(cpath, gpath, "coordinates");
    if (coords == NULL)
        return fail(err, "missing_field", cpath, "a %s needs \"coordinates\"", type);
    if (!json_is_array(coords) || (multi && json_array_size(coords) == 0))
        return fail(err, "invalid_field", cpath,
                    multi ? "a MultiPolygon's coordinates are a non-empty array of polygons"
                          : "a Polygon's coordinates are an array of rings");
    size_t n_polys = multi ? json_array_size(coords) : 1;

    /* Pass 1: validate and count, so the arrays are allocated once and the cap holds before
     * anything is allocated. */
    size_t n_rings = 0, n_pts = 0;
    for (size_t i = 0; i < n_polys; i++) {
        const json_t *poly = multi ? json_array_get(coords, i) : coords;
        if (multi)
            path_index(pp, cpath, i);
        else
            bprintf(pp, sizeof(pp), "%s", cpath);
        if (!json_is_array(poly) || json_array_size(poly) == 0)
            return fail(err, "invalid_field", pp,
                        "a polygon is a non-empty array of rings: the outer ring, then holes");
        for (size_t r = 0; r < json_array_size(poly); r++) {
            size_t n_store;
            path_index(p, pp, r);
            if (ring_check(json_array_get(poly, r), p, &n_store, err) != 0)
                return -1;
            n_rings++;
            n_pts += n_store;
            if (n_pts > LPG_JSON_GEOMETRY_VERTICES_MAX)
                return fail(err, "invalid_field", gpath,
                            "the geometry has more than %d vertices "
                            "(LPG_JSON_GEOMETRY_VERTICES_MAX); simplify it",
                            LPG_JSON_GEOMETRY_VERTICES_MAX);
        }
    }

    /* Pass 2: fill. */
    out->polys = calloc(n_polys, sizeof(*out->polys));
    out->rings = calloc(n_rings, sizeof(*out->rings));
    out->pts = calloc(n_pts, sizeof(*out->pts));
    if (out->polys == NULL || out->rings == NULL || out->pts == NULL) {
        lpg_geometry_free(out);
        return oom(err);
    }
    size_t ri = 0, pi = 0;
    for (size_t i = 0; i < n_polys; i++) {
        const json_t *poly = multi ? json_array_get(coords, i) : coords;
        size_t nr = json_array_size(poly);
        for (size_t r = 0; r < nr; r++) {
            const json_t *ring = json_array_get(poly, r);
            size_t n_store;
            ring_check(ring, "", &n_store, NULL);
            ring_fill(ring, &out->pts[pi], n_store, &out->rings[ri + r]);
            pi += n_store;
        }
        out->polys[i].outer = out->rings[ri];
        out->polys[i].holes = nr > 1 ? &out->rings[ri + 1] : NULL;
        out->polys[i].n_holes = nr - 1;
        ri += nr;
    }
    out->mp.polys = out->polys;
    out->mp.n_polys = n_polys;

    /* Client input: vertex caps and a simple polygon (422 invalid_geometry), before finish,
     * whose area would refuse a symmetric bow-tie as "zero area" without saying where. */
    if (client) {
        char msg[sizeof(err->message)], where[64];
        int rc = lpg_geometry_validate(out, multi, msg, sizeof(msg), where, sizeof(where));
        if (rc != 0) {
            lpg_geometry_free(out);
            if (rc == -2)
                return oom(err);
            bprintf(p, sizeof(p), "%s%s", cpath, where);
            return fail(err, "invalid_geometry", p, "%s", msg);
        }
    }
    enum geo_status st = lpg_geometry_finish(out);
    if (st != GEO_OK) {
        lpg_geometry_free(out);
        return fail(err, "invalid_field", gpath, "invalid geometry: %s", geo_status_str(st));
    }
    return 0;
}

/* ---- generic field reader ---- */

static void *at(void *obj, size_t off)
{
    return (char *)obj + off;
}

static const void *cat(const void *obj, size_t off)
{
    return (const char *)obj + off;
}

/* Whether the type has a "none" value that null selects. */
static bool nullable(enum ftype t)
{
    return t == FT_ID || t == FT_TEXT || t == FT_DAY || t == FT_INSTANT || t == FT_POINT ||
           t == FT_ITEMS || t == FT_PREMISES || t == FT_GEOMETRY;
}

static void set_none(const struct field *f, void *obj)
{
    switch (f->type) {
    case FT_ID:
    case FT_TEXT: /* the whole array, so equal entities compare equal byte for byte */
        memset(at(obj, f->off), 0, f->size);
        break;
    case FT_DAY:
        *(int32_t *)at(obj, f->off) = LPG_DAY_NONE;
        break;
    case FT_INSTANT:
        *(int64_t *)at(obj, f->off) = 0;
        break;
    case FT_POINT:
        if (f->has_off != NO_OFF)
            *(bool *)at(obj, f->has_off) = false;
        memset(at(obj, f->off), 0, sizeof(struct geo_point));
        break;
    case FT_ITEMS:
        ((struct lpg_order *)obj)->n_items = 0;
        memset(((struct lpg_order *)obj)->items, 0, sizeof(((struct lpg_order *)obj)->items));
        break;
    case FT_PREMISES:
        *(uint32_t *)at(obj, f->off) = 0;
        break;
    case FT_GEOMETRY: /* only an optional shape (a station's) gets here: required ones refuse */
        lpg_geometry_free((struct lpg_geometry *)at(obj, f->off));
        break;
    case FT_REJECTS:
        ((struct lpg_order *)obj)->n_rejected = 0;
        memset(((struct lpg_order *)obj)->rejected_by, 0,
               sizeof(((struct lpg_order *)obj)->rejected_by));
        break;
    default:
        break;
    }
}

/* A JSON string without embedded NULs, or NULL (error set). */
static const char *string_value(const json_t *v, const char *path, const char *what,
                                struct lpg_json_error *err)
{
    if (!json_is_string(v)) {
        fail(err, "invalid_field", path, "%s must be a string", what);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        fail(err, "invalid_field", path, "%s contains a NUL character", what);
        return NULL;
    }
    return s;
}

static int enum_from_json(const struct field *f, const json_t *v, const char *path, int *out,
                          struct lpg_json_error *err)
{
    const char *s = string_value(v, path, f->name, err);
    if (s == NULL)
        return -1;
    int e = f->en->parse(s);
    if (e >= 0 && e < f->en->count) {
        *out = e;
        return 0;
    }
    char list[160] = "";
    size_t len = 0;
    for (int i = 0; i < f->en->count && len < sizeof(list); i++)
        len +=
            (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", f->en->name(i));
    return fail(err, "invalid_field", path, "%s \"%.40s\" is not one of: %s", f->name, s, list);
}

static const char *const premises_names[] = {"underground", "semi_underground",
                                             "high_rise_residential", "high_rise_public"};
static const uint32_t premises_bits[] = {LPG_PREMISES_UNDERGROUND, LPG_PREMISES_SEMI_UNDERGROUND,
                                         LPG_PREMISES_HIGH_RISE_RESIDENTIAL,
                                         LPG_PREMISES_HIGH_RISE_PUBLIC};
_Static_assert(sizeof(premises_names) / sizeof(premises_names[0]) ==
                   sizeof(premises_bits) / sizeof(premises_bits[0]),
               "one name per premises flag");

static int premises_from_json(const json_t *v, const char *path, uint32_t *out,
                              struct lpg_json_error *err)
{
    char p[LPG_JSON_FIELD_MAX + 1];
    if (!json_is_array(v))
        return fail(err, "invalid_field", path,
                    "premises must be an array of: underground, semi_underground, "
                    "high_rise_residential, high_rise_public");
    uint32_t bits = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        path_index(p, path, i);
        const char *s = string_value(json_array_get(v, i), p, "a premises flag", err);
        if (s == NULL)
            return -1;
        size_t k = 0;
        while (k < N(premises_names) && strcmp(s, premises_names[k]) != 0)
            k++;
        if (k == N(premises_names))
            return fail(err, "invalid_field", p,
                        "premises flag \"%.40s\" is not one of: underground, semi_underground, "
                        "high_rise_residential, high_rise_public",
                        s);
        if (bits & premises_bits[k])
            return fail(err, "invalid_field", p, "premises flag %s is listed twice", s);
        bits |= premises_bits[k];
    }
    *out = bits;
    return 0;
}

static int parse_object(const struct field *fields, size_t n, const json_t *in, void *obj,
                        enum mode mode, const char *prefix, struct lpg_json_error *err);

/* rejected_by: an array of at most LPG_ORDER_REJECTS_MAX staff ids (stored records only). */
static int rejects_from_json(const json_t *v, const char *path, struct lpg_order *o,
                             struct lpg_json_error *err)
{
    if (!json_is_array(v) || json_array_size(v) > LPG_ORDER_REJECTS_MAX)
        return fail(err, "invalid_field", path, "rejected_by must be an array of at most %d ids",
                    LPG_ORDER_REJECTS_MAX);
    struct lpg_order tmp;
    tmp.n_rejected = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *id = json_string_value(json_array_get(v, i));
        if (id == NULL || !lpg_id_valid(id))
            return fail(err, "invalid_field", path, "rejected_by[%zu] is not a valid id", i);
        snprintf(tmp.rejected_by[i], sizeof(tmp.rejected_by[i]), "%s", id);
        tmp.n_rejected++;
    }
    memset(o->rejected_by, 0, sizeof(o->rejected_by));
    memcpy(o->rejected_by, tmp.rejected_by, (size_t)tmp.n_rejected * sizeof(tmp.rejected_by[0]));
    o->n_rejected = tmp.n_rejected;
    return 0;
}

static int items_from_json(const json_t *v, const char *path, struct lpg_order *o,
                           struct lpg_json_error *err)
{
    char p[LPG_JSON_FIELD_MAX + 1];
    if (!json_is_array(v))
        return fail(err, "invalid_field", path,
                    "items must be an array of {\"spec\": .., \"count\": ..}");
    size_t n = json_array_size(v);
    if (n > LPG_ORDER_ITEMS_MAX)
        return fail(err, "invalid_field", path,
                    "an order has at most %d items (LPG_ORDER_ITEMS_MAX), one per cylinder spec; "
                    "this one has %zu",
                    LPG_ORDER_ITEMS_MAX, n);
    struct lpg_order_item items[LPG_ORDER_ITEMS_MAX];
    memset(items, 0, sizeof(items));
    for (size_t i = 0; i < n; i++) {
        path_index(p, path, i);
        if (parse_object(item_fields, N(item_fields), json_array_get(v, i), &items[i], MODE_CREATE,
                         p, err) != 0)
            return -1;
    }
    memcpy(o->items, items, sizeof(items));
    o->n_items = (int32_t)n;
    return 0;
}

/* Parses value v (not NULL, not null) of field f into obj. Client input (mode not MODE_LOAD) is
 * held to the geometry checks; stored records are not, so a shape stored before a check existed
 * still loads. */
static int value_from_json(const struct field *f, const json_t *v, void *obj, const char *path,
                           enum mode mode, struct lpg_json_error *err)
{
    switch (f->type) {
    case FT_ID:
    case FT_TEXT: {
        const char *s = string_value(v, path, f->name, err);
        if (s == NULL)
            return -1;
        size_t len = strlen(s);
        if (len == 0 && (f->flags & F_REQUIRED))
            return fail(err, "invalid_field", path, "%s may not be empty", f->name);
        if (len >= f->size)
            return fail(err, "invalid_field", path, "%s is %zu bytes; at most %zu (%s)", f->name,
                        len, f->size - 1, f->cap_name);
        if (f->type == FT_ID && len > 0 && !lpg_id_valid(s))
            return fail(err, "invalid_field", path,
                        "%s \"%.64s\" is not a valid id: 1 to %d characters of A-Z a-z 0-9 _ . -",
                        f->name, s, LPG_ID_MAX);
        memset(at(obj, f->off), 0, f->size);
        memcpy(at(obj, f->off), s, len);
        return 0;
    }
    case FT_DAY: {
        const char *s = string_value(v, path, f->name, err);
        int32_t day;
        if (s == NULL)
            return -1;
        if (lpg_day_parse(s, &day) != 0)
            return fail(err, "invalid_field", path,
                        "%s \"%.40s\" is not a date YYYY-MM-DD (years 1900 to 9999)", f->name, s);
        *(int32_t *)at(obj, f->off) = day;
        return 0;
    }
    case FT_INSTANT: {
        const char *s = string_value(v, path, f->name, err);
        int64_t ms;
        if (s == NULL)
            return -1;
        if (lpg_json_instant_parse(s, &ms) != 0)
            return fail(err, "invalid_field", path,
                        "%s \"%.40s\" is not an RFC 3339 instant after 1970 such as "
                        "\"2026-11-28T21:15:22.123Z\"",
                        f->name, s);
        *(int64_t *)at(obj, f->off) = ms;
        return 0;
    }
    case FT_BOOL:
        if (!json_is_boolean(v))
            return fail(err, "invalid_field", path, "%s must be true or false", f->name);
        *(bool *)at(obj, f->off) = json_is_true(v);
        return 0;
    case FT_INT: {
        if (!json_is_integer(v))
            return fail(err, "invalid_field", path, "%s must be an integer", f->name);
        json_int_t i = json_integer_value(v);
        if (i < f->min || i > f->max)
            return fail(err, "invalid_field", path,
                        "%s %" JSON_INTEGER_FORMAT " is outside [%" PRId32 ", %" PRId32 "]",
                        f->name, i, f->min, f->max);
        *(int32_t *)at(obj, f->off) = (int32_t)i;
        return 0;
    }
    case FT_ENUM:
        return enum_from_json(f, v, path, (int *)at(obj, f->off), err);
    case FT_POINT:
        if (point_from_json(v, path, (struct geo_point *)at(obj, f->off), err) != 0)
            return -1;
        if (f->has_off != NO_OFF)
            *(bool *)at(obj, f->has_off) = true;
        return 0;
    case FT_GEOMETRY: {
        struct lpg_geometry g;
        if (geometry_from_json(v, path, &g, mode != MODE_LOAD, err) != 0)
            return -1;
        lpg_geometry_free((struct lpg_geometry *)at(obj, f->off));
        *(struct lpg_geometry *)at(obj, f->off) = g;
        return 0;
    }
    case FT_ITEMS:
        return items_from_json(v, path, (struct lpg_order *)obj, err);
    case FT_PREMISES:
        return premises_from_json(v, path, (uint32_t *)at(obj, f->off), err);
    case FT_REJECTS:
        return rejects_from_json(v, path, (struct lpg_order *)obj, err);
    }
    return fail(err, "internal", path, "unhandled field type");
}

static const struct field *find_field(const struct field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static int parse_object(const struct field *fields, size_t n, const json_t *in, void *obj,
                        enum mode mode, const char *prefix, struct lpg_json_error *err)
{
    char p[LPG_JSON_FIELD_MAX + 1];
    if (!json_is_object(in)) {
        if (prefix[0] == '\0')
            return fail(err, "invalid_body", "", "the body must be a JSON object");
        return fail(err, "invalid_field", prefix, "%s must be an object", prefix);
    }
    /* Unknown members first: a typo ("nmae") is better reported as such than as a missing
     * "name". */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (find_field(fields, n, key) == NULL) {
            path_member(p, prefix, key);
            return fail(err, "unknown_field", p, "unknown field \"%.64s\"", key);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        v = json_object_get(in, f->name);
        path_member(p, prefix, f->name);
        if ((f->flags & F_READONLY) && mode != MODE_LOAD) {
            if (v != NULL)
                return fail(err, "read_only_field", p, "%s is set by the server, not by clients",
                            f->name);
            continue;
        }
        if (f->flags & F_DERIVED)
            continue;
        if (v == NULL) {
            if ((f->flags & F_REQUIRED) && mode != MODE_PATCH)
                return fail(err, "missing_field", p, "%s is required", p);
            continue;
        }
        if ((f->flags & F_IMMUTABLE) && mode == MODE_PATCH) {
            const char *cur = (const char *)at(obj, f->off);
            if (!json_is_string(v) || strcmp(json_string_value(v), cur) != 0)
                return fail(err, "read_only_field", p, "%s cannot be changed (it is \"%s\")",
                            f->name, cur);
            continue;
        }
        if (json_is_null(v)) {
            if (f->flags & F_REQUIRED)
                return fail(err, mode == MODE_PATCH ? "invalid_field" : "missing_field", p,
                            "%s is required and may not be null", p);
            if (!nullable(f->type))
                return fail(err, "invalid_field", p, "%s may not be null", p);
            set_none(f, obj);
            continue;
        }
        if (value_from_json(f, v, obj, p, mode, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- generic field writer ---- */

static json_t *value_to_json(const struct field *f, const void *obj)
{
    switch (f->type) {
    case FT_ID:
    case FT_TEXT: {
        const char *s = (const char *)cat(obj, f->off);
        return s[0] != '\0' || (f->flags & F_REQUIRED) ? json_string(s) : json_null();
    }
    case FT_DAY: {
        int32_t day = *(const int32_t *)cat(obj, f->off);
        char buf[11];
        if (day == LPG_DAY_NONE)
            return json_null();
        lpg_day_format(day, buf);
        return json_string(buf);
    }
    case FT_INSTANT: {
        int64_t ms = *(const int64_t *)cat(obj, f->off);
        char buf[LPG_JSON_INSTANT_LEN + 1];
        if (ms == 0)
            return json_null();
        lpg_json_instant_format(ms, buf);
        return json_string(buf);
    }
    case FT_BOOL:
        return json_boolean(*(const bool *)cat(obj, f->off));
    case FT_INT:
        return json_integer(*(const int32_t *)cat(obj, f->off));
    case FT_ENUM:
        return json_string(f->en->name(*(const int *)cat(obj, f->off)));
    case FT_POINT:
        if (f->has_off != NO_OFF && !*(const bool *)cat(obj, f->has_off))
            return json_null();
        return point_to_json(*(const struct geo_point *)cat(obj, f->off));
    case FT_GEOMETRY:
        return lpg_json_from_geometry((const struct lpg_geometry *)cat(obj, f->off));
    case FT_ITEMS: {
        const struct lpg_order *o = obj;
        json_t *a = json_array();
        for (int32_t i = 0; a != NULL && i < o->n_items && i < LPG_ORDER_ITEMS_MAX; i++)
            if (json_array_append_new(a, json_pack("{s:s, s:i}", "spec", o->items[i].spec, "count",
                                                   (int)o->items[i].count)) != 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    case FT_REJECTS: {
        const struct lpg_order *o = obj;
        json_t *a = json_array();
        for (int32_t i = 0; a != NULL && i < o->n_rejected && i < LPG_ORDER_REJECTS_MAX; i++)
            if (json_array_append_new(a, json_string(o->rejected_by[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    case FT_PREMISES: {
        uint32_t bits = *(const uint32_t *)cat(obj, f->off);
        json_t *a = json_array();
        for (size_t k = 0; a != NULL && k < N(premises_names); k++)
            if ((bits & premises_bits[k]) &&
                json_array_append_new(a, json_string(premises_names[k])) != 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    }
    return NULL;
}

static json_t *emit_object(const struct field *fields, size_t n, const void *obj)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++) {
        if (json_object_set_new(o, fields[i].name, value_to_json(&fields[i], obj)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- entities ---- */

/* Cross-field checks after parsing. */
static int customer_check(const struct lpg_customer *c, struct lpg_json_error *err)
{
    if (c->contract_from_day != LPG_DAY_NONE && c->contract_to_day != LPG_DAY_NONE &&
        c->contract_to_day < c->contract_from_day)
        return fail(err, "invalid_field", "contract_to", "contract_to is before contract_from");
    return 0;
}

static void enterprise_defaults(struct lpg_enterprise *e)
{
    memset(e, 0, sizeof(*e));
    e->utc_offset_min = LPG_DEFAULT_UTC_OFFSET_MIN;
    e->licence_expiry_day = LPG_DAY_NONE;
}

static void staff_defaults(struct lpg_staff *s)
{
    memset(s, 0, sizeof(*s));
    s->qualification_expiry_day = LPG_DAY_NONE;
    s->training_expiry_day = LPG_DAY_NONE;
    s->qualification_from_day = LPG_DAY_NONE;
    s->training_from_day = LPG_DAY_NONE;
}

/* A certificate valid from a day after its expiry is a typing error, not a document. */
static int staff_check(const struct lpg_staff *s, struct lpg_json_error *err)
{
    if (s->qualification_from_day != LPG_DAY_NONE && s->qualification_expiry_day != LPG_DAY_NONE &&
        s->qualification_from_day > s->qualification_expiry_day)
        return fail(err, "invalid_field", "qualification_from",
                    "qualification_from is after qualification_expiry");
    if (s->training_from_day != LPG_DAY_NONE && s->training_expiry_day != LPG_DAY_NONE &&
        s->training_from_day > s->training_expiry_day)
        return fail(err, "invalid_field", "training_from",
                    "training_from is after training_expiry");
    return 0;
}

static void vehicle_defaults(struct lpg_vehicle *v)
{
    memset(v, 0, sizeof(*v));
    v->permit_expiry_day = LPG_DAY_NONE;
    v->position_speed_cm_s = -1;
}

static void customer_defaults(struct lpg_customer *c)
{
    memset(c, 0, sizeof(*c));
    c->contract_from_day = LPG_DAY_NONE;
    c->contract_to_day = LPG_DAY_NONE;
    c->licence_expiry_day = LPG_DAY_NONE;
}

static int enterprise_parse(const json_t *in, struct lpg_enterprise *out, enum mode mode,
                            struct lpg_json_error *err)
{
    enterprise_defaults(out);
    if (parse_object(enterprise_fields, N(enterprise_fields), in, out, mode, "", err) != 0) {
        lpg_geometry_free(&out->area);
        return -1;
    }
    /* An expiry belongs to a licence: alone it would raise alerts about nothing. */
    if (out->licence_expiry_day != LPG_DAY_NONE && out->licence_no[0] == '\0') {
        lpg_geometry_free(&out->area);
        return fail(err, "invalid_field", "licence_expiry",
                    "licence_expiry is given without licence_no");
    }
    return 0;
}

static int zone_parse(const json_t *in, struct lpg_zone *out, enum mode mode,
                      struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    if (parse_object(zone_fields, N(zone_fields), in, out, mode, "", err) != 0) {
        lpg_geometry_free(&out->shape);
        return -1;
    }
    return 0;
}

/* A station is either a polygon or a circle: exactly one of them (checked on every input,
 * stored records included, so that a station always has a place to be inside of). */
/* Exactly one form: a polygon, or a center with a radius. */
static int station_form_check(const struct lpg_station *st, struct lpg_json_error *err)
{
    bool polygon = st->shape.mp.n_polys > 0, circle = st->has_center || st->radius_m > 0;
    if (polygon == circle || (circle && (!st->has_center || st->radius_m <= 0)))
        return fail(err, polygon ? "invalid_field" : "missing_field", polygon ? "center" : "shape",
                    "a station is either a \"shape\" (Polygon) or a \"center\" with a "
                    "\"radius_m\" of 1..%d m, not both",
                    LPG_STATION_RADIUS_MAX_M);
    return 0;
}

static int station_parse(const json_t *in, struct lpg_station *out, enum mode mode,
                         struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    if (parse_object(station_fields, N(station_fields), in, out, mode, "", err) != 0) {
        lpg_geometry_free(&out->shape);
        return -1;
    }
    if (station_form_check(out, err) != 0) {
        lpg_geometry_free(&out->shape);
        return -1;
    }
    return 0;
}

int lpg_json_patch_station(const json_t *in, struct lpg_station *inout, struct lpg_json_error *err)
{
    /* A patch that gives one form replaces the other (a depot redrawn as a polygon loses its
     * circle, and back); one that gives both is refused by the check below. */
    json_t *shape = json_is_object(in) ? json_object_get(in, "shape") : NULL;
    json_t *center = json_is_object(in) ? json_object_get(in, "center") : NULL;
    json_t *radius = json_is_object(in) ? json_object_get(in, "radius_m") : NULL;
    bool sets_polygon = shape && !json_is_null(shape);
    bool sets_circle = (center && !json_is_null(center)) || (radius && !json_is_null(radius));
    if (sets_polygon && !sets_circle) {
        inout->has_center = false;
        inout->radius_m = 0;
    } else if (sets_circle && !sets_polygon) {
        lpg_geometry_free(&inout->shape);
    }
    /* In place: the shape is owned, so no shallow copy; on failure the caller discards inout. */
    if (parse_object(station_fields, N(station_fields), in, inout, MODE_PATCH, "", err) != 0)
        return -1;
    return station_form_check(inout, err);
}

json_t *lpg_json_from_station(const struct lpg_station *st)
{
    return emit_object(station_fields, N(station_fields), st);
}
int lpg_json_to_station(const json_t *in, struct lpg_station *out, struct lpg_json_error *err)
{
    return station_parse(in, out, MODE_CREATE, err);
}
int lpg_json_load_station(const json_t *in, struct lpg_station *out, struct lpg_json_error *err)
{
    return station_parse(in, out, MODE_LOAD, err);
}

json_t *lpg_json_from_enterprise(const struct lpg_enterprise *e)
{
    return emit_object(enterprise_fields, N(enterprise_fields), e);
}
int lpg_json_to_enterprise(const json_t *in, struct lpg_enterprise *out, struct lpg_json_error *err)
{
    return enterprise_parse(in, out, MODE_CREATE, err);
}
int lpg_json_load_enterprise(const json_t *in, struct lpg_enterprise *out,
                             struct lpg_json_error *err)
{
    return enterprise_parse(in, out, MODE_LOAD, err);
}

json_t *lpg_json_from_zone(const struct lpg_zone *z)
{
    return emit_object(zone_fields, N(zone_fields), z);
}
int lpg_json_to_zone(const json_t *in, struct lpg_zone *out, struct lpg_json_error *err)
{
    return zone_parse(in, out, MODE_CREATE, err);
}
int lpg_json_load_zone(const json_t *in, struct lpg_zone *out, struct lpg_json_error *err)
{
    return zone_parse(in, out, MODE_LOAD, err);
}

json_t *lpg_json_from_staff(const struct lpg_staff *s)
{
    return emit_object(staff_fields, N(staff_fields), s);
}
int lpg_json_to_staff(const json_t *in, struct lpg_staff *out, struct lpg_json_error *err)
{
    staff_defaults(out);
    if (parse_object(staff_fields, N(staff_fields), in, out, MODE_CREATE, "", err) != 0)
        return -1;
    return staff_check(out, err);
}
int lpg_json_load_staff(const json_t *in, struct lpg_staff *out, struct lpg_json_error *err)
{
    staff_defaults(out);
    return parse_object(staff_fields, N(staff_fields), in, out, MODE_LOAD, "", err);
}
int lpg_json_patch_staff(const json_t *in, struct lpg_staff *inout, struct lpg_json_error *err)
{
    struct lpg_staff tmp = *inout;
    if (parse_object(staff_fields, N(staff_fields), in, &tmp, MODE_PATCH, "", err) != 0 ||
        staff_check(&tmp, err) != 0)
        return -1;
    *inout = tmp;
    return 0;
}

json_t *lpg_json_from_vehicle(const struct lpg_vehicle *v)
{
    return emit_object(vehicle_fields, N(vehicle_fields), v);
}
int lpg_json_to_vehicle(const json_t *in, struct lpg_vehicle *out, struct lpg_json_error *err)
{
    vehicle_defaults(out);
    return parse_object(vehicle_fields, N(vehicle_fields), in, out, MODE_CREATE, "", err);
}
int lpg_json_load_vehicle(const json_t *in, struct lpg_vehicle *out, struct lpg_json_error *err)
{
    vehicle_defaults(out);
    return parse_object(vehicle_fields, N(vehicle_fields), in, out, MODE_LOAD, "", err);
}
int lpg_json_patch_vehicle(const json_t *in, struct lpg_vehicle *inout, struct lpg_json_error *err)
{
    struct lpg_vehicle tmp = *inout;
    if (parse_object(vehicle_fields, N(vehicle_fields), in, &tmp, MODE_PATCH, "", err) != 0)
        return -1;
    *inout = tmp;
    return 0;
}

json_t *lpg_json_from_customer(const struct lpg_customer *c)
{
    return emit_object(customer_fields, N(customer_fields), c);
}
static int customer_parse(const json_t *in, struct lpg_customer *out, enum mode mode,
                          struct lpg_json_error *err)
{
    customer_defaults(out);
    if (parse_object(customer_fields, N(customer_fields), in, out, mode, "", err) != 0)
        return -1;
    return customer_check(out, err);
}
int lpg_json_to_customer(const json_t *in, struct lpg_customer *out, struct lpg_json_error *err)
{
    return customer_parse(in, out, MODE_CREATE, err);
}
int lpg_json_load_customer(const json_t *in, struct lpg_customer *out, struct lpg_json_error *err)
{
    return customer_parse(in, out, MODE_LOAD, err);
}
int lpg_json_patch_customer(const json_t *in, struct lpg_customer *inout,
                            struct lpg_json_error *err)
{
    struct lpg_customer tmp = *inout;
    if (parse_object(customer_fields, N(customer_fields), in, &tmp, MODE_PATCH, "", err) != 0 ||
        customer_check(&tmp, err) != 0)
        return -1;
    *inout = tmp;
    return 0;
}

/* ---- cylinders ---- */

static void cylinder_defaults(struct lpg_cylinder *c)
{
    memset(c, 0, sizeof(*c));
    c->manufactured_day = LPG_DAY_NONE;
    c->last_inspection_day = LPG_DAY_NONE;
    c->next_inspection_day = LPG_DAY_NONE;
}

static int cylinder_check(const struct lpg_cylinder *c, struct lpg_json_error *err)
{
    if (lpg_cylinder_spec_find(c->spec) == NULL)
        return fail(err, "invalid_field", "spec",
                    "spec \"%.40s\" is not a known cylinder spec (YSP-12, YSP-35.5, YSP-118, "
                    "YSP-118-II)",
                    c->spec);
    if (c->last_inspection_day != LPG_DAY_NONE && c->last_inspection_day < c->manufactured_day)
        return fail(err, "invalid_field", "last_inspection",
                    "last_inspection is before manufactured");
    if (c->next_inspection_day != LPG_DAY_NONE && c->next_inspection_day < c->manufactured_day)
        return fail(err, "invalid_field", "next_inspection",
                    "next_inspection is before manufactured");
    return 0;
}

json_t *lpg_json_from_cylinder(const struct lpg_cylinder *c)
{
    return emit_object(cylinder_fields, N(cylinder_fields), c);
}
static int cylinder_parse(const json_t *in, struct lpg_cylinder *out, enum mode mode,
                          struct lpg_json_error *err)
{
    cylinder_defaults(out);
    if (parse_object(cylinder_fields, N(cylinder_fields), in, out, mode, "", err) != 0)
        return -1;
    return cylinder_check(out, err);
}
int lpg_json_to_cylinder(const json_t *in, struct lpg_cylinder *out, struct lpg_json_error *err)
{
    return cylinder_parse(in, out, MODE_CREATE, err);
}
int lpg_json_load_cylinder(const json_t *in, struct lpg_cylinder *out, struct lpg_json_error *err)
{
    return cylinder_parse(in, out, MODE_LOAD, err);
}
int lpg_json_patch_cylinder(const json_t *in, struct lpg_cylinder *inout,
                            struct lpg_json_error *err)
{
    struct lpg_cylinder tmp = *inout;
    if (parse_object(cylinder_fields, N(cylinder_fields), in, &tmp, MODE_PATCH, "", err) != 0 ||
        cylinder_check(&tmp, err) != 0)
        return -1;
    *inout = tmp;
    return 0;
}

/* ---- hazards: written by the server only ---- */

json_t *lpg_json_from_hazard(const struct lpg_hazard *h)
{
    return emit_object(hazard_fields, N(hazard_fields), h);
}
int lpg_json_load_hazard(const json_t *in, struct lpg_hazard *out, struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    return parse_object(hazard_fields, N(hazard_fields), in, out, MODE_LOAD, "", err);
}

json_t *lpg_json_from_order(const struct lpg_order *o)
{
    return emit_object(order_fields, N(order_fields), o);
}
int lpg_json_to_order(const json_t *in, struct lpg_order *out, struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    return parse_object(order_fields, N(order_fields), in, out, MODE_CREATE, "", err);
}
int lpg_json_load_order(const json_t *in, struct lpg_order *out, struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    return parse_object(order_fields, N(order_fields), in, out, MODE_LOAD, "", err);
}

json_t *lpg_json_from_order_event(const struct order_event *ev)
{
    return emit_object(event_fields, N(event_fields), ev);
}

char *lpg_order_event_text(const struct order_event *ev)
{
    json_t *j = lpg_json_from_order_event(ev);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}
int lpg_json_to_order_event(const json_t *in, struct order_event *out, struct lpg_json_error *err)
{
    memset(out, 0, sizeof(*out));
    return parse_object(event_fields, N(event_fields), in, out, MODE_LOAD, "", err);
}
