/* safety_check.c -- the checklist and the verdict of a safety check (safety_check.h). Pure. */
#include "core/safety_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* docs/domain.md, "The safety check with every cylinder", item by item. */
const struct checklist_item safety_checklist[] = {
    {"leak_test",
     "leak test at valve, regulator and hose joints (soapy water or detector, never "
     "a flame)",
     false, false},
    {"hose_gas_specific", "hose is gas-specific", false, false},
    {"hose_length", "hose at most 2 m long", false, false},
    {"hose_no_joints", "hose without joints or tee (三通)", false, false},
    {"hose_not_through_structure", "hose not through a wall, door, window, ceiling or floor", false,
     false},
    {"regulator_non_adjustable", "regulator of the non-adjustable type", false, false},
    {"regulator_service_life", "regulator within its service life", false, false},
    {"premises_not_underground", "premises not underground or semi-underground", false, false},
    {"premises_not_high_rise", "premises not in a high-rise building (residential or public)",
     false, false},
    {"ventilation", "room ventilated", false, false},
    {"cylinder_placement", "cylinder upright and at least 0.5 m from the stove", false, false},
    {"no_second_gas_source", "no second gas source in the room", false, false},
    {"stove_flame_failure", "stove with flame-failure protection", false, false},
    {"gas_detector", "combustible-gas detector present and working", true, false},
    {"emergency_shutoff", "emergency shut-off valve where required", true, true},
    {"cylinder_room", "stored LPG over 100 kg only in a dedicated cylinder room", true, true},
    {"cylinders_apart", "in-use and standby cylinders kept apart", true, true},
};
const size_t safety_checklist_count = sizeof(safety_checklist) / sizeof(safety_checklist[0]);

_Static_assert(sizeof(safety_checklist) / sizeof(safety_checklist[0]) <= SAFETY_CHECK_ITEMS_MAX,
               "a complete check fits in one message");

static const char *const result_names[] = {"unknown", "pass", "fail", "not_applicable"};

const char *check_result_name(enum check_result r)
{
    return (unsigned)r < 4 ? result_names[r] : "unknown";
}

bool safety_check_required(const struct checklist_item *it, enum lpg_customer_kind kind)
{
    return !it->business_only || kind != LPG_CUSTOMER_HOUSEHOLD;
}

const struct checklist_item *safety_check_item(const char *key)
{
    for (size_t i = 0; key != NULL && i < safety_checklist_count; i++)
        if (strcmp(safety_checklist[i].key, key) == 0)
            return &safety_checklist[i];
    return NULL;
}

__attribute__((format(printf, 3, 4))) static int invalid(char *why, size_t cap, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static bool pin_valid(const char *pin)
{
    size_t n = strlen(pin);
    if (n < 4 || n > 8)
        return false;
    for (size_t i = 0; i < n; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return false;
    return true;
}

/* Appends "key" or "key: note" to the findings, separated by "; ", truncating at the cap. */
static void add_finding(struct check_verdict *v, const struct check_answer *a)
{
    size_t len = strlen(v->findings);
    snprintf(v->findings + len, sizeof(v->findings) - len, "%s%s%s%s", len ? "; " : "", a->key,
             a->note && a->note[0] ? ": " : "", a->note ? a->note : "");
}

int safety_check_evaluate(enum lpg_customer_kind kind, const struct check_answer *answers, size_t n,
                          const char *customer_name, const char *signature_ref,
                          const char *customer_pin, struct check_verdict *out, char *why,
                          size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (n > SAFETY_CHECK_ITEMS_MAX)
        return invalid(why, cap, "%zu items; at most %d", n, SAFETY_CHECK_ITEMS_MAX);
    bool seen[SAFETY_CHECK_ITEMS_MAX] = {false};
    for (size_t i = 0; i < n; i++) {
        const struct checklist_item *it = safety_check_item(answers[i].key);
        if (it == NULL)
            return invalid(why, cap, "unknown checklist item \"%.40s\"",
                           answers[i].key ? answers[i].key : "");
        size_t k = (size_t)(it - safety_checklist);
        if (seen[k])
            return invalid(why, cap, "item %s answered twice", it->key);
        seen[k] = true;
        if (answers[i].result != CHECK_PASS && answers[i].result != CHECK_FAIL &&
            answers[i].result != CHECK_NOT_APPLICABLE)
            return invalid(why, cap, "item %s has no result (pass, fail or not_applicable)",
                           it->key);
        if (answers[i].result == CHECK_NOT_APPLICABLE && !it->na_allowed)
            return invalid(why, cap, "item %s always applies; answer pass or fail", it->key);
        if (answers[i].note && strlen(answers[i].note) > SAFETY_CHECK_NOTE_MAX)
            return invalid(why, cap, "the note of item %s is longer than %d bytes", it->key,
                           SAFETY_CHECK_NOTE_MAX);
    }
    for (size_t k = 0; k < safety_checklist_count; k++)
        if (!seen[k] && safety_check_required(&safety_checklist[k], kind))
            return invalid(why, cap, "required item %s is missing (customer kind %s)",
                           safety_checklist[k].key, lpg_customer_kind_name(kind));
    if (customer_name == NULL || customer_name[0] == '\0')
        return invalid(why, cap, "the customer's confirmation needs their name");
    bool has_sig = signature_ref && signature_ref[0];
    bool has_pin = customer_pin && customer_pin[0];
    if (!has_sig && !has_pin)
        return invalid(why, cap, "the customer's confirmation needs a signature or a PIN");
    if (has_pin && !pin_valid(customer_pin))
        return invalid(why, cap, "the customer's PIN must be 4 to 8 digits");
    /* Required failures first in the findings: they are the hazard. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const struct checklist_item *it = safety_check_item(answers[i].key);
            bool req = safety_check_required(it, kind);
            if (answers[i].result != CHECK_FAIL || req != (pass == 0))
                continue;
            if (req)
                out->n_failed_required++;
            add_finding(out, &answers[i]);
        }
    out->passed = out->n_failed_required == 0;
    return 0;
}
