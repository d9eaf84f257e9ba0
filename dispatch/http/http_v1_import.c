/* http_v1_import.c -- bulk import over HTTP (docs/import.md):
 *
 *   POST /v1/import/{kind}?enterprise_id=E&skip_errors=true&dry_run=true
 *
 * kind is zones (body: a GeoJSON FeatureCollection, Content-Type application/geo+json or
 * application/json) or staff, vehicles, customers, cylinders (body: CSV, text/csv). The import
 * itself is app/import.h's; this file reads the request and maps the result: 200 with the
 * report, 422 with the report when rows had errors and nothing was imported, or the refusal.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/import.h"
#include "core/model.h"
#include "http/http_refusal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

/* ?name=true|false (absent: false). 0, or -1 after replying 400. */
static int query_flag(struct http_call *call, const char *name, int *out)
{
    const char *s = http_call_query(call, name);
    *out = 0;
    if (s == NULL || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        return 0;
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = 1;
        return 0;
    }
    http_refuse(call, REFUSAL_INVALID, "invalid_parameter", name, "%s must be true or false", name);
    return -1;
}

/* Whether the request's media type (Content-Type without parameters) is one of `types`. */
static int media_type_is(struct http_call *call, const char *const *types)
{
    const char *ct = http_call_header(call, "Content-Type");
    if (ct == NULL)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    for (; *types; types++)
        if (strlen(*types) == n && strncasecmp(ct, *types, n) == 0)
            return 1;
    return 0;
}

static void on_imported(void *arg, json_t *report, int refused, const struct refusal *r)
{
    struct http_call *call = arg;
    if (report == NULL)
        http_reply_refusal(call, r);
    else /* rows refused, nothing imported: the report with the status of a rule's refusal */
        http_reply_json(call, refused ? http_status_of(REFUSAL_RULE) : 200, report);
}

static void import_handler(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct import_kind *k = import_kind_find(http_call_param(call, "kind"));
    if (k == NULL) {
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL,
                    "no such import; kinds: zones, staff, vehicles, customers, cylinders");
        return;
    }
    /* One enterprise per import: a dispatcher's own unless named; an admin names it. */
    const char *ent = http_call_query(call, "enterprise_id");
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (ent == NULL || !lpg_id_valid(ent)) {
        http_refuse(call, REFUSAL_INVALID, ent ? "invalid_parameter" : "missing_parameter",
                    "enterprise_id", "?enterprise_id= names the enterprise to import into");
        return;
    }
    /* Checked here first (import_submit checks it too), so that a caller without the right
     * learns nothing from the other checks. */
    if (v1_allow(call, d, p, AUTH_WRITE, ent) != 0)
        return;
    int skip_errors, dry_run;
    if (query_flag(call, "skip_errors", &skip_errors) != 0 ||
        query_flag(call, "dry_run", &dry_run) != 0)
        return;
    static const char *const csv_types[] = {"text/csv", NULL};
    static const char *const geo_types[] = {"application/geo+json", "application/json", NULL};
    int csv = import_kind_is_csv(k);
    if (!media_type_is(call, csv ? csv_types : geo_types)) {
        /* Content-Type is HTTP's own: its refusal has no kind in app/refusal.h. */
        http_reply_error(call, 415, "unsupported_media_type",
                         csv ? "the body of a staff, vehicles, customers or cylinders import is "
                               "CSV: Content-Type: text/csv"
                             : "the body of a zones import is a GeoJSON FeatureCollection: "
                               "Content-Type: application/geo+json",
                         NULL);
        return;
    }
    /* The body, copied out of the request and NUL-terminated: the import owns it. */
    struct evbuffer *in = evhttp_request_get_input_buffer(http_call_request(call));
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    if (body && evbuffer_copyout(in, body, len) != (ev_ssize_t)len) {
        free(body);
        body = NULL;
    }
    if (body)
        body[len] = '\0';
    struct refusal r;
    if (import_submit(d, p, k, ent, skip_errors, dry_run, body, len, on_imported, call, &r) != 0)
        http_reply_refusal(call, &r);
}

const struct http_route v1_import_routes[] = {
    {"POST", "/v1/import/{kind}", import_handler, HTTP_ROUTE_WRITE},
};
const size_t v1_import_routes_count = sizeof(v1_import_routes) / sizeof(v1_import_routes[0]);
