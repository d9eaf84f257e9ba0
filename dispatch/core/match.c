/* match.c -- matching an order to a licensed delivery person (match.h; docs/domain.md "Staff and
 * vehicles"). Pure: reads the registry, never writes it.
 *
 * match_order: the zones of the order's enterprise that contain the customer's location (the
 * registry's zone index; a customer on the shared border of two zones is in both, and the staff
 * of every such zone compete), then each of those zones' staff is checked against every
 * condition of match.h, and the eligible ones are ranked by (distance, active orders, id).
 * When nobody is eligible, the reason counts the causes per zone:
 *   "zone Z3: 2 staff; 1 qualification certificate expired 2026-10-01, 1 off duty"
 * A person with several blockers is counted under each, so the dispatcher sees everything that
 * stands in the way; the earliest date / most spare room is named where causes carry one.
 *
 * Hot path without allocation: zones in a stack array of MATCH_ZONES_MAX, staff of a zone in a
 * stack array of MATCH_STAFF_STACK. Beyond them:
 *   - more than MATCH_ZONES_MAX zones of the enterprise contain the customer: the
 *     MATCH_ZONES_MAX with the smallest ids are considered, and a refusal says how many were
 *     not;
 *   - a zone with more than MATCH_STAFF_STACK staff: its staff are read into one heap array for
 *     that call (if that allocation fails, the first MATCH_STAFF_STACK by id are considered);
 *   - the registry itself allocates only to rebuild its zone index after zone changes, and when
 *     a point lies in more than 64 zones of all enterprises together (registry.c).
 * Reasons longer than LPG_TEXT_MAX bytes end in "...".
 */
#include "core/match.h"
#include "core/order_fsm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_ZONES_MAX   16  /* containing zones of one enterprise considered per order */
#define MATCH_STAFF_STACK 128 /* staff of one zone read without allocating */

/* Why a person is not eligible; the order is the order of the reason text. */
enum cause {
    CAUSE_OTHER_ENTERPRISE,
    CAUSE_REJECTED,
    CAUSE_ESCORT,
    CAUSE_OFF_DUTY,
    CAUSE_REST,
    CAUSE_QUAL_MISSING,
    CAUSE_QUAL_EXPIRED,
    CAUSE_QUAL_NOT_YET, /* valid from a later day */
    CAUSE_TRAINING_MISSING,
    CAUSE_TRAINING_EXPIRED,
    CAUSE_TRAINING_NOT_YET,
    CAUSE_NO_VEHICLE,
    CAUSE_PERMIT_MISSING,
    CAUSE_PERMIT_EXPIRED,
    CAUSE_VEHICLE_FULL,
    CAUSE_VEHICLE_HELD,       /* no licensed driver signed on (driver's card, issue 12 item 5) */
    CAUSE_NO_ESCORT,          /* the vehicle's kind needs an escort and none is bound (issue 14) */
    CAUSE_ESCORT_UNCERTIFIED, /* the bound escort's certificates are not in force */
    CAUSE_COUNT
};

/* What the checks of one person found, with the details the reason text names. */
struct verdict {
    unsigned causes; /* bit (1u << enum cause) per blocker */
    const struct lpg_vehicle *vehicle;
    int64_t rest_until_ms;
    int32_t qual_day, training_day, permit_day;
    int32_t qual_from, training_from; /* first valid days of CAUSE_*_NOT_YET */
    int32_t committed, capacity;
    const char *vehicle_problem; /* detail of CAUSE_NO_VEHICLE for one person */
    const char *hold;            /* detail of CAUSE_VEHICLE_HELD: lpg_vehicle.driver_hold */
};

/* The time and date a check is made at, and the order's size. */
struct when {
    int64_t now_ms;
    int32_t today; /* the enterprise's local day of now_ms */
    int32_t utc_offset_min;
    int32_t need; /* cylinders the order needs */
    const struct lpg_order *order;
};

static bool doc_missing(const char *no, int32_t day)
{
    return no[0] == '\0' || day == LPG_DAY_NONE;
}

/* A certificate present, not expired and valid already on `today`. */
static bool doc_in_force(const char *no, int32_t expiry, int32_t from, int32_t today)
{
    return !doc_missing(no, expiry) && today <= expiry && (from == LPG_DAY_NONE || today >= from);
}

/* Every condition of match.h except the zone (the caller knows it). Valid on the expiry day,
 * invalid from the next local day (model.h). */
static void check_staff(const struct registry *reg, const char *enterprise_id,
                        const struct lpg_staff *s, const struct when *w, struct verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (strcmp(s->enterprise_id, enterprise_id) != 0)
        v->causes |= 1u << CAUSE_OTHER_ENTERPRISE;
    if (w->order != NULL && lpg_order_rejected_by(w->order, s->id))
        v->causes |= 1u << CAUSE_REJECTED;
    /* An escort (押运员) rides along to guard the load; drivers and delivery staff deliver. */
    if (s->role == LPG_ROLE_ESCORT)
        v->causes |= 1u << CAUSE_ESCORT;
    if (!s->on_duty)
        v->causes |= 1u << CAUSE_OFF_DUTY;
    if (s->rest_until_ms > w->now_ms) {
        v->causes |= 1u << CAUSE_REST;
        v->rest_until_ms = s->rest_until_ms;
    }
    if (doc_missing(s->qualification_no, s->qualification_expiry_day)) {
        v->causes |= 1u << CAUSE_QUAL_MISSING;
    } else if (w->today > s->qualification_expiry_day) {
        v->causes |= 1u << CAUSE_QUAL_EXPIRED;
        v->qual_day = s->qualification_expiry_day;
    } else if (s->qualification_from_day != LPG_DAY_NONE && w->today < s->qualification_from_day) {
        v->causes |= 1u << CAUSE_QUAL_NOT_YET;
        v->qual_from = s->qualification_from_day;
    }
    if (doc_missing(s->training_no, s->training_expiry_day)) {
        v->causes |= 1u << CAUSE_TRAINING_MISSING;
    } else if (w->today > s->training_expiry_day) {
        v->causes |= 1u << CAUSE_TRAINING_EXPIRED;
        v->training_day = s->training_expiry_day;
    } else if (s->training_from_day != LPG_DAY_NONE && w->today < s->training_from_day) {
        v->causes |= 1u << CAUSE_TRAINING_NOT_YET;
        v->training_from = s->training_from_day;
    }
    /* 人车对应: the vehicle named by the person, of the same enterprise, and not bound to
     * someone else (its staff_id mirrors the binding; "" there is tolerated). */
    const struct lpg_vehicle *veh = s->vehicle_id[0] ? registry_vehicle(reg, s->vehicle_id) : NULL;
    if (s->vehicle_id[0] == '\0')
        v->vehicle_problem = "no vehicle bound";
    else if (veh == NULL)
        v->vehicle_problem = "bound vehicle not found";
    else if (strcmp(veh->enterprise_id, s->enterprise_id) != 0)
        v->vehicle_problem = "bound vehicle belongs to another enterprise";
    else if (veh->staff_id[0] != '\0' && strcmp(veh->staff_id, s->id) != 0)
        v->vehicle_problem = "bound vehicle is bound to another person";
    if (v->vehicle_problem != NULL) {
        v->causes |= 1u << CAUSE_NO_VEHICLE;
        return;
    }
    v->vehicle = veh;
    if (doc_missing(veh->permit_no, veh->permit_expiry_day)) {
        v->causes |= 1u << CAUSE_PERMIT_MISSING;
    } else if (w->today > veh->permit_expiry_day) {
        v->causes |= 1u << CAUSE_PERMIT_EXPIRED;
        v->permit_day = veh->permit_expiry_day;
    }
    if (veh->capacity - veh->committed < w->need) {
        v->causes |= 1u << CAUSE_VEHICLE_FULL;
        v->committed = veh->committed;
        v->capacity = veh->capacity;
    }
    /* A refused driver's card (or a card removed with nobody signed on) holds the vehicle
     * until a licensed person signs on (app/driver_sign_on.h). */
    if (veh->driver_hold[0] != '\0') {
        v->causes |= 1u << CAUSE_VEHICLE_HELD;
        v->hold = veh->driver_hold;
    }
    /* Dangerous-goods road transport carries an escort beside the driver (docs/domain.md,
     * "Escorts"): one of role escort, of the enterprise, with both certificates in force. */
    if (lpg_vehicle_kind_needs_escort(veh->kind)) {
        const struct lpg_staff *es = veh->escort_id[0] ? registry_staff(reg, veh->escort_id) : NULL;
        if (es == NULL || es->role != LPG_ROLE_ESCORT ||
            strcmp(es->enterprise_id, veh->enterprise_id) != 0)
            v->causes |= 1u << CAUSE_NO_ESCORT;
        else if (!doc_in_force(es->qualification_no, es->qualification_expiry_day,
                               es->qualification_from_day, w->today) ||
                 !doc_in_force(es->training_no, es->training_expiry_day, es->training_from_day,
                               w->today))
            v->causes |= 1u << CAUSE_ESCORT_UNCERTIFIED;
    }
}

/* ---- bounded text ---- */

struct text {
    char *buf;
    size_t cap, len;
    bool truncated;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    if (t->truncated || t->cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < t->cap - t->len) {
        t->len += (size_t)n;
        return;
    }
    t->truncated = true;
    t->len = t->cap - 1;
    if (t->cap >= 4)
        memcpy(t->buf + t->cap - 4, "...", 4);
}

static void fmt_day(int32_t day, char out[11])
{
    lpg_day_format(day, out);
}

/* "YYYY-MM-DD HH:MM", local time of the enterprise. */
static void fmt_local_time(int64_t ms, int32_t utc_offset_min, char out[17])
{
    int32_t day = lpg_local_day(ms, utc_offset_min);
    /* 0..1439: lpg_local_day floors, so the remainder is never negative. */
    unsigned min_of_day =
        (unsigned)((ms + (int64_t)utc_offset_min * 60000 - (int64_t)day * 86400000) / 60000);
    char d[11];
    lpg_day_format(day, d);
    memcpy(out, d, 10);
    out[10] = ' ';
    out[11] = (char)('0' + min_of_day / 600 % 10);
    out[12] = (char)('0' + min_of_day / 60 % 10);
    out[13] = ':';
    out[14] = (char)('0' + min_of_day % 60 / 10);
    out[15] = (char)('0' + min_of_day % 10);
    out[16] = '\0';
}

/* ---- per-zone tallies for the reason ---- */

struct tally {
    size_t n_staff;
    size_t count[CAUSE_COUNT];
    int64_t rest_until_ms;                      /* the earliest end of rest */
    int32_t qual_day, training_day, permit_day; /* the earliest expiry */
    int32_t qual_from, training_from;           /* the earliest first valid day */
    int32_t committed, capacity;                /* the full vehicle with the most spare room */
    const char *hold;                           /* the first held vehicle's reason */
};

static void tally_add(struct tally *t, const struct verdict *v)
{
    for (int c = 0; c < CAUSE_COUNT; c++) {
        if (!(v->causes & (1u << c)))
            continue;
        bool first = t->count[c]++ == 0;
        switch ((enum cause)c) {
        case CAUSE_REST:
            if (first || v->rest_until_ms < t->rest_until_ms)
                t->rest_until_ms = v->rest_until_ms;
            break;
        case CAUSE_QUAL_EXPIRED:
            if (first || v->qual_day < t->qual_day)
                t->qual_day = v->qual_day;
            break;
        case CAUSE_TRAINING_EXPIRED:
            if (first || v->training_day < t->training_day)
                t->training_day = v->training_day;
            break;
        case CAUSE_QUAL_NOT_YET:
            if (first || v->qual_from < t->qual_from)
                t->qual_from = v->qual_from;
            break;
        case CAUSE_TRAINING_NOT_YET:
            if (first || v->training_from < t->training_from)
                t->training_from = v->training_from;
            break;
        case CAUSE_PERMIT_EXPIRED:
            if (first || v->permit_day < t->permit_day)
                t->permit_day = v->permit_day;
            break;
        case CAUSE_VEHICLE_FULL:
            if (first || v->capacity - v->committed > t->capacity - t->committed) {
                t->committed = v->committed;
                t->capacity = v->capacity;
            }
            break;
        case CAUSE_VEHICLE_HELD:
            if (first)
                t->hold = v->hold;
            break;
        default:
            break;
        }
    }
}

/* Appends the causes of a tally (counts > 0) or of one verdict (counts NULL), comma-separated.
 * `detail` is the one person's CAUSE_NO_VEHICLE wording, NULL for a tally. */
static void text_causes(struct text *t, const size_t *counts, unsigned causes,
                        const struct tally *d, const struct when *w, const char *detail)
{
    const char *sep = "";
    char day[11], time[17];
    for (int c = 0; c < CAUSE_COUNT; c++) {
        if (!(causes & (1u << c)))
            continue;
        text_add(t, "%s", sep);
        if (counts != NULL)
            text_add(t, "%zu ", counts[c]);
        sep = ", ";
        switch ((enum cause)c) {
        case CAUSE_OTHER_ENTERPRISE:
            text_add(t, "of another enterprise");
            break;
        case CAUSE_REJECTED:
            text_add(t, "rejected this order");
            break;
        case CAUSE_ESCORT:
            text_add(t, "escort (does not deliver)");
            break;
        case CAUSE_OFF_DUTY:
            text_add(t, "off duty");
            break;
        case CAUSE_REST:
            fmt_local_time(d->rest_until_ms, w->utc_offset_min, time);
            text_add(t, "in mandatory rest until %s", time);
            break;
        case CAUSE_QUAL_MISSING:
            text_add(t, "qualification certificate missing");
            break;
        case CAUSE_QUAL_EXPIRED:
            fmt_day(d->qual_day, day);
            text_add(t, "qualification certificate expired %s", day);
            break;
        case CAUSE_QUAL_NOT_YET:
            fmt_day(d->qual_from, day);
            text_add(t, "qualification certificate valid from %s", day);
            break;
        case CAUSE_TRAINING_MISSING:
            text_add(t, "safety-training certificate missing");
            break;
        case CAUSE_TRAINING_EXPIRED:
            fmt_day(d->training_day, day);
            text_add(t, "safety-training certificate expired %s", day);
            break;
        case CAUSE_TRAINING_NOT_YET:
            fmt_day(d->training_from, day);
            text_add(t, "safety-training certificate valid from %s", day);
            break;
        case CAUSE_NO_VEHICLE:
            text_add(t, "%s", detail ? detail : "no vehicle bound");
            break;
        case CAUSE_PERMIT_MISSING:
            text_add(t, "vehicle permit missing");
            break;
        case CAUSE_PERMIT_EXPIRED:
            fmt_day(d->permit_day, day);
            text_add(t, "vehicle permit expired %s", day);
            break;
        case CAUSE_VEHICLE_FULL:
            text_add(t, "vehicle full (%" PRId32 "/%" PRId32 ", order needs %" PRId32 ")",
                     d->committed, d->capacity, w->need);
            break;
        case CAUSE_VEHICLE_HELD:
            text_add(t, "vehicle held: %s", d->hold ? d->hold : "no licensed driver signed on");
            break;
        case CAUSE_NO_ESCORT:
            text_add(t, "no escort on board (the vehicle's kind needs one)");
            break;
        case CAUSE_ESCORT_UNCERTIFIED:
            text_add(t, "escort's certificates not in force");
            break;
        case CAUSE_COUNT:
            break;
        }
    }
}

/* ---- common input checks ---- */

struct order_ctx {
    const struct lpg_customer *customer;
    struct when w;
};

static int order_context(const struct registry *reg, const struct lpg_order *o, int64_t now_ms,
                         struct order_ctx *c, struct text *err)
{
    c->customer = registry_customer(reg, o->customer_id);
    if (c->customer == NULL) {
        text_add(err, "customer %s not found", o->customer_id);
        return -1;
    }
    if (strcmp(c->customer->enterprise_id, o->enterprise_id) != 0) {
        text_add(err, "customer %s is not a customer of enterprise %s", o->customer_id,
                 o->enterprise_id);
        return -1;
    }
    if (geo_point_check(c->customer->location) != GEO_OK) {
        text_add(err, "customer %s has no valid location", o->customer_id);
        return -1;
    }
    const struct lpg_enterprise *e = registry_enterprise(reg, o->enterprise_id);
    if (e == NULL) {
        text_add(err, "enterprise %s not found", o->enterprise_id);
        return -1;
    }
    c->w.now_ms = now_ms;
    c->w.utc_offset_min = e->utc_offset_min;
    c->w.today = lpg_local_day(now_ms, e->utc_offset_min);
    /* An enterprise whose gas business licence has expired supplies nobody: its waiting orders
     * stay waiting, with this reason, until the licence is renewed (issue 14 item 4). */
    if (e->licence_expiry_day != LPG_DAY_NONE && c->w.today > e->licence_expiry_day) {
        char day[16];
        lpg_day_format(e->licence_expiry_day, day);
        text_add(err, "enterprise %s's gas business licence %s expired on %s", e->id,
                 e->licence_no[0] ? e->licence_no : "(no number)", day);
        return 1;
    }
    c->w.need = lpg_order_cylinders(o);
    c->w.order = o;
    return 0;
}

/* ---- match_order ---- */

struct candidate {
    const struct lpg_staff *staff;
    const struct lpg_vehicle *vehicle;
    double distance_m;
};

/* Ranking: distance, then active orders, then id. */
static bool better(const struct candidate *a, const struct candidate *b)
{
    if (b->staff == NULL)
        return true;
    if (a->distance_m != b->distance_m)
        return a->distance_m < b->distance_m;
    if (a->staff->active_orders != b->staff->active_orders)
        return a->staff->active_orders < b->staff->active_orders;
    return strcmp(a->staff->id, b->staff->id) < 0;
}

int match_order(struct registry *reg, const struct lpg_order *o, int64_t now_ms,
                struct match_result *out)
{
    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    struct text reason = {out->reason, sizeof(out->reason), 0, false};
    if (reg == NULL || o == NULL) {
        text_add(&reason, "no registry or no order");
        return -1;
    }
    struct order_ctx c;
    int ctx_rc = order_context(reg, o, now_ms, &c, &reason);
    if (ctx_rc != 0)
        return ctx_rc < 0 ? -1 : 1;

    const struct lpg_zone *zones[MATCH_ZONES_MAX];
    size_t n_zones_total =
        registry_zones_at(reg, o->enterprise_id, c.customer->location, zones, MATCH_ZONES_MAX);
    size_t n_zones = n_zones_total < MATCH_ZONES_MAX ? n_zones_total : MATCH_ZONES_MAX;
    if (n_zones == 0) {
        text_add(&reason, "no zone of enterprise %s contains the customer's location",
                 o->enterprise_id);
        return 1;
    }

    struct candidate best = {0};
    struct tally tallies[MATCH_ZONES_MAX];
    memset(tallies, 0, n_zones * sizeof(tallies[0]));
    for (size_t zi = 0; zi < n_zones; zi++) {
        const struct lpg_zone *z = zones[zi];
        const struct lpg_staff *stack[MATCH_STAFF_STACK];
        const struct lpg_staff **staff = stack;
        size_t n = registry_staff_in_zone(reg, z->id, stack, MATCH_STAFF_STACK);
        if (n > MATCH_STAFF_STACK) {
            const struct lpg_staff **heap = malloc(n * sizeof(*heap));
            if (heap != NULL) {
                n = registry_staff_in_zone(reg, z->id, heap, n);
                staff = heap;
            } else {
                n = MATCH_STAFF_STACK;
            }
        }
        tallies[zi].n_staff = n;
        for (size_t i = 0; i < n; i++) {
            const struct lpg_staff *s = staff[i];
            struct verdict v;
            check_staff(reg, o->enterprise_id, s, &c.w, &v);
            if (v.causes != 0) {
                tally_add(&tallies[zi], &v);
                continue;
            }
            /* A vehicle without a (valid) fix is taken to be at its zone's inside point. */
            struct geo_point from =
                v.vehicle->has_position && geo_point_check(v.vehicle->position) == GEO_OK
                    ? v.vehicle->position
                    : z->shape.inside;
            struct candidate cand = {s, v.vehicle, geo_distance_m(from, c.customer->location)};
            if (better(&cand, &best))
                best = cand;
        }
        if (staff != stack)
            free(staff);
    }
    if (best.staff != NULL) {
        out->staff = best.staff;
        out->vehicle = best.vehicle;
        out->distance_m = best.distance_m;
        return 0;
    }

    for (size_t zi = 0; zi < n_zones; zi++) {
        const struct tally *t = &tallies[zi];
        text_add(&reason, "%s", zi ? "; " : "");
        if (t->n_staff == 0) {
            text_add(&reason, "zone %s has no staff", zones[zi]->id);
            continue;
        }
        text_add(&reason, "zone %s: %zu staff; ", zones[zi]->id, t->n_staff);
        unsigned causes = 0;
        for (int k = 0; k < CAUSE_COUNT; k++)
            if (t->count[k] > 0)
                causes |= 1u << k;
        text_causes(&reason, t->count, causes, t, &c.w, NULL);
    }
    if (n_zones_total > n_zones)
        text_add(&reason, "; %zu more zones not considered", n_zones_total - n_zones);
    return 1;
}

/* ---- match_staff_eligible ---- */

bool match_staff_eligible(struct registry *reg, const struct lpg_order *o,
                          const struct lpg_staff *s, int64_t now_ms, char *why, size_t cap)
{
    char scratch[1];
    struct text t = {why ? why : scratch, why ? cap : sizeof(scratch), 0, false};
    if (t.cap > 0)
        t.buf[0] = '\0';
    if (reg == NULL || o == NULL || s == NULL) {
        text_add(&t, "no registry, order or staff");
        return false;
    }
    struct order_ctx c;
    if (order_context(reg, o, now_ms, &c, &t) != 0)
        return false;
    struct verdict v;
    check_staff(reg, o->enterprise_id, s, &c.w, &v);

    /* The zone, which match_order gets from the index. */
    const struct lpg_zone *z = s->zone_id[0] ? registry_zone(reg, s->zone_id) : NULL;
    bool zone_ok = z != NULL && strcmp(z->enterprise_id, o->enterprise_id) == 0 &&
                   geo_multipolygon_check(&z->shape.mp) == GEO_OK &&
                   geo_multipolygon_contains(&z->shape.mp, c.customer->location);
    if (v.causes == 0 && zone_ok)
        return true;
    if (!zone_ok) {
        if (s->zone_id[0] == '\0')
            text_add(&t, "not assigned to a zone");
        else if (z == NULL)
            text_add(&t, "zone %s not found", s->zone_id);
        else if (strcmp(z->enterprise_id, o->enterprise_id) != 0)
            text_add(&t, "zone %s belongs to another enterprise", s->zone_id);
        else
            text_add(&t, "zone %s does not contain the customer's location", s->zone_id);
        if (v.causes != 0)
            text_add(&t, ", ");
    }
    struct tally one = {0};
    tally_add(&one, &v);
    text_causes(&t, NULL, v.causes, &one, &c.w, v.vehicle_problem);
    return false;
}

/* ---- time ---- */

int64_t match_window_wait(const struct lpg_order *o, int64_t now_ms, int64_t lead_ms,
                          int32_t utc_offset_min, char *why, size_t cap)
{
    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (o == NULL || o->window_start_ms <= 0)
        return 0;
    int64_t from = o->window_start_ms - (lead_ms > 0 ? lead_ms : 0);
    if (from <= now_ms)
        return 0;
    if (why != NULL && cap > 0) {
        char start[17], offered[17];
        fmt_local_time(o->window_start_ms, utc_offset_min, start);
        fmt_local_time(from, utc_offset_min, offered);
        snprintf(why, cap, "delivery window starts %s; offered to staff from %s", start, offered);
    }
    return from;
}

bool match_order_late(const struct lpg_order *o, int64_t now_ms)
{
    return o != NULL && !o->late && o->window_end_ms > 0 && o->window_end_ms <= now_ms &&
           !order_fsm_is_final(o->state);
}

/* The first instant of the local day after now_ms's. */
static int64_t next_local_midnight(int64_t now_ms, int32_t utc_offset_min)
{
    int32_t day = lpg_local_day(now_ms, utc_offset_min);
    return ((int64_t)day + 1) * 86400000 - (int64_t)utc_offset_min * 60000;
}

static void earliest(int64_t *best, int64_t t, int64_t now_ms)
{
    if (t > now_ms && t < *best)
        *best = t;
}

/* Open orders with a window end and no late flag: the ones that can become late. */
static bool can_become_late(const void *entity, void *arg)
{
    (void)arg;
    const struct lpg_order *o = entity;
    return !o->late && o->window_end_ms > 0 && !order_fsm_is_final(o->state);
}

#define NEXT_PAGE 256 /* entities read per registry page */

int64_t match_next_instant(struct registry *reg, int64_t now_ms, int64_t lead_ms)
{
    int64_t best = INT64_MAX;
    if (reg == NULL)
        return best;
    size_t n_waiting = registry_waiting_orders(reg, NULL, 0);
    if (n_waiting > 0) {
        const struct lpg_order **w = malloc(n_waiting * sizeof(*w));
        /* Without the array, every enterprise's midnight still wakes the waiting orders. */
        if (w != NULL)
            n_waiting = registry_waiting_orders(reg, w, n_waiting);
        int32_t last_offset = INT32_MIN;
        for (size_t i = 0; w != NULL && i < n_waiting; i++) {
            earliest(&best, w[i]->window_start_ms - (lead_ms > 0 ? lead_ms : 0), now_ms);
            const struct lpg_enterprise *e = registry_enterprise(reg, w[i]->enterprise_id);
            int32_t off = e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN;
            if (off != last_offset)
                earliest(&best, next_local_midnight(now_ms, off), now_ms);
            last_offset = off;
        }
        if (w == NULL)
            earliest(&best, next_local_midnight(now_ms, LPG_DEFAULT_UTC_OFFSET_MIN), now_ms);
        free(w);
        const struct lpg_staff *page[NEXT_PAGE];
        char after[LPG_ID_MAX + 1] = "";
        size_t n;
        while ((n = registry_list_staff(reg, NULL, after, NEXT_PAGE, NULL, NULL, page)) > 0) {
            for (size_t i = 0; i < n; i++)
                earliest(&best, page[i]->rest_until_ms, now_ms);
            snprintf(after, sizeof(after), "%s", page[n - 1]->id);
            if (n < NEXT_PAGE)
                break;
        }
    }
    const struct lpg_order *page[NEXT_PAGE];
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    while ((n = registry_list_orders(reg, NULL, after, NEXT_PAGE, can_become_late, NULL, page)) >
           0) {
        for (size_t i = 0; i < n; i++) {
            if (page[i]->window_end_ms <= now_ms)
                return now_ms; /* late already: flag it now */
            earliest(&best, page[i]->window_end_ms, now_ms);
        }
        snprintf(after, sizeof(after), "%s", page[n - 1]->id);
        if (n < NEXT_PAGE)
            break;
    }
    return best;
}
