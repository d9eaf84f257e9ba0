/* test_route_sealing.c -- sealed routes (issue 14 item 1) against real Redis and dispatchd, through
 * the handset protocol. Route days are the enterprise's LOCAL days (E0: UTC+8): a local day three
 * days ago (whatever the real clock says), its fixes sent as store-and-forward late fixes around
 * its local 08:00 -- UTC midnight, so they lie in two UTC-day sets -- and at its local 23:59, and
 * one at 00:01 the next local day. Once the grace (1 s here) has passed: one route_sealed entry
 * per local day (date, utc_offset_min, from_ms, to_ms, the digest and count that GET
 * /v1/vehicles/{id}/route/verify?date= confirms); fixes of the day stored after the seal are
 * kept, recorded by a route_late_after_seal entry and left out of the sealed digest; a fix edited
 * in Redis is named (seq, time), a removed one too (its time); the chain still verifies; a
 * restart seals nothing twice; a day recorded per UTC day (before the upgrade) is verified as
 * such. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "app/route_seal.h"
#include "core/route_seal.h"
#include "harness.h"
#include "wire_client.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct harness_stack stack;
static char secret[64], admin_tok[64];
#define OFFSET_MIN 480 /* E0's: the default */
#define HOUR       3600000LL
static int64_t day_ms;               /* the local day's midnight (UTC ms): three days ago */
static char date[11], next_date[11]; /* YYYY-MM-DD, local; the day after */
static char tag[16];                 /* YYYYMMDD+0800 */
#define N_MORNING 60                 /* seq 1..60, one a second from local 07:59:30 */
#define N_DAY     (N_MORNING + 1)    /* and seq 61 at local 23:59: the day's, sealed */
#define SEQ_NEXT  (N_DAY + 1)        /* seq 62, local 00:01 the next day: another seal */
#define N_LATE    5                  /* after the seal, seq 63..67, from local 08:00:30 */
#define LAT       492100000
#define LON       1197500000

static int64_t fix_time(uint64_t seq)
{
    if (seq <= N_MORNING) /* 07:59:30 + s: seq 1..30 before UTC midnight, 31..60 after */
        return day_ms + 8 * HOUR - 30000 + (int64_t)(seq - 1) * 1000;
    if (seq == N_DAY)
        return day_ms + 24 * HOUR - 60000;
    if (seq == SEQ_NEXT)
        return day_ms + 24 * HOUR + 60000;
    return day_ms + 8 * HOUR + 30000 + (int64_t)(seq - SEQ_NEXT - 1) * 1000;
}

/* The UTC-day set holding seq's fix: lpg:route:V1:YYYYMMDD of its UTC day. */
static void set_key_of(uint64_t seq, char *out, size_t cap)
{
    time_t t = (time_t)(fix_time(seq) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[16];
    strftime(d, sizeof(d), "%Y%m%d", &tm);
    snprintf(out, cap, "lpg:route:V1:%s", d);
}

/* The UTC time ms as strftime's fmt (each caller's a literal). */
static void format_utc(int64_t ms, const char *fmt, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    strftime(out, cap, fmt, &tm);
#pragma GCC diagnostic pop
}

static int call(json_t **out, const char *method, const char *path, const char *token)
{
    static char resp[262144];
    char headers[128] = "";
    if (token)
        snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n", token);
    int status = 0;
    if (harness_http_req(stack.d.http_port, method, path, headers, NULL, &status, resp,
                         sizeof(resp)) != 0)
        return -1;
    json_t *j = json_loads(resp, 0, NULL);
    if (out)
        *out = j;
    else
        json_decref(j);
    return status;
}

static json_t *verify_date(const char *on)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/vehicles/V1/route/verify?date=%s", on);
    json_t *j = NULL;
    assert_int_equal(call(&j, "GET", path, admin_tok), 200);
    assert_non_null(j);
    return j;
}

static json_t *verify(void)
{
    return verify_date(date);
}

/* The audit entries of a kind (the array of items; the caller decrefs the whole reply). */
static json_t *entries(const char *kind, json_t **reply)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/audit/entries?kind=%s&limit=1000", kind);
    assert_int_equal(call(reply, "GET", path, admin_tok), 200);
    return json_object_get(*reply, "items");
}

/* Fixes seq first..last, one batch. */
static void send_fixes(int fd, uint64_t req, uint64_t first, uint64_t last)
{
    size_t n = (size_t)(last - first + 1);
    Lpg__V1__Fix *f = calloc(n, sizeof(*f));
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        wire_fix_3d(&f[i], first + i, (uint64_t)fix_time(first + i), LAT + (int32_t)i * 90, LON,
                    800);
    assert_int_equal(wire_send_batch(fd, req, f, n, 1), 0);
    free(f);
    Lpg__V1__Envelope *reply = wire_recv(fd, HARNESS_REPLY_TIMEOUT_MS);
    assert_non_null(reply);
    assert_int_equal(reply->body_case, LPG__V1__ENVELOPE__BODY_ACK);
    lpg__v1__envelope__free_unpacked(reply, NULL);
}

/* Redis itself, as someone with access to it would: the member scored at seq's time is replaced
 * by one with another latitude ("edit"), removed ("remove") or put back ("put", with `member`).
 * The original member goes to out. */
static void tamper(const char *how, uint64_t seq, const char *member, char *out, size_t cap)
{
    char score[24];
    snprintf(score, sizeof(score), "%lld", (long long)fix_time(seq));
    static const char script[] =
        "local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])[1] "
        "if ARGV[2] == 'put' then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3]) return ARGV[3] end "
        "redis.call('ZREM', KEYS[1], m) "
        "if ARGV[2] == 'edit' then "
        "  local a, b, c, rest = string.match(m, '^([^:]*):([^:]*):([^:]*):(.*)$') "
        "  redis.call('ZADD', KEYS[1], ARGV[1], a .. ':' .. b .. ':' .. (tonumber(c) + 1) .. ':' "
        ".. rest) "
        "end "
        "return m";
    char set_key[64];
    set_key_of(seq, set_key, sizeof(set_key));
    const char *argv[] = {"EVAL", script, "1", set_key, score, how, member ? member : ""};
    assert_int_equal(harness_redis_cmd(stack.redis.port, out, cap, 7, argv), 0);
}

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--route-seal-grace=1", NULL};
    /* The local day three days before today's (UTC+8), at any hour of the real clock: its
     * midnight is 16:00 UTC the day before its date. */
    int64_t now_local_s = (int64_t)time(NULL) + OFFSET_MIN * 60;
    int64_t local_day = now_local_s / 86400 - 3;
    day_ms = local_day * 86400000LL - OFFSET_MIN * 60000LL;
    format_utc(local_day * 86400000LL, "%Y-%m-%d", date, sizeof(date));
    format_utc((local_day + 1) * 86400000LL, "%Y-%m-%d", next_date, sizeof(next_date));
    format_utc(local_day * 86400000LL, "%Y%m%d+0800", tag, sizeof(tag));
    if (harness_stack_start(&stack, "seal", args) != 0 ||
        harness_stack_admin_token(&stack, admin_tok) != 0 ||
        harness_stack_device(&stack, "H1", secret) != 0 ||
        harness_stack_vehicle(&stack, "V1", "H1") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stack_stop(&stack);
    return 0;
}

static void test_seal_late_edit_remove(void **state)
{
    (void)state;
    /* Nothing stored: nothing sealed, nothing differs. */
    json_t *v = verify();
    assert_false(json_is_true(json_object_get(v, "sealed")));
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), 0);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    int fd = wire_login(stack.d.handset_port, "H1", secret);
    assert_true(fd >= 0);
    /* Seq 1..61 (local 07:59:30 .. 08:00:29 across UTC midnight, and 23:59) and 62 (local
     * 00:01 the next day) in one batch. */
    send_fixes(fd, 2, 1, SEQ_NEXT);
    char k_early[64], k_late[64];
    set_key_of(1, k_early, sizeof(k_early));
    set_key_of(N_MORNING, k_late, sizeof(k_late));
    assert_string_not_equal(k_early, k_late); /* the day is in two UTC sets */

    /* Both days closed long ago: sealed at the next check. */
    int sealed = 0;
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 50 && !sealed; i++) {
        v = verify_date(next_date);
        sealed = json_is_true(json_object_get(v, "sealed"));
        json_decref(v);
        v = verify();
        sealed = sealed && json_is_true(json_object_get(v, "sealed"));
        if (!sealed) {
            json_decref(v);
            harness_sleep_ms(50);
        }
    }
    if (!sealed)
        harness_proc_dump_log(&stack.d.proc, 40);
    assert_true(sealed);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), N_DAY);
    assert_int_equal(json_integer_value(json_object_get(v, "sealed_fixes")), N_DAY);
    assert_true(json_is_null(json_object_get(v, "first_difference")));
    /* The local day, said so: 16:00 UTC the day before to 16:00 UTC. */
    char from[32], to[32];
    format_utc(day_ms, "%Y-%m-%dT%H:%M:%S.000Z", from, sizeof(from));
    format_utc(day_ms + 24 * HOUR, "%Y-%m-%dT%H:%M:%S.000Z", to, sizeof(to));
    assert_int_equal(json_integer_value(json_object_get(v, "utc_offset_min")), OFFSET_MIN);
    assert_string_equal(json_string_value(json_object_get(v, "from")), from);
    assert_string_equal(json_string_value(json_object_get(v, "to")), to);
    char digest[65];
    snprintf(digest, sizeof(digest), "%s", json_string_value(json_object_get(v, "digest")));
    assert_string_equal(json_string_value(json_object_get(v, "sealed_digest")), digest);
    json_int_t seal_seq = json_integer_value(json_object_get(v, "seal_seq"));
    json_decref(v);
    /* The digest as docs/audit.md has an auditor re-compute it: the earlier UTC set's members
     * from the local midnight on, then the later set's before the next local midnight, in
     * Redis' order, each with a newline, SHA-256. */
    static char members[8192];
    char a0[24], a1[24];
    snprintf(a0, sizeof(a0), "%lld", (long long)day_ms);
    snprintf(a1, sizeof(a1), "(%lld", (long long)(day_ms + 24 * HOUR));
    const char *all[] = {"EVAL",
                         "local a = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf') "
                         "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', "
                         "ARGV[2])) do a[#a + 1] = m end "
                         "return table.concat(a, '\\n')",
                         "2",
                         k_early,
                         k_late,
                         a0,
                         a1};
    assert_int_equal(harness_redis_cmd(stack.redis.port, members, sizeof(members) - 1, 7, all), 0);
    assert_true(strlen(members) > N_DAY * 20 && strlen(members) < sizeof(members) - 2);
    strcat(members, "\n");
    unsigned char h[32];
    unsigned int hl = 0;
    assert_int_equal(EVP_Digest(members, strlen(members), h, &hl, EVP_sha256(), NULL), 1);
    char by_hand[65];
    for (int i = 0; i < 32; i++)
        snprintf(by_hand + 2 * i, 3, "%02x", h[i]);
    assert_string_equal(by_hand, digest);

    /* The next local day: its one fix (00:01), in a seal of its own. */
    v = verify_date(next_date);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "sealed_fixes")), 1);
    json_decref(v);

    /* One route_sealed entry per local day; this day's at that seq, with the digest, count and
     * span. */
    json_t *reply;
    json_t *items = entries("route_sealed", &reply);
    assert_int_equal(json_array_size(items), 2);
    json_t *e = NULL, *data = NULL;
    int dates = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_object_get(json_array_get(items, i), "entry");
        const char *dd = json_string_value(json_object_get(json_object_get(x, "data"), "date"));
        assert_non_null(dd);
        dates |= strcmp(dd, date) == 0 ? 1 : strcmp(dd, next_date) == 0 ? 2 : 4;
        if (strcmp(dd, date) == 0)
            e = x;
    }
    assert_int_equal(dates, 3);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "seq")), seal_seq);
    assert_string_equal(json_string_value(json_object_get(e, "subject")), "V1");
    assert_string_equal(json_string_value(json_object_get(e, "enterprise")), "E0");
    data = json_object_get(e, "data");
    assert_string_equal(json_string_value(json_object_get(data, "digest")), digest);
    assert_string_equal(json_string_value(json_object_get(data, "date")), date);
    assert_int_equal(json_integer_value(json_object_get(data, "fixes")), N_DAY);
    assert_int_equal(json_integer_value(json_object_get(data, "utc_offset_min")), OFFSET_MIN);
    assert_int_equal(json_integer_value(json_object_get(data, "from_ms")), day_ms);
    assert_int_equal(json_integer_value(json_object_get(data, "to_ms")), day_ms + 24 * HOUR);
    json_decref(reply);

    /* Late fixes after the seal: stored, recorded, outside the sealed digest. */
    send_fixes(fd, 3, SEQ_NEXT + 1, SEQ_NEXT + N_LATE);
    harness_close(fd);
    size_t late = 0;
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 50 && late == 0; i++) {
        items = entries("route_late_after_seal", &reply);
        late = json_array_size(items);
        if (late) {
            data = json_object_get(json_object_get(json_array_get(items, 0), "entry"), "data");
            assert_int_equal(json_integer_value(json_object_get(data, "fixes")), N_LATE);
            assert_int_equal(json_integer_value(json_object_get(data, "seal_seq")), seal_seq);
            assert_string_equal(json_string_value(json_object_get(data, "date")), date);
            assert_int_equal(json_integer_value(json_object_get(data, "utc_offset_min")),
                             OFFSET_MIN);
            assert_int_equal(json_integer_value(json_object_get(data, "first_ms")),
                             fix_time(SEQ_NEXT + 1));
        }
        json_decref(reply);
        if (!late)
            harness_sleep_ms(50);
    }
    assert_int_equal(late, 1);
    v = verify();
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), N_DAY + N_LATE);
    assert_int_equal(json_integer_value(json_object_get(v, "late_after_seal")), N_LATE);
    assert_int_equal(json_integer_value(json_object_get(v, "digest_fixes")), N_DAY);
    assert_string_equal(json_string_value(json_object_get(v, "digest")), digest);
    json_decref(v);

    /* Fix 30 edited in Redis: named, with its seq and time. */
    char orig[512], edited[512], when[32];
    tamper("edit", 30, NULL, orig, sizeof(orig));
    assert_non_null(strchr(orig, ':'));
    v = verify();
    assert_false(json_is_true(json_object_get(v, "ok")));
    json_t *diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "edited");
    assert_int_equal(json_integer_value(json_object_get(diff, "seq")), 30);
    time_t ft = (time_t)(fix_time(30) / 1000);
    struct tm tm;
    gmtime_r(&ft, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    assert_string_equal(json_string_value(json_object_get(diff, "time")), when);
    snprintf(edited, sizeof(edited), "%s", json_string_value(json_object_get(diff, "member")));
    assert_string_not_equal(edited, orig);
    assert_string_not_equal(json_string_value(json_object_get(v, "digest")), digest);
    json_decref(v);
    /* Put back as it was: confirmed again. */
    char back[512];
    const char *zrem[] = {"ZREM", k_early, edited};
    assert_int_equal(harness_redis_cmd(stack.redis.port, back, sizeof(back), 3, zrem), 0);
    tamper("put", 30, orig, back, sizeof(back));
    v = verify();
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    /* Fix 40 (in the later UTC set) removed: named by its time. */
    tamper("remove", 40, NULL, orig, sizeof(orig));
    v = verify();
    assert_false(json_is_true(json_object_get(v, "ok")));
    diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "removed");
    ft = (time_t)(fix_time(40) / 1000);
    gmtime_r(&ft, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    assert_string_equal(json_string_value(json_object_get(diff, "time")), when);
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), N_DAY + N_LATE - 1);
    json_decref(v);
    tamper("put", 40, orig, back, sizeof(back));

    /* A fix inserted in Redis: named, with its seq. */
    char score[24], r[512];
    snprintf(score, sizeof(score), "%lld", (long long)(fix_time(20) + 500));
    char forged[128];
    snprintf(forged, sizeof(forged), "999:%s:%d:%d:800:-:-:3:2", score, LAT, LON);
    const char *zadd[] = {"ZADD", k_early, score, forged};
    assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 4, zadd), 0);
    v = verify();
    diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "inserted");
    assert_int_equal(json_integer_value(json_object_get(diff, "seq")), 999);
    assert_string_equal(json_string_value(json_object_get(diff, "member")), forged);
    json_decref(v);
    const char *zrem2[] = {"ZREM", k_early, forged};
    assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 3, zrem2), 0);

    /* Fix 20 removed with its fingerprint: set and log agree, the sealed digest does not. */
    char fp[ROUTE_FP_LEN + 1], log_key[64];
    snprintf(log_key, sizeof(log_key), "lpg:route-log:V1:%s", tag);
    tamper("remove", 20, NULL, orig, sizeof(orig));
    assert_int_equal(route_seal_fingerprint(day_ms, fix_time(20), orig, strlen(orig), fp), 0);
    const char *cut[] = {"EVAL",
                         "local l = redis.call('GET', KEYS[1]) "
                         "local i = string.find(l, ARGV[1], 1, true) "
                         "redis.call('SET', KEYS[1], string.sub(l, 1, i - 1) .. "
                         "string.sub(l, i + string.len(ARGV[1])), 'KEEPTTL') return l",
                         "1", log_key, fp};
    char log_before[4096];
    assert_int_equal(harness_redis_cmd(stack.redis.port, log_before, sizeof(log_before), 5, cut),
                     0);
    v = verify();
    assert_false(json_is_true(json_object_get(v, "ok")));
    diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "digest");
    json_decref(v);
    const char *setlog[] = {"SET", log_key, log_before, "KEEPTTL"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 4, setlog), 0);
    tamper("put", 20, orig, back, sizeof(back));

    /* The seal key edited: it no longer agrees with its audit entry. */
    char seal_key[64], seal_before[512];
    snprintf(seal_key, sizeof(seal_key), "lpg:route-seal:V1:%s", tag);
    const char *edit_seal[] = {
        "EVAL",
        "local s = redis.call('GET', KEYS[1]) "
        "redis.call('SET', KEYS[1], (string.gsub(s, '\"digest\":\"%x', '\"digest\":\"z')), "
        "'KEEPTTL') return s",
        "1", seal_key};
    assert_int_equal(
        harness_redis_cmd(stack.redis.port, seal_before, sizeof(seal_before), 4, edit_seal), 0);
    v = verify();
    diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "seal");
    json_decref(v);
    const char *setseal[] = {"SET", seal_key, seal_before, "KEEPTTL"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 4, setseal), 0);
    v = verify();
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);

    /* Counted on /metrics. */
    static char metrics[131072];
    int status = 0;
    assert_int_equal(harness_http(stack.d.http_port, "GET", "/metrics", &status, metrics,
                                  sizeof(metrics), NULL, 0),
                     0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(metrics, "\nlpg_route_seals_total 2\n"));
    assert_non_null(strstr(metrics, "\nlpg_route_late_after_seal_fixes_total 5\n"));

    /* The chain holds, with the seal in it. */
    json_t *ver = NULL;
    assert_int_equal(call(&ver, "GET", "/v1/audit/verify", admin_tok), 200);
    assert_true(json_is_true(json_object_get(ver, "ok")));
    json_decref(ver);
}

/* A restart checks at once and seals nothing twice; access is the route's. */
static void test_restart_and_access(void **state)
{
    (void)state;
    assert_int_equal(harness_proc_stop(&stack.d.proc, SIGTERM, 10000), 0);
    static const char *const args[] = {"--route-seal-grace=1", NULL};
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, args), 0);
    int ready = 0;
    for (int i = 0; i < HARNESS_REPLY_TIMEOUT_MS / 50 && !ready; i++) {
        ready = call(NULL, "GET", "/v1/audit/verify", admin_tok) == 200;
        if (!ready)
            harness_sleep_ms(50);
    }
    assert_true(ready);
    json_t *v = verify();
    assert_true(json_is_true(json_object_get(v, "sealed")));
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    json_t *reply;
    assert_int_equal(json_array_size(entries("route_sealed", &reply)), 2);
    json_decref(reply);
    assert_int_equal(json_array_size(entries("route_late_after_seal", &reply)), 1);
    json_decref(reply);

    char path[128];
    snprintf(path, sizeof(path), "/v1/vehicles/V1/route/verify?date=%s", date);
    assert_int_equal(call(NULL, "GET", path, NULL), 401);
    assert_int_equal(call(NULL, "GET", "/v1/vehicles/V1/route/verify?date=2026-13-01", admin_tok),
                     400);
    assert_int_equal(call(NULL, "GET", "/v1/vehicles/V1/route/verify", admin_tok), 400);
    snprintf(path, sizeof(path), "/v1/vehicles/NOPE/route/verify?date=%s", date);
    assert_int_equal(call(NULL, "GET", path, admin_tok), 404);
}

/* A day recorded per UTC day, as before seals followed the local day (docs/audit.md,
 * "Upgrading"): its log under the bare date, fingerprints from UTC midnight. Nothing is recorded
 * under its local day, so verify?date= holds the UTC day against that log, and says so
 * (utc_offset_min 0); the next date has nothing recorded either way: its local day is verified,
 * and the fix stored there without a record is named. */
static void test_utc_day_before_upgrade(void **state)
{
    (void)state;
    int64_t utc_day = (day_ms + OFFSET_MIN * 60000LL) / 86400000LL - 3;
    int64_t base = utc_day * 86400000LL;
    char d[11], d2[11], set[64], log_key[64], m[2][128], fp[2][ROUTE_FP_LEN + 1], sc[2][24];
    format_utc(base, "%Y-%m-%d", d, sizeof(d));
    format_utc(base + 24 * HOUR, "%Y-%m-%d", d2, sizeof(d2));
    format_utc(base, "lpg:route:V1:%Y%m%d", set, sizeof(set));
    format_utc(base, "lpg:route-log:V1:%Y%m%d", log_key, sizeof(log_key));
    /* UTC 10:00 and 20:00: local 18:00 of the date and 04:00 of the next. */
    int64_t t[2] = {base + 10 * HOUR, base + 20 * HOUR};
    char log[2 * ROUTE_FP_LEN + 1] = "", r[256];
    for (int i = 0; i < 2; i++) {
        snprintf(sc[i], sizeof(sc[i]), "%lld", (long long)t[i]);
        snprintf(m[i], sizeof(m[i]), "%d:%s:%d:%d:800:-:-:3:2", 900 + i, sc[i], LAT, LON);
        assert_int_equal(route_seal_fingerprint(base, t[i], m[i], strlen(m[i]), fp[i]), 0);
        strcat(log, fp[i]);
        const char *zadd[] = {"ZADD", set, sc[i], m[i]};
        assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 4, zadd), 0);
    }
    const char *setlog[] = {"SET", log_key, log};
    assert_int_equal(harness_redis_cmd(stack.redis.port, r, sizeof(r), 3, setlog), 0);
    json_t *v = verify_date(d);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_false(json_is_true(json_object_get(v, "sealed")));
    assert_int_equal(json_integer_value(json_object_get(v, "utc_offset_min")), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "recorded")), 2);
    char from[32];
    format_utc(base, "%Y-%m-%dT%H:%M:%S.000Z", from, sizeof(from));
    assert_string_equal(json_string_value(json_object_get(v, "from")), from);
    json_decref(v);
    v = verify_date(d2);
    assert_int_equal(json_integer_value(json_object_get(v, "utc_offset_min")), OFFSET_MIN);
    assert_int_equal(json_integer_value(json_object_get(v, "fixes")), 1);
    assert_false(json_is_true(json_object_get(v, "ok")));
    json_t *diff = json_object_get(v, "first_difference");
    assert_string_equal(json_string_value(json_object_get(diff, "what")), "inserted");
    assert_int_equal(json_integer_value(json_object_get(diff, "seq")), 901);
    json_decref(v);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A verify of the day sent on its own connection (HTTP/1.0: the server closes it after the
 * answer), not read yet. */
static int send_verify(void)
{
    int fd = harness_tcp_connect(stack.d.http_port);
    assert_true(fd >= 0);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/vehicles/V1/route/verify?date=%s HTTP/1.0\r\nHost: t\r\n"
                     "Authorization: Bearer %s\r\n\r\n",
                     date, admin_tok);
    assert_int_equal(harness_send_all(fd, req, (size_t)n), 0);
    return fd;
}

/* The whole answer within timeout_ms into resp; its status (-1 when none came in time). */
static int read_answer(int fd, char *resp, size_t cap, int timeout_ms)
{
    size_t used = 0;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, resp + used, cap - 1 - used, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
        if (used == cap - 1)
            break;
    }
    resp[used] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

/* At most ROUTE_SEAL_VERIFY_MAX verifications in flight (each reads and hashes a whole day): with
 * Redis paused, that many wait for their read and one more is refused at once with 503 busy and
 * Retry-After, while /healthz answers; the waiting ones are answered when Redis resumes, and the
 * places are free again afterwards. */
static void test_verify_cap(void **state)
{
    (void)state;
    enum { N = ROUTE_SEAL_VERIFY_MAX };
    char out[64];
    const char *pause[] = {"CLIENT", "PAUSE", "1500", "ALL"};
    assert_int_equal(harness_redis_cmd(stack.redis.port, out, sizeof(out), 4, pause), 0);
    int fds[N + 1];
    for (int i = 0; i < N + 1; i++)
        fds[i] = send_verify();
    /* The extra one is answered first, refused without waiting for Redis (inside the pause). */
    static char resp[65536];
    struct pollfd pfd[N + 1];
    for (int i = 0; i < N + 1; i++)
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    assert_true(poll(pfd, N + 1, 1000) >= 1);
    int first = -1;
    for (int i = 0; i < N + 1 && first < 0; i++)
        if (pfd[i].revents)
            first = i;
    assert_int_equal(read_answer(fds[first], resp, sizeof(resp), 1000), 503);
    assert_non_null(strstr(resp, "\"busy\""));
    assert_non_null(strstr(resp, "Retry-After: 1"));
    /* The loop is free meanwhile. */
    int hs = 0;
    char body[2048];
    long long h0 = now_ms();
    assert_int_equal(
        harness_http(stack.d.http_port, "GET", "/healthz", &hs, body, sizeof(body), NULL, 0), 0);
    assert_int_equal(hs, 200);
    assert_true(now_ms() - h0 < 1000);
    int busy = 1, ok = 0;
    for (int i = 0; i < N + 1; i++) {
        if (i == first)
            continue;
        int status = read_answer(fds[i], resp, sizeof(resp), 30000);
        assert_int_equal(status, 200);
        ok++;
    }
    assert_int_equal(busy, 1);
    assert_int_equal(ok, N);
    /* Every place was given back: N + 1 one after the other all verify. */
    for (int i = 0; i < N + 1; i++) {
        json_t *v = verify();
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_late_edit_remove),
        cmocka_unit_test(test_restart_and_access),
        cmocka_unit_test(test_utc_day_before_upgrade),
        cmocka_unit_test(test_verify_cap),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    harness_cleanup_all();
    return rc;
}
