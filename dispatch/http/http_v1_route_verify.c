/* http_v1_route_verify.c -- GET /v1/vehicles/{id}/route/verify?date=YYYY-MM-DD (issue 14 item 1):
 * a vehicle's route day (date: its enterprise's local day, like every date= parameter) held
 * against the fingerprints recorded as it was stored, its seal and the seal's audit entry
 * (app/route_seal.h; docs/audit.md, "Sealed routes"; docs/tracking-api.md, "Verifying a day").
 * Read access to the vehicle, like the route itself. */
#include "app/route_seal.h"
#include "core/model.h"
#include "core/model_json.h"
#include "http/http_ctx.h"
#include "http/http_server.h"
#include "http/http_v1.h"
#include "store/reads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/http.h>
#include <jansson.h>

struct verify_call {
    struct http_call *call;
    char vehicle[LPG_ID_MAX + 1];
    char date[11];
};

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* The refusals of a day that could not be verified: out of memory, too many at once (503 busy,
 * Retry-After 1, like a login whose queue is full), or the store. */
static void reply_unverified(struct http_call *call, const char *why)
{
    char msg[200];
    if (why == STORE_READ_NOMEM) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    } else if (why == ROUTE_SEAL_BUSY) {
        evhttp_add_header(evhttp_request_get_output_headers(http_call_request(call)), "Retry-After",
                          "1");
        http_reply_error(call, 503, "busy",
                         "too many route days are being verified at once; retry in a second", NULL);
    } else {
        snprintf(msg, sizeof(msg), "cannot read the route day: %s; retry later", why);
        http_reply_error(call, 503, "store_unavailable", msg, NULL);
    }
}

static void on_verdict(void *arg, const struct route_seal_verdict *v, const char *err)
{
    struct verify_call *vc = arg;
    struct http_call *call = vc->call;
    if (err) {
        reply_unverified(call, err);
        free(vc);
        return;
    }
    json_t *diff = json_null();
    if (!v->ok) {
        char when[LPG_JSON_INSTANT_LEN + 1];
        if (v->has_time)
            lpg_json_instant_format(v->time_ms, when);
        diff = json_pack("{s:s, s:o, s:o, s:o, s:s}", "what", v->what, "time",
                         v->has_time ? json_string(when) : json_null(), "seq",
                         v->has_seq ? json_integer((json_int_t)v->seq) : json_null(), "member",
                         str_or_null(v->member), "detail", v->detail);
    }
    char from[LPG_JSON_INSTANT_LEN + 1], to[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(v->day.from_ms, from);
    lpg_json_instant_format(v->day.to_ms, to);
    json_t *body = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:b, s:I, s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:b, s:o}",
        "vehicle_id", vc->vehicle, "date", vc->date, "utc_offset_min", (int)v->day.utc_offset_min,
        "from", from, "to", to, "sealed", v->sealed, "fixes", (json_int_t)v->fixes, "recorded",
        (json_int_t)v->recorded, "digest", v->digest, "digest_fixes", (json_int_t)v->digest_fixes,
        "late_after_seal", (json_int_t)v->late_after_seal, "sealed_digest",
        str_or_null(v->sealed_digest), "sealed_fixes",
        v->sealed_fixes >= 0 ? json_integer((json_int_t)v->sealed_fixes) : json_null(), "seal_seq",
        v->seal_seq > 0 ? json_integer((json_int_t)v->seal_seq) : json_null(), "ok", v->ok,
        "first_difference", diff);
    if (body == NULL)
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    else
        http_reply_json(call, 200, body);
    free(vc);
}

void v1_handle_route_verify(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_vehicle *v = v1_scoped_vehicle(call, d, p);
    if (v == NULL)
        return;
    const char *date = http_call_query(call, "date");
    int32_t day;
    if (date == NULL || lpg_day_parse(date, &day) != 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "date is required: a local day of the vehicle's enterprise as YYYY-MM-DD",
                         "date");
        return;
    }
    struct verify_call *vc = calloc(1, sizeof(*vc));
    if (vc == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    vc->call = call;
    snprintf(vc->vehicle, sizeof(vc->vehicle), "%s", v->id);
    lpg_day_format(day, vc->date);
    const char *why;
    if (route_seal_verify(d, v->id, day, on_verdict, vc, &why) != 0) {
        reply_unverified(call, why);
        free(vc);
    }
}
