/* expiring.h -- the documents that run out soon (issue 13 item 3): a staff member's
 * qualification or safety-training certificate, a vehicle's dangerous-goods transport permit, a
 * cylinder's periodic inspection, an enterprise's gas business licence. Pure: reads the
 * registry, decides, never writes; app/expiring.h raises the `expiring` alerts.
 *
 * A document whose last valid day is D (model.h: valid on D, invalid from D + 1; a cylinder's
 * inspection due day likewise, core/delivery_rules.h) is expiring on the local days D - days..D
 * of its enterprise. Missing documents and those run out already are not expiring (matching
 * names them as blockers, core/match.h). Scrapped and lost cylinders are not checked.
 */
#ifndef LPG_EXPIRING_H
#define LPG_EXPIRING_H

#include "core/delivery_rules.h"
#include "core/model.h"
#include "core/registry.h"

#include <stddef.h>
#include <stdint.h>

/* One expiring document; the strings point into the registry (valid during the callback). */
struct expiring_item {
    const char *kind;     /* the thing: "staff", "vehicle", "cylinder", "enterprise" */
    const char *document; /* "qualification", "training", "permit", "inspection", "licence" */
    const char *id;       /* the thing's id */
    const char *enterprise_id;
    const char *name;       /* the person's name, the plate, the spec, the enterprise's name */
    const char *number;     /* the document's number ("" for an inspection) */
    const char *staff_id;   /* the person concerned, "" when none */
    const char *vehicle_id; /* the vehicle concerned (a permit's, a person's, a cylinder's) */
    int32_t day;            /* its last valid day (local) */
    int32_t days_left;      /* day - today: 0..days */
};

typedef void expiring_fn(const struct expiring_item *it, void *arg);

/* Calls fn for each document of the registry expiring at now_ms within `days` days: enterprises,
 * then staff (qualification, training), vehicles, cylinders, each ordered by id. Returns how many.
 * O(enterprises + staff + vehicles + cylinders). */
size_t expiring_scan(const struct registry *reg, int64_t now_ms, int32_t days,
                     const struct delivery_policy *pol, expiring_fn *fn, void *arg);

/* The alert's message, e.g. "vehicle permit DG-1 of vehicle V1 (蒙E12345): last valid day
 * 2026-12-01, in 30 days", "periodic inspection of cylinder CY1 (YSP-35.5) falls due 2026-12-01,
 * today". */
void expiring_message(const struct expiring_item *it, char *out, size_t cap);

#endif
