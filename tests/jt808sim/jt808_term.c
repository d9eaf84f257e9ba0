/* jt808_term.c -- the terminal's side of JT/T 808 (see jt808_term.h). */

#include "jt808_term.h"

#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <string.h>
#include <time.h>

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t bcd2(int v)
{
    return (uint8_t)(((v / 10 % 10) << 4) | (v % 10));
}

void jt808t_bcd_time(uint8_t out[6], int64_t utc_s)
{
    time_t t = (time_t)(utc_s + 8 * 3600); /* every time of the standard is GMT+8 */
    struct tm tm;
    gmtime_r(&t, &tm);
    out[0] = bcd2(tm.tm_year % 100);
    out[1] = bcd2(tm.tm_mon + 1);
    out[2] = bcd2(tm.tm_mday);
    out[3] = bcd2(tm.tm_hour);
    out[4] = bcd2(tm.tm_min);
    out[5] = bcd2(tm.tm_sec);
}

int jt808t_gbk(const char *utf8, uint8_t *out, size_t cap)
{
    iconv_t cd = iconv_open("GBK", "UTF-8");
    if (cd == (iconv_t)-1)
        return -1;
    char *in = (char *)utf8, *o = (char *)out;
    size_t inleft = strlen(utf8), outleft = cap;
    size_t r = iconv(cd, &in, &inleft, &o, &outleft);
    iconv_close(cd);
    if (r == (size_t)-1 || inleft != 0)
        return -1;
    return (int)(cap - outleft);
}

static uint32_t micro_deg(double deg)
{
    double v = fabs(deg) * 1e6 + 0.5;
    return v >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)v;
}

static uint16_t clamp16(double v)
{
    if (!(v > 0))
        return 0;
    return v >= 65535.0 ? 0xFFFF : (uint16_t)(v + 0.5);
}

size_t jt808t_location(uint8_t *out, size_t cap, const struct jt808t_fix *f)
{
    size_t need = JT808T_LOCATION_BASE + (f->mileage_km >= 0 ? 6 : 0) + (f->signal >= 0 ? 3 : 0) +
                  (f->satellites >= 0 ? 3 : 0);
    if (cap < need)
        return 0;
    uint32_t status = (f->acc_on ? 1u : 0u) | (f->fix_valid ? 2u : 0u) | (f->lat < 0 ? 4u : 0u) |
                      (f->lon < 0 ? 8u : 0u);
    double course = fmod(f->course_deg, 360.0);
    if (course < 0)
        course += 360.0;
    uint8_t *p = out;
    p = put32(p, f->alarm);
    p = put32(p, status);
    p = put32(p, micro_deg(f->lat));
    p = put32(p, micro_deg(f->lon));
    p = put16(p, clamp16(f->alt_m));
    p = put16(p, clamp16(f->speed_kmh * 10.0));
    p = put16(p, (uint16_t)((int)(course + 0.5) % 360));
    jt808t_bcd_time(p, f->utc_s);
    p += 6;
    if (f->mileage_km >= 0) {
        *p++ = 0x01;
        *p++ = 4;
        double m = f->mileage_km * 10.0 + 0.5;
        p = put32(p, m >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)m);
    }
    if (f->signal >= 0) {
        *p++ = 0x30;
        *p++ = 1;
        *p++ = (uint8_t)(f->signal > 255 ? 255 : f->signal);
    }
    if (f->satellites >= 0) {
        *p++ = 0x31;
        *p++ = 1;
        *p++ = (uint8_t)(f->satellites > 255 ? 255 : f->satellites);
    }
    return (size_t)(p - out);
}

size_t jt808t_batch(uint8_t *out, size_t cap, int type, const struct jt808t_fix *fixes, size_t n)
{
    if (cap < 3 || n > 0xFFFF)
        return 0;
    uint8_t *p = put16(out, (uint16_t)n);
    *p++ = (uint8_t)type;
    for (size_t i = 0; i < n; i++) {
        size_t used = (size_t)(p - out);
        if (cap - used < 2)
            return 0;
        size_t len = jt808t_location(p + 2, cap - used - 2, &fixes[i]);
        if (len == 0)
            return 0;
        put16(p, (uint16_t)len);
        p += 2 + len;
    }
    return (size_t)(p - out);
}

/* A fixed-size text field padded with 0x00; -1 when text is longer than the field. */
static int put_fixed(uint8_t *p, size_t width, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n > width)
        return -1;
    memset(p, 0, width);
    if (n)
        memcpy(p, text, n);
    return 0;
}

size_t jt808t_register_body(uint8_t *out, size_t cap, const struct jt808t_register *r)
{
    if (cap < 37)
        return 0;
    uint8_t *p = put16(out, r->province);
    p = put16(p, r->city);
    if (put_fixed(p, 5, r->maker) != 0 || put_fixed(p + 5, 20, r->model) != 0 ||
        put_fixed(p + 25, 7, r->terminal_id) != 0)
        return 0;
    p += 32;
    *p++ = r->plate_colour;
    int n = jt808t_gbk(r->plate ? r->plate : "", p, cap - 37);
    return n < 0 ? 0 : 37 + (size_t)n;
}

size_t jt808t_auth(uint8_t *out, size_t cap, const char *code)
{
    size_t n = strlen(code);
    if (n == 0 || n > cap)
        return 0;
    memcpy(out, code, n);
    return n;
}

/* "YYYYMMDD" as BCD[4]; -1 unless 8 digits. */
static int put_bcd_date(uint8_t *p, const char *ymd)
{
    if (ymd == NULL || strlen(ymd) != 8)
        return -1;
    for (int i = 0; i < 8; i++)
        if (ymd[i] < '0' || ymd[i] > '9')
            return -1;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(((ymd[2 * i] - '0') << 4) | (ymd[2 * i + 1] - '0'));
    return 0;
}

size_t jt808t_driver_body(uint8_t *out, size_t cap, const struct jt808t_driver *d)
{
    uint8_t name[256], issuer[256];
    int nl = jt808t_gbk(d->name ? d->name : "", name, 255);
    int il = jt808t_gbk(d->issuer ? d->issuer : "", issuer, 255);
    if (nl < 0 || il < 0)
        return 0;
    size_t need = 1 + 6 + 1 + 1 + (size_t)nl + 20 + 1 + (size_t)il + 4;
    if (cap < need)
        return 0;
    uint8_t *p = out;
    *p++ = 1; /* card inserted: on duty */
    jt808t_bcd_time(p, d->utc_s);
    p += 6;
    *p++ = 0; /* card read */
    *p++ = (uint8_t)nl;
    memcpy(p, name, (size_t)nl);
    p += nl;
    if (put_fixed(p, 20, d->certificate) != 0)
        return 0;
    p += 20;
    *p++ = (uint8_t)il;
    memcpy(p, issuer, (size_t)il);
    p += il;
    if (put_bcd_date(p, d->expiry) != 0)
        return 0;
    p += 4;
    return (size_t)(p - out);
}

size_t jt808t_general_reply(uint8_t *out, size_t cap, uint16_t serial, uint16_t msg_id,
                            uint8_t result)
{
    if (cap < 5)
        return 0;
    uint8_t *p = put16(out, serial);
    p = put16(p, msg_id);
    *p = result;
    return 5;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

int jt808t_parse_general(const uint8_t *body, size_t len, struct jt808t_reply *r)
{
    if (len < 5)
        return -1;
    r->serial = get16(body);
    r->msg_id = get16(body + 2);
    r->result = body[4];
    return 0;
}

int jt808t_parse_register_reply(const uint8_t *body, size_t len, uint16_t *serial, uint8_t *result,
                                char *code, size_t cap)
{
    if (len < 3 || cap == 0)
        return -1;
    *serial = get16(body);
    *result = body[2];
    size_t n = len - 3;
    code[0] = '\0';
    if (*result != 0)
        return 0;
    if (n == 0 || n >= cap || memchr(body + 3, 0, n) != NULL)
        return -1;
    memcpy(code, body + 3, n);
    code[n] = '\0';
    return 0;
}

int jt808t_parse_params(const uint8_t *body, size_t len,
                        void (*each)(uint32_t id, const uint8_t *value, uint8_t vlen, void *arg),
                        void *arg)
{
    if (len < 1)
        return -1;
    size_t at = 1;
    for (unsigned i = 0; i < body[0]; i++) {
        if (len - at < 5)
            return -1;
        uint32_t id = ((uint32_t)body[at] << 24) | ((uint32_t)body[at + 1] << 16) |
                      ((uint32_t)body[at + 2] << 8) | body[at + 3];
        uint8_t vlen = body[at + 4];
        at += 5;
        if (len - at < vlen)
            return -1;
        each(id, body + at, vlen, arg);
        at += vlen;
    }
    return 0;
}
