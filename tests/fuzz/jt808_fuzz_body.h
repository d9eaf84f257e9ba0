/* jt808_fuzz_body.h - the oracles that fuzz_jt808 (bodies of whole frames) and fuzz_jt808_msg
 * (bodies straight from the input) share: every body parser of dispatch/jt808/jt808_msg.c run
 * on the body, and what each hands out checked against its contract. */
#ifndef LPG_JT808_FUZZ_BODY_H
#define LPG_JT808_FUZZ_BODY_H

#include "jt808/jt808_msg.h"

#include <stdlib.h>
#include <string.h>

#define JT808_FUZZ_CHECK(c)                                                                        \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

/* A string field: NUL-terminated inside its array. */
#define JT808_FUZZ_STR(s) JT808_FUZZ_CHECK(memchr((s), '\0', sizeof(s)) != NULL)

/* The time rules: -1 or a real instant of 2000..2099 GMT+8. */
static inline void jt808_fuzz_time(const uint8_t *b6)
{
    int64_t ms;
    if (jt808_bcd_time_to_utc_ms(b6, &ms) == 0)
        JT808_FUZZ_CHECK(ms >= 946656000000LL && ms <= 4102415999000LL);
}

static inline void jt808_fuzz_location(const struct jt808_location *l, size_t len)
{
    JT808_FUZZ_CHECK(len >= JT808_LOCATION_BASE);
    JT808_FUZZ_CHECK(l->items <= (len - JT808_LOCATION_BASE) / 2);
    JT808_FUZZ_CHECK(l->items_bad <= l->items);
    JT808_FUZZ_CHECK(l->altitude_m >= -32768 && l->altitude_m <= 32767);
    JT808_FUZZ_CHECK(l->lat >= -4294.967295 && l->lat <= 4294.967295);
    JT808_FUZZ_CHECK(l->time_valid || l->time_ms == 0);
    JT808_FUZZ_CHECK(l->direction_bad == (l->direction > 359));
    JT808_FUZZ_CHECK((l->present & ~0x1Fu) == 0);
}

/* Every parser on body; each must stay inside it (ASan) and keep its contract. */
static inline void jt808_fuzz_body(const uint8_t *body, size_t len, int h2019)
{
    const char *why = NULL;
    struct jt808_location loc;
    int rc = jt808_location_parse(body, len, &loc, &why);
    JT808_FUZZ_CHECK((rc == 0) == (len >= JT808_LOCATION_BASE));
    if (rc == 0)
        jt808_fuzz_location(&loc, len);
    else
        JT808_FUZZ_CHECK(why != NULL);

    struct jt808_batch_iter it;
    if (jt808_batch_begin(body, len, &it, &why) == 0) {
        int r, bad;
        size_t n = 0;
        while ((r = jt808_batch_next(&it, &loc, &bad)) == 1) {
            n++;
            JT808_FUZZ_CHECK(n <= it.count && n <= len / 2);
        }
        JT808_FUZZ_CHECK(r == 0 || r == -1);
    } else {
        JT808_FUZZ_CHECK(len < 3);
    }

    struct jt808_register reg;
    if (jt808_register_parse(body, len, h2019, &reg, &why) == 0) {
        JT808_FUZZ_CHECK(len >= 25);
        JT808_FUZZ_STR(reg.maker);
        JT808_FUZZ_STR(reg.model);
        JT808_FUZZ_STR(reg.terminal_id);
        JT808_FUZZ_STR(reg.plate);
    }

    struct jt808_auth a;
    if (jt808_auth_parse(body, len, h2019, &a, &why) == 0) {
        JT808_FUZZ_CHECK(a.code_len >= 1 && a.code_len <= 128 && a.code_len <= len);
        JT808_FUZZ_CHECK(a.code[a.code_len] == '\0');
        JT808_FUZZ_STR(a.imei);
        JT808_FUZZ_STR(a.software);
    }

    struct jt808_driver d;
    if (jt808_driver_parse(body, len, h2019, &d, &why) == 0) {
        JT808_FUZZ_CHECK(d.status <= 2);
        JT808_FUZZ_CHECK(d.layout_2011 == (d.status == 0));
        JT808_FUZZ_STR(d.name);
        JT808_FUZZ_STR(d.certificate);
        JT808_FUZZ_STR(d.issuer);
        JT808_FUZZ_STR(d.id_card);
        JT808_FUZZ_CHECK(d.expiry_day >= -1);
    }

    struct jt808_reply rep;
    JT808_FUZZ_CHECK((jt808_reply_parse(body, len, &rep, &why) == 0) == (len >= 5));

    char u[48];
    int n = jt808_gbk_to_utf8(body, len, u, sizeof(u));
    JT808_FUZZ_CHECK(n < (int)sizeof(u));
    if (n >= 0)
        JT808_FUZZ_CHECK(u[n] == '\0');
    if (len >= 6)
        jt808_fuzz_time(body);
}

#endif
