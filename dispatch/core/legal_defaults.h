/* legal_defaults.h -- the one place of every default figure that is both a rule's default
 * (rules_config_default, fix_filter_config_default, delivery_policy_default) and a setting's
 * default (app/dispatchd_settings.c), so that the two can never disagree. Each is a plain
 * integer literal in the unit of its setting: the settings table turns it into its default text
 * with LPG_STR, the rules convert it to their own unit. tests/dispatch/test_config.c checks
 * that every setting's default equals the rules' default.
 *
 * "reg." marks a regulatory figure (docs/domain.md gives the source); the JT/T 808 terminal
 * parameter of the same meaning is named where there is one. The others are the project's
 * defaults, documented in docs/configuration.md.
 */
#ifndef LPG_LEGAL_DEFAULTS_H
#define LPG_LEGAL_DEFAULTS_H

#include <stdint.h>

/* The text of a macro's value: LPG_STR(LEGAL_ROAD_LIMIT_KMH) is "60". */
#define LPG_STR_(x) #x
#define LPG_STR(x)  LPG_STR_(x)

/* ---- speed (docs/domain.md "Driving: speeding and fatigue") ---- */
#define LEGAL_ROAD_LIMIT_KMH        60 /* reg.: dangerous goods, ordinary roads; 0x0055 */
#define LEGAL_EXPRESSWAY_LIMIT_KMH  80 /* reg.: dangerous goods, expressways; 0x0055 */
#define LEGAL_OVERSPEED_DURATION_S  10 /* sustained this long before it alerts; 0x0056 */
#define LEGAL_OVERSPEED_WARNING_KMH 5  /* warning this far below the limit; 0x005B */

/* ---- fatigue ---- */
#define LEGAL_CONTINUOUS_DRIVING_MAX_MIN 240 /* reg.: 4 h without a rest; 0x0057 */
#define LEGAL_FATIGUE_WARNING_MIN        15  /* warning this long before; 0x005C */
#define LEGAL_DAILY_DRIVING_MAX_MIN      480 /* 8 h per local calendar day; 0x0058 */
#define LEGAL_MIN_REST_MIN               20  /* reg.: a rest of at least 20 min; 0x0059 */
#define LEGAL_STOP_SPEED_KMH             5   /* below it the vehicle is stopped (also hand-over) */

/* ---- zone exit, signal lost ---- */
#define LEGAL_ZONE_EXIT_DURATION_S 60 /* outside the person's fixed zone this long */
#define LEGAL_SIGNAL_LOST_MIN      5  /* no fix this long while on an active delivery */

/* ---- fix filters ---- */
#define LEGAL_FIX_MAX_FUTURE_S          60  /* ahead of the server's clock: invalid */
#define LEGAL_FIX_MAX_IMPLIED_SPEED_KMH 250 /* a faster implied move is a position jump */
#define LEGAL_FIX_MAX_ACCURACY_M        100 /* a worse reported accuracy is filtered */

/* ---- cylinders and hand-over (docs/domain.md "Cylinders", "No selling during transport") --- */
#define LEGAL_INSPECTION_INTERVAL_YEARS 4   /* reg. default: periodic inspection */
#define LEGAL_DESIGN_LIFE_YEARS         8   /* reg. default: design service life */
#define LEGAL_MAX_LIFE_YEARS            12  /* reg.: never beyond, even after inspection */
#define LEGAL_HANDOVER_MAX_DISTANCE_M   100 /* from the customer's registered location */
#define LEGAL_HANDOVER_MAX_FIX_AGE_S    120 /* the vehicle's fix proving where it is */

/* ---- records (docs/domain.md "Location supervision") ---- */
/* reg.: monitoring data at least 6 months. Six calendar months are 181 to 184 days (Jul-Dec and
 * Mar-Aug are 184), so "at least 6 months" from any day is 184 days, not 183. */
#define LEGAL_ROUTE_RETENTION_MIN_DAYS 184

/* ---- safety checks (docs/domain.md "The safety check with every cylinder") ---- */
#define LEGAL_RECTIFICATION_DEADLINE_DAYS 7 /* deadline of a rectification notice */

/* Stopped speed in cm/s from km/h, truncated (5 km/h -> 138 cm/s): the hand-over's notion of
 * "stopped" is the tracking rules' stop speed in the handset's unit. */
#define LPG_KMH_TO_CM_S(kmh) ((int32_t)((kmh)*100000 / 3600))

#endif
