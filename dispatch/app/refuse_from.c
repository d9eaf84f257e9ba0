/* refuse_from.c -- see refuse_from.h. */
#include "app/refuse_from.h"

#include "common/clock.h"
#include "core/model_json.h"
#include "store/store.h"

#include <string.h>

int refuse_denied(struct refusal *r, const struct auth_denial *why)
{
    return refuse(r, why->http_status == 401 ? REFUSAL_UNAUTHENTICATED : REFUSAL_FORBIDDEN,
                  why->code, NULL, "%s", why->message);
}

int refuse_store(struct refusal *r, const char *why)
{
    if (store_err_outcome_unknown(why)) /* sent, never confirmed: say so */
        return refuse(r, REFUSAL_OUTCOME_UNKNOWN, "store_outcome_unknown", NULL,
                      "%s: the change may or may not have been saved; read the resource again "
                      "before retrying",
                      why);
    return refuse(r, REFUSAL_UNAVAILABLE, "store_unavailable", NULL,
                  "%s; nothing was written, retry later", why);
}

int refuse_json(struct refusal *r, const struct lpg_json_error *err)
{
    const char *code = err->code ? err->code : "invalid_field";
    return refuse(r, strcmp(code, "internal") == 0 ? REFUSAL_INTERNAL : REFUSAL_INVALID, code,
                  err->field, "%s", err->message);
}

int refuse_unless_allowed(struct refusal *r, const struct auth_principal *p,
                          enum auth_action action, const char *enterprise_id)
{
    struct auth_denial why;
    if (auth_check(p, action, enterprise_id, lpg_now_ms(), &why) != 0)
        return refuse_denied(r, &why);
    return 0;
}

bool hidden_from(const struct auth_principal *p, const char *enterprise_id)
{
    return !auth_sees_enterprise(p, enterprise_id);
}
