/* test_v1_jurisdiction.c -- an auditor limited to a jurisdiction (issue 14 item 3), real Redis
 * and dispatchd: every GET route of docs/openapi.yaml, walked as auditor "au-a" whose
 * jurisdiction is enterprise EA, against enterprise EB outside it. EB's entities read exactly
 * like missing ones (404, same message once the id is masked), lists and reports naming EB are
 * 403 wrong_enterprise, the lists it may read hold nothing of EB, and the reads that span every
 * enterprise are 403. The walk fails when docs/openapi.yaml has a GET route the table below
 * does not name, so a new route is walked too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESPONSE_TIMEOUT_MS 30000

static struct harness_stack stack;
static char admin[64], disp_a[64], disp_b[64], au_a[64], au_ac[64], au_all[64];

/* One request; status, and the body into body (cap bytes). */
static int http(const char *method, const char *path, const char *token, const char *body,
                char *out, size_t cap)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    if (fd < 0)
        return -1;
    size_t len = body ? strlen(body) : 0;
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n", method, path);
    if (token)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Authorization: Bearer %s\r\n", token);
    if (body)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", len);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (harness_send_all(fd, head, (size_t)n) != 0 ||
        (len && harness_send_all(fd, body, len) != 0)) {
        close(fd);
        return -1;
    }
    static char resp[1 << 18];
    size_t used = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (used + 1 >= sizeof(resp) || poll(&pfd, 1, RESPONSE_TIMEOUT_MS) <= 0)
            break;
        ssize_t r = recv(fd, resp + used, sizeof(resp) - used - 1, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    resp[used] = '\0';
    harness_http_record_raw(method, path, resp, used);
    int status = -1;
    char *sep = strstr(resp, "\r\n\r\n");
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    if (out)
        snprintf(out, cap, "%s", sep ? sep + 4 : "");
    return status;
}

static void ok(const char *path, const char *token, const char *body)
{
    char out[4096];
    int st = http("POST", path, token, body, out, sizeof(out));
    if (st != 201)
        fail_msg("POST %s -> %d %s", path, st, out);
}

static void login(const char *user, const char *password, char tok[64])
{
    char body[256], out[4096];
    snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    assert_int_equal(http("POST", "/v1/sessions", NULL, body, out, sizeof(out)), 201);
    assert_int_equal(harness_json_str(out, "token", tok, 64), 0);
}

#define AREA_A                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],"            \
    "[119.6,49.3],[119.6,49.15]]]}"
#define AREA_B                                                                                     \
    "{\"type\":\"Polygon\",\"coordinates\":[[[120.6,49.15],[120.9,49.15],[120.9,49.3],"            \
    "[120.6,49.3],[120.6,49.15]]]}"

static void fleet_of(const char *tok, const char *ent, const char *sfx, const char *area)
{
    char b[1024], p[64];
    snprintf(b, sizeof(b), "{\"id\":\"Z%s\",\"name\":\"Z\",\"shape\":%s}", sfx, area);
    ok("/v1/zones", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"ST%s\",\"name\":\"depot\",\"center\":{\"lon\":%s,\"lat\":49.2},"
             "\"radius_m\":100}",
             sfx, sfx[0] == 'A' ? "119.7" : "120.7");
    ok("/v1/stations", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"V%s\",\"enterprise_id\":\"%s\",\"plate\":\"P-%s\",\"kind\":\"van\","
             "\"permit_no\":\"PN-%s\",\"permit_expiry\":\"2030-01-01\",\"capacity\":30}",
             sfx, ent, sfx, sfx);
    ok("/v1/vehicles", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"S%s\",\"enterprise_id\":\"%s\",\"name\":\"P\",\"role\":\"delivery\","
             "\"qualification_no\":\"Q-%s\",\"qualification_expiry\":\"2030-01-01\","
             "\"training_no\":\"T-%s\",\"training_expiry\":\"2030-01-01\",\"zone_id\":\"Z%s\","
             "\"vehicle_id\":\"V%s\",\"on_duty\":true}",
             sfx, ent, sfx, sfx, sfx, sfx);
    ok("/v1/staff", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"C%s\",\"enterprise_id\":\"%s\",\"name\":\"C\",\"kind\":\"household\","
             "\"location\":{\"lon\":%s,\"lat\":49.2},\"address\":\"1 Road\",\"contract_no\":"
             "\"SC-%s\",\"contract_from\":\"2025-01-01\",\"contract_to\":\"2030-12-31\"}",
             sfx, ent, sfx[0] == 'A' ? "119.71" : "120.71", sfx);
    ok("/v1/customers", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"CY%s\",\"enterprise_id\":\"%s\",\"spec\":\"YSP-35.5\",\"manufacturer\":"
             "\"Hulun Steel\",\"serial\":\"S-%s\",\"manufactured\":\"2024-01-01\","
             "\"next_inspection\":\"2029-01-01\"}",
             sfx, ent, sfx);
    ok("/v1/cylinders", tok, b);
    snprintf(b, sizeof(b),
             "{\"id\":\"O%s\",\"customer_id\":\"C%s\",\"items\":[{\"spec\":\"YSP-35.5\","
             "\"count\":1}]}",
             sfx, sfx);
    ok("/v1/orders", tok, b);
    snprintf(p, sizeof(p), "%s", sfx[0] == 'A' ? "13800000001" : "13800000002");
    snprintf(b, sizeof(b), "{\"id\":\"%s\",\"vehicle_id\":\"V%s\"}", p, sfx);
    ok("/v1/terminals", tok, b);
}

static int setup(void **state)
{
    (void)state;
    if (harness_stack_start(&stack, "jurisdiction", NULL) != 0 ||
        harness_stack_admin_token(&stack, admin) != 0)
        return -1;
    ok("/v1/enterprises", admin, "{\"id\":\"EA\",\"name\":\"Hailar Gas\",\"area\":" AREA_A "}");
    ok("/v1/enterprises", admin, "{\"id\":\"EB\",\"name\":\"Other Gas\",\"area\":" AREA_B "}");
    ok("/v1/enterprises", admin, "{\"id\":\"EC\",\"name\":\"Third Gas\",\"area\":" AREA_A "}");
    ok("/v1/users", admin,
       "{\"name\":\"disp-a\",\"role\":\"dispatcher\",\"enterprise_id\":\"EA\",\"password\":"
       "\"dispatcher-a-pw\"}");
    ok("/v1/users", admin,
       "{\"name\":\"disp-b\",\"role\":\"dispatcher\",\"enterprise_id\":\"EB\",\"password\":"
       "\"dispatcher-b-pw\"}");
    ok("/v1/users", admin,
       "{\"name\":\"au-a\",\"role\":\"auditor\",\"enterprises\":[\"EA\"],\"password\":"
       "\"auditor-a-pw\"}");
    ok("/v1/users", admin,
       "{\"name\":\"au-ac\",\"role\":\"auditor\",\"enterprises\":[\"EA\",\"EC\"],\"password\":"
       "\"auditor-ac-pw\"}");
    ok("/v1/users", admin,
       "{\"name\":\"au-all\",\"role\":\"auditor\",\"password\":\"auditor-pw\"}");
    login("disp-a", "dispatcher-a-pw", disp_a);
    login("disp-b", "dispatcher-b-pw", disp_b);
    login("au-a", "auditor-a-pw", au_a);
    login("au-ac", "auditor-ac-pw", au_ac);
    login("au-all", "auditor-pw", au_all);
    fleet_of(disp_a, "EA", "A1", AREA_A);
    fleet_of(disp_b, "EB", "B1", AREA_B);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- creating users with a jurisdiction ---- */

static void test_create_refusals(void **state)
{
    (void)state;
    char out[4096];
    static const char *const bad[] = {
        /* another role cannot have one; an unknown enterprise; a repeated one */
        "{\"name\":\"x1\",\"role\":\"dispatcher\",\"enterprise_id\":\"EA\",\"enterprises\":"
        "[\"EA\"],\"password\":\"dispatcher-x-pw\"}",
        "{\"name\":\"x2\",\"role\":\"auditor\",\"enterprises\":[\"EZ\"],\"password\":"
        "\"auditor-x-pw\"}",
        "{\"name\":\"x3\",\"role\":\"auditor\",\"enterprises\":[\"EA\",\"EA\"],\"password\":"
        "\"auditor-x-pw\"}",
        "{\"name\":\"x4\",\"role\":\"auditor\",\"enterprises\":\"EA\",\"password\":"
        "\"auditor-x-pw\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = http("POST", "/v1/users", admin, bad[i], out, sizeof(out));
        if (st != 400 || strstr(out, "\"enterprises\"") == NULL)
            fail_msg("%s -> %d %s", bad[i], st, out);
    }
    /* the jurisdiction is on the user and on its session */
    assert_int_equal(http("GET", "/v1/sessions/current", au_ac, NULL, out, sizeof(out)), 200);
    assert_non_null(strstr(out, "\"enterprises\": [\"EA\", \"EC\"]")
                        ? out
                        : strstr(out, "\"enterprises\":[\"EA\",\"EC\"]"));
    assert_int_equal(http("GET", "/v1/users?limit=1000", admin, NULL, out, sizeof(out)), 200);
    assert_non_null(strstr(out, "\"EC\""));
}

/* ---- the walk ---- */

enum expect {
    HIDDEN,    /* 404 exactly like the same route with a missing id */
    WRONG,     /* 403 wrong_enterprise */
    FORBIDDEN, /* 403 forbidden */
    CLEAN,     /* 200 and nothing of EB in the body */
    SKIP,      /* not enterprise data (operational) or a stream, checked elsewhere */
};

struct walk {
    const char *route; /* the path as docs/openapi.yaml writes it */
    const char *path;  /* the request; "%s" is EB's id (or a missing one for HIDDEN) */
    const char *id;    /* EB's id for HIDDEN */
    enum expect want;
};

#define DAY  "date=2026-11-28"
#define SPAN "from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z"
static const struct walk walks[] = {
    {"/healthz", NULL, NULL, SKIP},
    {"/metrics", NULL, NULL, SKIP},
    {"/v1/sessions/current", "/v1/sessions/current", NULL, CLEAN},
    {"/v1/users", "/v1/users", NULL, FORBIDDEN},
    {"/v1/terminals", "/v1/terminals?enterprise_id=EB", NULL, WRONG},
    {"/v1/terminals", "/v1/terminals", NULL, CLEAN},
    {"/v1/terminals/{id}", "/v1/terminals/%s", "13800000002", HIDDEN},
    {"/v1/enterprises", "/v1/enterprises?enterprise_id=EB", NULL, WRONG},
    {"/v1/enterprises", "/v1/enterprises", NULL, CLEAN},
    {"/v1/enterprises/{id}", "/v1/enterprises/%s", "EB", HIDDEN},
    {"/v1/zones", "/v1/zones?enterprise_id=EB", NULL, WRONG},
    {"/v1/zones", "/v1/zones?geometry=1", NULL, CLEAN},
    {"/v1/zones/{id}", "/v1/zones/%s", "ZB1", HIDDEN},
    {"/v1/stations", "/v1/stations?enterprise_id=EB", NULL, WRONG},
    {"/v1/stations", "/v1/stations", NULL, CLEAN},
    {"/v1/stations/{id}", "/v1/stations/%s", "STB1", HIDDEN},
    {"/v1/staff", "/v1/staff?enterprise_id=EB", NULL, WRONG},
    {"/v1/staff", "/v1/staff", NULL, CLEAN},
    {"/v1/staff/{id}", "/v1/staff/%s", "SB1", HIDDEN},
    {"/v1/vehicles", "/v1/vehicles?enterprise_id=EB", NULL, WRONG},
    {"/v1/vehicles", "/v1/vehicles", NULL, CLEAN},
    {"/v1/vehicles/{id}", "/v1/vehicles/%s", "VB1", HIDDEN},
    {"/v1/customers", "/v1/customers?enterprise_id=EB", NULL, WRONG},
    {"/v1/customers", "/v1/customers", NULL, CLEAN},
    {"/v1/customers/{id}", "/v1/customers/%s", "CB1", HIDDEN},
    {"/v1/cylinders", "/v1/cylinders?enterprise_id=EB", NULL, WRONG},
    {"/v1/cylinders", "/v1/cylinders", NULL, CLEAN},
    {"/v1/cylinders/{id}", "/v1/cylinders/%s", "CYB1", HIDDEN},
    {"/v1/vehicles/{id}/route", "/v1/vehicles/%s/route?" SPAN, "VB1", HIDDEN},
    {"/v1/vehicles/{id}/route/verify", "/v1/vehicles/%s/route/verify?" DAY, "VB1", HIDDEN},
    {"/v1/vehicles/{id}/position", "/v1/vehicles/%s/position", "VB1", HIDDEN},
    {"/v1/fleet", "/v1/fleet?enterprise_id=EB", NULL, WRONG},
    {"/v1/fleet", "/v1/fleet", NULL, CLEAN},
    {"/v1/vehicles/nearest", "/v1/vehicles/nearest?lon=120.7&lat=49.2&enterprise_id=EB", NULL,
     WRONG},
    {"/v1/vehicles/nearest", "/v1/vehicles/nearest?lon=120.7&lat=49.2", NULL, CLEAN},
    {"/v1/vehicles/{id}/trips", "/v1/vehicles/%s/trips?" SPAN, "VB1", HIDDEN},
    {"/v1/vehicles/{id}/summary", "/v1/vehicles/%s/summary?" DAY, "VB1", HIDDEN},
    {"/v1/enterprises/{id}/summary", "/v1/enterprises/%s/summary?" DAY, "EB", HIDDEN},
    {"/v1/orders", "/v1/orders?enterprise_id=EB", NULL, WRONG},
    {"/v1/orders", "/v1/orders", NULL, CLEAN},
    {"/v1/orders/{id}", "/v1/orders/%s", "OB1", HIDDEN},
    {"/v1/orders/{id}/history", "/v1/orders/%s/history", "OB1", HIDDEN},
    {"/v1/events", NULL, NULL, SKIP}, /* a stream: test_events_stream */
    {"/v1/alerts", "/v1/alerts?enterprise_id=EB", NULL, WRONG},
    {"/v1/alerts", "/v1/alerts?vehicle_id=%s", "VB1", HIDDEN},
    {"/v1/alerts", "/v1/alerts", NULL, CLEAN},
    {"/v1/audit/entries", "/v1/audit/entries?enterprise_id=EB", NULL, WRONG},
    {"/v1/audit/entries", "/v1/audit/entries", NULL, CLEAN},
    {"/v1/audit/verify", "/v1/audit/verify", NULL, FORBIDDEN},
    /* One chain for every enterprise: its head and key are not an enterprise's to read. */
    {"/v1/audit/checkpoint", "/v1/audit/checkpoint", NULL, FORBIDDEN},
    {"/v1/audit/key", "/v1/audit/key", NULL, FORBIDDEN},
    {"/v1/cylinders/{id}/history", "/v1/cylinders/%s/history", "CYB1", HIDDEN},
    {"/v1/vehicles/{id}/load", "/v1/vehicles/%s/load", "VB1", HIDDEN},
    {"/v1/orders/{id}/checks", "/v1/orders/%s/checks", "OB1", HIDDEN},
    {"/v1/checks/{id}", "/v1/checks/%s", "CKB1", HIDDEN},
    {"/v1/hazards", "/v1/hazards?enterprise_id=EB", NULL, WRONG},
    {"/v1/hazards", "/v1/hazards", NULL, CLEAN},
    {"/v1/hazards/{id}", "/v1/hazards/%s", "HZB1", HIDDEN},
    {"/v1/reports/area", "/v1/reports/area?enterprise_id=EB&lon=120.7&lat=49.2&radius_m=500&" SPAN,
     NULL, WRONG},
    {"/v1/reports/area", "/v1/reports/area?lon=120.7&lat=49.2&radius_m=500&" SPAN, NULL, CLEAN},
    {"/v1/reports/driver-day", "/v1/reports/driver-day?staff_id=%s&" DAY, "SB1", HIDDEN},
    {"/v1/reports/compliance", "/v1/reports/compliance?enterprise_id=EB&month=2026-11", NULL,
     WRONG},
    {"/v1/reports/compliance", "/v1/reports/compliance?month=2026-11", NULL, CLEAN},
};

static void fill(char *out, size_t cap, const char *tmpl, const char *v)
{
    size_t n = 0, vl = v ? strlen(v) : 0;
    while (*tmpl && n + vl + 1 < cap) {
        if (v && tmpl[0] == '%' && tmpl[1] == 's') {
            memcpy(out + n, v, vl);
            n += vl;
            tmpl += 2;
        } else {
            out[n++] = *tmpl++;
        }
    }
    out[n] = '\0';
}

/* body with every occurrence of id replaced by "#". */
static void mask(const char *body, const char *id, char *out, size_t cap)
{
    size_t n = 0, idl = strlen(id);
    while (*body && n + 2 < cap) {
        if (strncmp(body, id, idl) == 0) {
            out[n++] = '#';
            body += idl;
        } else {
            out[n++] = *body++;
        }
    }
    out[n] = '\0';
}

static int walk_covers(const char *route)
{
    for (size_t i = 0; i < sizeof(walks) / sizeof(walks[0]); i++)
        if (strcmp(walks[i].route, route) == 0)
            return 1;
    return 0;
}

/* Whether docs/openapi.yaml has a GET operation at `route` (a line "  /path:" then, before the
 * next path, a line "    get:"). */
static int documented(const char *route)
{
    FILE *f = fopen(LPG_SOURCE_DIR "/docs/openapi.yaml", "r");
    assert_non_null(f);
    char line[512], cur[256] = "";
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "  /", 3) == 0 && strchr(line, ':')) {
            snprintf(cur, sizeof(cur), "%s", line + 2);
            *strrchr(cur, ':') = '\0';
        } else if (strcmp(line, "    get:\n") == 0 && strcmp(cur, route) == 0) {
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static void test_every_documented_get_route_is_walked(void **state)
{
    (void)state;
    FILE *f = fopen(LPG_SOURCE_DIR "/docs/openapi.yaml", "r");
    assert_non_null(f);
    char line[512], cur[256] = "";
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "  /", 3) == 0 && strchr(line, ':')) {
            snprintf(cur, sizeof(cur), "%s", line + 2);
            *strrchr(cur, ':') = '\0';
        } else if (strcmp(line, "    get:\n") == 0) {
            n++;
            if (!walk_covers(cur))
                fail_msg("GET %s is documented but not walked: add it to walks[]", cur);
        }
    }
    fclose(f);
    assert_true(n > 30);
}

static void test_walk_as_limited_auditor(void **state)
{
    (void)state;
    static char a[1 << 16], b[1 << 16], ma[1 << 16], mb[1 << 16];
    int walked = 0;
    for (size_t i = 0; i < sizeof(walks) / sizeof(walks[0]); i++) {
        const struct walk *w = &walks[i];
        /* Routes the other items of the issue add are walked once they are documented. */
        if (w->want == SKIP || !documented(w->route))
            continue;
        walked++;
        char path[512], missing[512];
        fill(path, sizeof(path), w->path, w->id);
        int st = http("GET", path, au_a, NULL, a, sizeof(a));
        switch (w->want) {
        case HIDDEN: {
            fill(missing, sizeof(missing), w->path, "nosuch1");
            int sm = http("GET", missing, au_a, NULL, b, sizeof(b));
            mask(a, w->id, ma, sizeof(ma));
            mask(b, "nosuch1", mb, sizeof(mb));
            if (st != 404 || sm != 404 || strcmp(ma, mb) != 0)
                fail_msg("GET %s -> %d %s; missing: %d %s", path, st, a, sm, b);
            /* and the unlimited auditor does see it (the walk tests the jurisdiction, not a
             * missing entity), except the ids no fixture creates */
            if (strcmp(w->id, "CKB1") != 0 && strcmp(w->id, "HZB1") != 0 &&
                strcmp(w->route, "/v1/vehicles/{id}/position") != 0) {
                int su = http("GET", path, au_all, NULL, b, sizeof(b));
                if (su == 404)
                    fail_msg("GET %s as unlimited auditor -> 404 %s", path, b);
            }
            break;
        }
        case WRONG:
            if (st != 403 || strstr(a, "wrong_enterprise") == NULL)
                fail_msg("GET %s -> %d %s; want 403 wrong_enterprise", path, st, a);
            break;
        case FORBIDDEN:
            if (st != 403 || strstr(a, "\"forbidden\"") == NULL)
                fail_msg("GET %s -> %d %s; want 403 forbidden", path, st, a);
            break;
        case CLEAN:
            if (st != 200 || strstr(a, "\"EB\"") || strstr(a, "B1\""))
                fail_msg("GET %s -> %d %s; want 200 without EB", path, st, a);
            break;
        case SKIP:
            break;
        }
    }
    assert_true(walked > 40);
}

/* A jurisdiction of two enterprises: the lists must name one; EC reads, EB does not. */
static void test_two_enterprises(void **state)
{
    (void)state;
    char out[1 << 14];
    int st = http("GET", "/v1/vehicles", au_ac, NULL, out, sizeof(out));
    if (st != 403 || strstr(out, "\"forbidden\"") == NULL)
        fail_msg("%d %s", st, out);
    assert_int_equal(http("GET", "/v1/vehicles?enterprise_id=EC", au_ac, NULL, out, sizeof(out)),
                     200);
    assert_int_equal(http("GET", "/v1/vehicles?enterprise_id=EA", au_ac, NULL, out, sizeof(out)),
                     200);
    assert_non_null(strstr(out, "VA1"));
    assert_int_equal(http("GET", "/v1/vehicles?enterprise_id=EB", au_ac, NULL, out, sizeof(out)),
                     403);
    /* the live feed has no single enterprise to show */
    st = http("GET", "/v1/events", au_ac, NULL, out, sizeof(out));
    if (st != 403)
        fail_msg("GET /v1/events -> %d %s", st, out);
    /* the unlimited auditor still reads everything, as before */
    assert_int_equal(http("GET", "/v1/vehicles", au_all, NULL, out, sizeof(out)), 200);
    assert_non_null(strstr(out, "VB1"));
    assert_int_equal(http("GET", "/v1/users", au_all, NULL, out, sizeof(out)), 200);
    /* and writes stay read_only */
    st = http("PATCH", "/v1/vehicles/VA1", au_a, "{\"capacity\":20}", out, sizeof(out));
    assert_int_equal(st, 403);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_every_documented_get_route_is_walked),
        cmocka_unit_test(test_walk_as_limited_auditor),
        cmocka_unit_test(test_two_enterprises),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
