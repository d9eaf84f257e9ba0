/* fleet.h -- the fleet board (issue 13 item 2, GET /v1/fleet): every vehicle of an enterprise
 * with where it is, whether it reports, who drives, what it carries, its current order and its
 * driver's mandatory rest. Built from memory only (the registry and ingest's vehicle table), no
 * store read: one page of 1,000 vehicles costs a walk of the registry's vehicles of the
 * enterprise, plus one walk of its orders when one of its people has an active order.
 *
 * Online: a batch of the vehicle's positions (any source) was stored within FLEET_ONLINE_S
 * seconds (server clock). A device whose session is open but that sends nothing is offline on
 * the board: the board is about whether the dispatcher sees the vehicle move.
 */
#ifndef LPG_FLEET_H
#define LPG_FLEET_H

#include "app/service.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_ONLINE_S 120

struct fleet_query {
    const char *enterprise_id; /* NULL: every enterprise (admins, auditors) */
    const char *after;         /* vehicle id to list after; NULL or "" from the start */
    size_t limit;              /* 1..1000 */
    int online;                /* -1 any, 0 offline only, 1 online only */
    /* NULL any; an order state name ("assigned", ...) for vehicles whose current order is in it;
     * "none" for vehicles without an open order. */
    const char *state;
    const char *q; /* NULL any; a substring of the vehicle's id or plate */
};

/* 0 when q's filters are well formed, else -1 with the parameter's name in *bad. */
int fleet_query_check(const struct fleet_query *q, const char **bad);

/* The page {"items":[...], "next_after": id|null} (docs/http-api.md "Fleet"), as of now_ms;
 * NULL when out of memory. */
json_t *fleet_list(struct service *d, const struct fleet_query *q, int64_t now_ms);

#endif
