/* refuse_from.h -- the refusals (app/refusal.h) that the use cases make out of their modules'
 * own forms of "no": an access denial (core/auth.h), a store that refused or lost a write
 * (store/store.h), a malformed entity (core/model_json.h). One place for each, so that every
 * use case words the same failure with the same code and message.
 */
#ifndef LPG_REFUSE_FROM_H
#define LPG_REFUSE_FROM_H

#include "app/refusal.h"
#include "core/auth.h"

#include <stdbool.h>
struct lpg_json_error;

/* An access denial: its 401 kinds UNAUTHENTICATED, its 403 kinds FORBIDDEN; code and message
 * as auth_check() gave them. Returns -1. */
int refuse_denied(struct refusal *r, const struct auth_denial *why);

/* A write the store did not confirm (why: writer_commit's reason or the reply callback's err):
 * OUTCOME_UNKNOWN "store_outcome_unknown" when it was sent and never answered, else
 * UNAVAILABLE "store_unavailable" (nothing was written). Returns -1. */
int refuse_store(struct refusal *r, const char *why);

/* A validation error of the model (malformed input): INTERNAL for "internal" (out of memory),
 * else INVALID; a NULL code is "invalid_field". Returns -1. */
int refuse_json(struct refusal *r, const struct lpg_json_error *err);

/* auth_check() at the current time as a refusal: 0 when p may do action on a resource of
 * enterprise_id (NULL: unscoped), else -1 with *r. */
int refuse_unless_allowed(struct refusal *r, const struct auth_principal *p,
                          enum auth_action action, const char *enterprise_id);

/* Whether p (a dispatcher, or an auditor limited to a jurisdiction) must not learn that an
 * entity of `enterprise_id` exists (auth_sees_enterprise): such an entity is answered exactly
 * like a missing one. */
bool hidden_from(const struct auth_principal *p, const char *enterprise_id);

#endif
