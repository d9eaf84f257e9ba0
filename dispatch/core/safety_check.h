/* safety_check.h -- the on-site safety check made with every cylinder handed over (随瓶安检,
 * docs/domain.md "The safety check with every cylinder"): the checklist, which items a customer
 * of each kind must have checked, and the verdict of a check. Pure: no I/O.
 *
 * Every item is answered pass, fail or not_applicable, with an optional note. The required
 * set depends on the customer's kind: every customer gets the household items; restaurants,
 * schools, hospitals, markets, elder-care homes and mixed-use premises (the crowded-venue
 * kinds) also get the business items. Items that may not apply (an emergency shut-off valve
 * "where required", a cylinder room only above 100 kg stored) accept not_applicable; the others
 * do not. An item outside the customer's required set may be answered too: it is recorded, and
 * its failure is recorded as a finding, but only a failed REQUIRED item is a hazard.
 *
 * A check is invalid (refused, nothing recorded) when an item key is unknown or repeated, a
 * required item is missing, a result is unknown, not_applicable is given where it is not
 * allowed, or the customer's confirmation is missing (a name, plus a signature reference or a
 * PIN of 4 to 8 digits). A valid check passes when no required item failed.
 */
#ifndef LPG_SAFETY_CHECK_H
#define LPG_SAFETY_CHECK_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>

enum check_result { CHECK_UNKNOWN, CHECK_PASS, CHECK_FAIL, CHECK_NOT_APPLICABLE };

struct checklist_item {
    const char *key;    /* wire and JSON name, e.g. "leak_test" */
    const char *text;   /* what is checked, for people */
    bool business_only; /* required only for the crowded-venue kinds */
    bool na_allowed;    /* may be answered not_applicable */
};

extern const struct checklist_item safety_checklist[];
extern const size_t safety_checklist_count;

#define SAFETY_CHECK_ITEMS_MAX 32  /* answers in one check */
#define SAFETY_CHECK_NOTE_MAX  255 /* bytes of one item's note */

struct check_answer {
    const char *key;
    enum check_result result;
    const char *note; /* may be NULL */
};

struct check_verdict {
    bool passed;
    size_t n_failed_required;
    /* The findings for the hazard ledger: "key: note; key; ..." (failed items, required first),
     * truncated to fit. */
    char findings[LPG_NOTES_MAX + 1];
};

/* Whether an item is required for a customer of this kind. */
bool safety_check_required(const struct checklist_item *it, enum lpg_customer_kind kind);
const struct checklist_item *safety_check_item(const char *key);
const char *check_result_name(enum check_result r);

/* Validates the answers and the confirmation and gives the verdict. Returns 0, or -1 with why[]
 * when the check is invalid. */
int safety_check_evaluate(enum lpg_customer_kind kind, const struct check_answer *answers, size_t n,
                          const char *customer_name, const char *signature_ref,
                          const char *customer_pin, struct check_verdict *out, char *why,
                          size_t cap);

#endif
