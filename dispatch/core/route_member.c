/* route_member.c -- the stored form of a fix (route_member.h). */
#include "core/route_member.h"

#include "core/model.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The longest member: seven 64-bit fields of up to 20 characters, two ints of up to 11, and
 * eight colons. */
_Static_assert(7 * 20 + 2 * 11 + 8 < ROUTE_MEMBER_MAX, "a route member always fits");

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

int route_member_parse(const char *m, size_t len, struct route_fix *f)
{
    const char *field[9];
    size_t flen[9];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || m[i] == ':') {
            if (n == 9)
                return -1;
            field[n] = m + start;
            flen[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    uint64_t mode, flags;
    if (n != 9 || parse_u64(field[0], flen[0], &f->seq) != 0 ||
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
