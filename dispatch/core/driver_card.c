/* driver_card.c -- the driver's card judged against the vehicle's bound person
 * (driver_card.h). */
#include "core/driver_card.h"

#include <string.h>

/* Length of the blank at s (0 when none): ASCII space/tab, or U+3000 (E3 80 80), which cards
 * and forms typed with a Chinese input method carry. */
static size_t blank_at(const char *s)
{
    if (*s == ' ' || *s == '\t')
        return 1;
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80)
        return 3;
    return 0;
}

static const char *skip_blanks(const char *s)
{
    for (size_t n; (n = blank_at(s)) != 0;)
        s += n;
    return s;
}

static char fold(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool driver_cert_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    a = skip_blanks(a);
    b = skip_blanks(b);
    if (*a == '\0' || *b == '\0')
        return false;
    while (*a && *b) {
        if (fold(*a) != fold(*b))
            return false;
        a = skip_blanks(a + 1);
        b = skip_blanks(b + 1);
    }
    return *a == '\0' && *b == '\0';
}

enum driver_card_verdict driver_card_judge(bool read_ok, const char *certificate,
                                           int32_t card_expiry_day, const struct lpg_staff *bound,
                                           int32_t today)
{
    if (!read_ok)
        return DRIVER_CARD_NOT_READ;
    if (certificate == NULL || *skip_blanks(certificate) == '\0')
        return DRIVER_CARD_NO_CERTIFICATE;
    if (bound == NULL)
        return DRIVER_CARD_NO_PERSON;
    if (*skip_blanks(bound->qualification_no) == '\0')
        return DRIVER_CARD_QUALIFICATION_MISSING;
    if (!driver_cert_equal(certificate, bound->qualification_no))
        return DRIVER_CARD_MISMATCH;
    /* Valid on the expiry day, invalid from the next local day (model.h). */
    if (card_expiry_day != LPG_DAY_NONE && card_expiry_day >= 0 && today > card_expiry_day)
        return DRIVER_CARD_CARD_EXPIRED;
    if (bound->qualification_expiry_day == LPG_DAY_NONE || today > bound->qualification_expiry_day)
        return DRIVER_CARD_QUALIFICATION_EXPIRED;
    return DRIVER_CARD_OK;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void driver_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

static const char *const codes[DRIVER_CARD_VERDICT_COUNT] = {
    [DRIVER_CARD_OK] = "ok",
    [DRIVER_CARD_NOT_READ] = "card_not_read",
    [DRIVER_CARD_NO_CERTIFICATE] = "no_certificate",
    [DRIVER_CARD_NO_PERSON] = "no_bound_person",
    [DRIVER_CARD_MISMATCH] = "certificate_mismatch",
    [DRIVER_CARD_QUALIFICATION_MISSING] = "qualification_missing",
    [DRIVER_CARD_CARD_EXPIRED] = "card_expired",
    [DRIVER_CARD_QUALIFICATION_EXPIRED] = "qualification_expired",
};

static const char *const texts[DRIVER_CARD_VERDICT_COUNT] = {
    [DRIVER_CARD_OK] = "licensed driver signed on",
    [DRIVER_CARD_NOT_READ] = "the terminal could not read the card",
    [DRIVER_CARD_NO_CERTIFICATE] = "the card carries no qualification certificate number",
    [DRIVER_CARD_NO_PERSON] = "no person is bound to the vehicle",
    [DRIVER_CARD_MISMATCH] = "the certificate is not the one of the person bound to the vehicle",
    [DRIVER_CARD_QUALIFICATION_MISSING] = "the bound person has no qualification certificate on "
                                          "record",
    [DRIVER_CARD_CARD_EXPIRED] = "the card's certificate has expired",
    [DRIVER_CARD_QUALIFICATION_EXPIRED] = "the bound person's qualification certificate has "
                                          "expired",
};

const char *driver_card_verdict_code(enum driver_card_verdict v)
{
    return (unsigned)v < DRIVER_CARD_VERDICT_COUNT ? codes[v] : "unknown";
}

const char *driver_card_verdict_text(enum driver_card_verdict v)
{
    return (unsigned)v < DRIVER_CARD_VERDICT_COUNT ? texts[v] : "unknown";
}
