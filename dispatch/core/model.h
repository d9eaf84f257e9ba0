/* model.h -- the domain model of lpg-dispatch: enterprises, zones, staff, vehicles,
 * customers and orders, as plain C structs shared by the pure core (order rules, the order
 * state machine, matching) and the adapters (JSON, the Redis store, HTTP).
 *
 * Pure: no I/O, no libevent, no hiredis. The rules are in docs/domain.md.
 *
 * Conventions
 *   - Ids are printable ASCII [A-Za-z0-9_.-], 1..LPG_ID_MAX bytes (no ':' so they can be part
 *     of Redis keys); see lpg_id_valid(). Every entity belongs to exactly one enterprise
 *     (enterprise_id), which scopes what a dispatcher can see.
 *   - Instants are UTC milliseconds since the Unix epoch (int64_t *_ms).
 *   - Calendar dates (certificate, permit and contract validity) are days since 1970-01-01 in
 *     the enterprise's local calendar (int32_t *_day; LPG_DAY_NONE when absent). A document
 *     whose expiry day is D is valid on day D and invalid from D + 1. The local day of an
 *     instant is lpg_local_day(ms, utc_offset_min): China has one time zone without daylight
 *     saving (UTC+8), so a fixed offset per enterprise is exact.
 *   - Coordinates are WGS84 degrees in struct geo_point (lon first, see geo/geo_core.h).
 *   - Strings are fixed-size, NUL-terminated arrays inside the struct: an entity is one
 *     allocation, owned by whoever holds it (the registry), plus its geometry (struct
 *     lpg_geometry), which owns its arrays and is released with lpg_geometry_free().
 */
#ifndef LPG_MODEL_H
#define LPG_MODEL_H

#include "geo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPG_ID_MAX            64  /* bytes of an id, without the NUL */
#define LPG_NAME_MAX          127 /* bytes of a display name */
#define LPG_TEXT_MAX          255 /* bytes of an address, a certificate number, a reason */
#define LPG_NOTES_MAX         511 /* bytes of free-text notes */
#define LPG_SPEC_MAX          23  /* bytes of a cylinder spec such as "YSP-118-II" */
#define LPG_ORDER_ITEMS_MAX   8   /* distinct cylinder specs in one order */
#define LPG_ORDER_REJECTS_MAX 8   /* people remembered as having rejected one order */
#define LPG_DAY_NONE          INT32_MIN
#define LPG_DRIVER_VIA_MAX    15 /* bytes of lpg_vehicle.driver_via: "card", "handset" */

/* ---- geometry owned by an entity (enterprise service area, zone) ---- */

/* A multipolygon with its storage: mp points into polys/rings/pts, all owned here. */
struct lpg_geometry {
    struct geo_multipolygon mp;
    struct geo_polygon *polys;
    struct geo_ring *rings; /* outer and hole rings of every polygon */
    struct geo_point *pts;
    struct geo_bbox bbox;
    struct geo_point centroid; /* area-weighted, planar (may lie outside a concave shape) */
    struct geo_point inside;   /* a point guaranteed inside the shape (fallback position) */
};
void lpg_geometry_free(struct lpg_geometry *g);
/* After pts/rings/polys and mp are filled in: validates the shape (geo_multipolygon_check) and
 * computes bbox, centroid and inside. Returns GEO_OK or the geo error. (geometry.c) */
enum geo_status lpg_geometry_finish(struct lpg_geometry *g);
/* Deep copy; returns 0, or -1 on out-of-memory (dst is then empty). (geometry.c) */
int lpg_geometry_copy(struct lpg_geometry *dst, const struct lpg_geometry *src);
/* Whether `inner` lies within `outer` (boundary included; vertices rounded to 1e-9 degree):
 * O((n + m) log(n + m)) by a sweep, for shapes that passed lpg_geometry_validate. (geometry.c) */
bool lpg_geometry_within(const struct lpg_geometry *inner, const struct lpg_geometry *outer);
/* The same by testing every inner edge against every outer vertex, O(n m): the reference the
 * tests and the bench compare lpg_geometry_within with. (geometry.c) */
bool lpg_geometry_within_brute(const struct lpg_geometry *inner, const struct lpg_geometry *outer);

/* Defaults of the settings geometry_ring_vertices_max and geometry_vertices_max. */
#define LPG_GEOMETRY_RING_VERTICES_DEFAULT 10000
#define LPG_GEOMETRY_VERTICES_DEFAULT      20000
/* Sets the vertex caps of lpg_geometry_validate (closing vertices not counted): per ring and per
 * shape. Called once at startup, before any request; the defaults hold until then. */
void lpg_geometry_set_limits(size_t ring_vertices_max, size_t vertices_max);
/* The checks of a shape from a client (zone, supply area), before lpg_geometry_finish: the
 * vertex caps, then a simple polygon (geo_simple.h: no self-intersection or touching, holes
 * inside their shell, parts disjoint). 0 when it passes; else -1 (-2: out of memory) with msg
 * naming the problem and the ring and vertex, and where the GeoJSON index of that vertex
 * ("[ring][vertex]", or "[polygon][ring][vertex]" when multi), to append to ".coordinates". */
int lpg_geometry_validate(const struct lpg_geometry *g, bool multi, char *msg, size_t msg_len,
                          char *where, size_t where_len);

/* ---- enterprises ---- */

/* The time zone of an enterprise that names none: China Standard Time, UTC+8 (Asia/Shanghai).
 * Local calendar days (daily driving, inspection due dates, summaries) are counted in it. */
#define LPG_DEFAULT_UTC_OFFSET_MIN 480

struct lpg_enterprise {
    char id[LPG_ID_MAX + 1];
    char name[LPG_NAME_MAX + 1];
    char licence_no[LPG_TEXT_MAX + 1]; /* gas business licence (燃气经营许可证) */
    struct lpg_geometry area;          /* supply area: bounds all zones and customers */
    int32_t utc_offset_min;            /* local time = UTC + this; LPG_DEFAULT_UTC_OFFSET_MIN */
    int64_t created_ms;
    int32_t licence_expiry_day; /* last valid day of licence_no; LPG_DAY_NONE when not given */
};

/* ---- zones ---- */

struct lpg_zone {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char name[LPG_NAME_MAX + 1];
    struct lpg_geometry shape; /* must lie within the enterprise's area */
    int32_t speed_limit_kmh;   /* 0: none beyond the road-class default */
    bool expressway;           /* road-class default 80 km/h instead of 60 */
    uint32_t index_id;         /* dense id used in the zone index (assigned by the registry) */
    int64_t created_ms;
};

/* ---- stations (depots) ---- */

/* Where vehicles load and return: a polygon (shape), or a point and a radius (shape empty). */
#define LPG_STATION_RADIUS_MAX_M 5000
struct lpg_station {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char name[LPG_NAME_MAX + 1];
    struct lpg_geometry shape; /* empty (no polygon) when the station is a circle */
    bool has_center;
    struct geo_point center; /* with radius_m, when shape is empty */
    int32_t radius_m;
    int64_t created_ms;
};
/* Whether p lies within the station (boundary included). (geometry.c) */
bool lpg_station_contains(const struct lpg_station *st, struct geo_point p);

/* ---- staff ---- */

enum lpg_staff_role {
    LPG_ROLE_DRIVER,
    LPG_ROLE_ESCORT,   /* 押运员 */
    LPG_ROLE_DELIVERY, /* 送气工 */
    LPG_STAFF_ROLE_COUNT
};

struct lpg_staff {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char name[LPG_NAME_MAX + 1];
    enum lpg_staff_role role;
    char qualification_no[LPG_TEXT_MAX + 1]; /* 从业资格证; "" when missing */
    int32_t qualification_expiry_day;
    char training_no[LPG_TEXT_MAX + 1]; /* safety-training certificate; "" when missing */
    int32_t training_expiry_day;
    char zone_id[LPG_ID_MAX + 1];    /* "" when not assigned to a zone */
    char vehicle_id[LPG_ID_MAX + 1]; /* bound vehicle (人车对应); "" when none */
    char device_id[LPG_ID_MAX + 1];  /* handset; "" when none registered */
    bool on_duty;
    int64_t rest_until_ms; /* mandatory rest (fatigue) until this instant; 0 when none */
    int32_t active_orders; /* orders assigned and not yet finished (derived, not stored) */
    int64_t created_ms;
    /* First valid day of each certificate (local calendar); LPG_DAY_NONE when not given (valid
     * until its expiry). Matching does not offer orders before it. */
    int32_t qualification_from_day;
    int32_t training_from_day;
};

/* ---- vehicles ---- */

enum lpg_vehicle_kind {
    LPG_VEHICLE_TRUCK,
    LPG_VEHICLE_VAN,
    LPG_VEHICLE_TRICYCLE,
    LPG_VEHICLE_EBIKE,
    LPG_VEHICLE_KIND_COUNT
};

struct lpg_vehicle {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char plate[LPG_NAME_MAX + 1];
    enum lpg_vehicle_kind kind;
    char permit_no[LPG_TEXT_MAX + 1]; /* dangerous-goods road transport permit; "" missing */
    int32_t permit_expiry_day;
    int32_t capacity;              /* cylinders */
    char staff_id[LPG_ID_MAX + 1]; /* bound person; "" when none (mirrors lpg_staff.vehicle_id) */
    bool has_position;             /* last known fix (tracking issue); else the zone is used */
    struct geo_point position;
    int64_t position_ms;
    int32_t position_speed_cm_s; /* speed of that fix; -1 when unknown (not stored) */
    int32_t committed;           /* cylinders on active orders (derived, not stored) */
    /* The load of the current trip, from the first loading scan to the reconciliation at the
     * station (server-owned): loaded - handed over - returned full must be 0 at the end. */
    int64_t trip_started_ms; /* 0: no trip open */
    int32_t trip_loaded, trip_handed_over, trip_returned_full, trip_empties;
    /* Who drives (server-owned, issue 12 item 5, app/driver_sign_on.h): the person signed on by
     * a driver's card or a handset login, since when and how ("card", "handset"; "" when nobody
     * signed on: the bound person is taken to drive); the person signed on by a handset, whom
     * the vehicle falls back to when the card is removed; and why the vehicle takes no orders
     * ("" when it may: a refused card, or a card removed with nobody signed on). */
    char driver_id[LPG_ID_MAX + 1];
    char driver_via[LPG_DRIVER_VIA_MAX + 1];
    int64_t driver_since_ms;
    char handset_driver_id[LPG_ID_MAX + 1];
    char driver_hold[LPG_TEXT_MAX + 1];
    int64_t created_ms;
    /* The station (depot) the vehicle loads at and returns to (issue 13 item 4): "" when none,
     * and then it may neither load nor reconcile (docs/http-api.md, "Stations"). */
    char station_id[LPG_ID_MAX + 1];
    /* The vehicle's own speed limit (its class or the enterprise's rule), a ceiling over the
     * limit where it is; 0: none (issue 14 item 4). */
    int32_t speed_limit_kmh;
    /* The escort (押运员, a staff member of role escort) bound beside the driver: a vehicle whose
     * kind needs one (lpg_vehicle_kind_needs_escort) takes no orders without one whose
     * certificates are in force; "" when none (issue 14 item 4). */
    char escort_id[LPG_ID_MAX + 1];
};

/* ---- customers ---- */

enum lpg_customer_kind {
    LPG_CUSTOMER_HOUSEHOLD,
    LPG_CUSTOMER_RESTAURANT,
    LPG_CUSTOMER_SCHOOL,
    LPG_CUSTOMER_HOSPITAL,
    LPG_CUSTOMER_MARKET,
    LPG_CUSTOMER_ELDER_CARE,
    LPG_CUSTOMER_MIXED_USE,
    LPG_CUSTOMER_RESELLER, /* buys to resell: supplied only with a gas business licence in force */
    LPG_CUSTOMER_KIND_COUNT
};

/* Premises flags: supply is refused to any of them (§二(一)3: 向地下、半地下空间或者高层民用建筑
 * 用户供应液化气的). A 高层民用建筑 (high-rise civil building) is a residential or a public one,
 * so both kinds are flags (the residential one came first and keeps its name and bit). */
enum lpg_premises {
    LPG_PREMISES_UNDERGROUND = 1u << 0,
    LPG_PREMISES_SEMI_UNDERGROUND = 1u << 1,
    LPG_PREMISES_HIGH_RISE_RESIDENTIAL = 1u << 2,
    LPG_PREMISES_HIGH_RISE_PUBLIC = 1u << 3,
};

enum lpg_customer_status { LPG_CUSTOMER_ACTIVE, LPG_CUSTOMER_SUSPENDED };

struct lpg_customer {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char name[LPG_NAME_MAX + 1];
    enum lpg_customer_kind kind;
    struct geo_point location;
    char address[LPG_TEXT_MAX + 1];
    uint32_t premises;                  /* enum lpg_premises bits */
    char contract_no[LPG_TEXT_MAX + 1]; /* supply contract (供用气合同); "" when none */
    int32_t contract_from_day;
    int32_t contract_to_day;
    enum lpg_customer_status status;
    char suspended_reason[LPG_TEXT_MAX + 1];
    int64_t created_ms;
    /* A reseller's gas business licence (燃气经营许可证, §二(一)3): its number and last valid
     * day (LPG_DAY_NONE when not given); other kinds may record one too. */
    char licence_no[LPG_TEXT_MAX + 1];
    int32_t licence_expiry_day;
};

/* ---- orders ---- */

enum lpg_order_state {
    LPG_ORDER_CREATED, /* accepted by the rules, not yet assigned (waiting, with a reason) */
    LPG_ORDER_ASSIGNED,
    LPG_ORDER_ACCEPTED,
    LPG_ORDER_LOADED,
    LPG_ORDER_EN_ROUTE,
    LPG_ORDER_ARRIVED,
    LPG_ORDER_DELIVERED, /* final */
    LPG_ORDER_FAILED,    /* final, with a reason */
    LPG_ORDER_CANCELLED, /* final, with a reason */
    LPG_ORDER_STATE_COUNT
};

enum lpg_order_kind { LPG_ORDER_DELIVERY, LPG_ORDER_REINSPECTION };

struct lpg_order_item {
    char spec[LPG_SPEC_MAX + 1]; /* a known cylinder spec, see lpg_cylinder_spec_find() */
    int32_t count;               /* >= 1 */
};

struct lpg_order {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char customer_id[LPG_ID_MAX + 1];
    enum lpg_order_kind kind;
    struct lpg_order_item items[LPG_ORDER_ITEMS_MAX];
    int32_t n_items;
    int64_t window_start_ms; /* requested delivery window; 0 when open */
    int64_t window_end_ms;
    char notes[LPG_NOTES_MAX + 1];
    enum lpg_order_state state;
    char staff_id[LPG_ID_MAX + 1];   /* assigned person; "" when none */
    char vehicle_id[LPG_ID_MAX + 1]; /* their vehicle at assignment */
    char reason[LPG_TEXT_MAX + 1];   /* why waiting / failed / cancelled; "" otherwise */
    /* People who rejected this order, or were taken off it by a dispatcher, oldest first:
     * matching never offers it to them again. Beyond LPG_ORDER_REJECTS_MAX the oldest is
     * forgotten (lpg_order_add_rejection). */
    char rejected_by[LPG_ORDER_REJECTS_MAX][LPG_ID_MAX + 1];
    int32_t n_rejected;
    int64_t created_ms;
    int64_t updated_ms;
    /* Its delivery window ended before it was delivered (server-owned, set once by the
     * dispatcher, app/dispatcher.h): it stays set whatever happens to the order next. */
    bool late;
};

/* Remembers that staff_id rejected o. */
void lpg_order_add_rejection(struct lpg_order *o, const char *staff_id);
/* Whether staff_id rejected o. */
bool lpg_order_rejected_by(const struct lpg_order *o, const char *staff_id);

/* Cylinders an order needs (sum of item counts). */
int32_t lpg_order_cylinders(const struct lpg_order *o);

/* ---- cylinder specs ---- */

struct lpg_cylinder_spec {
    const char *name;  /* "YSP-12", "YSP-35.5", "YSP-118", "YSP-118-II" */
    double nominal_kg; /* filling mass */
    bool two_phase;    /* gas-liquid two-phase (never to restaurants, §二(四)3) */
};
/* The known specs, or NULL for an unknown name. */
const struct lpg_cylinder_spec *lpg_cylinder_spec_find(const char *name);

/* ---- cylinders: one cylinder, one code (一瓶一码, §三(三)2) ---- */

/* Where a cylinder is in its life. Set only by movements (the handset's scans, the station's
 * events), never by editing the record. */
enum lpg_cylinder_status {
    LPG_CYL_IN_STOCK,        /* full, at the station */
    LPG_CYL_LOADED,          /* full, on vehicle_id, for order_id */
    LPG_CYL_AT_CUSTOMER,     /* handed over to customer_id on order_id */
    LPG_CYL_COLLECTED_EMPTY, /* empty, collected from a customer, on vehicle_id */
    LPG_CYL_RETURNED_EMPTY,  /* empty, back at the station */
    LPG_CYL_DUE_INSPECTION,  /* withdrawn: its periodic inspection is due */
    LPG_CYL_SENT_INSPECTION, /* at the inspection station */
    LPG_CYL_SCRAPPED,        /* final */
    LPG_CYL_LOST,
    LPG_CYL_STATUS_COUNT
};

struct lpg_cylinder {
    char id[LPG_ID_MAX + 1];            /* the code (QR / electronic tag) */
    char enterprise_id[LPG_ID_MAX + 1]; /* owner */
    char spec[LPG_SPEC_MAX + 1];        /* a known spec, lpg_cylinder_spec_find() */
    char manufacturer[LPG_NAME_MAX + 1];
    char serial[LPG_NAME_MAX + 1]; /* steel stamp */
    int32_t manufactured_day;      /* required */
    int32_t last_inspection_day;   /* LPG_DAY_NONE: never inspected */
    int32_t next_inspection_day;   /* LPG_DAY_NONE: last (or manufacture) + the interval */
    int32_t service_life_years;    /* 0: the design-life setting; capped by the maximum */
    bool blacklisted;
    char blacklist_reason[LPG_TEXT_MAX + 1];
    /* movement state (server-owned) */
    enum lpg_cylinder_status status;
    char vehicle_id[LPG_ID_MAX + 1];  /* loaded / collected_empty */
    char customer_id[LPG_ID_MAX + 1]; /* at_customer */
    char order_id[LPG_ID_MAX + 1];    /* loaded / at_customer: the order it travels on */
    char check_id[LPG_ID_MAX + 1];    /* at_customer: its safety check, "" until made */
    int64_t created_ms;
    int64_t updated_ms;
};

/* ---- the hazard ledger (台账, §四(一)3): rectification notices ---- */

enum lpg_hazard_status { LPG_HAZARD_OPEN, LPG_HAZARD_CLOSED };

struct lpg_hazard {
    char id[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char customer_id[LPG_ID_MAX + 1];
    char order_id[LPG_ID_MAX + 1];    /* the delivery or re-inspection that found it */
    char cylinder_id[LPG_ID_MAX + 1]; /* the cylinder whose check found it; "" for a visit */
    char check_id[LPG_ID_MAX + 1];    /* the safety check that found it */
    char hazard[LPG_NOTES_MAX + 1];   /* the failed items with their notes */
    char found_by[LPG_ID_MAX + 1];    /* the staff member who checked (谁检查、谁签名) */
    int64_t found_ms;
    char responsible[LPG_NAME_MAX + 1]; /* who must fix it: the customer's name */
    int64_t deadline_ms;
    enum lpg_hazard_status status;
    int64_t closed_ms;
    char closed_by[LPG_ID_MAX + 1]; /* staff member whose re-inspection passed */
    char closing_check_id[LPG_ID_MAX + 1];
    char closing_order_id[LPG_ID_MAX + 1];
    int64_t created_ms;
};

/* Adds whole years to a calendar day (29 February + 1 year is 28 February). */
int32_t lpg_day_add_years(int32_t day, int years);

/* ---- names of enums (for JSON and messages); *_parse returns -1 for an unknown name ---- */

const char *lpg_staff_role_name(enum lpg_staff_role r);
int lpg_staff_role_parse(const char *s);
const char *lpg_vehicle_kind_name(enum lpg_vehicle_kind k);
/* Whether a vehicle of kind k carries LPG as dangerous-goods road transport and so needs an
 * escort aboard (docs/domain.md, "Escorts"): a truck does; a van, tricycle or e-bike is a
 * delivery tool of the enterprise (配送工具) and does not. */
bool lpg_vehicle_kind_needs_escort(enum lpg_vehicle_kind k);
int lpg_vehicle_kind_parse(const char *s);
const char *lpg_customer_kind_name(enum lpg_customer_kind k);
int lpg_customer_kind_parse(const char *s);
const char *lpg_order_state_name(enum lpg_order_state s);
int lpg_order_state_parse(const char *s);
const char *lpg_order_kind_name(enum lpg_order_kind k);
int lpg_order_kind_parse(const char *s);
const char *lpg_cylinder_status_name(enum lpg_cylinder_status s);
int lpg_cylinder_status_parse(const char *s);
const char *lpg_hazard_status_name(enum lpg_hazard_status s);
int lpg_hazard_status_parse(const char *s);

/* ---- ids and days ---- */

/* 1..LPG_ID_MAX bytes of [A-Za-z0-9_.-]. */
bool lpg_id_valid(const char *id);
/* Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF) of len bytes. */
bool lpg_utf8_valid(const char *s, size_t len);
/* Local calendar day of an instant. */
int32_t lpg_local_day(int64_t ms, int32_t utc_offset_min);
/* "YYYY-MM-DD" <-> day number; parse returns -1 on a malformed or impossible date. */
int lpg_day_parse(const char *s, int32_t *day);
void lpg_day_format(int32_t day, char out[11]);

#endif
