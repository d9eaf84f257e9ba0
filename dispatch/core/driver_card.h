/* driver_card.h -- the driver's card judged against the person bound to the vehicle (issue 12
 * item 5; JT/T 808 0x0702, a handset login): pure, no I/O.
 *
 * A card signs its holder on as the vehicle's driver only when it was read, carries the
 * qualification certificate number (从业资格证号) of the person bound to the vehicle (人车对应),
 * compared ignoring spaces and ASCII case, and neither the card nor the person's qualification
 * has expired on the enterprise's local day (valid on the expiry day itself, as matching
 * reads every document: model.h). Anything else is refused with the first reason below.
 */
#ifndef LPG_DRIVER_CARD_H
#define LPG_DRIVER_CARD_H

#include "core/model.h"

#include <stdbool.h>
#include <stdint.h>

enum driver_card_verdict {
    DRIVER_CARD_OK,
    DRIVER_CARD_NOT_READ,              /* the terminal could not read the card */
    DRIVER_CARD_NO_CERTIFICATE,        /* read, but no certificate number on it */
    DRIVER_CARD_NO_PERSON,             /* no person is bound to the vehicle */
    DRIVER_CARD_MISMATCH,              /* another person's, or an unknown, certificate */
    DRIVER_CARD_QUALIFICATION_MISSING, /* the bound person has no certificate on record */
    DRIVER_CARD_CARD_EXPIRED,          /* the card's expiry day has passed */
    DRIVER_CARD_QUALIFICATION_EXPIRED, /* the person's qualification_expiry_day has passed */
    DRIVER_CARD_VERDICT_COUNT
};

/* Whether two certificate numbers are the same, ignoring spaces (ASCII space, tab, the
 * ideographic space U+3000) and ASCII case; other bytes compare exactly. Empty (or blank)
 * never matches anything. */
bool driver_cert_equal(const char *a, const char *b);

/* The verdict on a card (read_ok, certificate, card_expiry_day: LPG_DAY_NONE or < 0 when
 * unknown) for the vehicle's bound person (NULL when none) on local day `today`. */
enum driver_card_verdict driver_card_judge(bool read_ok, const char *certificate,
                                           int32_t card_expiry_day, const struct lpg_staff *bound,
                                           int32_t today);

/* Makes s (NUL-terminated, from a terminal) valid UTF-8 without control characters, in place:
 * every byte of an invalid or cut sequence, and every control character, becomes '?'. */
void driver_text_clean(char *s);

/* "certificate_mismatch", ... (alerts, audit) and a sentence for people. */
const char *driver_card_verdict_code(enum driver_card_verdict v);
const char *driver_card_verdict_text(enum driver_card_verdict v);

#endif
