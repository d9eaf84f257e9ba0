/* route_member.h -- the stored form of one fix in a vehicle's route history: the member of
 * the day sorted set {p}route:{vehicle}:{yyyymmdd} (store/keys.h keys_route_day), written by ingest
 * and read by the route export and the trips/summary endpoints. Pure: no I/O.
 *
 *   "seq:time_ms:lat_e7:lon_e7:speed_cm_s:heading_cdeg:accuracy_cm:mode:flags"
 *
 * Integers in decimal; '-' for an absent speed, heading or accuracy; flags bit 0: speed derived
 * from positions, bit 1: uploaded late.
 *
 * A fix from an in-vehicle terminal (lpg_vehicle_data, fix.h) has eight more fields, its vehicle
 * data; members without them (every other source, and every member stored before) still parse:
 *
 *   "...:flags:status:alarm:altitude_m:mileage_100m:fuel_dl:recorder_speed_dkmh:signal:satellites"
 *
 * status and alarm are the terminal's words in decimal; the other six are '-' when the terminal
 * did not send them (altitude may be negative). The same eight fields alone ("vehicle data
 * text", route_vd_format) are the latest-fix hash's field vehicle_data.
 */
#ifndef LPG_ROUTE_MEMBER_H
#define LPG_ROUTE_MEMBER_H

#include "core/fix.h"

#include <stddef.h>
#include <stdint.h>

#define ROUTE_MEMBER_MAX 256 /* bytes of a member, with the NUL */
#define ROUTE_VD_MAX     80  /* bytes of a vehicle data text, with the NUL */

#define ROUTE_FLAG_DERIVED 1
#define ROUTE_FLAG_LATE    2

struct route_fix {
    uint64_t seq;
    int64_t time_ms;        /* UTC ms */
    int64_t lat_e7, lon_e7; /* 1e-7 degrees */
    int has_speed, has_heading, has_acc;
    uint64_t speed_cm_s, heading_cdeg, accuracy_cm;
    int mode;                   /* Fix.Mode */
    int flags;                  /* ROUTE_FLAG_* */
    int has_vd;                 /* the fix came with vehicle data (the member's suffix) */
    struct lpg_vehicle_data vd; /* measures not in vd.present are 0 */
};

/* Writes the member (at most ROUTE_MEMBER_MAX bytes with the NUL); returns its length. */
int route_member_format(const struct route_fix *f, char *out, size_t cap);
/* Parses a member of len bytes; 0, or -1 when it is not in the stored format. */
int route_member_parse(const char *m, size_t len, struct route_fix *f);
/* The member's field syntax, for other stored integers (the latest-fix hash): a decimal
 * int64 / a decimal uint64 or '-' for absent. 0, or -1 when malformed. */
int route_parse_i64(const char *s, size_t len, int64_t *out);
int route_parse_opt(const char *s, size_t len, int *has, uint64_t *v);
/* The vehicle data text (ROUTE_VD_MAX bytes at most with the NUL); returns its length. Measures
 * not in vd->present are written '-' and present bits beyond LPG_VD_ALL dropped. */
int route_vd_format(const struct lpg_vehicle_data *vd, char *out, size_t cap);
/* Parses a vehicle data text of len bytes; 0, or -1 when malformed or out of range. */
int route_vd_parse(const char *s, size_t len, struct lpg_vehicle_data *vd);
/* The fix as the rules and the motion segmenter see it (mode 0, unknown, becomes 3D). */
void route_fix_to_lpg_fix(const struct route_fix *rf, struct lpg_fix *out);

#endif
