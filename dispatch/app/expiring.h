/* expiring.h -- `expiring` alerts (issue 13 item 3): expiry_alert_days (setting, default 30)
 * before a staff certificate, a vehicle permit, a cylinder's periodic inspection or an
 * enterprise's licence runs out (core/expiring.h decides which), an alert of source "expiring"
 * naming the thing and its last valid day (alerts.h; its JSON adds subject_kind, subject_id,
 * document, expires), stored, audited and published on the live feed like every alert.
 *
 * Once per (thing, document, last valid day): the key {p}expiring:{kind}:{id}:{document}:{day}
 * (store/keys.h) records that it was raised, in the alert's own transaction, so a restarted
 * service, or the next day's check, does not raise it again. A renewed document (another day)
 * is a new one.
 */
#ifndef LPG_APP_EXPIRING_H
#define LPG_APP_EXPIRING_H

#include "app/service.h"

/* Checks done and alerts raised, for /metrics (owned by the caller: the dispatcher). */
struct expiring_stats {
    unsigned long long checks, raised;
};

/* One check of the whole registry, now: the expiring documents (at most EXPIRING_CHECK_MAX
 * per check: the rest on the next one), then through the writer a chain of jobs, each reading
 * the raised-keys of up to EXPIRING_PER_TXN documents in one MGET and storing the alerts not
 * raised yet in one transaction; published once stored. stats->checks counts a chain that
 * ended (whatever it raised), stats->raised the alerts. Nothing when the service is not
 * loaded. stats must outlive the writer (its cancelled jobs still count nothing). */
#define EXPIRING_CHECK_MAX 10000
#define EXPIRING_PER_TXN   32
void expiring_check(struct service *d, struct expiring_stats *stats);

#endif
