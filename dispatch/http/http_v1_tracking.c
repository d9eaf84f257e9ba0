/* http_v1_tracking.c -- the tracking read API (docs/tracking-api.md):
 *   GET /v1/vehicles/{id}/route?from=&to=&format=json|geojson|gpx|csv   a vehicle's stored fixes
 *                                              in [from, to), streamed in chunks from Redis
 *   GET /v1/vehicles/{id}/position             the vehicle's newest fix
 *   GET /v1/vehicles/nearest?lon=&lat=&radius_m=&limit=   vehicles nearest a point
 *
 * Routes are read from the per-day sorted sets written by ingest.c, through store/route_reads.h.
 * An export never holds the route in memory: it walks the day keys from `from` to `to` and,
 * within each day, fetches at most ROUTE_CHUNK members after a (score, member) cursor, formats
 * them, hands them to the client, and only then fetches the next chunk, through the reports'
 * stream (http/http_report_stream.h): while the client's backlog is above REPORT_MAX_BACKLOG the
 * formatted chunk waits (retried every REPORT_RETRY_MS); a client that accepts nothing for
 * REPORT_STALL_MS is dropped.
 */
#define LOG_TAG "tracking"
#include "http/http_v1.h"
#include "app/fleet.h"
#include "http/http_refusal.h"
#include "http/http_report_stream.h"

#include "common/log.h"
#include "common/clock.h"
#include "core/route_member.h"
#include "core/registry.h"
#include "store/route_reads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

/* Longest range one export may cover (from..to). */
#define ROUTE_MAX_DAYS 31
/* Members fetched from Redis per command, and formatted before being handed to the client. */
#define ROUTE_CHUNK 2000
/* A route member ("seq:time:lat:lon:speed:heading:acc:mode:flags"), see ingest.c. */

#define DAY_MS 86400000LL

/* Nearest-vehicle queries. */
#define NEAREST_RADIUS_DEFAULT 5000
#define NEAREST_RADIUS_MAX     100000
#define NEAREST_LIMIT_DEFAULT  10
#define NEAREST_LIMIT_MAX      100

/* ---- fixes as stored: route_member.h ---- */

/* Degrees from 1e-7 degrees, exactly 7 decimals (no binary floating point involved). */
static void fmt_e7(char *out, size_t cap, int64_t v)
{
    uint64_t a = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    snprintf(out, cap, "%s%" PRIu64 ".%07" PRIu64, v < 0 ? "-" : "", a / 10000000u, a % 10000000u);
}

/* v / 10^decimals with exactly `decimals` decimals, or "null" when absent. */
static void fmt_scaled(char *out, size_t cap, int has, uint64_t v, int decimals)
{
    if (!has) {
        snprintf(out, cap, "null");
        return;
    }
    uint64_t div = decimals == 2 ? 100 : 1000;
    snprintf(out, cap, "%" PRIu64 ".%0*" PRIu64, v / div, decimals, v % div);
}

/* Tenths as "12.3" (mileage in km, fuel in L, recorder speed in km/h). */
static void fmt_tenths(char *out, size_t cap, uint64_t v)
{
    snprintf(out, cap, "%" PRIu64 ".%" PRIu64, v / 10, v % 10);
}

/* A terminal's vehicle data as a JSON object, exact from the stored integers: the status and
 * alarm words as sent, each measure or null when the terminal did not send it. */
static void fmt_vd_json(char *out, size_t cap, const struct lpg_vehicle_data *vd)
{
    char alt[16] = "null", mil[24] = "null", fuel[16] = "null", rec[16] = "null", sig[8] = "null",
         sat[8] = "null";
    if (vd->present & LPG_VD_ALTITUDE)
        snprintf(alt, sizeof(alt), "%" PRId32, vd->altitude_m);
    if (vd->present & LPG_VD_MILEAGE)
        fmt_tenths(mil, sizeof(mil), vd->mileage_100m);
    if (vd->present & LPG_VD_FUEL)
        fmt_tenths(fuel, sizeof(fuel), vd->fuel_dl);
    if (vd->present & LPG_VD_RECORDER_SPEED)
        fmt_tenths(rec, sizeof(rec), vd->recorder_speed_dkmh);
    if (vd->present & LPG_VD_SIGNAL)
        snprintf(sig, sizeof(sig), "%u", (unsigned)vd->signal);
    if (vd->present & LPG_VD_SATELLITES)
        snprintf(sat, sizeof(sat), "%u", (unsigned)vd->satellites);
    snprintf(out, cap,
             "{\"status\":%" PRIu32 ",\"alarm\":%" PRIu32 ",\"altitude_m\":%s,\"mileage_km\":%s,"
             "\"fuel_l\":%s,\"recorder_speed_kmh\":%s,\"signal\":%s,\"satellites\":%s}",
             vd->status, vd->alarm, alt, mil, fuel, rec, sig, sat);
}
#define VD_JSON_MAX 256

/* The same as CSV fields (8, comma-separated, empty when absent or without vehicle data). */
static void fmt_vd_csv(char *out, size_t cap, const struct route_fix *f)
{
    if (!f->has_vd) {
        snprintf(out, cap, ",,,,,,,");
        return;
    }
    const struct lpg_vehicle_data *vd = &f->vd;
    char alt[16] = "", mil[24] = "", fuel[16] = "", rec[16] = "", sig[8] = "", sat[8] = "";
    if (vd->present & LPG_VD_ALTITUDE)
        snprintf(alt, sizeof(alt), "%" PRId32, vd->altitude_m);
    if (vd->present & LPG_VD_MILEAGE)
        fmt_tenths(mil, sizeof(mil), vd->mileage_100m);
    if (vd->present & LPG_VD_FUEL)
        fmt_tenths(fuel, sizeof(fuel), vd->fuel_dl);
    if (vd->present & LPG_VD_RECORDER_SPEED)
        fmt_tenths(rec, sizeof(rec), vd->recorder_speed_dkmh);
    if (vd->present & LPG_VD_SIGNAL)
        snprintf(sig, sizeof(sig), "%u", (unsigned)vd->signal);
    if (vd->present & LPG_VD_SATELLITES)
        snprintf(sat, sizeof(sat), "%u", (unsigned)vd->satellites);
    snprintf(out, cap, "%" PRIu32 ",%" PRIu32 ",%s,%s,%s,%s,%s,%s", vd->status, vd->alarm, alt, mil,
             fuel, rec, sig, sat);
}

static const char *mode_name(int mode)
{
    switch (mode) {
    case 0:
        return "unknown";
    case 1:
        return "no_fix";
    case 2:
        return "2d";
    case 3:
        return "3d";
    }
    return NULL;
}

/* ---- the route export ---- */

enum route_format { RF_JSON, RF_GEOJSON, RF_GPX, RF_CSV };

static const struct {
    const char *name, *content_type, *ext;
} route_formats[] = {
    [RF_JSON] = {"json", "application/json; charset=utf-8", "json"},
    [RF_GEOJSON] = {"geojson", "application/geo+json", "geojson"},
    [RF_GPX] = {"gpx", "application/gpx+xml", "gpx"},
    [RF_CSV] = {"csv", "text/csv; charset=utf-8; header=present", "csv"},
};

struct route_export {
    struct service *d;
    struct report_stream rs; /* the call (NULL once the client went away), the output, the retry */
    enum route_format fmt;
    char vehicle[LPG_ID_MAX + 1];
    int64_t from_ms, to_ms; /* [from, to) */
    int32_t day, last_day;  /* UTC day numbers; day is the one being read */
    /* Cursor inside the day: the last member handed out, its score, and how many members with
     * that score were handed out (the LIMIT offset of the next fetch). */
    int cursor_set;
    int64_t cursor_ms;
    long cursor_offset;
    char cursor_member[ROUTE_MEMBER_MAX];
    size_t cursor_len;
    /* GeoJSON is written in two passes over the range: times (properties) then positions
     * (geometry), checked to be the same fixes by count and hash. */
    int pass;   /* 0: times; 2: vehicle data (only when pass 0 saw some); 1: positions */
    int any_vd; /* pass 0 saw a fix with vehicle data */
    uint64_t count, hash;
    uint64_t pass0_count, pass0_hash;
    uint64_t skipped; /* members not in the stored format */
    int in_flight;    /* a store command is pending */
    int ending;       /* the closer is in `out`: end the stream once it is written */
    int64_t t0;       /* for the log line */
};

static void export_free(struct route_export *x)
{
    report_stream_release(&x->rs);
    free(x);
}

static void export_step(struct route_export *x);
static void export_flush(struct route_export *x);

/* The client went away: the server has freed the call. */
static void on_export_closed(void *arg)
{
    struct route_export *x = arg;
    log_info("route export of %s: client went away after %" PRIu64 " fixes", x->vehicle, x->count);
    x->rs.call = NULL;
    if (!x->in_flight)
        export_free(x); /* else freed when the reply arrives */
}

/* Ends the export without its closing part: a truncated export is not a complete document
 * (JSON, GeoJSON, GPX) or lacks its "# end" line (CSV). Before the stream started, an error. */
static void export_abort(struct route_export *x, const char *why)
{
    log_warn("route export of %s ended early after %" PRIu64 " fixes: %s", x->vehicle, x->count,
             why);
    if (x->rs.call) {
        if (x->rs.started) {
            http_stream_end(x->rs.call);
        } else {
            char msg[240];
            snprintf(msg, sizeof(msg), "cannot read the route: %s; retry later", why);
            http_reply_error(x->rs.call, 503, "store_unavailable", msg, NULL);
        }
    }
    export_free(x);
}

static void export_opener(struct route_export *x)
{
    char from[LPG_JSON_INSTANT_LEN + 1], to[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(x->from_ms, from);
    lpg_json_instant_format(x->to_ms, to);
    switch (x->fmt) {
    case RF_JSON:
        evbuffer_add_printf(x->rs.out,
                            "{\"vehicle\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"fixes\":[",
                            x->vehicle, from, to);
        break;
    case RF_GEOJSON:
        evbuffer_add_printf(x->rs.out,
                            "{\"type\":\"Feature\",\"properties\":{\"vehicle\":\"%s\",\"from\":"
                            "\"%s\",\"to\":\"%s\",\"times\":[",
                            x->vehicle, from, to);
        break;
    case RF_GPX:
        /* Vehicle ids are [A-Za-z0-9_.-] (lpg_id_valid): nothing to escape. */
        evbuffer_add_printf(
            x->rs.out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<gpx version=\"1.1\" creator=\"lpg-dispatch\" "
            "xmlns=\"http://www.topografix.com/GPX/1/1\" "
            "xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v2\" "
            "xmlns:lpg=\"urn:lpg-dispatch:gpx:vehicle-data:1\" "
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
            "xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 "
            "http://www.topografix.com/GPX/1/1/gpx.xsd\">\n"
            "<metadata><name>vehicle %s, %s to %s</name></metadata>\n"
            "<trk><name>%s</name><trkseg>\n",
            x->vehicle, from, to, x->vehicle);
        break;
    case RF_CSV:
        evbuffer_add_printf(x->rs.out,
                            "seq,time,lat,lon,speed_kmh,heading_deg,accuracy_m,mode,late,"
                            "speed_derived,status,alarm,altitude_m,mileage_km,fuel_l,"
                            "recorder_speed_kmh,signal,satellites\r\n");
        break;
    }
}

static void export_fix(struct route_export *x, const struct route_fix *f)
{
    char lat[24], lon[24], sp[32], hd[32], acc[32];
    fmt_e7(lat, sizeof(lat), f->lat_e7);
    fmt_e7(lon, sizeof(lon), f->lon_e7);
    const char *sep = x->count > 0 ? "," : "";
    const char *mode = mode_name(f->mode);
    struct evbuffer *b = x->rs.out;
    switch (x->fmt) {
    case RF_JSON:
        /* km/h = cm/s * 0.036: thousandths of km/h are cm/s * 36, printed exactly. */
        fmt_scaled(sp, sizeof(sp), f->has_speed, f->speed_cm_s * 36, 3);
        fmt_scaled(hd, sizeof(hd), f->has_heading, f->heading_cdeg, 2);
        fmt_scaled(acc, sizeof(acc), f->has_acc, f->accuracy_cm, 2);
        evbuffer_add_printf(b, "%s\n{\"seq\":%" PRIu64 ",\"time\":\"", sep, f->seq);
        report_add_instant(b, f->time_ms);
        evbuffer_add_printf(b,
                            "\",\"lat\":%s,\"lon\":%s,\"speed_kmh\":%s,\"heading_deg\":%s,"
                            "\"accuracy_m\":%s,\"mode\":%s%s%s,\"late\":%s,\"speed_derived\":%s",
                            lat, lon, sp, hd, acc, mode ? "\"" : "", mode ? mode : "null",
                            mode ? "\"" : "", (f->flags & 2) ? "true" : "false",
                            (f->flags & 1) ? "true" : "false");
        if (f->has_vd) {
            char vd[VD_JSON_MAX];
            fmt_vd_json(vd, sizeof(vd), &f->vd);
            evbuffer_add_printf(b, ",\"vehicle_data\":%s", vd);
        }
        evbuffer_add(b, "}", 1);
        break;
    case RF_GEOJSON:
        if (x->pass == 0) {
            evbuffer_add_printf(b, "%s\n\"", sep);
            report_add_instant(b, f->time_ms);
            evbuffer_add(b, "\"", 1);
            x->any_vd |= f->has_vd;
        } else if (x->pass == 2) {
            char vd[VD_JSON_MAX] = "null";
            if (f->has_vd)
                fmt_vd_json(vd, sizeof(vd), &f->vd);
            evbuffer_add_printf(b, "%s\n%s", sep, vd);
        } else {
            evbuffer_add_printf(b, "%s\n[%s,%s]", sep, lon, lat);
        }
        break;
    case RF_GPX:
        evbuffer_add_printf(b, "<trkpt lat=\"%s\" lon=\"%s\">", lat, lon);
        if (f->has_vd && (f->vd.present & LPG_VD_ALTITUDE)) /* GPX: <ele> comes first */
            evbuffer_add_printf(b, "<ele>%" PRId32 "</ele>", f->vd.altitude_m);
        evbuffer_add(b, "<time>", 6);
        report_add_instant(b, f->time_ms);
        evbuffer_add(b, "</time>", 7);
        if (f->has_speed || f->has_heading || f->has_vd)
            evbuffer_add_printf(b, "<extensions>");
        if (f->has_speed || f->has_heading) {
            evbuffer_add_printf(b, "<gpxtpx:TrackPointExtension>");
            if (f->has_speed) {
                fmt_scaled(sp, sizeof(sp), 1, f->speed_cm_s, 2); /* m/s */
                evbuffer_add_printf(b, "<gpxtpx:speed>%s</gpxtpx:speed>", sp);
            }
            if (f->has_heading) {
                fmt_scaled(hd, sizeof(hd), 1, f->heading_cdeg, 2);
                evbuffer_add_printf(b, "<gpxtpx:course>%s</gpxtpx:course>", hd);
            }
            evbuffer_add_printf(b, "</gpxtpx:TrackPointExtension>");
        }
        if (f->has_vd) {
            /* Our own namespace: the fields as in the CSV, attributes absent when not sent. */
            const struct lpg_vehicle_data *vd = &f->vd;
            char v[24];
            evbuffer_add_printf(b, "<lpg:vehicle status=\"%" PRIu32 "\" alarm=\"%" PRIu32 "\"",
                                vd->status, vd->alarm);
            if (vd->present & LPG_VD_MILEAGE) {
                fmt_tenths(v, sizeof(v), vd->mileage_100m);
                evbuffer_add_printf(b, " mileage_km=\"%s\"", v);
            }
            if (vd->present & LPG_VD_FUEL) {
                fmt_tenths(v, sizeof(v), vd->fuel_dl);
                evbuffer_add_printf(b, " fuel_l=\"%s\"", v);
            }
            if (vd->present & LPG_VD_RECORDER_SPEED) {
                fmt_tenths(v, sizeof(v), vd->recorder_speed_dkmh);
                evbuffer_add_printf(b, " recorder_speed_kmh=\"%s\"", v);
            }
            if (vd->present & LPG_VD_SIGNAL)
                evbuffer_add_printf(b, " signal=\"%u\"", (unsigned)vd->signal);
            if (vd->present & LPG_VD_SATELLITES)
                evbuffer_add_printf(b, " satellites=\"%u\"", (unsigned)vd->satellites);
            evbuffer_add_printf(b, "/>");
        }
        if (f->has_speed || f->has_heading || f->has_vd)
            evbuffer_add_printf(b, "</extensions>");
        evbuffer_add(b, "</trkpt>\n", 9);
        break;
    case RF_CSV:
        fmt_scaled(sp, sizeof(sp), f->has_speed, f->speed_cm_s * 36, 3);
        fmt_scaled(hd, sizeof(hd), f->has_heading, f->heading_cdeg, 2);
        fmt_scaled(acc, sizeof(acc), f->has_acc, f->accuracy_cm, 2);
        evbuffer_add_printf(b, "%" PRIu64 ",", f->seq);
        report_add_instant(b, f->time_ms);
        char vd[VD_JSON_MAX];
        fmt_vd_csv(vd, sizeof(vd), f);
        evbuffer_add_printf(b, ",%s,%s,%s,%s,%s,%s,%s,%s,%s\r\n", lat, lon, f->has_speed ? sp : "",
                            f->has_heading ? hd : "", f->has_acc ? acc : "", mode ? mode : "",
                            (f->flags & 2) ? "true" : "false", (f->flags & 1) ? "true" : "false",
                            vd);
        break;
    }
}

/* FNV-1a over the members of a pass, to check that both GeoJSON passes saw the same fixes. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    if (h == 0)
        h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* separator */
    return h * 1099511628211ULL;
}

/* Every day of the range has been read once: close the document, or start pass 2. */
static void export_end_of_pass(struct route_export *x)
{
    switch (x->fmt) {
    case RF_JSON:
        evbuffer_add_printf(x->rs.out, "\n],\"count\":%" PRIu64 "}\n", x->count);
        break;
    case RF_GPX:
        evbuffer_add_printf(x->rs.out, "</trkseg></trk>\n</gpx>\n");
        break;
    case RF_CSV:
        evbuffer_add_printf(x->rs.out, "# end: %" PRIu64 " fixes\r\n", x->count);
        break;
    case RF_GEOJSON:
        if (x->pass == 2 && (x->count != x->pass0_count || x->hash != x->pass0_hash)) {
            x->ending = 0; /* fixes were stored meanwhile: as for the geometry, below */
            return;
        }
        if (x->pass == 0 && x->any_vd) {
            /* A terminal's fixes are in the range: their vehicle data, one entry per fix
             * (null for a fix without), read in a pass of their own like the positions. */
            evbuffer_add_printf(x->rs.out, "],\"vehicle_data\":[");
            x->pass = 2;
            x->pass0_count = x->count;
            x->pass0_hash = x->hash;
            x->count = 0;
            x->hash = 0;
            x->day = lpg_local_day(x->from_ms, 0);
            x->cursor_set = 0;
            return; /* not ending */
        }
        if (x->pass == 0 || x->pass == 2) {
            if (x->pass == 0) {
                x->pass0_count = x->count;
                x->pass0_hash = x->hash;
            }
            evbuffer_add_printf(x->rs.out, "%s],\"count\":%" PRIu64 "},\n\"geometry\":",
                                x->pass == 2 && x->count > 0 ? "\n" : "", x->pass0_count);
            if (x->pass0_count == 0) {
                /* No fix: an unlocated Feature (RFC 7946 3.2). */
                evbuffer_add_printf(x->rs.out, "null}\n");
                break;
            }
            /* One fix is a Point: a LineString needs two positions (RFC 7946 3.1.4). */
            evbuffer_add_printf(x->rs.out, "{\"type\":\"%s\",\"coordinates\":",
                                x->pass0_count == 1 ? "Point" : "LineString");
            if (x->pass0_count > 1)
                evbuffer_add(x->rs.out, "[", 1);
            x->pass = 1;
            x->count = 0;
            x->hash = 0;
            x->day = lpg_local_day(x->from_ms, 0);
            x->cursor_set = 0;
            return; /* not ending */
        }
        if (x->count != x->pass0_count || x->hash != x->pass0_hash) {
            /* A late upload stored fixes among those pass 0 wrote: the geometry would not
             * match the times. Leave the document unterminated. */
            x->ending = 0;
            return;
        }
        evbuffer_add_printf(x->rs.out, "%s}}\n", x->pass0_count > 1 ? "\n]" : "");
        break;
    }
    x->ending = 1;
}

static void on_export_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    export_flush(arg);
}

/* Hands `out` to the client, waiting while its backlog is above the cap; then the next step. */
static void export_flush(struct route_export *x)
{
    const char *why;
    int rc = report_stream_flush(&x->rs, &why);
    if (rc < 0)
        export_abort(x, why);
    else if (rc == 0)
        export_step(x);
}

static void on_export_chunk(void *arg, const struct route_chunk *chunk, const char *err)
{
    struct route_export *x = arg;
    x->in_flight = 0;
    if (x->rs.call == NULL) { /* the client went away meanwhile */
        export_free(x);
        return;
    }
    if (err) {
        export_abort(x, err);
        return;
    }
    if (!x->rs.started) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(http_call_request(x->rs.call));
        if (x->fmt == RF_GPX || x->fmt == RF_CSV) {
            char from[LPG_JSON_INSTANT_LEN + 1], to[LPG_JSON_INSTANT_LEN + 1], disp[256];
            lpg_json_instant_format(x->from_ms, from);
            lpg_json_instant_format(x->to_ms, to);
            /* "2026-11-20T23:00:00.000Z" -> "20261120T230000Z" */
            char f[17], t[17];
            snprintf(f, sizeof(f), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", from, from + 5, from + 8,
                     from + 11, from + 14, from + 17);
            snprintf(t, sizeof(t), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", to, to + 5, to + 8, to + 11,
                     to + 14, to + 17);
            snprintf(disp, sizeof(disp), "attachment; filename=\"route-%s-%s-%s.%s\"", x->vehicle,
                     f, t, route_formats[x->fmt].ext);
            evhttp_add_header(h, "Content-Disposition", disp);
        }
        x->rs.started = 1;
        http_stream_start(x->rs.call, route_formats[x->fmt].content_type, on_export_closed, x);
        export_opener(x);
    }
    size_t n = route_chunk_size(chunk);
    long same = 0; /* members of this chunk with the last member's score */
    int64_t last_ms = 0;
    struct route_member_read e, last = {0};
    for (size_t i = 0; i < n; i++) {
        route_chunk_member(chunk, i, &e);
        if (!e.ok) {
            x->skipped++;
            continue;
        }
        const struct route_fix *f = &e.fix;
        if (f->time_ms != last_ms)
            same = 0;
        same++;
        last_ms = f->time_ms;
        last = e;
        /* Members at the cursor's score sort by member (byte order): those not after the
         * cursor's member were sent already (possible when fixes were added meanwhile). */
        if (x->cursor_set && f->time_ms == x->cursor_ms) {
            size_t l = e.len < x->cursor_len ? e.len : x->cursor_len;
            int c = memcmp(e.text, x->cursor_member, l);
            if (c < 0 || (c == 0 && e.len <= x->cursor_len))
                continue;
        }
        /* The later passes cover the fixes pass 0 wrote, no more: fixes a moving vehicle stores
         * after them meanwhile are not in this document (it is not a snapshot anyway). */
        if (x->pass != 0 && x->count >= x->pass0_count)
            break;
        export_fix(x, f);
        x->count++;
        x->hash = fnv1a(x->hash, e.text, e.len);
    }
    if (x->pass != 0 && x->count >= x->pass0_count) {
        x->day = x->last_day + 1; /* this pass is complete */
        x->cursor_set = 0;
    } else if (n == ROUTE_CHUNK && last.ok) {
        /* Possibly more in this day: continue after the last member. */
        if (x->cursor_set && last_ms == x->cursor_ms && same == (long)n)
            x->cursor_offset += same;
        else
            x->cursor_offset = same;
        x->cursor_set = 1;
        x->cursor_ms = last_ms;
        x->cursor_len = last.len < sizeof(x->cursor_member) ? last.len : sizeof(x->cursor_member);
        memcpy(x->cursor_member, last.text, x->cursor_len);
    } else {
        x->day++;
        x->cursor_set = 0;
    }
    export_flush(x);
}

static void export_fetch(struct route_export *x)
{
    const char *why;
    if (route_read_chunk(x->d->store, x->vehicle, x->day, x->cursor_set ? x->cursor_ms : x->from_ms,
                         x->to_ms, x->cursor_set ? x->cursor_offset : 0L, ROUTE_CHUNK,
                         on_export_chunk, x, &why) != 0) {
        export_abort(x, why);
        return;
    }
    x->in_flight = 1;
}

static void export_step(struct route_export *x)
{
    if (x->ending) {
        double s = (double)(lpg_now_ms() - x->t0) / 1000.0;
        log_info("route export of %s (%s): %" PRIu64 " fixes in %.3f s%s", x->vehicle,
                 route_formats[x->fmt].name, x->fmt == RF_GEOJSON ? x->pass0_count : x->count, s,
                 x->skipped ? " (some members skipped: not in the stored format)" : "");
        http_stream_end(x->rs.call);
        export_free(x);
        return;
    }
    if (x->d->shutting_down) {
        export_abort(x, "dispatchd is shutting down");
        return;
    }
    if (x->day > x->last_day) {
        int pass = x->pass;
        export_end_of_pass(x);
        if (!x->ending && x->pass == pass) {
            export_abort(x, "fixes were stored among those already exported (a late upload)");
            return;
        }
        export_flush(x);
        return;
    }
    export_fetch(x);
}

static void handle_route(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_vehicle *v = v1_scoped_vehicle(call, d, p);
    if (v == NULL)
        return;
    int64_t from, to;
    if (v1_query_instant(call, "from", &from) != 0 || v1_query_instant(call, "to", &to) != 0)
        return;
    if (to <= from) {
        http_reply_error(call, 400, "invalid_parameter", "to must be after from", "to");
        return;
    }
    if (to - from > ROUTE_MAX_DAYS * DAY_MS) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the range may cover at most %d days", ROUTE_MAX_DAYS);
        http_reply_error(call, 400, "range_too_long", msg, "to");
        return;
    }
    const char *fs = http_call_query(call, "format");
    int fmt = -1;
    for (int i = 0; i < (int)(sizeof(route_formats) / sizeof(route_formats[0])); i++)
        if (fs == NULL ? i == RF_JSON : strcmp(fs, route_formats[i].name) == 0)
            fmt = i;
    if (fmt < 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "format must be one of json, geojson, gpx, csv", "format");
        return;
    }
    struct route_export *x = calloc(1, sizeof(*x));
    if (x == NULL || report_stream_init(&x->rs, d->base, call, on_export_retry, x) != 0) {
        if (x)
            export_free(x);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    x->d = d;
    x->fmt = (enum route_format)fmt;
    snprintf(x->vehicle, sizeof(x->vehicle), "%s", v->id);
    x->from_ms = from;
    x->to_ms = to;
    x->day = lpg_local_day(from, 0);
    x->last_day = lpg_local_day(to - 1, 0);
    x->t0 = lpg_now_ms();
    /* The first fetch happens before the stream starts: a store that is down is a 503. */
    export_fetch(x);
}

/* ---- latest position ---- */

struct position_job {
    struct http_call *call;
    char vehicle[LPG_ID_MAX + 1];
};

/* A read that could not be started: 500 when it ran out of memory, else 503. */
static void reply_unsent(struct http_call *call, const char *what, const char *why)
{
    char msg[200];
    if (why == STORE_READ_NOMEM) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    snprintf(msg, sizeof(msg), "cannot %s: %s; retry later", what, why);
    http_reply_error(call, 503, "store_unavailable", msg, NULL);
}

static void on_position(void *arg, const struct route_last *last, const char *err)
{
    struct position_job *job = arg;
    struct http_call *call = job->call;
    if (err) {
        char msg[200];
        snprintf(msg, sizeof(msg), "cannot read the position: %s; retry later", err);
        http_reply_error(call, 503, "store_unavailable", msg, NULL);
        free(job);
        return;
    }
    json_t *fix = json_null();
    if (last->has_fix) {
        char when[LPG_JSON_INSTANT_LEN + 1];
        lpg_json_instant_format(last->time_ms, when);
        fix = json_pack(
            "{s:I, s:s, s:f, s:f, s:o}", "seq", (json_int_t)last->seq, "time", when, "lat",
            (double)last->lat_e7 / 1e7, "lon", (double)last->lon_e7 / 1e7, "speed_kmh",
            last->has_speed ? json_real((double)last->speed_cm_s * 0.036) : json_null());
        if (fix && last->has_vd) {
            /* The same object as in the route export (parsed back from its one formatter). */
            char vd[VD_JSON_MAX];
            fmt_vd_json(vd, sizeof(vd), &last->vd);
            json_t *o = json_loads(vd, 0, NULL);
            if (o)
                json_object_set_new(fix, "vehicle_data", o);
        }
    }
    http_reply_json(call, 200, json_pack("{s:s, s:o}", "vehicle", job->vehicle, "fix", fix));
    free(job);
}

static void handle_position(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_vehicle *v = v1_scoped_vehicle(call, d, p);
    if (v == NULL)
        return;
    struct position_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->call = call;
    snprintf(job->vehicle, sizeof(job->vehicle), "%s", v->id);
    const char *why;
    if (route_read_last(d->store, v->id, on_position, job, &why) != 0) {
        reply_unsent(call, "read the position", why);
        free(job);
    }
}

/* ---- nearest vehicles ---- */

struct nearest_job {
    struct service *d;
    struct http_call *call;
    char enterprise_id[LPG_ID_MAX + 1]; /* "" = every enterprise */
    int limit;
};

static void on_nearest(void *arg, const struct route_nearby_list *list, const char *err)
{
    struct nearest_job *job = arg;
    struct http_call *call = job->call;
    if (err) {
        char msg[200];
        snprintf(msg, sizeof(msg), "cannot search positions: %s; retry later", err);
        http_reply_error(call, 503, "store_unavailable", msg, NULL);
        free(job);
        return;
    }
    json_t *items = json_array();
    size_t n = route_nearby_size(list);
    for (size_t i = 0; i < n && (int)json_array_size(items) < job->limit; i++) {
        struct route_nearby e;
        if (route_nearby_get(list, i, &e) != 0)
            continue;
        const struct lpg_vehicle *v = registry_vehicle(job->d->registry, e.vehicle_id);
        if (v == NULL || (job->enterprise_id[0] && strcmp(v->enterprise_id, job->enterprise_id)))
            continue;
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:f, s:{s:f, s:f}}", "vehicle_id", v->id,
                                        "enterprise_id", v->enterprise_id, "distance_m",
                                        e.distance_m, "location", "lon", e.lon, "lat", e.lat));
    }
    http_reply_json(call, 200, json_pack("{s:o}", "items", items));
    free(job);
}

static int query_number(struct http_call *call, const char *name, double lo, double hi, double dflt,
                        int required, double *out)
{
    const char *s = http_call_query(call, name);
    if (s == NULL && !required) {
        *out = dflt;
        return 0;
    }
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (s == NULL || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s %sis a number in [%g, %g]", name,
                 required ? "is required and " : "", lo, hi);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

static void handle_nearest(struct http_call *call, void *ctx)
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
    double lon, lat, radius, limit;
    if (query_number(call, "lon", -180, 180, 0, 1, &lon) != 0 ||
        query_number(call, "lat", -85.05112878, 85.05112878, 0, 1, &lat) != 0 ||
        query_number(call, "radius_m", 1, NEAREST_RADIUS_MAX, NEAREST_RADIUS_DEFAULT, 0, &radius) !=
            0 ||
        query_number(call, "limit", 1, NEAREST_LIMIT_MAX, NEAREST_LIMIT_DEFAULT, 0, &limit) != 0)
        return;
    if (limit != (double)(int)limit) {
        http_reply_error(call, 400, "invalid_parameter", "limit must be an integer", "limit");
        return;
    }
    struct nearest_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    job->limit = (int)limit;
    if (ent != NULL)
        snprintf(job->enterprise_id, sizeof(job->enterprise_id), "%s", ent);
    /* A dispatcher's (or a limited auditor's) vehicles are filtered after the search, so every
     * vehicle within the radius is fetched (bounded by the fleet); others get exactly `limit`. */
    const char *why;
    if (route_read_nearest(d->store, lon, lat, radius, job->enterprise_id[0] ? 0 : job->limit,
                           on_nearest, job, &why) != 0) {
        reply_unsent(call, "search positions", why);
        free(job);
    }
}

/* GET /v1/fleet: the fleet board (app/fleet.h), from memory only. A dispatcher sees its
 * enterprise; admins and auditors one (?enterprise_id=) or all, as the other lists. */
static void handle_fleet(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const char *ent = http_call_query(call, "enterprise_id");
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    struct fleet_query q = {.enterprise_id = ent,
                            .after = http_call_query(call, "after"),
                            .limit = (size_t)limit,
                            .online = -1,
                            .state = http_call_query(call, "state"),
                            .q = http_call_query(call, "q")};
    const char *online = http_call_query(call, "online");
    const char *bad = NULL;
    if (online && strcmp(online, "true") == 0)
        q.online = 1;
    else if (online && strcmp(online, "false") == 0)
        q.online = 0;
    else if (online)
        bad = "online";
    if (bad || fleet_query_check(&q, &bad) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%s: online=true|false, state=<an open order state>|none, q=1..%d bytes", bad,
                 LPG_NAME_MAX);
        http_reply_error(call, 400, "invalid_parameter", msg, bad);
        return;
    }
    json_t *body = fleet_list(d, &q, lpg_now_ms());
    if (body == NULL) {
        http_refuse(call, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        return;
    }
    http_reply_json(call, 200, body);
}

const struct http_route v1_tracking_routes[] = {
    /* Before the registry's /v1/vehicles/{id}, which would otherwise take "nearest". */
    {"GET", "/v1/vehicles/nearest", handle_nearest, HTTP_ROUTE_READ},
    {"GET", "/v1/vehicles/{id}/route", handle_route, HTTP_ROUTE_READ},
    {"GET", "/v1/vehicles/{id}/position", handle_position, HTTP_ROUTE_READ},
    {"GET", "/v1/fleet", handle_fleet, HTTP_ROUTE_READ},
    {"GET", "/v1/vehicles/{id}/route/verify", v1_handle_route_verify, HTTP_ROUTE_READ},
};
const size_t v1_tracking_routes_count = sizeof(v1_tracking_routes) / sizeof(v1_tracking_routes[0]);
