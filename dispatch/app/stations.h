/* stations.h -- what the station records of its cylinders (docs/compliance.md): filled,
 * due_inspection, sent_for_inspection, inspected, scrapped, lost. Each event is allowed from
 * some statuses only (the state machine below the scans of delivery.h); it goes into the
 * cylinder's history and the audit log in the transaction that changes the cylinder. The
 * transports read the request (http_v1_compliance.c) and map the result.
 */
#ifndef LPG_STATIONS_H
#define LPG_STATIONS_H

#include "app/refusal.h"
#include "app/service.h"
#include "core/auth.h"
#include "core/model.h"

#include <stdbool.h>

struct station_event;

/* The event named `name`, or NULL when there is none. */
const struct station_event *station_event_find(const char *name);
/* The names of every event, for a message: "filled, due_inspection, ...". */
const char *station_event_names(void);
/* Whether ev is an inspection: it records the next inspection date (required) and may extend
 * the service life. */
bool station_event_is_inspection(const struct station_event *ev);

/* One event of a cylinder, recorded by a user of the API (checked for write access to the
 * cylinder's enterprise; another enterprise's cylinder is a missing one). */
struct station_request {
    const struct auth_principal *user;
    const char *cylinder_id;
    const struct station_event *event; /* station_event_find */
    const char *note;                  /* NULL or "": none */
    int32_t next_inspection_day;       /* inspection: required (LPG_DAY_NONE otherwise) */
    int32_t service_life_years;        /* inspection: a new service life; 0 = unchanged */
};

/* The outcome, borrowed for the callback: the cylinder as committed, or a refusal (nothing
 * written), or store_err (the store refused or lost the commit: its reason), or cancelled
 * (the service shut down before the job ran). */
struct station_result {
    const struct lpg_cylinder *cylinder;
    const struct refusal *refusal;
    const char *store_err;
    bool cancelled;
};

typedef void station_done_fn(void *arg, const struct station_result *res);

/* Queues the event. 0: done is called exactly once, later; -1 with *r filled (out of memory):
 * nothing queued, done not called. */
int stations_submit(struct service *s, const struct station_request *req, station_done_fn *done,
                    void *arg, struct refusal *r);

#endif
