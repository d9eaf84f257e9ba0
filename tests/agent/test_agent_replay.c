/* test_agent_replay.c -- lpg-agent with the real thing: real NMEA recordings replayed through a
 * real gpsd (tests/agent/gps_replay.py, gpsfake's engine) to lpg-agent, to dispatchd, to Redis.
 *
 * 1. bundg_zeus_9.log as it is (a B&G chartplotter on a boat, 2018-08-20, 146 s): the stored
 *    route has one fix for every second of the log's valid position sentences from its first
 *    dated one (RMC) on, computed here from the log; first and last positions and every RMC
 *    speed match the log; the reports gpsd sends before the first date are not sent (no UTC
 *    time). With the road speed limit set to 10 km/h, the overspeed rule fires where the log
 *    first holds RMC speeds above 10 km/h for 10 s.
 * 2. mtk_logger_m241.gpx (a car in Rome, 2008-05-04) converted to NMEA inside the test
 *    (gpx_to_nmea.py), replayed in two parts by two gpsd runs on the same port (gpsd restarting
 *    is survived); in the middle dispatchd is stopped and started again, and later the agent is
 *    killed with SIGKILL and started again on its spool. The stored route holds exactly one fix
 *    per distinct second of the GPX, seqs 1..N without a gap or a repeat, positions and speeds
 *    as in the GPX; and no overspeed alert at the default 60 km/h (the drive never exceeds
 *    60 km/h for more than 5 s).
 *
 * 3. bt451.log as it is (a 2 Hz receiver, 2009-12-09): the void sentences before its first fix
 *    and the fixes after its time jumps back are not sent; a fix the server refuses (gpsd
 *    dates one a day ahead) is acknowledged and not resent; the others are stored with their
 *    positions and speeds; a course too short to derive stays absent.
 *
 * Times: gpsd moves dates before 2017 forward by 1024 weeks (stack-notes.md), and a route day
 * expires route_retention_days after its end, so recorded dates would be refused as future or
 * expire at once. The agent's `time_offset` setting (documented for replays) moves each log
 * onto yesterday's date, keeping its time of day; the test computes that offset from the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DAY_S        86400LL
#define WEEKS_1024_S (1024LL * 7 * DAY_S)
#define KNOT_KMH     1.852

static struct harness_stack stack;
static char auth[128];

static long long now_s(void)
{
    return (long long)time(NULL);
}

static long long yesterday_s(void)
{
    return (now_s() / DAY_S - 1) * DAY_S;
}

static void iso(long long ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the stack: Redis, dispatchd, a device bound to a vehicle ---- */

static int start_stack(const char *tag, const char *const *extra, const char *device,
                       const char *vehicle, char secret[64])
{
    char tok[64];
    if (harness_stack_start(&stack, tag, extra) != 0 ||
        harness_stack_device(&stack, device, secret) != 0 ||
        harness_stack_vehicle(&stack, vehicle, device) != 0 ||
        harness_stack_admin_token(&stack, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stack_stop(&stack) == 0 ? 0 : -1;
}

/* ---- processes: the replay (gpsd) and the agent ---- */

static void start_replay(struct harness_proc *p, const char *log, int port, const char *go,
                         const char *pause, const char *delay)
{
    char a_port[16], logf[400];
    snprintf(a_port, sizeof(a_port), "%d", port);
    snprintf(logf, sizeof(logf), "%s/replay-%d-%ld.log", stack.dir, port, (long)now_s());
    char *argv[] = {"/usr/bin/python3",
                    AGENT_TEST_DIR "/gps_replay.py",
                    "--port",
                    a_port,
                    "--log",
                    (char *)log,
                    "--delay",
                    (char *)delay,
                    "--go",
                    (char *)go,
                    "--linger",
                    "1",
                    pause ? "--pause" : NULL,
                    (char *)pause,
                    NULL};
    assert_int_equal(harness_proc_start(p, "replay", logf, argv), 0);
}

struct agent_run {
    struct harness_proc proc;
    char spool[300];
    char cred[300];
};

static void start_agent(struct agent_run *a, const char *device, const char *secret, int gpsd_port,
                        long long offset_s, const char *batch_age,
                        const char *extra /* one more --name=value, or NULL */)
{
    char logf[400], a_dev[80], a_cred[340], a_spool[340], a_gpsd[40], a_srv[40], a_off[40],
        a_age[40];
    mkdir(a->spool, 0700);
    /* The status file of an earlier run would answer for this one. */
    char st[340];
    snprintf(st, sizeof(st), "%s/status", a->spool);
    unlink(st);
    FILE *f = fopen(a->cred, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", secret);
    fclose(f);
    chmod(a->cred, 0600);
    snprintf(logf, sizeof(logf), "%s/agent-%s-%ld.log", stack.dir, device, (long)now_s());
    snprintf(a_dev, sizeof(a_dev), "--device-id=%s", device);
    snprintf(a_cred, sizeof(a_cred), "--credential-file=%s", a->cred);
    snprintf(a_spool, sizeof(a_spool), "--spool-dir=%s", a->spool);
    snprintf(a_gpsd, sizeof(a_gpsd), "--gpsd-port=%d", gpsd_port);
    snprintf(a_srv, sizeof(a_srv), "--server-port=%d", stack.d.handset_port);
    snprintf(a_off, sizeof(a_off), "--time-offset=%lld", offset_s);
    snprintf(a_age, sizeof(a_age), "--batch-max-age=%s", batch_age);
    char *argv[] = {LPG_AGENT_BIN,
                    a_dev,
                    a_cred,
                    a_spool,
                    a_gpsd,
                    a_srv,
                    a_off,
                    a_age,
                    "--reconnect-min=100",
                    "--reconnect-max=800",
                    "--log-level=debug",
                    "--spool-max-fixes=5000",
                    (char *)extra,
                    NULL};
    assert_int_equal(harness_proc_start(&a->proc, "lpg-agent", logf, argv), 0);
}

/* A counter of the agent's status line (dir/status), or -1. "up"/"down" read as 1/0. */
static long long status_get(const struct agent_run *a, const char *key)
{
    char path[340], line[600], pat[64];
    snprintf(path, sizeof(path), "%s/status", a->spool);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    if (!ok)
        return -1;
    snprintf(pat, sizeof(pat), " %s=", key);
    char padded[610];
    snprintf(padded, sizeof(padded), " %s", line);
    char *p = strstr(padded, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    if (strncmp(p, "up", 2) == 0)
        return 1;
    if (strncmp(p, "down", 4) == 0)
        return 0;
    return strtoll(p, NULL, 10);
}

static int wait_status(const struct agent_run *a, const char *key, long long at_least,
                       int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (status_get(a, key) >= at_least)
            return 0;
        harness_sleep_ms(50);
    }
    fprintf(stderr, "status %s did not reach %lld (is %lld)\n", key, at_least, status_get(a, key));
    return -1;
}

static int wait_exit(struct harness_proc *p, int timeout_ms)
{
    for (int t = 0; t < timeout_ms && harness_proc_alive(p); t += 50)
        harness_sleep_ms(50);
    return harness_proc_alive(p) ? -1 : 0;
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

/* Lets gpsd start feeding once the agent is connected and watching. */
static void go_when_watched(const struct agent_run *a, const char *go)
{
    assert_int_equal(wait_status(a, "gpsd", 1, 15000), 0);
    harness_sleep_ms(500); /* the WATCH is answered before the first sentence is read */
    touch(go);
}

/* Paths of a device's run in the stack's directory: spool, credential file, go file. */
static void name_run(struct agent_run *a, const char *device, char *go, size_t go_cap)
{
    snprintf(a->spool, sizeof(a->spool), "%s/spool-%s", stack.dir, device);
    snprintf(a->cred, sizeof(a->cred), "%s/%s.secret", stack.dir, device);
    snprintf(go, go_cap, "%s/go-%s", stack.dir, device);
}

/* A whole log replayed to a fresh agent: gpsd starts feeding once the agent watches it. */
static void replay_to_agent(struct agent_run *a, struct harness_proc *rep, const char *device,
                            const char *secret, const char *log, const char *delay,
                            long long offset_s, const char *batch_age, const char *extra)
{
    char go[300];
    name_run(a, device, go, sizeof(go));
    int gport = harness_free_port();
    start_replay(rep, log, gport, go, NULL, delay);
    start_agent(a, device, secret, gport, offset_s, batch_age, extra);
    go_when_watched(a, go);
}

/* ---- the stored route ---- */

static json_t *fetch_route(const char *vehicle, long long from_s, long long to_s)
{
    char path[256], from[32], to[32];
    iso(from_s * 1000, from, sizeof(from));
    iso(to_s * 1000, to, sizeof(to));
    snprintf(path, sizeof(path), "/v1/vehicles/%s/route?from=%s&to=%s", vehicle, from, to);
    size_t cap = 4u << 20;
    char *body = malloc(cap);
    assert_non_null(body);
    int status;
    assert_int_equal(
        harness_http_req(stack.d.http_port, "GET", path, auth, NULL, &status, body, cap), 0);
    assert_int_equal(status, 200);
    json_error_t err;
    json_t *j = json_loads(body, 0, &err);
    if (!j)
        fprintf(stderr, "route JSON: %s\n", err.text);
    free(body);
    assert_non_null(j);
    return j;
}

static long long parse_iso_ms(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int ms = 0;
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    /* timegm is not POSIX: days from the civil date (Howard Hinnant's algorithm). */
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return ((days * 24 + tm.tm_hour) * 60 + tm.tm_min) * 60000LL + tm.tm_sec * 1000LL + ms;
}

/* One expected fix: time (ms, as stored), position, speed (km/h, NAN if unknown). A receiver
 * whose sentences of one second disagree by a few metres gives alternatives: the stored
 * position must be one of the n_alt positions the log reports for that second. */
#define ALT_MAX 6
struct want {
    long long time_ms;
    double lat, lon, kmh;
    int n_alt;
    double alt_lat[ALT_MAX], alt_lon[ALT_MAX];
    int n_alt_kmh; /* other speeds the log gives for the second (VTG) */
    double alt_kmh[ALT_MAX];
};

static int speed_matches(const struct want *w, double kmh, double tol)
{
    if (fabs(kmh - w->kmh) <= tol)
        return 1;
    for (int k = 0; k < w->n_alt_kmh; k++)
        if (fabs(kmh - w->alt_kmh[k]) <= tol)
            return 1;
    return 0;
}

static int position_matches(const struct want *w, double lat, double lon)
{
    if (fabs(lat - w->lat) <= 2e-7 && fabs(lon - w->lon) <= 2e-7)
        return 1;
    for (int k = 0; k < w->n_alt; k++)
        if (fabs(lat - w->alt_lat[k]) <= 2e-7 && fabs(lon - w->alt_lon[k]) <= 2e-7)
            return 1;
    return 0;
}

/* Checks the route against the expected fixes: same count, seqs increasing without a repeat
 * (and 1..n when contiguous is set), each time present once, positions within 2e-7 degrees
 * (of one of the alternatives), speeds within tol_kmh. */
static void check_route(json_t *route, const struct want *w, size_t n, int contiguous,
                        double tol_kmh)
{
    json_t *fixes = json_object_get(route, "fixes");
    assert_true(json_is_array(fixes));
    if (json_array_size(fixes) != n)
        fprintf(stderr, "route has %zu fixes, the log %zu\n", json_array_size(fixes), n);
    assert_int_equal(json_array_size(fixes), n);
    long long prev_seq = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fixes, i);
        long long seq = json_integer_value(json_object_get(f, "seq"));
        long long t = parse_iso_ms(json_string_value(json_object_get(f, "time")));
        double lat = json_real_value(json_object_get(f, "lat"));
        double lon = json_real_value(json_object_get(f, "lon"));
        assert_true(seq > prev_seq);
        if (contiguous)
            assert_int_equal(seq, (long long)i + 1);
        prev_seq = seq;
        if (t != w[i].time_ms || !position_matches(&w[i], lat, lon)) {
            fprintf(stderr, "fix %zu: stored %lld %.7f,%.7f, log %lld %.7f,%.7f\n", i, t, lat, lon,
                    w[i].time_ms, w[i].lat, w[i].lon);
            fail();
        }
        if (!isnan(w[i].kmh)) {
            json_t *sp = json_object_get(f, "speed_kmh");
            assert_true(json_is_number(sp));
            if (!speed_matches(&w[i], json_number_value(sp), tol_kmh)) {
                fprintf(stderr, "fix %zu speed %.3f km/h, log %.3f\n", i, json_number_value(sp),
                        w[i].kmh);
                fail();
            }
        }
    }
}

/* Overspeed alerts of a vehicle: their count, and the earliest episode start (ms) in *start. */
static int overspeed_alerts(const char *vehicle, long long *start)
{
    char path[128], body[65536];
    snprintf(path, sizeof(path), "/v1/alerts?vehicle_id=%s&limit=500", vehicle);
    int status;
    assert_int_equal(
        harness_http_req(stack.d.http_port, "GET", path, auth, NULL, &status, body, sizeof(body)),
        0);
    assert_int_equal(status, 200);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    int count = 0;
    *start = -1;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i);
        const char *rule = json_string_value(json_object_get(a, "rule"));
        const char *kind = json_string_value(json_object_get(a, "kind"));
        if (!rule || strcmp(rule, "overspeed") != 0 || !kind ||
            strcmp(kind, "violation_start") != 0)
            continue;
        count++;
        long long s = parse_iso_ms(json_string_value(json_object_get(a, "start")));
        if (*start < 0 || s < *start)
            *start = s;
    }
    json_decref(j);
    return count;
}

/* ---- reading the NMEA log independently of gpsd ---- */

static double nmea_deg(const char *v, const char *hemi)
{
    double x = atof(v);
    double deg = floor(x / 100.0);
    double r = deg + (x - deg * 100.0) / 60.0;
    return (hemi[0] == 'S' || hemi[0] == 'W') ? -r : r;
}

/* Splits a sentence at commas (in place); returns the field count. */
static int fields(char *s, char **f, int max)
{
    int n = 0;
    char *star = strchr(s, '*');
    if (star)
        *star = '\0';
    f[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int hms_s(const char *t)
{
    return ((t[0] - '0') * 10 + (t[1] - '0')) * 3600 + ((t[2] - '0') * 10 + (t[3] - '0')) * 60 +
           (t[4] - '0') * 10 + (t[5] - '0');
}

/* The fixes the bundg log warrants: every second with a valid RMC, GGA or GLL from the first
 * valid RMC (the first date) on; the positions of those sentences (this chartplotter's
 * sentences of one second differ by a few metres), the speeds of the RMC of that second and of
 * the VTGs that follow it (they differ too: gpsd reports the latest). Times are of the log's
 * day. */
static size_t nmea_wants(const char *path, long long day_s, struct want *w, size_t max,
                         double *rmc_kmh /* per second of the day, NAN if none */)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    int first = -1, cur = -1; /* cur: the second of the last timed sentence */
    static int have[DAY_S];
    memset(have, 0, sizeof(have));
    static struct want by_s[DAY_S];
    for (long i = 0; i < DAY_S; i++)
        rmc_kmh[i] = NAN;
    while (fgets(line, sizeof(line), f)) {
        char *fl[32];
        if (line[0] != '$')
            continue;
        int n = fields(line, fl, 32);
        int s = -1, is_rmc = 0;
        double lat = 0, lon = 0, kmh = NAN;
        if (n >= 10 && strcmp(fl[0] + 3, "RMC") == 0 && fl[2][0] == 'A') {
            s = hms_s(fl[1]);
            lat = nmea_deg(fl[3], fl[4]);
            lon = nmea_deg(fl[5], fl[6]);
            kmh = atof(fl[7]) * KNOT_KMH;
            is_rmc = 1;
            if (first < 0)
                first = s;
        } else if (n >= 7 && strcmp(fl[0] + 3, "GGA") == 0 && fl[6][0] > '0') {
            s = hms_s(fl[1]);
            lat = nmea_deg(fl[2], fl[3]);
            lon = nmea_deg(fl[4], fl[5]);
        } else if (n >= 7 && strcmp(fl[0] + 3, "GLL") == 0 && fl[6][0] == 'A') {
            s = hms_s(fl[5]);
            lat = nmea_deg(fl[1], fl[2]);
            lon = nmea_deg(fl[3], fl[4]);
        } else if (n >= 6 && strcmp(fl[0] + 3, "VTG") == 0 && cur >= 0 && have[cur] && fl[5][0] &&
                   by_s[cur].n_alt_kmh < ALT_MAX) {
            /* VTG has no time: it speaks of the second in progress. */
            by_s[cur].alt_kmh[by_s[cur].n_alt_kmh++] = atof(fl[5]) * KNOT_KMH;
            continue;
        }
        if (s < 0 || first < 0 || s < first)
            continue;
        cur = s;
        /* Every position the log gives for the second is a candidate (which one gpsd reports
         * depends on its sentence order); the speed is the RMC's. */
        if (!have[s]) {
            by_s[s] =
                (struct want){.time_ms = (day_s + s) * 1000LL, .lat = lat, .lon = lon, .kmh = NAN};
            have[s] = 1;
        } else if (by_s[s].n_alt < ALT_MAX) {
            by_s[s].alt_lat[by_s[s].n_alt] = lat;
            by_s[s].alt_lon[by_s[s].n_alt++] = lon;
        }
        if (is_rmc)
            by_s[s].kmh = kmh;
        if (is_rmc)
            rmc_kmh[s] = kmh;
    }
    fclose(f);
    size_t k = 0;
    for (long s = 0; s < DAY_S && k < max; s++)
        if (have[s])
            w[k++] = by_s[s];
    return k;
}

/* ---- 1. a real NMEA log as it is ---- */

static void test_nmea_log_as_is(void **state)
{
    (void)state;
    char secret[64];
    const char *extra[] = {"--speed-limit-road=10", NULL};
    assert_int_equal(start_stack("agent-nmea", extra, "A1", "V1", secret), 0);

    const long long log_day = 1534723200LL; /* 2018-08-20, the log's date (after 2017: gpsd
                                               keeps it) */
    long long offset = yesterday_s() - log_day;
    static struct want w[4096];
    static double rmc_kmh[DAY_S];
    size_t n = nmea_wants(TRACKS_DIR "/bundg_zeus_9.log", yesterday_s(), w, 4096, rmc_kmh);
    assert_int_equal(n, 148); /* 145 valid RMC and 3 seconds with only GGA/GLL */

    struct agent_run a;
    struct harness_proc rep;
    replay_to_agent(&a, &rep, "A1", secret, TRACKS_DIR "/bundg_zeus_9.log", "0.002", offset, "1000",
                    "--spool-fsync=always");
    assert_int_equal(wait_exit(&rep, 40000), 0);
    assert_int_equal(wait_status(&a, "acked_seq", (long long)n, 15000), 0);
    harness_sleep_ms(1200);
    assert_int_equal(status_get(&a, "read"), (long long)n);
    assert_int_equal(status_get(&a, "spooled"), 0);
    assert_int_equal(status_get(&a, "dropped"), 0);
    /* gpsd reported the GGA before the first RMC without a date: never sent. */
    assert_true(status_get(&a, "no_time") >= 1);

    json_t *route = fetch_route("V1", yesterday_s() + 9 * 3600, yesterday_s() + 11 * 3600);
    check_route(route, w, n, 1, 0.02); /* speeds are stored in cm/s: 0.036 km/h steps */
    json_decref(route);

    /* The overspeed rule, at 10 km/h: the log warrants an episode where RMC speeds first stay
     * above 10 km/h for 10 s (the rule's default duration). */
    long long run_start = -1, warranted = -1;
    for (long s = 0; s < DAY_S && warranted < 0; s++) {
        if (!isnan(rmc_kmh[s]) && rmc_kmh[s] > 10.0) {
            if (run_start < 0)
                run_start = s;
            if (s - run_start >= 10)
                warranted = run_start;
        } else if (!isnan(rmc_kmh[s])) {
            run_start = -1;
        }
    }
    assert_true(warranted >= 0); /* the boat holds 10.4-11 km/h for long stretches */
    long long start;
    int alerts = overspeed_alerts("V1", &start);
    assert_true(alerts >= 1);
    assert_int_equal(start, (yesterday_s() + warranted) * 1000LL);
    int st = harness_proc_stop(&a.proc, SIGTERM, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* `lpg-agent --status` reads the spool's status line (written again at exit). */
    char cmd[800];
    snprintf(cmd, sizeof(cmd),
             "%s --status --spool-dir=%s | grep -q ' spooled=0 dropped=0 .* acked_seq=148 '",
             LPG_AGENT_BIN, a.spool);
    assert_int_equal(system(cmd), 0);
}

/* ---- 2. a GPX drive, outages of dispatchd, gpsd and the agent ---- */

static size_t csv_wants(const char *path, long long offset_s, struct want *w, size_t max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    size_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        long long t;
        double lat, lon, ms = NAN;
        char sp[64] = "";
        if (sscanf(line, "%lld,%lf,%lf,%63s", &t, &lat, &lon, sp) < 3)
            continue;
        if (sp[0])
            ms = atof(sp);
        struct want x = {.time_ms = t + offset_s * 1000,
                         .lat = lat,
                         .lon = lon,
                         .kmh = isnan(ms) ? NAN : ms * 3.6};
        /* The GPX repeats some seconds: an epoch is one fix, the last report wins. */
        if (n > 0 && w[n - 1].time_ms == x.time_ms)
            w[n - 1] = x;
        else if (n < max)
            w[n++] = x;
    }
    fclose(f);
    return n;
}

static void test_gpx_drive_through_outages(void **state)
{
    (void)state;
    char secret[64];
    assert_int_equal(start_stack("agent-gpx", NULL, "A2", "V2", secret), 0);

    /* The drive converted to NMEA here, in two parts (60 % / 40 %). */
    char prefix[300], cmd[900];
    snprintf(prefix, sizeof(prefix), "%s/mtk", stack.dir);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/gpx_to_nmea.py %s/mtk_logger_m241.gpx %s 0.6",
             AGENT_TEST_DIR, TRACKS_DIR, prefix);
    assert_int_equal(system(cmd), 0);
    char part1[320], part2[320], csv[320];
    snprintf(part1, sizeof(part1), "%s.1.nmea", prefix);
    snprintf(part2, sizeof(part2), "%s.2.nmea", prefix);
    snprintf(csv, sizeof(csv), "%s.csv", prefix);

    /* 2008-05-04: gpsd adds 1024 weeks; the offset takes that back and moves the day to
     * yesterday. */
    const long long gpx_day = 1209859200LL; /* 2008-05-04T00:00:00Z */
    long long offset = yesterday_s() - gpx_day - WEEKS_1024_S;
    static struct want w[4096];
    size_t n = csv_wants(csv, yesterday_s() - gpx_day, w, 4096);
    assert_int_equal(n, 1121); /* 1199 track points, 1121 distinct seconds */

    struct agent_run a;
    char go[300], pause[300];
    name_run(&a, "A2", go, sizeof(go));
    snprintf(pause, sizeof(pause), "%s/pause-A2", stack.dir);
    int gport = harness_free_port();
    struct harness_proc rep;
    start_replay(&rep, part1, gport, go, pause, "0.004");
    start_agent(&a, "A2", secret, gport, offset, "8000", NULL);
    go_when_watched(&a, go);

    /* dispatchd stops in the middle of the replay and comes back on the same port. */
    assert_int_equal(wait_status(&a, "acked_seq", 150, 20000), 0);
    int handset_port = stack.d.handset_port;
    harness_proc_stop(&stack.d.proc, SIGTERM, 5000);
    long long acked_at_stop = status_get(&a, "acked_seq");
    harness_sleep_ms(2500);
    assert_int_equal(status_get(&a, "server"), 0);
    assert_true(status_get(&a, "spooled") > 0); /* fixes keep coming, into the spool */
    char a_port[40];
    snprintf(a_port, sizeof(a_port), "--handset-port=%d", handset_port);
    const char *restart[] = {a_port, NULL};
    assert_int_equal(harness_dispatchd_start(&stack.d, stack.dir, stack.redis.port, restart), 0);
    stack.d.handset_port = handset_port;
    assert_int_equal(wait_status(&a, "acked_seq", acked_at_stop + 200, 20000), 0);

    /* kill -9 of the agent with fixes in its spool: feeding is paused first (gpsd has no
     * client meanwhile, and what it would say is lost before any agent sees it), and the
     * epoch in progress is given epoch_timeout to reach the spool. dispatchd is frozen
     * meanwhile, so that nothing more is acknowledged: the agent's next batch could otherwise
     * empty the spool just before the kill (it did, on a busy machine), and the kill would
     * prove nothing. The kill waits until the status shows fixes sent but not acknowledged. */
    assert_int_equal(kill(stack.d.proc.pid, SIGSTOP), 0);
    touch(pause);
    harness_sleep_ms(1600);
    for (int waited = 0; status_get(&a, "next_seq") - 1 <= status_get(&a, "acked_seq");
         waited += 50) {
        if (waited > 20000) {
            kill(stack.d.proc.pid, SIGCONT);
            fail_msg("no fix waiting for an acknowledgement in the agent's spool after 20 s");
        }
        harness_sleep_ms(50);
    }
    harness_proc_stop(&a.proc, SIGKILL, 2000);
    assert_int_equal(kill(stack.d.proc.pid, SIGCONT), 0);
    start_agent(&a, "A2", secret, gport, offset, "8000", NULL);
    /* The restarted agent found unacknowledged fixes in the spool and sends them. */
    assert_int_equal(wait_status(&a, "server", 1, 15000), 0);
    char grep[1000];
    snprintf(grep, sizeof(grep), "grep -Eq 'spool .*: [1-9][0-9]* fixes waiting for the server' %s",
             a.proc.log);
    if (system(grep) != 0) {
        harness_proc_dump_log(&a.proc, 20);
        fail_msg("the agent was killed with nothing in its spool: the test proves nothing");
    }
    assert_int_equal(wait_status(&a, "gpsd", 1, 15000), 0);
    harness_sleep_ms(500);
    unlink(pause);

    /* gpsd stops at the end of part 1; a new gpsd on the same port replays part 2. */
    assert_int_equal(wait_exit(&rep, 40000), 0);
    long long connects = status_get(&a, "gpsd_connects");
    assert_true(connects >= 1);
    char go2[320];
    snprintf(go2, sizeof(go2), "%s.2", go);
    start_replay(&rep, part2, gport, go2, NULL, "0.004");
    assert_int_equal(wait_status(&a, "gpsd_connects", connects + 1, 15000), 0);
    harness_sleep_ms(500);
    touch(go2);
    assert_int_equal(wait_exit(&rep, 40000), 0);
    assert_int_equal(wait_status(&a, "acked_seq", (long long)n, 20000), 0);
    harness_sleep_ms(1200);
    assert_int_equal(status_get(&a, "spooled"), 0);
    assert_int_equal(status_get(&a, "dropped"), 0);
    assert_int_equal(status_get(&a, "next_seq"), (long long)n + 1);

    json_t *route = fetch_route("V2", yesterday_s(), yesterday_s() + DAY_S);
    check_route(route, w, n, 1, 0.05);
    json_decref(route);

    long long start;
    assert_int_equal(overspeed_alerts("V2", &start), 0);
    int st = harness_proc_stop(&a.proc, SIGTERM, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- 3. a receiver's start and a jump back in time (bt451.log, 2 Hz, 2009) ---- */

static void test_receiver_start_and_time_jump(void **state)
{
    (void)state;
    char secret[64];
    assert_int_equal(start_stack("agent-bt451", NULL, "A3", "V3", secret), 0);
    /* The log: 4 void RMC (no fix, no time), then 8 valid RMC from 15:25:05.0 to 15:25:08.5
     * every 0.5 s, then a GGA of 14:33:06.0 and 5 RMC of 14:33:06.5..14:33:08.5: the
     * receiver's time jumps back 52 minutes. What gpsd makes of it (seen with gpsd 3.22): it
     * reports the last epoch before the jump only merged into the GGA after it, and, the GGA
     * having no date, takes its time of day as the NEXT day (a midnight roll-over). So the
     * agent reads 8 fixes: 15:25:05.0..15:25:08.0 and one at 14:33:06 a day later, which the
     * server refuses as in the future (the batch is acknowledged, the fix skipped: the agent
     * must not resend it forever); the RMCs after it are behind it and not sent. Stored: the
     * log's first 7 valid fixes. */
    const long long log_day = 1260316800LL; /* 2009-12-09 */
    long long offset = yesterday_s() - log_day - WEEKS_1024_S;
    /* The 8 valid RMC before the jump: time of day, ddmm.mmmmm converted to degrees, knots. */
    static const struct want w[] = {
        {.time_ms = 55505000, .lat = 55.7970188, .lon = 23.5690217, .kmh = 0.253 * KNOT_KMH},
        {.time_ms = 55505500, .lat = 55.7970198, .lon = 23.5690207, .kmh = 0.265 * KNOT_KMH},
        {.time_ms = 55506000, .lat = 55.7970210, .lon = 23.5690195, .kmh = 0.340 * KNOT_KMH},
        {.time_ms = 55506500, .lat = 55.7970220, .lon = 23.5690188, .kmh = 0.336 * KNOT_KMH},
        {.time_ms = 55507000, .lat = 55.7970232, .lon = 23.5690175, .kmh = 0.371 * KNOT_KMH},
        {.time_ms = 55507500, .lat = 55.7970242, .lon = 23.5690163, .kmh = 0.309 * KNOT_KMH},
        {.time_ms = 55508000, .lat = 55.7970250, .lon = 23.5690153, .kmh = 0.309 * KNOT_KMH},
        {.time_ms = 55508500, .lat = 55.7970260, .lon = 23.5690143, .kmh = 0.296 * KNOT_KMH},
    };
    size_t n = sizeof(w) / sizeof(w[0]) - 1; /* see above */
    struct want shifted[8];
    for (size_t i = 0; i < n; i++) {
        shifted[i] = w[i];
        shifted[i].time_ms += yesterday_s() * 1000LL;
    }
    struct agent_run a;
    struct harness_proc rep;
    replay_to_agent(&a, &rep, "A3", secret, TRACKS_DIR "/bt451.log", "0.01", offset, "500", NULL);
    assert_int_equal(wait_exit(&rep, 40000), 0);
    assert_int_equal(wait_status(&a, "acked_seq", (long long)n + 1, 15000), 0);
    harness_sleep_ms(2500); /* anything more would have arrived by now */
    assert_int_equal(status_get(&a, "read"), (long long)n + 1);
    assert_int_equal(status_get(&a, "acked_seq"), (long long)n + 1);
    assert_int_equal(status_get(&a, "spooled"), 0);
    /* Sent once, not again and again. */
    assert_int_equal(status_get(&a, "sent"), (long long)n + 1);
    /* Behind: the RMCs after the jump but the last (gpsd reports an epoch when the next
     * begins, and the log ends there). */
    assert_true(status_get(&a, "backwards") >= 4);
    assert_true(status_get(&a, "no_fix") + status_get(&a, "no_time") >= 1);
    json_t *route = fetch_route("V3", yesterday_s(), yesterday_s() + DAY_S);
    check_route(route, shifted, n, 1, 0.02);
    /* Only the RMC of 15:25:07.0 has a course (16.99); the others have none and move under
     * 1 m per fix, too little to derive one: left absent, not invented. Speeds are the
     * receiver's, not derived. */
    json_t *fixes = json_object_get(route, "fixes");
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fixes, i);
        json_t *h = json_object_get(f, "heading_deg");
        if (i == 4)
            assert_true(fabs(json_number_value(h) - 16.99) < 0.006);
        else
            assert_true(json_is_null(h));
        assert_true(json_is_false(json_object_get(f, "speed_derived")));
    }
    json_decref(route);
    int st = harness_proc_stop(&a.proc, SIGTERM, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* argv[1], when given, runs only the test of that name (CTest runs the three in parallel). */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_nmea_log_as_is, teardown),
        cmocka_unit_test_teardown(test_gpx_drive_through_outages, teardown),
        cmocka_unit_test_teardown(test_receiver_start_and_time_jump, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
