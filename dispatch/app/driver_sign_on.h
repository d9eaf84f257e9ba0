/* driver_sign_on.h -- who drives a vehicle (issue 12 item 5): the driver's card a terminal
 * reads (JT/T 808 0x0702) and a handset login, transport-neutral. A transport calls these with
 * what it was told; it never decides.
 *
 * A card inserted and read whose qualification certificate number (从业资格证号) is that of the
 * person bound to the vehicle (人车对应; compared ignoring spaces and case), with neither the
 * card nor the person's qualification expired on the enterprise's local day, signs that person
 * on as the vehicle's driver (core/driver_card.h). Anything else -- another person's or an
 * unknown certificate, an expired one, a card not read -- raises a compliance alert (source
 * "driver_card", naming the vehicle, the card's name and certificate and why) and holds the
 * vehicle: matching skips its person, the waiting reason says "vehicle held: ...", until a
 * licensed person signs on (a valid card, or a handset login of the bound person). The card
 * removed signs its driver off: the vehicle falls back to the person signed on by a handset, if
 * any, else it is held until someone signs on.
 *
 * Recorded in the vehicle's record (lpg_vehicle.driver_id, driver_via, driver_since_ms,
 * handset_driver_id, driver_hold: read-only fields of GET /v1/vehicles/{id}), in the registry
 * once stored, with an audit entry (driver_signed_on, driver_signed_off; a refusal is audited
 * as its alert) in the same transaction. A report that changes nothing (a resent 0x0702, a
 * second handset login) writes nothing and raises nothing again.
 *
 * The person who drives carries the fatigue (ingest.h): the signed-on person, else the
 * vehicle's bound person.
 */
#ifndef LPG_DRIVER_SIGN_ON_H
#define LPG_DRIVER_SIGN_ON_H

#include "app/refusal.h"
#include "app/service.h"

#include <stdint.h>

struct driver_card {
    int inserted;         /* 1 card inserted and read; 0 card removed (sign-off) */
    int read_ok;          /* the terminal read the card (JT/T 808 read result 0) */
    int64_t time_ms;      /* when (UTC ms), 0 = now (so is a time a day off ours) */
    char name[64];        /* UTF-8 */
    char certificate[48]; /* qualification certificate number (从业资格证号) */
    int32_t expiry_day;   /* days since 1970-01-01 (local day), -1 unknown */
};

/* done(arg, r): r->kind REFUSAL_NONE when recorded (whatever the verdict), otherwise the store
 * failed (the transport does not acknowledge; the terminal resends), the service is loading
 * (REFUSAL_UNAVAILABLE "loading"), or the vehicle is not registered (REFUSAL_NOT_FOUND
 * "unknown_vehicle"). Called exactly once, possibly before return. */
typedef void driver_card_done_fn(void *arg, const struct refusal *r);

/* A card inserted or removed in vehicle_id, reported by device_id (the terminal: told of the
 * alert a refusal raises, EV_ALERT_RAISED; may be NULL). card is borrowed for the call. */
void driver_card_report(struct service *s, const char *vehicle_id, const char *device_id,
                        const struct driver_card *card, driver_card_done_fn *done, void *arg);

/* A handset login of staff_id at at_ms (UTC ms: when the transport accepted it; 0: now): the
 * person signs on to their bound vehicle (driver_via "handset"), which lifts a hold.
 * REFUSAL_NONE also when there is nothing to record (no vehicle bound, the vehicle bound to
 * someone else, already signed on); done may be NULL (nobody waits: a failure is logged).
 * Called exactly once, possibly before return.
 *
 * The time recorded (driver_since_ms, the audit entry, the person's drives index that
 * GET /v1/reports/driver-day reads) is at_ms, not the moment the writer gets to the job: the
 * job waits its turn behind other writes (under load, tenths of a second), and the driver's
 * day must start when the person logged in. It is put after the vehicle's last change of
 * driver (driver_since_ms; 1 ms after when at_ms is not), so the person's index stays in time
 * order. */
void driver_sign_on_person(struct service *s, const char *staff_id, int64_t at_ms,
                           driver_card_done_fn *done, void *arg);

/* The handset session of staff_id ended at at_ms (logout, connection closed; 0: now): the
 * person is no longer signed on by it (handset_driver_id cleared; driver_id too when it was
 * through the handset, audit driver_signed_off). The vehicle is not held for it: it is then
 * driven by its bound person, as before any sign-on. Times and answer as driver_sign_on_person. */
void driver_sign_off_person(struct service *s, const char *staff_id, int64_t at_ms,
                            driver_card_done_fn *done, void *arg);

#endif
