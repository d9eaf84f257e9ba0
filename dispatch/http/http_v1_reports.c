/* http_v1_reports.c -- the auditor's reports (docs/tracking-api.md "Reports"):
 *   GET /v1/reports/area?from=&to=&(lon=&lat=&radius_m= | polygon=)&enterprise_id=&format=
 *       the vehicles present in a circle or a polygon during [from, to), each stay with its
 *       entry and exit time (the first and the last stored fix inside), per vehicle.
 *   GET /v1/reports/compliance?month=YYYY-MM&enterprise_id=&format=
 *       a month's compliance table of one enterprise: alerts by rule and kind (the alerts
 *       index, read in pages), orders delivered / failed / cancelled, safety checks failed,
 *       hazards opened / closed / overdue (the registry, in memory), refusals by reason (the
 *       month's counts, store/refusal_counts.h).
 *
 * Scope: the enterprise named (?enterprise_id=), else auth_default_enterprise() (a dispatcher's
 * own, a one-enterprise auditor jurisdiction's), else every enterprise (admins, unlimited
 * auditors); auth_check refuses the rest, like every list.
 *
 * Memory stays bounded whatever the range: the vehicles in scope are listed once (ids only),
 * then each vehicle's route day sets are read in chunks of REPORT_CHUNK members (the route
 * export's way, store/route_reads.h), each chunk is folded into the open stay and the finished
 * stays are written to the stream; a chunk waits while the client's backlog is above
 * REPORT_MAX_BACKLOG. JSON or CSV (?format=csv, or Accept: text/csv).
 */
#define LOG_TAG "reports"
#include "http/http_v1.h"

#include "common/clock.h"
#include "app/alerts.h"
#include "common/log.h"
#include "http/http_refusal.h"
#include "http/http_report_stream.h"
#include "core/registry.h"
#include "core/route_member.h"
#include "geo_polygon.h"
#include "geo_sphere.h"
#include "store/refusal_counts.h"
#include "store/route_reads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define DAY_MS 86400000LL
/* Longest range of a report (from..to), as the route export's. */
#define REPORT_MAX_DAYS 31
/* Largest circle, and most vertices of a polygon (?polygon=lon,lat;lon,lat;...). */
#define REPORT_RADIUS_MAX  50000
#define REPORT_POLYGON_MAX 200
#define REPORT_CHUNK       2000
/* A Fix.Mode of "no fix": its position is not a position. */
#define MODE_NO_FIX 1

struct area_report {
    struct service *d;
    struct report_stream rs; /* rs.call: NULL once the client went away */
    int csv;
    int64_t from_ms, to_ms;
    /* the area: a circle (n_pts == 0) or a closed polygon */
    struct geo_point center;
    double radius_m;
    struct geo_point pts[REPORT_POLYGON_MAX + 1];
    size_t n_pts;
    /* the vehicles in scope, listed once: ids and enterprises */
    char (*vehicles)[2][LPG_ID_MAX + 1];
    size_t n_vehicles, vi;
    int32_t day, last_day;
    int64_t cursor_ms; /* the last fix read; members at that score already read: cursor_same */
    long cursor_same;
    int cursor_set;
    /* the open stay of the current vehicle */
    int inside;
    int64_t entry_ms, exit_ms;
    uint64_t stay_fixes;
    uint64_t stays; /* written */
    int in_flight, ended;
};

static void report_free(struct area_report *x)
{
    report_stream_release(&x->rs);
    free(x->vehicles);
    free(x);
}

static void report_step(struct area_report *x);
static void report_start_stream(struct area_report *x);

static void on_report_closed(void *arg)
{
    struct area_report *x = arg;
    x->rs.call = NULL;
    if (!x->in_flight)
        report_free(x);
}

static void report_abort(struct area_report *x, const char *why)
{
    log_warn("area report ended early after %" PRIu64 " stays: %s", x->stays, why);
    if (x->rs.call) {
        if (x->rs.started) {
            http_stream_end(x->rs.call); /* without its closing part: not a complete document */
        } else {
            char msg[240];
            snprintf(msg, sizeof(msg), "cannot read the routes: %s; retry later", why);
            http_reply_error(x->rs.call, 503, "store_unavailable", msg, NULL);
        }
    }
    report_free(x);
}

static int in_area(const struct area_report *x, const struct route_fix *f)
{
    struct geo_point p = {(double)f->lon_e7 / 1e7, (double)f->lat_e7 / 1e7};
    if (x->n_pts == 0)
        return geo_distance_m(x->center, p) <= x->radius_m;
    struct geo_polygon poly = {.outer = {x->pts, x->n_pts}, .holes = NULL, .n_holes = 0};
    return geo_polygon_contains(&poly, p);
}

/* Writes the open stay of the current vehicle and closes it. Ids are [A-Za-z0-9_.-]
 * (lpg_id_valid): nothing to escape in JSON or CSV. */
static void close_stay(struct area_report *x)
{
    if (!x->inside)
        return;
    const char *veh = x->vehicles[x->vi][0], *ent = x->vehicles[x->vi][1];
    if (x->csv) {
        evbuffer_add_printf(x->rs.out, "%s,%s,", veh, ent);
        report_add_instant(x->rs.out, x->entry_ms);
        evbuffer_add(x->rs.out, ",", 1);
        report_add_instant(x->rs.out, x->exit_ms);
        evbuffer_add_printf(x->rs.out, ",%" PRIu64 "\r\n", x->stay_fixes);
    } else {
        evbuffer_add_printf(x->rs.out,
                            "%s\n{\"vehicle_id\":\"%s\",\"enterprise_id\":\"%s\",\"entry\":\"",
                            x->stays ? "," : "", veh, ent);
        report_add_instant(x->rs.out, x->entry_ms);
        evbuffer_add(x->rs.out, "\",\"exit\":\"", 10);
        report_add_instant(x->rs.out, x->exit_ms);
        evbuffer_add_printf(x->rs.out, "\",\"fixes\":%" PRIu64 "}", x->stay_fixes);
    }
    x->stays++;
    x->inside = 0;
}

static void on_report_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct area_report *x = arg;
    report_step(x);
}

static void on_report_chunk(void *arg, const struct route_chunk *chunk, const char *err)
{
    struct area_report *x = arg;
    x->in_flight = 0;
    if (x->rs.call == NULL) {
        report_free(x);
        return;
    }
    if (err) {
        report_abort(x, err); /* before the first chunk: a 503, not a cut 200 */
        return;
    }
    if (!x->rs.started)
        report_start_stream(x);
    size_t n = route_chunk_size(chunk);
    struct route_member_read e;
    for (size_t i = 0; i < n; i++) {
        route_chunk_member(chunk, i, &e);
        if (!e.ok)
            continue;
        const struct route_fix *f = &e.fix;
        if (x->cursor_set && f->time_ms == x->cursor_ms)
            x->cursor_same++;
        else
            x->cursor_same = 1;
        x->cursor_set = 1;
        x->cursor_ms = f->time_ms;
        if (f->mode == MODE_NO_FIX)
            continue;
        if (in_area(x, f)) {
            if (!x->inside) {
                x->inside = 1;
                x->entry_ms = f->time_ms;
                x->stay_fixes = 0;
            }
            x->exit_ms = f->time_ms;
            x->stay_fixes++;
        } else {
            close_stay(x);
        }
    }
    if (n < REPORT_CHUNK) { /* the day is read: the next one */
        x->day++;
        x->cursor_set = 0;
    }
    report_step(x);
}

static void report_start_stream(struct area_report *x)
{
    report_stream_start(&x->rs, x->csv, on_report_closed, x);
    if (x->csv) {
        evbuffer_add_printf(x->rs.out, "vehicle_id,enterprise_id,entry,exit,fixes\r\n");
        return;
    }
    evbuffer_add_printf(x->rs.out, "{\"from\":\"");
    report_add_instant(x->rs.out, x->from_ms);
    evbuffer_add_printf(x->rs.out, "\",\"to\":\"");
    report_add_instant(x->rs.out, x->to_ms);
    evbuffer_add_printf(x->rs.out, "\",\"stays\":[");
}

static void report_step(struct area_report *x)
{
    if (x->rs.call == NULL) {
        report_free(x);
        return;
    }
    const char *why;
    int fl = report_stream_flush(&x->rs, &why);
    if (fl < 0)
        report_abort(x, why);
    if (fl != 0)
        return;
    if (x->ended) {
        http_stream_end(x->rs.call);
        report_free(x);
        return;
    }
    if (x->d->shutting_down) {
        report_abort(x, "dispatchd is shutting down");
        return;
    }
    if (x->day > x->last_day) { /* this vehicle is read: a stay open at `to` ends there */
        close_stay(x);
        x->vi++;
        x->day = lpg_local_day(x->from_ms, 0);
        x->cursor_set = 0;
    }
    if (x->vi >= x->n_vehicles) {
        if (!x->rs.started)
            report_start_stream(x); /* no vehicle in scope */
        if (x->csv)
            evbuffer_add_printf(x->rs.out, "# end: %" PRIu64 " stays\r\n", x->stays);
        else
            evbuffer_add_printf(x->rs.out, "\n],\"count\":%" PRIu64 "}\n", x->stays);
        x->ended = 1;
        report_step(x);
        return;
    }
    if (route_read_chunk(x->d->store, x->vehicles[x->vi][0], x->day,
                         x->cursor_set ? x->cursor_ms : x->from_ms, x->to_ms,
                         x->cursor_set ? x->cursor_same : 0L, REPORT_CHUNK, on_report_chunk, x,
                         &why) != 0) {
        report_abort(x, why);
        return;
    }
    x->in_flight = 1;
}

/* A number query parameter within [lo, hi]; *out untouched and 0 when absent. -1 after
 * replying 400. */
static int query_num(struct http_call *call, const char *name, double lo, double hi, int *has,
                     double *out)
{
    const char *s = http_call_query(call, name);
    *has = s != NULL;
    if (s == NULL)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be a number in %g..%g", name, lo, hi);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

/* ?polygon=lon,lat;lon,lat;... into x->pts (closed); 0, or -1 after replying 400. */
static int parse_polygon(struct http_call *call, const char *s, struct area_report *x)
{
    x->n_pts = 0;
    while (*s) {
        char *end;
        double lon = strtod(s, &end);
        if (end == s || *end != ',' || x->n_pts >= REPORT_POLYGON_MAX)
            goto bad;
        s = end + 1;
        double lat = strtod(s, &end);
        if (end == s || (*end != ';' && *end != '\0') || !(lon >= -180 && lon <= 180) ||
            !(lat >= -85 && lat <= 85))
            goto bad;
        x->pts[x->n_pts++] = (struct geo_point){lon, lat};
        s = *end ? end + 1 : end;
    }
    if (x->n_pts < 3)
        goto bad;
    if (x->pts[0].lon != x->pts[x->n_pts - 1].lon || x->pts[0].lat != x->pts[x->n_pts - 1].lat)
        x->pts[x->n_pts++] = x->pts[0];
    struct geo_polygon poly = {.outer = {x->pts, x->n_pts}, .holes = NULL, .n_holes = 0};
    if (geo_polygon_check(&poly) != GEO_OK)
        goto bad;
    return 0;
bad : {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "polygon must be 3..%d vertices \"lon,lat;lon,lat;...\" of a simple ring",
             REPORT_POLYGON_MAX);
    http_reply_error(call, 400, "invalid_parameter", msg, "polygon");
    return -1;
}
}

static void handle_area(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int64_t from, to;
    if (v1_query_instant(call, "from", &from) != 0 || v1_query_instant(call, "to", &to) != 0)
        return;
    if (to <= from || to - from > REPORT_MAX_DAYS * DAY_MS) {
        char msg[96];
        snprintf(msg, sizeof(msg), "to must be after from, by at most %d days", REPORT_MAX_DAYS);
        http_reply_error(call, 400, "range_too_long", msg, "to");
        return;
    }
    int csv = report_format_csv(call);
    if (csv < 0)
        return;
    struct area_report *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    const char *poly = http_call_query(call, "polygon");
    int has_lon, has_lat, has_r;
    double lon = 0, lat = 0, r = 0;
    if (query_num(call, "lon", -180, 180, &has_lon, &lon) != 0 ||
        query_num(call, "lat", -85, 85, &has_lat, &lat) != 0 ||
        query_num(call, "radius_m", 1, REPORT_RADIUS_MAX, &has_r, &r) != 0) {
        report_free(x);
        return;
    }
    if (poly != NULL) {
        if ((has_lon || has_lat || has_r) || parse_polygon(call, poly, x) != 0) {
            if (has_lon || has_lat || has_r)
                http_reply_error(call, 400, "invalid_parameter",
                                 "name a circle (lon, lat, radius_m) or a polygon, not both",
                                 "polygon");
            report_free(x);
            return;
        }
    } else if (!(has_lon && has_lat && has_r)) {
        http_reply_error(call, 400, "missing_parameter",
                         "name a circle (lon, lat, radius_m) or a polygon", "polygon");
        report_free(x);
        return;
    }
    x->center = (struct geo_point){lon, lat};
    x->radius_m = r;
    /* The vehicles in scope, by id, once (the registry is in memory; the fleet bounds them). */
    int oom = report_stream_init(&x->rs, d->base, call, on_report_retry, x) != 0;
    size_t cap = 0;
    const char *after = NULL;
    for (;;) {
        const struct lpg_vehicle *page[256];
        size_t n = oom ? 0 : registry_list_vehicles(d->registry, ent, after, 256, NULL, NULL, page);
        if (n == 0)
            break;
        if (x->n_vehicles + n > cap) {
            size_t ncap = cap ? cap * 2 : 256;
            while (ncap < x->n_vehicles + n)
                ncap *= 2;
            void *nv = realloc(x->vehicles, ncap * sizeof(*x->vehicles));
            if (nv == NULL) {
                oom = 1;
                break;
            }
            x->vehicles = nv;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            snprintf(x->vehicles[x->n_vehicles][0], LPG_ID_MAX + 1, "%s", page[i]->id);
            snprintf(x->vehicles[x->n_vehicles][1], LPG_ID_MAX + 1, "%s", page[i]->enterprise_id);
            x->n_vehicles++;
        }
        after = x->vehicles[x->n_vehicles - 1][0];
        if (n < 256)
            break;
    }
    if (oom) {
        report_free(x);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    x->d = d;
    x->csv = csv;
    x->from_ms = from;
    x->to_ms = to;
    x->day = lpg_local_day(from, 0);
    x->last_day = lpg_local_day(to - 1, 0);
    /* The stream starts with the first chunk read: a store that is down is a 503. */
    report_step(x);
}

/* ---- GET /v1/reports/compliance?month=YYYY-MM ---- */

/* Alert pages read for one table at most (then "truncated": true): 200 x 500 alerts. */
#define COMPLIANCE_ALERT_PAGES 200

struct compliance_report {
    struct service *d;
    struct http_call *call;
    int csv;
    char enterprise_id[LPG_ID_MAX + 1];
    char month[8];
    int64_t from_ms, to_ms;
    json_t *table;  /* the reply, being filled */
    json_t *alerts; /* {"<rule>": {"<kind>": n}} */
    json_int_t violations;
    int pages;
};

static void compliance_free(struct compliance_report *x)
{
    json_decref(x->table);
    json_decref(x->alerts);
    free(x);
}

static void add_count(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

/* The table as CSV: one "section,measure,count" row per figure. */
static void compliance_reply_csv(struct compliance_report *x)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        http_reply_error(x->call, 500, "internal", "out of memory", NULL);
        return;
    }
    evbuffer_add_printf(b, "enterprise_id,month,section,measure,count\r\n");
    static const char *const sections[] = {"orders", "checks", "hazards", NULL};
    for (size_t i = 0; sections[i]; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(x->table, sections[i]), k, v)
            evbuffer_add_printf(b, "%s,%s,%s,%s,%" JSON_INTEGER_FORMAT "\r\n", x->enterprise_id,
                                x->month, sections[i], k, json_integer_value(v));
    }
    json_t *refusals = json_object_get(x->table, "refusals");
    evbuffer_add_printf(b, "%s,%s,refusals,total,%" JSON_INTEGER_FORMAT "\r\n", x->enterprise_id,
                        x->month, json_integer_value(json_object_get(refusals, "total")));
    const char *reason;
    json_t *count;
    /* reasons are refusal codes, [a-z0-9_] (refusal_counts.h): nothing to quote */
    json_object_foreach(json_object_get(refusals, "by_reason"), reason, count)
        evbuffer_add_printf(b, "%s,%s,refusals,by_reason.%s,%" JSON_INTEGER_FORMAT "\r\n",
                            x->enterprise_id, x->month, reason, json_integer_value(count));
    const char *rule, *kind;
    json_t *kinds, *n;
    json_object_foreach(x->alerts, rule, kinds)
    {
        json_object_foreach(kinds, kind, n)
            evbuffer_add_printf(b, "%s,%s,alerts,%s.%s,%" JSON_INTEGER_FORMAT "\r\n",
                                x->enterprise_id, x->month, rule, kind, json_integer_value(n));
    }
    evbuffer_add_printf(b, "%s,%s,violations,episodes,%" JSON_INTEGER_FORMAT "\r\n",
                        x->enterprise_id, x->month, x->violations);
    evbuffer_add_printf(b, "# end%s\r\n",
                        json_is_true(json_object_get(x->table, "truncated")) ? ": truncated" : "");
    http_reply_buffer(x->call, 200, "text/csv; charset=utf-8; header=present", b);
    evbuffer_free(b);
}

static void compliance_finish(struct compliance_report *x, int truncated)
{
    json_object_set(x->table, "alerts", x->alerts);
    json_object_set_new(x->table, "violations", json_integer(x->violations));
    json_object_set_new(x->table, "truncated", json_boolean(truncated));
    if (x->csv) {
        compliance_reply_csv(x);
    } else {
        http_reply_json(x->call, 200, x->table);
        x->table = NULL;
    }
    compliance_free(x);
}

static void on_compliance_alerts(void *arg, json_t *page, const struct refusal *r)
{
    struct compliance_report *x = arg;
    if (page == NULL) {
        http_reply_refusal(x->call, r);
        compliance_free(x);
        return;
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(page, "items"), i, a)
    {
        const char *rule = json_string_value(json_object_get(a, "rule"));
        const char *kind = json_string_value(json_object_get(a, "kind"));
        if (rule == NULL || kind == NULL)
            continue;
        json_t *kinds = json_object_get(x->alerts, rule);
        if (kinds == NULL) {
            kinds = json_object();
            json_object_set_new(x->alerts, rule, kinds);
        }
        add_count(kinds, kind, 1);
        if (strcmp(kind, "violation_start") == 0)
            x->violations++;
    }
    const char *next = json_string_value(json_object_get(page, "next"));
    struct alerts_cursor at;
    if (next == NULL || alerts_cursor_parse(next, &at) != 0) {
        json_decref(page);
        compliance_finish(x, 0);
        return;
    }
    json_decref(page);
    if (++x->pages >= COMPLIANCE_ALERT_PAGES) {
        compliance_finish(x, 1);
        return;
    }
    struct alerts_query q = {
        .enterprise_id = x->enterprise_id, .to_ms = x->to_ms, .at = at, .limit = ALERTS_PAGE_MAX};
    alerts_list(x->d, &q, on_compliance_alerts, x);
}

/* The month's refusals by reason read: then the alerts, page after page. */
static void on_compliance_refusals(void *arg, json_t *by_reason, const char *err)
{
    struct compliance_report *x = arg;
    if (by_reason == NULL) {
        if (err == STORE_READ_NOMEM)
            http_reply_error(x->call, 500, "internal", "out of memory", NULL);
        else
            v1_reply_store_unreadable(x->call);
        compliance_free(x);
        return;
    }
    json_int_t total = 0;
    const char *reason;
    json_t *n;
    json_object_foreach(by_reason, reason, n) total += json_integer_value(n);
    json_t *refusals = json_pack("{s:I, s:O}", "total", total, "by_reason", by_reason);
    if (refusals == NULL || json_object_set_new(x->table, "refusals", refusals) != 0) {
        http_reply_error(x->call, 500, "internal", "out of memory", NULL);
        compliance_free(x);
        return;
    }
    struct alerts_query q = {.enterprise_id = x->enterprise_id,
                             .to_ms = x->to_ms,
                             .at = {x->from_ms, 0},
                             .limit = ALERTS_PAGE_MAX};
    alerts_list(x->d, &q, on_compliance_alerts, x);
}

/* The figures the registry holds, for [from, to). */
static void compliance_registry(struct compliance_report *x)
{
    json_t *orders = json_pack("{s:i, s:i, s:i}", "delivered", 0, "failed", 0, "cancelled", 0);
    json_t *hazards = json_pack("{s:i, s:i, s:i}", "opened", 0, "closed", 0, "overdue", 0);
    json_t *checks = json_pack("{s:i}", "failed", 0);
    const char *after = NULL;
    char last[LPG_ID_MAX + 1];
    for (;;) {
        const struct lpg_order *page[256];
        size_t n =
            registry_list_orders(x->d->registry, x->enterprise_id, after, 256, NULL, NULL, page);
        for (size_t i = 0; i < n; i++) {
            const struct lpg_order *o = page[i];
            /* a final state is not left again: its last update is when it was reached */
            if (o->updated_ms < x->from_ms || o->updated_ms >= x->to_ms)
                continue;
            if (o->state == LPG_ORDER_DELIVERED)
                add_count(orders, "delivered", 1);
            else if (o->state == LPG_ORDER_FAILED)
                add_count(orders, "failed", 1);
            else if (o->state == LPG_ORDER_CANCELLED)
                add_count(orders, "cancelled", 1);
        }
        if (n < 256)
            break;
        snprintf(last, sizeof(last), "%s", page[n - 1]->id);
        after = last;
    }
    /* A failed safety check opens the hazards it found (docs/compliance.md): the checks that
     * failed are the distinct check ids of the hazards found in the month. */
    json_t *failed_checks = json_object();
    after = NULL;
    for (;;) {
        const struct lpg_hazard *page[256];
        size_t n =
            registry_list_hazards(x->d->registry, x->enterprise_id, after, 256, NULL, NULL, page);
        for (size_t i = 0; i < n; i++) {
            const struct lpg_hazard *h = page[i];
            if (h->found_ms >= x->from_ms && h->found_ms < x->to_ms) {
                add_count(hazards, "opened", 1);
                if (h->check_id[0] && failed_checks)
                    json_object_set_new(failed_checks, h->check_id, json_true());
            }
            if (h->status == LPG_HAZARD_CLOSED && h->closed_ms >= x->from_ms &&
                h->closed_ms < x->to_ms)
                add_count(hazards, "closed", 1);
            /* its deadline passed in the month and it was not closed by then */
            if (h->deadline_ms >= x->from_ms && h->deadline_ms < x->to_ms &&
                (h->status != LPG_HAZARD_CLOSED || h->closed_ms > h->deadline_ms))
                add_count(hazards, "overdue", 1);
        }
        if (n < 256)
            break;
        snprintf(last, sizeof(last), "%s", page[n - 1]->id);
        after = last;
    }
    json_object_set_new(checks, "failed",
                        json_integer((json_int_t)json_object_size(failed_checks)));
    json_decref(failed_checks);
    json_object_set_new(x->table, "orders", orders);
    json_object_set_new(x->table, "checks", checks);
    json_object_set_new(x->table, "hazards", hazards);
}

static void handle_compliance(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (ent == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, NULL) == 0)
            http_reply_error(call, 400, "missing_parameter", "name an enterprise_id",
                             "enterprise_id");
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    const struct lpg_enterprise *e = registry_enterprise(d->registry, ent);
    if (e == NULL) {
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no enterprise with id %.64s", ent);
        return;
    }
    const char *month = http_call_query(call, "month");
    char first[32], next_first[32];
    int32_t d0, d1;
    int y = 0, m = 0;
    if (month == NULL || strlen(month) != 7 || sscanf(month, "%4d-%2d", &y, &m) != 2 || m < 1 ||
        m > 12 || (snprintf(first, sizeof(first), "%04d-%02d-01", y, m), 0) ||
        lpg_day_parse(first, &d0) != 0 ||
        (snprintf(next_first, sizeof(next_first), "%04d-%02d-01", m == 12 ? y + 1 : y,
                  m == 12 ? 1 : m + 1),
         0) ||
        lpg_day_parse(next_first, &d1) != 0) {
        http_reply_error(call, 400, "invalid_parameter", "month must be YYYY-MM", "month");
        return;
    }
    int csv = report_format_csv(call);
    if (csv < 0)
        return;
    struct compliance_report *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    x->d = d;
    x->call = call;
    x->csv = csv;
    snprintf(x->enterprise_id, sizeof(x->enterprise_id), "%s", e->id);
    /* normalised: the key of the month's counts and the reply name it alike */
    snprintf(x->month, sizeof(x->month), "%04d-%02d", y, m);
    /* the month in the enterprise's local time, as its daily summaries */
    x->from_ms = (int64_t)d0 * DAY_MS - (int64_t)e->utc_offset_min * 60000;
    x->to_ms = (int64_t)d1 * DAY_MS - (int64_t)e->utc_offset_min * 60000;
    char from[LPG_JSON_INSTANT_LEN + 1], to[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(x->from_ms, from);
    lpg_json_instant_format(x->to_ms, to);
    x->table = json_pack("{s:s, s:s, s:i, s:s, s:s}", "enterprise_id", e->id, "month", x->month,
                         "utc_offset_min", (int)e->utc_offset_min, "from", from, "to", to);
    x->alerts = json_object();
    if (x->table == NULL || x->alerts == NULL) {
        compliance_free(x);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    compliance_registry(x);
    const char *why;
    if (refusal_counts_read(d->store, x->enterprise_id, x->month, on_compliance_refusals, x,
                            &why) != 0) {
        compliance_free(x);
        v1_reply_read_unsent(call, why);
    }
}

const struct http_route v1_report_routes[] = {
    {"GET", "/v1/reports/area", handle_area, HTTP_ROUTE_READ},
    {"GET", "/v1/reports/compliance", handle_compliance, HTTP_ROUTE_READ},
};
const size_t v1_report_routes_count = sizeof(v1_report_routes) / sizeof(v1_report_routes[0]);
