/* jt808_term.h -- the terminal's side of JT/T 808 (2013 bodies): the message bodies a terminal
 * sends and the reading of what the platform answers. For the simulator (lpg-jt808-sim) and the
 * load benchmark (bench-jt808), never for dispatchd: the platform reads these bodies with its
 * own decoder, so a shared builder would hide a disagreement instead of testing it. Framing and
 * headers are dispatch/jt808/jt808_codec.h's.
 *
 * Builders write into out[0..cap) and return the length, or 0 when cap is too small or a field
 * does not fit its layout. All integers are big-endian; times are sent as BCD in GMT+8.
 */
#ifndef LPG_JT808_TERM_H
#define LPG_JT808_TERM_H

#include <stddef.h>
#include <stdint.h>

/* Terminal message ids. */
#define JT808T_GENERAL_REPLY 0x0001
#define JT808T_HEARTBEAT     0x0002
#define JT808T_REGISTER      0x0100
#define JT808T_AUTH          0x0102
#define JT808T_LOCATION      0x0200
#define JT808T_DRIVER        0x0702
#define JT808T_BATCH         0x0704
/* Platform message ids. */
#define JT808P_GENERAL_REPLY  0x8001
#define JT808P_REGISTER_REPLY 0x8100
#define JT808P_SET_PARAMS     0x8103

#define JT808T_LOCATION_BASE 28 /* alarm, status, lat, lon, altitude, speed, direction, time */
#define JT808T_LOCATION_MAX  (JT808T_LOCATION_BASE + 6 + 3 + 3) /* with items 0x01, 0x30, 0x31 */
#define JT808T_AUTH_CODE_MAX 64

/* A position as the terminal reports it. */
struct jt808t_fix {
    int64_t utc_s;     /* fix time, seconds since the epoch (UTC) */
    double lat, lon;   /* degrees; negative: south / west (status bits 2 and 3, magnitudes sent) */
    double alt_m;      /* metres; below sea level is sent as 0 (the WORD is unsigned) */
    double speed_kmh;  /* km/h, sent in 0.1 km/h */
    double course_deg; /* 0-359, 0 = north, clockwise */
    int fix_valid;     /* status bit 1 */
    int acc_on;        /* status bit 0 */
    uint32_t alarm;
    double mileage_km; /* item 0x01 (0.1 km); < 0: omitted */
    int signal;        /* item 0x30; < 0: omitted */
    int satellites;    /* item 0x31; < 0: omitted */
};

/* t (seconds since the epoch, UTC) as BCD YYMMDDhhmmss in GMT+8. */
void jt808t_bcd_time(uint8_t out[6], int64_t utc_s);

/* UTF-8 text as GBK (iconv), without a terminator. Returns the length, or -1 when it does not
 * convert or does not fit cap. */
int jt808t_gbk(const char *utf8, uint8_t *out, size_t cap);

/* 0x0200 body: the 28-byte base and the items the fix has. */
size_t jt808t_location(uint8_t *out, size_t cap, const struct jt808t_fix *f);

/* 0x0704 body: count WORD, type BYTE (0 normal, 1 blind-area backfill), then per item its
 * length WORD and a 0x0200 body. */
size_t jt808t_batch(uint8_t *out, size_t cap, int type, const struct jt808t_fix *fixes, size_t n);

/* 0x0100 body, 2013 layout. Text fields are UTF-8 (the plate is sent as GBK); maker (5), model
 * (20) and terminal id (7) are padded with 0x00 and refused when longer. */
struct jt808t_register {
    uint16_t province, city;
    const char *maker, *model, *terminal_id;
    uint8_t plate_colour; /* 1 blue, 2 yellow, 3 black, 4 white, 9 other; 0: plate is a VIN */
    const char *plate;
};
size_t jt808t_register_body(uint8_t *out, size_t cap, const struct jt808t_register *r);

/* 0x0102 body, 2013 layout: the code is the whole body (sent as the bytes given). */
size_t jt808t_auth(uint8_t *out, size_t cap, const char *code);

/* 0x0702 body, 2013 layout, a card inserted and read: status 1, time, result 0, name (GBK),
 * qualification certificate BYTE[20] (padded with 0x00), issuer (GBK), expiry YYYYMMDD. */
struct jt808t_driver {
    int64_t utc_s; /* when the card was inserted */
    const char *name, *certificate, *issuer;
    const char *expiry; /* "YYYYMMDD" */
};
size_t jt808t_driver_body(uint8_t *out, size_t cap, const struct jt808t_driver *d);

/* 0x0001 (terminal general reply) body: reply serial, replied id, result. */
size_t jt808t_general_reply(uint8_t *out, size_t cap, uint16_t serial, uint16_t msg_id,
                            uint8_t result);

/* ---- what the platform sends ---- */

/* 0x8001: reply serial WORD, replied message id WORD, result BYTE. 0, or -1 when short. */
struct jt808t_reply {
    uint16_t serial, msg_id;
    uint8_t result;
};
int jt808t_parse_general(const uint8_t *body, size_t len, struct jt808t_reply *r);

/* 0x8100: reply serial WORD, result BYTE, then (result 0) the code: copied into code
 * (NUL-terminated; refused when longer than cap - 1 or empty with result 0). */
int jt808t_parse_register_reply(const uint8_t *body, size_t len, uint16_t *serial, uint8_t *result,
                                char *code, size_t cap);

/* 0x8103: count BYTE then {id DWORD, length BYTE, value}. Calls each(id, value, len, arg) per
 * parameter. 0, or -1 when an item overruns the body (those before it were reported). */
int jt808t_parse_params(const uint8_t *body, size_t len,
                        void (*each)(uint32_t id, const uint8_t *value, uint8_t vlen, void *arg),
                        void *arg);

#endif
