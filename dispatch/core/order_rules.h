/* order_rules.h -- may this order be created? The rules of docs/domain.md ("Customers",
 * "Cylinders") checked when a dispatcher creates an order, before it is stored or matched.
 * Pure: no I/O; reads the enterprise, the customer and the order, decides.
 *
 * The rules, in the order they are checked; the first that fails is reported, with its code
 * (stable, for programs), a message naming the specifics (for people) and the order's JSON field
 * it is about (NULL when none):
 *
 *   code                              field              refused when
 *   --------------------------------  -----------------  -----------------------------------------
 *   invalid_order_kind                kind               kind is neither delivery nor re-inspection
 *   too_many_items                    items              n_items outside 0..LPG_ORDER_ITEMS_MAX
 *   reinspection_with_items           items              a re-inspection order carries cylinders
 *   no_items                          items              a delivery order has no items
 *   invalid_item_count                items[i].count     count
 * outside 1..ORDER_RULES_ITEM_COUNT_MAX unknown_cylinder_spec             items[i].spec
 * lpg_cylinder_spec_find() does not know it duplicate_cylinder_spec           items[i].spec      a
 * spec listed twice (give one total count) invalid_window                    window_end negative
 * instants, or end before start window_in_past                    window_end         the window
 * ended at or before now enterprise_mismatch               enterprise_id      o->enterprise_id is
 * not e->id (caller bug) customer_mismatch                 customer_id        o->customer_id is not
 * c->id (caller bug) customer_not_in_enterprise        customer_id        the customer belongs to
 * another enterprise no_supply_contract                customer_id        the customer has no
 * contract_no supply_contract_not_in_force      customer_id        the local day of now is outside
 *                                                        contract_from_day..contract_to_day
 *   customer_suspended                customer_id        status is suspended (message: the reason)
 *   premises_underground              customer_id        premises flag underground
 *   premises_semi_underground         customer_id        premises flag semi-underground
 *   premises_high_rise_residential    customer_id        premises flag high-rise residential
 *   premises_high_rise_public         customer_id        premises flag high-rise public (§二(一)3:
 *                                                        高层民用建筑 is residential or public)
 *   two_phase_cylinder_to_restaurant  items[i].spec      a two-phase spec (YSP-118-II) for a
 *                                                        restaurant (§二(四)3)
 *   outside_service_area              customer_id        the customer's location is outside the
 *                                                        enterprise's supply area, its `area`
 *                                                        (or it has none) (§二(一)3)
 *
 * Re-inspection orders (LPG_ORDER_REINSPECTION) exist to lift a suspension: a visit whose passing
 * safety check ends it. So they skip customer_suspended and need no items; they may not carry
 * any either (cylinders for a customer still suspended would be supply under suspension; deliver
 * on a separate order once the check has passed). Every other rule applies to them.
 *
 * Supply contract: in force on local days contract_from_day..contract_to_day inclusive, the local
 * day of now_ms taken with the enterprise's utc_offset_min. LPG_DAY_NONE on either side means no
 * bound on that side (a contract without an end date is in force until it is ended).
 *
 * Delivery window: 0 means open on that side; both set requires start <= end.
 *
 * enterprise_licence_expired (field enterprise_id), checked after customer_not_in_enterprise:
 * the enterprise's licence_expiry_day is given and before the local day of now_ms.
 * reseller_unlicensed, reseller_licence_expired (field customer_id), checked after the supply
 * contract: a customer of kind reseller needs licence_no and licence_expiry_day, and the local
 * day of now_ms must not be after that day (§二(一)3).
 */
#ifndef LPG_ORDER_RULES_H
#define LPG_ORDER_RULES_H

#include "core/model.h"

#include <stddef.h>
#include <stdint.h>

/* Cylinders of one spec in one order. A sanity bound against typing mistakes (500 for 50);
 * whether a vehicle can carry them is matching's business (vehicle capacity). */
#define ORDER_RULES_ITEM_COUNT_MAX 50

#define ORDER_RULES_MESSAGE_MAX 767 /* bytes of a refusal message, without the NUL */

struct order_refusal {
    const char *code;  /* one of the codes above; static string */
    const char *field; /* JSON field of the order ("items[1].spec"), or NULL; static string */
    char message[ORDER_RULES_MESSAGE_MAX + 1];
};

/* Checks order o, for customer c of enterprise e, at now_ms (UTC ms). Returns 0 when the order
 * may be created, or -1 with *out filled (out is untouched on success). */
int order_rules_check(const struct lpg_enterprise *e, const struct lpg_customer *c,
                      const struct lpg_order *o, int64_t now_ms, struct order_refusal *out);

/* The refusal codes in check order, for docs and tests: codes[i] for i < count, then NULL. */
const char *order_rules_code(size_t i);

#endif
