/* jt808_msg.h -- the JT/T 808 message bodies we read and write, pure: no I/O, no allocation
 * (iconv for GBK, which is glibc's). The header and the framing are jt808_codec.h; subpackages
 * are put back together by jt808_reasm.h before a body gets here.
 *
 * Every parser is bounded by the body's length and never reads past it; what the standard says
 * is refused with -1 and a reason in *why, what real terminals are known to send is tolerated
 * and, where it matters, flagged (docs/jt808.md, "Message bodies", says which is which).
 * Times on the wire are GMT+8 BCD; everything we hand out is UTC milliseconds. */
#ifndef LPG_JT808_MSG_H
#define LPG_JT808_MSG_H

#include <stddef.h>
#include <stdint.h>

#define JT808_MSG_TERMINAL_REPLY       0x0001
#define JT808_MSG_HEARTBEAT            0x0002
#define JT808_MSG_LOGOUT               0x0003
#define JT808_MSG_REGISTER             0x0100
#define JT808_MSG_AUTH                 0x0102
#define JT808_MSG_PARAM_REPLY          0x0104
#define JT808_MSG_LOCATION             0x0200
#define JT808_MSG_LOCATION_QUERY_REPLY 0x0201
#define JT808_MSG_DRIVER               0x0702
#define JT808_MSG_BATCH                0x0704
#define JT808_MSG_PLATFORM_REPLY       0x8001
#define JT808_MSG_RESEND_REQUEST       0x8003
#define JT808_MSG_REGISTER_REPLY       0x8100
#define JT808_MSG_SET_PARAMS           0x8103

/* Result of 0x0001 / 0x8001. */
enum {
    JT808_RESULT_OK = 0,
    JT808_RESULT_FAILURE = 1,
    JT808_RESULT_BAD_MESSAGE = 2,
    JT808_RESULT_UNSUPPORTED = 3,
    JT808_RESULT_ALARM_CONFIRMED = 4, /* 0x8001 only */
};

/* Result of 0x8100. */
enum {
    JT808_REG_OK = 0,
    JT808_REG_VEHICLE_TAKEN = 1,
    JT808_REG_VEHICLE_UNKNOWN = 2,
    JT808_REG_TERMINAL_TAKEN = 3,
    JT808_REG_TERMINAL_UNKNOWN = 4,
};

/* Status bits of 0x0200. */
#define JT808_STATUS_ACC            (1u << 0)
#define JT808_STATUS_FIXED          (1u << 1) /* 0: no fix; the report is kept, marked invalid */
#define JT808_STATUS_SOUTH          (1u << 2)
#define JT808_STATUS_WEST           (1u << 3)
#define JT808_STATUS_OUT_OF_SERVICE (1u << 4)
#define JT808_STATUS_ENCRYPTED      (1u << 5) /* coordinates encrypted */
#define JT808_STATUS_COLLISION_WARN (1u << 6) /* 2019 */
#define JT808_STATUS_LANE_DEPARTURE (1u << 7) /* 2019 */
#define JT808_STATUS_LOAD_MASK      (3u << 8) /* 00 empty, 01 half, 11 full */
#define JT808_STATUS_LOAD_HALF      (1u << 8)
#define JT808_STATUS_LOAD_FULL      (3u << 8)
#define JT808_STATUS_FUEL_CUT       (1u << 10)
#define JT808_STATUS_CIRCUIT_CUT    (1u << 11)
#define JT808_STATUS_DOORS_LOCKED   (1u << 12)
#define JT808_STATUS_DOOR1_OPEN     (1u << 13)
#define JT808_STATUS_DOOR2_OPEN     (1u << 14)
#define JT808_STATUS_DOOR3_OPEN     (1u << 15)
#define JT808_STATUS_DOOR4_OPEN     (1u << 16)
#define JT808_STATUS_DOOR5_OPEN     (1u << 17)
#define JT808_STATUS_GPS            (1u << 18)
#define JT808_STATUS_BEIDOU         (1u << 19)
#define JT808_STATUS_GLONASS        (1u << 20)
#define JT808_STATUS_GALILEO        (1u << 21)
#define JT808_STATUS_MOVING         (1u << 22) /* 2019 */

/* Alarm bits of 0x0200. */
#define JT808_ALARM_SOS                  (1u << 0)
#define JT808_ALARM_OVERSPEED            (1u << 1)
#define JT808_ALARM_FATIGUE              (1u << 2)
#define JT808_ALARM_DANGER               (1u << 3)
#define JT808_ALARM_GNSS_FAULT           (1u << 4)
#define JT808_ALARM_ANTENNA_OPEN         (1u << 5)
#define JT808_ALARM_ANTENNA_SHORT        (1u << 6)
#define JT808_ALARM_POWER_LOW            (1u << 7)
#define JT808_ALARM_POWER_OFF            (1u << 8)
#define JT808_ALARM_DISPLAY_FAULT        (1u << 9)
#define JT808_ALARM_TTS_FAULT            (1u << 10)
#define JT808_ALARM_CAMERA_FAULT         (1u << 11)
#define JT808_ALARM_IC_CARD_FAULT        (1u << 12)
#define JT808_ALARM_OVERSPEED_WARNING    (1u << 13)
#define JT808_ALARM_FATIGUE_WARNING      (1u << 14)
#define JT808_ALARM_VIOLATION            (1u << 15) /* 2019; reserved in 2013 */
#define JT808_ALARM_TYRE_PRESSURE        (1u << 16) /* 2019; reserved in 2013 */
#define JT808_ALARM_BLIND_SPOT           (1u << 17) /* 2019; reserved in 2013 */
#define JT808_ALARM_DAILY_DRIVING        (1u << 18)
#define JT808_ALARM_PARKING              (1u << 19)
#define JT808_ALARM_AREA                 (1u << 20)
#define JT808_ALARM_ROUTE                (1u << 21)
#define JT808_ALARM_ROUTE_TIME           (1u << 22)
#define JT808_ALARM_ROUTE_DEVIATION      (1u << 23)
#define JT808_ALARM_VSS_FAULT            (1u << 24)
#define JT808_ALARM_FUEL_ABNORMAL        (1u << 25)
#define JT808_ALARM_STOLEN               (1u << 26)
#define JT808_ALARM_ILLEGAL_IGNITION     (1u << 27)
#define JT808_ALARM_ILLEGAL_DISPLACEMENT (1u << 28)
#define JT808_ALARM_COLLISION            (1u << 29)
#define JT808_ALARM_ROLLOVER             (1u << 30)
#define JT808_ALARM_DOOR                 (1u << 31) /* illegal door opening */

/* ---- 0x0200 location ---- */

enum jt808_loc_present {
    JT808_LOC_MILEAGE = 1u << 0,
    JT808_LOC_FUEL = 1u << 1,
    JT808_LOC_RECORDER_SPEED = 1u << 2,
    JT808_LOC_SIGNAL = 1u << 3,
    JT808_LOC_SATELLITES = 1u << 4,
};

#define JT808_LOCATION_BASE 28 /* alarm, status, lat, lon, altitude, speed, direction, time */

struct jt808_location {
    uint32_t alarm, status;
    double lat, lon;    /* signed degrees: hemisphere from status bits 2/3 (never from the value) */
    int32_t altitude_m; /* WORD; values above 32767 are read as negative (below sea level) */
    double speed_kmh;   /* WORD 0.1 km/h */
    uint16_t direction; /* 0..359 as sent (out-of-range kept, flagged in direction_bad) */
    int64_t time_ms;    /* UTC ms since epoch from the GMT+8 BCD YYMMDDhhmmss; 0 when !time_valid */
    int time_valid;     /* BCD digits valid and a real calendar time (year 2000..2099) */
    uint32_t present;   /* jt808_loc_present bits */
    uint32_t mileage_100m;        /* 0x01 DWORD 0.1 km */
    uint16_t fuel_dl;             /* 0x02 WORD 0.1 L */
    uint16_t recorder_speed_dkmh; /* 0x03 WORD 0.1 km/h */
    uint8_t signal;               /* 0x30 */
    uint8_t satellites;           /* 0x31 */
    uint16_t items;               /* additional items read (whole items, every id) */
    uint16_t items_bad;           /* known ids with a wrong length (skipped by their length byte) */
    int tail_overrun;  /* the last item's length ran past the body: the items stop there */
    int direction_bad; /* direction above 359 */
};

/* 0 when the 28-byte base was read (the items are best effort, bounded by the body; a bad item
 * never discards the base); -1 with *why when len < 28. */
int jt808_location_parse(const uint8_t *body, size_t len, struct jt808_location *out,
                         const char **why);

/* ---- 0x0704 batch: count WORD, type BYTE (0 normal, 1 blind-area backfill), then items
 * {length WORD, 0x0200 body} ---- */

struct jt808_batch_iter {
    const uint8_t *p;
    size_t left;
    uint16_t count, index;
    uint8_t type; /* as sent: 0 normal, 1 backfill */
};

/* -1 with *why when the body is shorter than 3 bytes. */
int jt808_batch_begin(const uint8_t *body, size_t len, struct jt808_batch_iter *it,
                      const char **why);

/* 1 with *loc filled and *item_bad = 0, or with *item_bad = 1 when the item is shorter than the
 * 28-byte base (skip it and go on); 0 at the end (count reached or body exhausted); -1 when an
 * item's length overruns the body (stop: the items before it stay valid). */
int jt808_batch_next(struct jt808_batch_iter *it, struct jt808_location *loc, int *item_bad);

/* ---- 0x0100 register ---- */

/* The edition by body length and header edition (2011: model 8 bytes; 2013: 20; 2019: maker 11,
 * model 30, terminal id 30). Strings: leading and trailing NULs and ASCII '0' left padding
 * stripped, bytes outside printable ASCII replaced by '?'; the plate converted GBK -> UTF-8. */
struct jt808_register {
    uint16_t province, city;
    char maker[32], model[32], terminal_id[32];
    uint8_t plate_color; /* 0: plate holds the VIN */
    char plate[64];      /* UTF-8, NUL-terminated */
    int edition_2011;
    int edition_2019; /* the 2019 layout was read */
};

int jt808_register_parse(const uint8_t *body, size_t len, int header_2019,
                         struct jt808_register *out, const char **why);

/* ---- 0x0102 authenticate ---- */

/* 2011/2013: the whole body is the code; 2019: length BYTE, code, IMEI[15], software[20]. The
 * layout is decided by length (a 2019 header with a 2013 body and the reverse are read). code
 * holds the raw bytes (code_len of them, compare those) and a NUL after them. */
struct jt808_auth {
    char code[129];
    size_t code_len;
    char imei[16];
    char software[21];
    int edition_2019; /* the 2019 layout was read */
};

int jt808_auth_parse(const uint8_t *body, size_t len, int header_2019, struct jt808_auth *out,
                     const char **why);

/* ---- 0x0702 driver identity (2011 / 2013 / 2019 layouts) ---- */

struct jt808_driver {
    uint8_t status; /* 1 inserted (on duty), 2 removed; 0 for 2011 (no status) */
    int64_t time_ms;
    int time_valid;
    uint8_t read_result; /* 0 ok, 1 key auth failed, 2 locked, 3 pulled, 4 checksum */
    char name[64];       /* UTF-8 (GBK on the wire) */
    char certificate[48];
    char issuer[64];    /* UTF-8 (GBK on the wire) */
    int32_t expiry_day; /* days since 1970-01-01 of YYYYMMDD, -1 when absent/invalid */
    char id_card[24];
    int layout_2011;
    int text_bad; /* a name or issuer that is not GBK or does not fit: left empty */
};

int jt808_driver_parse(const uint8_t *body, size_t len, int header_2019, struct jt808_driver *out,
                       const char **why);

/* ---- 0x0001 terminal general reply ---- */

struct jt808_reply {
    uint16_t serial, msg_id;
    uint8_t result;
};

int jt808_reply_parse(const uint8_t *body, size_t len, struct jt808_reply *out, const char **why);

/* ---- builders: write the BODY into out (cap), return its length or 0 when it does not fit ---- */

size_t jt808_build_platform_reply(uint16_t serial, uint16_t msg_id, uint8_t result, uint8_t *out,
                                  size_t cap); /* 0x8001 */
/* 0x8100: the code only when result is 0 (and then it must not be empty) */
size_t jt808_build_register_reply(uint16_t serial, uint8_t result, const char *code, uint8_t *out,
                                  size_t cap);

struct jt808_param {
    uint32_t id;
    uint8_t len; /* 1, 2 or 4 */
    uint32_t value;
};

/* 0x8103: count BYTE then {id DWORD, len BYTE, value}; 0 for n == 0, n > 255 or a len not 1/2/4 */
size_t jt808_build_set_params(const struct jt808_param *p, size_t n, uint8_t *out, size_t cap);

/* 0x8003: first serial WORD, count (BYTE in 2013, WORD in 2019), indices WORD each */
size_t jt808_build_resend_request(uint16_t first_serial, const uint16_t *indices, size_t n,
                                  int edition_2019, uint8_t *out, size_t cap);

/* ---- helpers ---- */

/* GBK -> UTF-8 into out (NUL-terminated); returns the UTF-8 length, -1 when the input is not GBK
 * or does not fit. Pure ASCII is copied without iconv. */
int jt808_gbk_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap);

/* BCD YYMMDDhhmmss in GMT+8 -> UTC ms since the epoch; -1 when a digit is not BCD or the time
 * is not a real calendar time of 2000..2099. */
int jt808_bcd_time_to_utc_ms(const uint8_t bcd[6], int64_t *ms);

#endif
