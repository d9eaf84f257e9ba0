/* track.c -- recorded drives for the simulator (see track.h). */
#include "track.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EARTH_R 6371008.8
#define PI      3.14159265358979323846 /* M_PI is not C11 */

double track_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * PI / 180, p2 = lat2 * PI / 180;
    double dp = p2 - p1, dl = (lon2 - lon1) * PI / 180;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    return 2 * EARTH_R * atan2(sqrt(a), sqrt(1 - a));
}

double track_bearing_deg(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * PI / 180, p2 = lat2 * PI / 180, dl = (lon2 - lon1) * PI / 180;
    double y = sin(dl) * cos(p2), x = cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl);
    double b = atan2(y, x) * 180 / PI;
    return b < 0 ? b + 360 : b;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian): timegm without the environment. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDThh:mm:ss[.fff]Z" -> ms; -1 when it is not that. */
static int64_t iso_ms(const char *s)
{
    int y, mo, d, h, mi;
    double sec;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
        return -1;
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000 +
           (int64_t)(sec * 1000 + 0.5);
}

static int push(struct track *t, size_t *cap, const struct track_point *pt, char *err,
                size_t errlen)
{
    if (t->n > 0 && pt->t_ms <= t->p[t->n - 1].t_ms)
        return 0; /* a repeated or earlier time: dropped */
    if (t->n >= TRACK_POINTS_MAX) {
        snprintf(err, errlen, "more than %d points", TRACK_POINTS_MAX);
        return -1;
    }
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        struct track_point *np = realloc(t->p, nc * sizeof(*np));
        if (np == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->p = np;
        *cap = nc;
    }
    t->p[t->n++] = *pt;
    return 0;
}

/* The text of <tag>...</tag> between from and end, or NULL. */
static const char *element(const char *from, const char *end, const char *tag)
{
    char open[32];
    snprintf(open, sizeof(open), "<%s>", tag);
    const char *p = strstr(from, open);
    return p != NULL && p < end ? p + strlen(open) : NULL;
}

static int parse_gpx(const char *text, struct track *t, char *err, size_t errlen)
{
    size_t cap = 0;
    const char *p = text;
    while ((p = strstr(p, "<trkpt")) != NULL) {
        const char *end = strstr(p, "</trkpt>");
        const char *tag_end = strchr(p, '>');
        if (end == NULL || tag_end == NULL) {
            snprintf(err, errlen, "unterminated <trkpt>");
            return -1;
        }
        struct track_point pt = {.speed_ms = -1, .course_deg = -1, .sats = -1};
        const char *la = strstr(p, "lat=\""), *lo = strstr(p, "lon=\"");
        if (la == NULL || lo == NULL || la > tag_end || lo > tag_end) {
            snprintf(err, errlen, "<trkpt> without lat/lon");
            return -1;
        }
        pt.lat = strtod(la + 5, NULL);
        pt.lon = strtod(lo + 5, NULL);
        if (!(fabs(pt.lat) <= 90) || !(fabs(pt.lon) <= 180)) {
            snprintf(err, errlen, "coordinates out of range");
            return -1;
        }
        const char *v = element(tag_end, end, "time");
        if (v != NULL && (pt.t_ms = iso_ms(v)) >= 0) {
            if ((v = element(tag_end, end, "ele")) != NULL)
                pt.ele_m = strtod(v, NULL);
            if ((v = element(tag_end, end, "speed")) != NULL)
                pt.speed_ms = strtod(v, NULL);
            if ((v = element(tag_end, end, "course")) != NULL)
                pt.course_deg = strtod(v, NULL);
            if ((v = element(tag_end, end, "sat")) != NULL)
                pt.sats = atoi(v);
            if (push(t, &cap, &pt, err, errlen) != 0)
                return -1;
        }
        p = end + 8;
    }
    return 0;
}

static int parse_csv(const char *text, struct track *t, char *err, size_t errlen)
{
    size_t cap = 0;
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char buf[256];
        if (n > 0 && n < sizeof(buf)) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            long long ms;
            double lat, lon;
            int used = 0;
            struct track_point pt = {.speed_ms = -1, .course_deg = -1, .sats = -1};
            if (sscanf(buf, "%lld,%lf,%lf,%n", &ms, &lat, &lon, &used) < 3 || used == 0 ||
                !(fabs(lat) <= 90) || !(fabs(lon) <= 180)) {
                snprintf(err, errlen, "line %d: not time_ms,lat,lon,speed_m_s", line);
                return -1;
            }
            pt.t_ms = ms;
            pt.lat = lat;
            pt.lon = lon;
            if (buf[used] != '\0' && buf[used] != '\r')
                pt.speed_ms = strtod(buf + used, NULL);
            if (push(t, &cap, &pt, err, errlen) != 0)
                return -1;
        } else if (n >= sizeof(buf)) {
            snprintf(err, errlen, "line %d too long", line);
            return -1;
        }
        p += n + (eol ? 1 : 0);
    }
    return 0;
}

int track_parse(const char *text, struct track *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    const char *s = text;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    int rc = *s == '<' ? parse_gpx(s, t, err, errlen) : parse_csv(s, t, err, errlen);
    if (rc == 0 && t->n < 2) {
        snprintf(err, errlen, "fewer than 2 timed points");
        rc = -1;
    }
    if (rc != 0)
        track_free(t);
    return rc;
}

int track_read(const char *path, struct track *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(TRACK_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TRACK_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad || n > TRACK_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 buf == NULL ? "out of memory"
                 : bad       ? "read error"
                             : "larger than 64 MiB");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    int rc = track_parse(buf, t, err, errlen);
    free(buf);
    return rc;
}

void track_complete(struct track *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct track_point *p = &t->p[i];
        size_t a = i > 0 ? i - 1 : i, b = i + 1 < t->n ? i + 1 : i;
        if (p->speed_ms < 0 && a != b) {
            double d = track_distance_m(t->p[a].lat, t->p[a].lon, t->p[b].lat, t->p[b].lon);
            p->speed_ms = d / ((double)(t->p[b].t_ms - t->p[a].t_ms) / 1000.0);
        }
        if (p->course_deg < 0) {
            /* the heading to the next point that moved, else the previous point's */
            size_t j = i + 1;
            while (j < t->n && track_distance_m(p->lat, p->lon, t->p[j].lat, t->p[j].lon) < 1.0)
                j++;
            p->course_deg = j < t->n ? track_bearing_deg(p->lat, p->lon, t->p[j].lat, t->p[j].lon)
                            : i > 0  ? t->p[i - 1].course_deg
                                     : 0;
        }
    }
}

void track_free(struct track *t)
{
    free(t->p);
    t->p = NULL;
    t->n = 0;
}
