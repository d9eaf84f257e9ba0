/* route_seal.h -- the pure part of sealed routes (docs/audit.md, "Sealed routes"): the fingerprint
 * of a stored fix, the digest of a vehicle's route day in its canonical order, and the comparison
 * of a day set with the fingerprints recorded as its fixes were stored. No I/O: app/route_seal.c
 * feeds it what store/route_seals.c read; tests feed it tampered days.
 *
 * A route day is a vehicle's LOCAL day: the calendar day `day` of its enterprise's time zone
 * (utc_offset_min east of UTC, core/model.h), i.e. the fixes whose time (the set's score, UTC ms)
 * is in [from_ms, to_ms) = [local midnight, next local midnight). It spans two of the UTC-day
 * sets route:{vehicle}:{yyyymmdd} (one when the offset is 0), which stay as they are.
 *
 * Fingerprint (ROUTE_FP_LEN characters, lower-case hex): 7 digits of the fix's time within its
 * route day (score - from_ms, ms) then the first 9 digits of SHA-256(member). Each position
 * batch appends the fingerprints of the fixes it stores to the day's log, in the batch's own
 * transaction (O(batch), no read: two sources of one vehicle may store concurrently). The log is
 * in arrival order; everything computed from it is over its SET of fingerprints (sorted,
 * duplicates of a resent fix merged), so arrival order never matters.
 *
 * Digest (the seal): lower-case hex SHA-256 over the day's members in canonical order -- score
 * (fix time) ascending, then member bytes ascending (memcmp, shorter first on a common prefix),
 * which is Redis' own order of a sorted set -- each member's bytes followed by one "\n". The two
 * UTC sets hold disjoint times, so by hand it is the earlier set's part then the later's:
 *   { redis-cli --raw ZRANGEBYSCORE route:V:{utc day 1} FROM_MS +inf;
 *     redis-cli --raw ZRANGEBYSCORE route:V:{utc day 2} -inf "(TO_MS"; } | sha256sum
 */
#ifndef LPG_ROUTE_SEAL_H
#define LPG_ROUTE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_FP_LEN         16 /* characters of one fingerprint */
#define ROUTE_FP_TIME_LEN    7  /* of which the time within the day */
#define ROUTE_DIGEST_HEX_LEN 64

/* A route day: local date `day` (days since 1970-01-01) of UTC offset utc_offset_min. */
struct route_seal_day {
    int32_t day;
    int32_t utc_offset_min;
    int64_t from_ms, to_ms; /* [local midnight, next local midnight), UTC ms */
};
/* The route day of local date `day` at offset utc_offset_min. */
void route_seal_day_of(int32_t day, int32_t utc_offset_min, struct route_seal_day *out);
/* The route day holding instant time_ms at offset utc_offset_min. */
void route_seal_day_at(int64_t time_ms, int32_t utc_offset_min, struct route_seal_day *out);

/* The day's tag in key names and pending entries: "yyyymmdd" (local date) followed, for an offset
 * other than 0, by the offset as "+hhmm" / "-hhmm" ("20261207+0800"). Offset 0 keeps the bare
 * date, so the keys written when seals were kept per UTC day are exactly the offset-0 days'. */
#define ROUTE_DAY_TAG_MAX 16
void route_seal_day_tag(const struct route_seal_day *rd, char out[ROUTE_DAY_TAG_MAX]);
/* The tag's day (the whole of s); 0, or -1 when s is not a tag. */
int route_seal_day_parse_tag(const char *s, struct route_seal_day *out);

/* The fingerprint of member (len bytes) scored time_ms, of the route day starting at from_ms,
 * into out (ROUTE_FP_LEN characters and a NUL). 0, or -1 when the time is not in the day or
 * OpenSSL fails. */
int route_seal_fingerprint(int64_t from_ms, int64_t time_ms, const char *member, size_t len,
                           char out[ROUTE_FP_LEN + 1]);

/* One member of a day set, as read (score = fix time, ms). */
struct route_seal_member {
    int64_t score;
    const char *text;
    size_t len;
};

enum route_seal_what {
    ROUTE_SEAL_SAME,      /* no difference */
    ROUTE_SEAL_EDITED,    /* a fix at a recorded time is not the one recorded */
    ROUTE_SEAL_REMOVED,   /* a recorded fix is not in the set */
    ROUTE_SEAL_INSERTED,  /* a fix in the set was never recorded */
    ROUTE_SEAL_LOG_BROKEN /* the log is not a sequence of fingerprints (it was edited) */
};
const char *route_seal_what_name(enum route_seal_what w);

/* What a day set is, held against its log. */
struct route_seal_check {
    size_t fixes;                          /* members of the set */
    size_t recorded;                       /* distinct fingerprints in the log */
    size_t sealed_fixes;                   /* members the digest covers */
    char digest[ROUTE_DIGEST_HEX_LEN + 1]; /* over those members, canonical order */
    size_t late_after_seal;                /* distinct fingerprints only after seal_len */
    size_t unmatched_set, unmatched_log;   /* members / fingerprints without a partner */
    enum route_seal_what what;             /* the first difference (earliest time) */
    int64_t time_ms;                       /* its time (UTC ms) */
    long member;                           /* its index in the members given, or -1 */
};

/* Compares the members of the route day starting at from_ms (any order) with the day's log (log_len
 * bytes). The log's first seal_len bytes were stored before the day was sealed (seal_len = log_len
 * when it is not sealed, or when sealing now): members matched only by fingerprints after them are
 * late fixes stored after the seal, counted in late_after_seal and left out of the digest; every
 * other member is in it. 0, or -1 when out of memory or OpenSSL fails. */
int route_seal_check(int64_t from_ms, const struct route_seal_member *members, size_t n,
                     const char *log, size_t log_len, size_t seal_len,
                     struct route_seal_check *out);

/* The distinct fingerprints of log bytes [from, log_len) that are not in [0, seal_len): the late
 * fixes recorded since `from`, their number in *n and their earliest and latest times (ms within
 * the day) in *first_off / *last_off. 0, or -1 when out of memory or the log is malformed. */
int route_seal_late(const char *log, size_t log_len, size_t seal_len, size_t from, size_t *n,
                    int64_t *first_off, int64_t *last_off);

#endif
