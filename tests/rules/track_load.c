/*
 * track_load.c - test-only loaders of recorded tracks (see track_load.h).
 */
#include "track_load.h"

#include <jansson.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACK_FILE_MAX (8 * 1024 * 1024) /* bytes: the largest test track is 2 MB */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(TRACK_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TRACK_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > TRACK_FILE_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t track_parse_time_ms(const char *s)
{
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = s + n;
    int64_t ms = 0;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; isdigit((unsigned char)*p); p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t off_min = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (sscanf(p, "%2d", &oh) != 1)
            return -1;
        p += 2;
        if (*p == ':')
            p++;
        if (sscanf(p, "%2d", &om) != 1)
            return -1;
        p += 2;
        off_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return secs * 1000 + ms - off_min * 60000;
}

static int grow(struct track *t, size_t *cap)
{
    if (t->n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 1024;
    struct lpg_fix *nf = realloc(t->fixes, nc * sizeof *nf);
    if (nf == NULL)
        return -1;
    t->fixes = nf;
    *cap = nc;
    return 0;
}

/* The text of <tag>...</tag> inside [b, e), copied into out; false when absent. */
static bool element(const char *b, const char *e, const char *tag, char *out, size_t cap)
{
    char open[32];
    snprintf(open, sizeof open, "<%s>", tag);
    const char *p = strstr(b, open);
    if (p == NULL || p >= e)
        return false;
    p += strlen(open);
    const char *q = strchr(p, '<');
    if (q == NULL || q > e || (size_t)(q - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return true;
}

/* The value of attribute name="..." inside the start tag [b, e). */
static bool attribute(const char *b, const char *e, const char *name, double *v)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=\"", name);
    const char *p = strstr(b, pat);
    if (p == NULL || p >= e)
        return false;
    char *end;
    *v = strtod(p + strlen(pat), &end);
    return *end == '"';
}

/* First occurrence of needle in [p, end), or NULL. (Not strstr: the sanitizers' strstr
 * measures the whole remaining haystack on every call, quadratic over a 2 MB file.) */
static char *find(char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    while (p != NULL && (size_t)(end - p) >= n) {
        p = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (p == NULL || memcmp(p, needle, n) == 0)
            return p;
        p++;
    }
    return NULL;
}

int track_load_gpx(const char *path, struct track *out)
{
    size_t len, cap = 0;
    char *buf = slurp(path, &len);
    *out = (struct track){0};
    if (buf == NULL)
        return -1;
    char *p = buf;
    int rc = 0;
    const char *end = buf + len;
    while ((p = find(p, end, "<trkpt")) != NULL) {
        char *close = find(p, end, "</trkpt>");
        if (close != NULL)
            *close = '\0'; /* bounds the searches below to this trkpt (restored after) */
        const char *tag_end = strchr(p, '>');
        if (tag_end == NULL || close == NULL || grow(out, &cap) != 0) {
            rc = -1;
            break;
        }
        struct lpg_fix f = {.mode = LPG_FIX_MODE_3D};
        char txt[64];
        if (!attribute(p, tag_end, "lat", &f.pos.lat) ||
            !attribute(p, tag_end, "lon", &f.pos.lon) ||
            !element(tag_end, close, "time", txt, sizeof txt) ||
            (f.time_ms = track_parse_time_ms(txt)) < 0) {
            rc = -1;
            break;
        }
        if (element(tag_end, close, "speed", txt, sizeof txt)) {
            f.speed_kmh = strtod(txt, NULL) * 3.6;
            f.has_speed = true;
        }
        if (element(tag_end, close, "fix", txt, sizeof txt)) {
            if (strcmp(txt, "2d") == 0)
                f.mode = LPG_FIX_MODE_2D;
            else if (strcmp(txt, "none") == 0)
                f.mode = LPG_FIX_MODE_NONE;
        }
        out->fixes[out->n++] = f;
        *close = '<';
        p = close + 8;
    }
    free(buf);
    if (rc != 0)
        track_free(out);
    return rc;
}

int track_load_barefoot(const char *path, struct track *out)
{
    json_error_t err;
    size_t cap = 0;
    *out = (struct track){0};
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL || !json_is_array(root)) {
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *o;
    json_array_foreach(root, i, o)
    {
        const char *pt = json_string_value(json_object_get(o, "point"));
        const char *tm = json_string_value(json_object_get(o, "time"));
        struct lpg_fix f = {.mode = LPG_FIX_MODE_3D};
        if (pt == NULL || tm == NULL || sscanf(pt, "POINT(%lf %lf)", &f.pos.lon, &f.pos.lat) != 2 ||
            (f.time_ms = track_parse_time_ms(tm)) < 0 || grow(out, &cap) != 0) {
            json_decref(root);
            track_free(out);
            return -1;
        }
        out->fixes[out->n++] = f;
    }
    json_decref(root);
    return 0;
}

void track_free(struct track *t)
{
    free(t->fixes);
    *t = (struct track){0};
}
