/* route_member.c -- the stored form of a fix (route_member.h). */
#include "core/route_member.h"

#include "core/model.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The longest member: seven 64-bit fields of up to 20 characters, two ints of up to 11, and
 * eight colons; then a colon and the vehicle data text: two 32-bit words (10), the altitude
 * (11), the mileage (10), two 16-bit measures (5), two bytes (3) and seven colons. */
#define ROUTE_VD_LONGEST (10 + 10 + 11 + 10 + 5 + 5 + 3 + 3 + 7)
_Static_assert(ROUTE_VD_LONGEST < ROUTE_VD_MAX, "a vehicle data text always fits");
_Static_assert(7 * 20 + 2 * 11 + 8 + 1 + ROUTE_VD_LONGEST < ROUTE_MEMBER_MAX,
               "a route member always fits");

#define VD_FIELDS 8

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t nv = v * 10 + (uint64_t)(s[i] - '0');
        if (nv / 10 != v)
            return -1;
        v = nv;
    }
    *out = v;
    return 0;
}

int route_parse_i64(const char *s, size_t len, int64_t *out)
{
    int neg = len > 0 && s[0] == '-';
    uint64_t v;
    if (parse_u64(s + neg, len - (size_t)neg, &v) != 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int route_parse_opt(const char *s, size_t len, int *has, uint64_t *v)
{
    *has = !(len == 1 && s[0] == '-');
    *v = 0;
    return *has ? parse_u64(s, len, v) : 0;
}

/* A measure of at most max, or '-' (absent: bit not set in *present, *v 0). */
static int parse_measure(const char *s, size_t len, uint64_t max, uint32_t bit, uint32_t *present,
                         uint64_t *v)
{
    int has;
    if (route_parse_opt(s, len, &has, v) != 0 || *v > max)
        return -1;
    if (has)
        *present |= bit;
    return 0;
}

/* The eight vehicle data fields. */
static int parse_vd_fields(const char *const *field, const size_t *flen,
                           struct lpg_vehicle_data *vd)
{
    uint64_t status, alarm, mileage, fuel, rec, signal, sats;
    int64_t alt = 0;
    memset(vd, 0, sizeof(*vd));
    if (parse_u64(field[0], flen[0], &status) != 0 || status > UINT32_MAX ||
        parse_u64(field[1], flen[1], &alarm) != 0 || alarm > UINT32_MAX)
        return -1;
    if (!(flen[2] == 1 && field[2][0] == '-')) {
        if (route_parse_i64(field[2], flen[2], &alt) != 0 || alt < INT32_MIN || alt > INT32_MAX)
            return -1;
        vd->present |= LPG_VD_ALTITUDE;
    }
    if (parse_measure(field[3], flen[3], UINT32_MAX, LPG_VD_MILEAGE, &vd->present, &mileage) ||
        parse_measure(field[4], flen[4], UINT16_MAX, LPG_VD_FUEL, &vd->present, &fuel) ||
        parse_measure(field[5], flen[5], UINT16_MAX, LPG_VD_RECORDER_SPEED, &vd->present, &rec) ||
        parse_measure(field[6], flen[6], UINT8_MAX, LPG_VD_SIGNAL, &vd->present, &signal) ||
        parse_measure(field[7], flen[7], UINT8_MAX, LPG_VD_SATELLITES, &vd->present, &sats))
        return -1;
    vd->status = (uint32_t)status;
    vd->alarm = (uint32_t)alarm;
    vd->altitude_m = (int32_t)alt;
    vd->mileage_100m = (uint32_t)mileage;
    vd->fuel_dl = (uint16_t)fuel;
    vd->recorder_speed_dkmh = (uint16_t)rec;
    vd->signal = (uint8_t)signal;
    vd->satellites = (uint8_t)sats;
    return 0;
}

/* Splits s at ':' into at most max fields; returns their number, or -1 when there are more. */
static int split_fields(const char *s, size_t len, const char **field, size_t *flen, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ':') {
            if (n == max)
                return -1;
            field[n] = s + start;
            flen[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    return (int)n;
}

int route_vd_parse(const char *s, size_t len, struct lpg_vehicle_data *vd)
{
    const char *field[VD_FIELDS];
    size_t flen[VD_FIELDS];
    if (split_fields(s, len, field, flen, VD_FIELDS) != VD_FIELDS)
        return -1;
    return parse_vd_fields(field, flen, vd);
}

int route_member_parse(const char *m, size_t len, struct route_fix *f)
{
    const char *field[9 + VD_FIELDS];
    size_t flen[9 + VD_FIELDS];
    int nf = split_fields(m, len, field, flen, 9 + VD_FIELDS);
    if (nf != 9 && nf != 9 + VD_FIELDS)
        return -1;
    uint64_t mode, flags;
    if (parse_u64(field[0], flen[0], &f->seq) != 0 ||
        route_parse_i64(field[1], flen[1], &f->time_ms) != 0 ||
        route_parse_i64(field[2], flen[2], &f->lat_e7) != 0 ||
        route_parse_i64(field[3], flen[3], &f->lon_e7) != 0 ||
        route_parse_opt(field[4], flen[4], &f->has_speed, &f->speed_cm_s) != 0 ||
        route_parse_opt(field[5], flen[5], &f->has_heading, &f->heading_cdeg) != 0 ||
        route_parse_opt(field[6], flen[6], &f->has_acc, &f->accuracy_cm) != 0 ||
        parse_u64(field[7], flen[7], &mode) != 0 || parse_u64(field[8], flen[8], &flags) != 0)
        return -1;
    if (f->time_ms <= 0 || f->lat_e7 < -900000000 || f->lat_e7 > 900000000 ||
        f->lon_e7 < -1800000000 || f->lon_e7 > 1800000000 || mode > 255 || flags > 255)
        return -1;
    f->has_vd = nf == 9 + VD_FIELDS;
    memset(&f->vd, 0, sizeof(f->vd));
    if (f->has_vd && parse_vd_fields(field + 9, flen + 9, &f->vd) != 0)
        return -1;
    f->mode = (int)mode;
    f->flags = (int)flags;
    return 0;
}

static void opt_u(char *out, size_t cap, int has, uint64_t v)
{
    if (has)
        snprintf(out, cap, "%" PRIu64, v);
    else
        snprintf(out, cap, "-");
}

int route_vd_format(const struct lpg_vehicle_data *vd, char *out, size_t cap)
{
    char alt[16], mil[16], fuel[8], rec[8], sig[8], sat[8];
    uint32_t p = vd->present;
    if (p & LPG_VD_ALTITUDE)
        snprintf(alt, sizeof(alt), "%" PRId32, vd->altitude_m);
    else
        snprintf(alt, sizeof(alt), "-");
    opt_u(mil, sizeof(mil), (p & LPG_VD_MILEAGE) != 0, vd->mileage_100m);
    opt_u(fuel, sizeof(fuel), (p & LPG_VD_FUEL) != 0, vd->fuel_dl);
    opt_u(rec, sizeof(rec), (p & LPG_VD_RECORDER_SPEED) != 0, vd->recorder_speed_dkmh);
    opt_u(sig, sizeof(sig), (p & LPG_VD_SIGNAL) != 0, vd->signal);
    opt_u(sat, sizeof(sat), (p & LPG_VD_SATELLITES) != 0, vd->satellites);
    int n = snprintf(out, cap, "%" PRIu32 ":%" PRIu32 ":%s:%s:%s:%s:%s:%s", vd->status, vd->alarm,
                     alt, mil, fuel, rec, sig, sat);
    assert(n > 0 && n < ROUTE_VD_MAX && (size_t)n < cap);
    return n;
}

int route_member_format(const struct route_fix *f, char *out, size_t cap)
{
    char speed[24], heading[24], acc[24];
    opt_u(speed, sizeof(speed), f->has_speed, f->speed_cm_s);
    opt_u(heading, sizeof(heading), f->has_heading, f->heading_cdeg);
    opt_u(acc, sizeof(acc), f->has_acc, f->accuracy_cm);
    int n =
        snprintf(out, cap, "%" PRIu64 ":%" PRId64 ":%" PRId64 ":%" PRId64 ":%s:%s:%s:%d:%d", f->seq,
                 f->time_ms, f->lat_e7, f->lon_e7, speed, heading, acc, f->mode, f->flags);
    /* Nine fields of at most 20 characters (11 for the ints) and 8 colons always fit in
     * ROUTE_MEMBER_MAX: callers add the length to buffers sized by it (ingest.c). */
    assert(n > 0 && n < ROUTE_MEMBER_MAX && (size_t)n < cap);
    if (f->has_vd) {
        out[n++] = ':';
        n += route_vd_format(&f->vd, out + n, cap - (size_t)n);
        assert(n < ROUTE_MEMBER_MAX);
    }
    return n;
}

void route_fix_to_lpg_fix(const struct route_fix *rf, struct lpg_fix *f)
{
    memset(f, 0, sizeof(*f));
    f->time_ms = rf->time_ms;
    f->pos.lat = (double)rf->lat_e7 / 1e7;
    f->pos.lon = (double)rf->lon_e7 / 1e7;
    f->has_speed = rf->has_speed;
    f->speed_kmh = (double)rf->speed_cm_s * 0.036; /* cm/s -> km/h */
    f->has_heading = rf->has_heading;
    f->heading_deg = (double)rf->heading_cdeg / 100.0;
    f->has_accuracy = rf->has_acc;
    f->accuracy_m = (double)rf->accuracy_cm / 100.0;
    /* 0 = the device did not say: taken as a 3D fix; 1 (no fix) stays, the filters refuse it. */
    f->mode = rf->mode != 0 ? (uint8_t)rf->mode : LPG_FIX_MODE_3D;
    if (rf->flags & ROUTE_FLAG_DERIVED)
        f->flags |= LPG_FIX_DERIVED_SPEED;
    if (rf->flags & ROUTE_FLAG_LATE)
        f->flags |= LPG_FIX_LATE;
}
