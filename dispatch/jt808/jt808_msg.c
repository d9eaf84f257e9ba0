/* jt808_msg.c -- see jt808_msg.h. */
#include "jt808/jt808_msg.h"

#include <iconv.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* ---- helpers ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* Two BCD digits; -1 when a nibble is above 9. */
static int bcd2(uint8_t b)
{
    unsigned hi = b >> 4, lo = b & 0x0F;
    return hi > 9 || lo > 9 ? -1 : (int)(hi * 10 + lo);
}

int jt808_bcd_time_to_utc_ms(const uint8_t bcd[6], int64_t *ms)
{
    int v[6];
    for (int i = 0; i < 6; i++)
        if ((v[i] = bcd2(bcd[i])) < 0)
            return -1;
    int y = 2000 + v[0], mo = v[1], d = v[2], h = v[3], mi = v[4], s = v[5];
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    *ms = (secs - 8 * 3600) * 1000; /* GMT+8 on the wire */
    return 0;
}

/* BCD YYYYMMDD -> days since the epoch; -1 when invalid. */
static int32_t bcd_date_days(const uint8_t p[4])
{
    int c = bcd2(p[0]), yy = bcd2(p[1]), m = bcd2(p[2]), d = bcd2(p[3]);
    if (c < 0 || yy < 0 || m < 1 || m > 12 || d < 1)
        return -1;
    int y = c * 100 + yy;
    if (y < 1970 || d > days_in_month(y, m))
        return -1;
    return (int32_t)days_from_civil(y, m, d);
}

int jt808_gbk_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    int ascii = 1;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = in[i] < 0x80;
    if (ascii) {
        if (len >= cap)
            return -1;
        memcpy(out, in, len);
        out[len] = '\0';
        return (int)len;
    }
    /* Opened per call: GBK only appears in registrations and driver cards, once per session, and
     * an iconv_t shared between threads would need a lock. */
    iconv_t cd = iconv_open("UTF-8", "GBK");
    if (cd == (iconv_t)-1)
        return -1;
    char *ip = (char *)(uintptr_t)in, *op = out;
    size_t il = len, ol = cap - 1;
    size_t r = iconv(cd, &ip, &il, &op, &ol);
    iconv_close(cd);
    if (r == (size_t)-1 || il != 0)
        return -1;
    *op = '\0';
    return (int)(op - out);
}

/* A fixed-width text field: leading and trailing NULs (and spaces) dropped, ASCII '0' left
 * padding dropped when zero_pad, bytes outside printable ASCII replaced by '?'. */
static void text_field(const uint8_t *p, size_t n, int zero_pad, char *out, size_t cap)
{
    size_t a = 0, b = n;
    while (a < b && (p[a] == 0 || p[a] == ' ' || (zero_pad && p[a] == '0')))
        a++;
    while (b > a && (p[b - 1] == 0 || p[b - 1] == ' '))
        b--;
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < cap; i++)
        out[k++] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
    out[k] = '\0';
}

/* A GBK text: NULs around it dropped, converted; "" and -1 when it is not GBK or too long. */
static int gbk_field(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t a = 0, b = n;
    while (a < b && p[a] == 0)
        a++;
    while (b > a && (p[b - 1] == 0 || p[b - 1] == ' '))
        b--;
    if (jt808_gbk_to_utf8(p + a, b - a, out, cap) < 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- 0x0200 ---- */

static void read_items(const uint8_t *p, const uint8_t *end, struct jt808_location *out)
{
    while (p < end) {
        if (end - p < 2) {
            out->tail_overrun = 1; /* an id without its length byte */
            return;
        }
        uint8_t id = p[0], n = p[1];
        if ((size_t)(end - p - 2) < n) {
            out->tail_overrun = 1;
            return;
        }
        const uint8_t *v = p + 2;
        p += 2 + (size_t)n;
        out->items++;
        unsigned want = 0, bit = 0;
        switch (id) {
        case 0x01:
            want = 4, bit = JT808_LOC_MILEAGE;
            break;
        case 0x02:
            want = 2, bit = JT808_LOC_FUEL;
            break;
        case 0x03:
            want = 2, bit = JT808_LOC_RECORDER_SPEED;
            break;
        case 0x30:
            want = 1, bit = JT808_LOC_SIGNAL;
            break;
        case 0x31:
            want = 1, bit = JT808_LOC_SATELLITES;
            break;
        default:
            continue; /* vendor and other items: skipped by their length */
        }
        if (n != want) {
            out->items_bad++; /* a known id reused with another length: its value is not ours */
            continue;
        }
        out->present |= bit;
        switch (id) {
        case 0x01:
            out->mileage_100m = be32(v);
            break;
        case 0x02:
            out->fuel_dl = be16(v);
            break;
        case 0x03:
            out->recorder_speed_dkmh = be16(v);
            break;
        case 0x30:
            out->signal = v[0];
            break;
        default:
            out->satellites = v[0];
            break;
        }
    }
}

int jt808_location_parse(const uint8_t *body, size_t len, struct jt808_location *out,
                         const char **why)
{
    memset(out, 0, sizeof(*out));
    if (len < JT808_LOCATION_BASE) {
        *why = "location shorter than its 28-byte base";
        return -1;
    }
    out->alarm = be32(body);
    out->status = be32(body + 4);
    /* Unsigned on the wire: the hemispheres are status bits, whatever the value says. */
    out->lat = be32(body + 8) / 1e6;
    out->lon = be32(body + 12) / 1e6;
    if (out->status & JT808_STATUS_SOUTH)
        out->lat = -out->lat;
    if (out->status & JT808_STATUS_WEST)
        out->lon = -out->lon;
    uint16_t alt = be16(body + 16);
    out->altitude_m = alt > 32767 ? (int32_t)alt - 65536 : alt; /* below sea level */
    out->speed_kmh = be16(body + 18) / 10.0;
    out->direction = be16(body + 20);
    out->direction_bad = out->direction > 359;
    out->time_valid = jt808_bcd_time_to_utc_ms(body + 22, &out->time_ms) == 0;
    if (!out->time_valid)
        out->time_ms = 0;
    read_items(body + JT808_LOCATION_BASE, body + len, out);
    return 0;
}

/* ---- 0x0704 ---- */

int jt808_batch_begin(const uint8_t *body, size_t len, struct jt808_batch_iter *it,
                      const char **why)
{
    memset(it, 0, sizeof(*it));
    if (len < 3) {
        *why = "batch shorter than its count and type";
        return -1;
    }
    it->count = be16(body);
    it->type = body[2];
    it->p = body + 3;
    it->left = len - 3;
    return 0;
}

int jt808_batch_next(struct jt808_batch_iter *it, struct jt808_location *loc, int *item_bad)
{
    *item_bad = 0;
    if (it->index >= it->count || it->left == 0)
        return 0;
    if (it->left < 2)
        return -1;
    size_t n = be16(it->p);
    if (n > it->left - 2)
        return -1;
    const char *why;
    if (jt808_location_parse(it->p + 2, n, loc, &why) != 0)
        *item_bad = 1;
    it->p += 2 + n;
    it->left -= 2 + n;
    it->index++;
    return 1;
}

/* ---- 0x0100 ---- */

int jt808_register_parse(const uint8_t *body, size_t len, int header_2019,
                         struct jt808_register *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    size_t maker, model, tid;
    /* The header's layout (told by length) says 2019 or not; the body's length says 2011 or
     * 2013, and a 2019 header over a body too short for 2019 is read as 2013. */
    if (header_2019 && len >= 76)
        maker = 11, model = 30, tid = 30, out->edition_2019 = 1;
    else if (len >= 37)
        maker = 5, model = 20, tid = 7;
    else if (len >= 25)
        maker = 5, model = 8, tid = 7, out->edition_2011 = 1;
    else {
        *why = "register body shorter than the 2011 layout";
        return -1;
    }
    const uint8_t *p = body;
    out->province = be16(p);
    out->city = be16(p + 2);
    p += 4;
    text_field(p, maker, 1, out->maker, sizeof(out->maker));
    p += maker;
    text_field(p, model, 0, out->model, sizeof(out->model));
    p += model;
    text_field(p, tid, 1, out->terminal_id, sizeof(out->terminal_id));
    p += tid;
    out->plate_color = *p++;
    if (gbk_field(p, (size_t)(body + len - p), out->plate, sizeof(out->plate)) != 0) {
        *why = "plate is not GBK or too long";
        return -1;
    }
    return 0;
}

/* ---- 0x0102 ---- */

int jt808_auth_parse(const uint8_t *body, size_t len, int header_2019, struct jt808_auth *out,
                     const char **why)
{
    (void)header_2019; /* the lengths decide: headers and bodies of real devices disagree */
    memset(out, 0, sizeof(*out));
    const uint8_t *code = body;
    size_t n = len;
    if (len >= 36 && (size_t)body[0] + 36 == len) {
        out->edition_2019 = 1;
        code = body + 1;
        n = body[0];
        text_field(body + 1 + n, 15, 0, out->imei, sizeof(out->imei));
        text_field(body + 1 + n + 15, 20, 0, out->software, sizeof(out->software));
    }
    if (n == 0) {
        *why = "empty authentication code";
        return -1;
    }
    if (n >= sizeof(out->code)) {
        *why = "authentication code longer than 128 bytes";
        return -1;
    }
    memcpy(out->code, code, n);
    out->code[n] = '\0';
    out->code_len = n;
    return 0;
}

/* ---- 0x0702 ---- */

static int driver_2011(const uint8_t *body, size_t len, struct jt808_driver *out)
{
    /* name len BYTE, name, ID card [20], certificate [40], issuer len BYTE, issuer */
    size_t n = body[0];
    if (len < 1 + n + 60 + 1)
        return -1;
    size_t in = body[1 + n + 60];
    if (1 + n + 60 + 1 + in != len)
        return -1;
    out->layout_2011 = 1;
    out->text_bad |= gbk_field(body + 1, n, out->name, sizeof(out->name)) != 0;
    text_field(body + 1 + n, 20, 0, out->id_card, sizeof(out->id_card));
    text_field(body + 1 + n + 20, 40, 0, out->certificate, sizeof(out->certificate));
    out->text_bad |= gbk_field(body + 1 + n + 61, in, out->issuer, sizeof(out->issuer)) != 0;
    return 0;
}

int jt808_driver_parse(const uint8_t *body, size_t len, int header_2019, struct jt808_driver *out,
                       const char **why)
{
    (void)header_2019; /* the ID card is read when it is there, whatever the header says */
    memset(out, 0, sizeof(*out));
    out->expiry_day = -1;
    int64_t t;
    /* 2013/2019 start with a status (1 or 2) and a BCD time; 2011 with the name's length. */
    if (len >= 7 && (body[0] == 1 || body[0] == 2) && jt808_bcd_time_to_utc_ms(body + 1, &t) == 0) {
        out->status = body[0];
        out->time_ms = t;
        out->time_valid = 1;
    } else if (len >= 1 && driver_2011(body, len, out) == 0) {
        return 0;
    } else if (len >= 7 && (body[0] == 1 || body[0] == 2)) {
        /* a status with a time that is not a calendar time: kept, flagged by time_valid */
        out->status = body[0];
    } else {
        *why = "driver body fits neither the 2011 nor the 2013 layout";
        return -1;
    }
    if (out->status == 2)
        return 0; /* card removed: status and time only */
    const uint8_t *p = body + 7, *end = body + len;
    if (p >= end) {
        *why = "driver card inserted without its read result";
        return -1;
    }
    out->read_result = *p++;
    if (out->read_result != 0)
        return 0; /* the card could not be read: nothing follows */
    if (p >= end || (size_t)(end - p) < 1u + *p) {
        *why = "driver name runs past the body";
        return -1;
    }
    size_t n = *p++;
    out->text_bad |= gbk_field(p, n, out->name, sizeof(out->name)) != 0;
    p += n;
    if (end - p < 21) {
        *why = "driver certificate runs past the body";
        return -1;
    }
    text_field(p, 20, 0, out->certificate, sizeof(out->certificate));
    p += 20;
    n = *p++;
    if ((size_t)(end - p) < n + 4) {
        *why = "driver issuer or expiry runs past the body";
        return -1;
    }
    out->text_bad |= gbk_field(p, n, out->issuer, sizeof(out->issuer)) != 0;
    p += n;
    out->expiry_day = bcd_date_days(p);
    p += 4;
    if (end - p >= 20) /* 2019: the driver's ID card; vendor bytes after it are ignored */
        text_field(p, 20, 0, out->id_card, sizeof(out->id_card));
    return 0;
}

/* ---- 0x0001 ---- */

int jt808_reply_parse(const uint8_t *body, size_t len, struct jt808_reply *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (len < 5) {
        *why = "reply shorter than 5 bytes";
        return -1;
    }
    out->serial = be16(body);
    out->msg_id = be16(body + 2);
    out->result = body[4];
    return 0;
}

/* ---- builders ---- */

size_t jt808_build_platform_reply(uint16_t serial, uint16_t msg_id, uint8_t result, uint8_t *out,
                                  size_t cap)
{
    if (cap < 5)
        return 0;
    put16(out, serial);
    put16(out + 2, msg_id);
    out[4] = result;
    return 5;
}

size_t jt808_build_register_reply(uint16_t serial, uint8_t result, const char *code, uint8_t *out,
                                  size_t cap)
{
    size_t n = result == JT808_REG_OK && code ? strlen(code) : 0;
    if ((result == JT808_REG_OK && n == 0) || 3 + n > cap || 3 + n > 1023)
        return 0;
    put16(out, serial);
    out[2] = result;
    memcpy(out + 3, code ? code : "", n);
    return 3 + n;
}

size_t jt808_build_set_params(const struct jt808_param *p, size_t n, uint8_t *out, size_t cap)
{
    if (n == 0 || n > 255 || cap < 1)
        return 0;
    size_t at = 1;
    out[0] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        if (p[i].len != 1 && p[i].len != 2 && p[i].len != 4)
            return 0;
        if (at + 5 + p[i].len > cap)
            return 0;
        put32(out + at, p[i].id);
        out[at + 4] = p[i].len;
        at += 5;
        if (p[i].len == 1)
            out[at] = (uint8_t)p[i].value;
        else if (p[i].len == 2)
            put16(out + at, (uint16_t)p[i].value);
        else
            put32(out + at, p[i].value);
        at += p[i].len;
    }
    return at;
}

size_t jt808_build_resend_request(uint16_t first_serial, const uint16_t *indices, size_t n,
                                  int edition_2019, uint8_t *out, size_t cap)
{
    size_t head = edition_2019 ? 4 : 3;
    if (n == 0 || n > (edition_2019 ? 0xFFFFu : 0xFFu) || head + 2 * n > cap)
        return 0;
    put16(out, first_serial);
    if (edition_2019)
        put16(out + 2, (uint16_t)n);
    else
        out[2] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        put16(out + head + 2 * i, indices[i]);
    return head + 2 * n;
}
