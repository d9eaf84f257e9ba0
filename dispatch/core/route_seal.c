/* route_seal.c -- fingerprints, canonical digest and comparison of a route day (route_seal.h). */
#include "core/route_seal.h"

#include "core/model.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS_ 86400000LL

const char *route_seal_what_name(enum route_seal_what w)
{
    switch (w) {
    case ROUTE_SEAL_SAME:
        return "same";
    case ROUTE_SEAL_EDITED:
        return "edited";
    case ROUTE_SEAL_REMOVED:
        return "removed";
    case ROUTE_SEAL_INSERTED:
        return "inserted";
    case ROUTE_SEAL_LOG_BROKEN:
        return "log_broken";
    }
    return "?";
}

void route_seal_day_of(int32_t day, int32_t utc_offset_min, struct route_seal_day *out)
{
    out->day = day;
    out->utc_offset_min = utc_offset_min;
    out->from_ms = (int64_t)day * DAY_MS_ - (int64_t)utc_offset_min * 60000;
    out->to_ms = out->from_ms + DAY_MS_;
}

void route_seal_day_at(int64_t time_ms, int32_t utc_offset_min, struct route_seal_day *out)
{
    route_seal_day_of(lpg_local_day(time_ms, utc_offset_min), utc_offset_min, out);
}

void route_seal_day_tag(const struct route_seal_day *rd, char out[ROUTE_DAY_TAG_MAX])
{
    char date[11];
    lpg_day_format(rd->day, date);
    int32_t o = rd->utc_offset_min;
    /* |offset| <= 14 h (model_json.c), kept to 4 digits whatever it is. */
    unsigned a = (unsigned)(o < 0 ? -(int64_t)o : o) % 6000;
    if (o == 0)
        snprintf(out, ROUTE_DAY_TAG_MAX, "%.4s%.2s%.2s", date, date + 5, date + 8);
    else
        snprintf(out, ROUTE_DAY_TAG_MAX, "%.4s%.2s%.2s%c%02u%02u", date, date + 5, date + 8,
                 o < 0 ? '-' : '+', a / 60, a % 60);
}

int route_seal_day_parse_tag(const char *s, struct route_seal_day *out)
{
    size_t n = strlen(s);
    if (n != 8 && n != 13)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int32_t off = 0;
    if (n == 13) {
        if (s[8] != '+' && s[8] != '-')
            return -1;
        int h = (s[9] - '0') * 10 + (s[10] - '0'), m = (s[11] - '0') * 10 + (s[12] - '0');
        off = h * 60 + m;
        /* The offsets an enterprise may have (model_json.c: -12:00 .. +14:00); 0 has no sign. */
        if (m >= 60 || off == 0 || off > (s[8] == '+' ? 840 : 720))
            return -1;
        if (s[8] == '-')
            off = -off;
    }
    char date[11];
    int32_t day;
    snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    if (lpg_day_parse(date, &day) != 0)
        return -1;
    route_seal_day_of(day, off, out);
    return 0;
}

static int sha256(const char *s, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int route_seal_fingerprint(int64_t from_ms, int64_t time_ms, const char *member, size_t len,
                           char out[ROUTE_FP_LEN + 1])
{
    int64_t off = time_ms - from_ms;
    unsigned char h[32];
    if (off < 0 || off >= DAY_MS_ || sha256(member, len, h) != 0)
        return -1;
    /* 7 digits hold a day's ms (86,400,000 < 16^7); 9 digits (36 bits) of the hash tell fixes of
     * the same ms apart. The log only locates a difference: the seal's full SHA-256 digest is
     * what proves the day. */
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    snprintf(out, ROUTE_FP_LEN + 1, "%07" PRIx32 "%.9s", (uint32_t)off, hex);
    return 0;
}

/* A fingerprint as numbers; pre: found in the part of the log stored before the seal. */
struct fp {
    int64_t off;
    uint64_t h;
    long index; /* the member's index (set side), or -1 */
    int pre;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_fp(const char *s, struct fp *f)
{
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < ROUTE_FP_LEN; i++) {
        int x = hexval(s[i]);
        if (x < 0)
            return -1;
        v[i < ROUTE_FP_TIME_LEN ? 0 : 1] = v[i < ROUTE_FP_TIME_LEN ? 0 : 1] << 4 | (uint64_t)x;
    }
    f->off = (int64_t)v[0];
    f->h = v[1];
    f->index = -1;
    f->pre = 0;
    return 0;
}

static int fp_cmp(const void *a, const void *b)
{
    const struct fp *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return 0;
}

/* The log's fingerprints from byte `from` on, sorted, duplicates merged (pre if any copy lies
 * before seal_len). NULL when out of memory or malformed (*broken set then). */
static struct fp *log_set(const char *log, size_t log_len, size_t seal_len, size_t from, size_t *n,
                          int *broken)
{
    *n = 0;
    *broken = 0;
    if (log_len % ROUTE_FP_LEN != 0 || from % ROUTE_FP_LEN != 0 || from > log_len) {
        *broken = 1;
        return NULL;
    }
    size_t count = (log_len - from) / ROUTE_FP_LEN;
    struct fp *v = malloc((count ? count : 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        size_t at = from + i * ROUTE_FP_LEN;
        if (parse_fp(log + at, &v[i]) != 0 || v[i].off >= DAY_MS_) {
            free(v);
            *broken = 1;
            return NULL;
        }
        v[i].pre = at < seal_len;
    }
    qsort(v, count, sizeof(*v), fp_cmp);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (k > 0 && fp_cmp(&v[k - 1], &v[i]) == 0) {
            v[k - 1].pre |= v[i].pre;
            continue;
        }
        v[k++] = v[i];
    }
    *n = k;
    return v;
}

/* Canonical order of members: score, then bytes (a member and its index, for qsort). */
struct canon {
    const struct route_seal_member *m;
    size_t index;
};
static int canon_cmp(const void *a, const void *b)
{
    const struct route_seal_member *x = ((const struct canon *)a)->m;
    const struct route_seal_member *y = ((const struct canon *)b)->m;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, m);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

int route_seal_check(int64_t from_ms, const struct route_seal_member *members, size_t n,
                     const char *log, size_t log_len, size_t seal_len, struct route_seal_check *out)
{
    memset(out, 0, sizeof(*out));
    out->member = -1;
    out->fixes = n;
    size_t ne;
    int broken;
    struct fp *e = log_set(log, log_len, seal_len, 0, &ne, &broken);
    struct fp *a = malloc((n ? n : 1) * sizeof(*a));
    struct canon *order = malloc((n ? n : 1) * sizeof(*order));
    unsigned char *post = calloc(n ? n : 1, 1); /* members matched only after the seal */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    if ((e == NULL && !broken) || a == NULL || order == NULL || post == NULL || md == NULL)
        goto done;
    out->recorded = ne;
    for (size_t i = 0; i < n; i++) {
        unsigned char h[32];
        if (sha256(members[i].text, members[i].len, h) != 0)
            goto done;
        /* The first 36 bits, as the fingerprint keeps them. */
        uint64_t hv = 0;
        for (int b = 0; b < 5; b++)
            hv = hv << 8 | h[b];
        hv >>= 4;
        a[i].off = members[i].score - from_ms;
        a[i].h = hv;
        a[i].index = (long)i;
        a[i].pre = 0;
    }
    qsort(a, n, sizeof(*a), fp_cmp);
    /* The first unmatched fingerprint and member, by time. */
    int64_t t_log = INT64_MAX, t_set = INT64_MAX;
    long m_set = -1;
    size_t i = 0, j = 0;
    while (i < ne || j < n) {
        int c = i == ne ? 1 : j == n ? -1 : fp_cmp(&e[i], &a[j]);
        if (c < 0) {
            out->unmatched_log++;
            if (e[i].off < t_log)
                t_log = e[i].off;
            i++;
        } else if (c > 0) {
            out->unmatched_set++;
            if (a[j].off < t_set) {
                t_set = a[j].off;
                m_set = a[j].index;
            }
            j++;
        } else {
            if (!e[i].pre)
                post[a[j].index] = 1;
            i++;
            j++;
        }
    }
    if (broken) {
        out->what = ROUTE_SEAL_LOG_BROKEN;
    } else if (t_log != INT64_MAX || t_set != INT64_MAX) {
        if (t_log == t_set) {
            out->what = ROUTE_SEAL_EDITED;
            out->member = m_set;
        } else if (t_log < t_set) {
            out->what = ROUTE_SEAL_REMOVED;
        } else {
            out->what = ROUTE_SEAL_INSERTED;
            out->member = m_set;
        }
        out->time_ms = from_ms + (t_log < t_set ? t_log : t_set);
    }
    for (size_t k = 0; k < ne; k++)
        if (!e[k].pre)
            out->late_after_seal++;
    /* The digest: every member but the late ones after the seal, in canonical order. */
    for (size_t k = 0; k < n; k++)
        order[k] = (struct canon){&members[k], k};
    qsort(order, n, sizeof(*order), canon_cmp);
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto done;
    for (size_t k = 0; k < n; k++) {
        const struct route_seal_member *m = order[k].m;
        if (post[order[k].index])
            continue;
        if (EVP_DigestUpdate(md, m->text, m->len) != 1 || EVP_DigestUpdate(md, "\n", 1) != 1)
            goto done;
        out->sealed_fixes++;
    }
    unsigned char h[32];
    unsigned int hl = 0;
    if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32)
        goto done;
    for (int b = 0; b < 32; b++)
        snprintf(out->digest + 2 * b, 3, "%02x", h[b]);
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    free(e);
    free(a);
    free(order);
    free(post);
    return rc;
}

int route_seal_late(const char *log, size_t log_len, size_t seal_len, size_t from, size_t *n,
                    int64_t *first_off, int64_t *last_off)
{
    *n = 0;
    *first_off = *last_off = 0;
    if (seal_len > log_len)
        return -1;
    size_t nb, nn;
    int broken;
    struct fp *before = log_set(log, seal_len, seal_len, 0, &nb, &broken);
    if (before == NULL)
        return -1;
    struct fp *after = log_set(log, log_len, seal_len, from, &nn, &broken);
    if (after == NULL) {
        free(before);
        return -1;
    }
    for (size_t k = 0; k < nn; k++) {
        if (bsearch(&after[k], before, nb, sizeof(*before), fp_cmp) != NULL)
            continue; /* the same fix again (a resend): it was sealed */
        if (*n == 0 || after[k].off < *first_off)
            *first_off = after[k].off;
        if (*n == 0 || after[k].off > *last_off)
            *last_off = after[k].off;
        (*n)++;
    }
    free(before);
    free(after);
    return 0;
}
