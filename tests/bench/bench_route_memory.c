/*
 * bench_route_memory.c - the Redis memory a stored position costs (docs/scaling.md, "Redis
 * memory"): starts a private redis-server and dispatchd (tests/harness), provisions `vehicles`
 * devices each bound to a vehicle, and sends each `fixes` realistic 1 Hz fixes of one UTC day
 * (every field a unit sends: speed, heading, accuracy, mode; seqs of a unit that has run for a
 * year, ~8 digits) in batches of 500 through the handset protocol. Then it reads
 *   - MEMORY USAGE <day key> SAMPLES 0 of every vehicle's day set (exact), and
 *   - Redis used_memory before and after (as dispatchd reports it in /healthz), which also
 *     counts the vehicle's other keys (last fix, rule state, GEO member, device mark),
 * and prints bytes per position both ways. Options (--name=value): vehicles (4), fixes
 * (36000 = 10 h at 1 Hz), listpack-entries (what-if: CONFIG SET zset-max-listpack-entries before
 * storing; Redis's default is 128), --keep. Not a test. Last line:
 *   bench-route-memory fixes=<n> day_set_bytes_per_fix=<b> used_memory_bytes_per_fix=<b>
 */
#define _DEFAULT_SOURCE

#include "harness.h"
#include "wire_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 2026-11-28T00:00:00Z (a UTC day start), Hailar. */
#define DAY0_MS 1795824000000ULL
#define LAT     492100000
#define LON     1197500000

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long json_int(const char *json, const char *key)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"%s\":", key);
    const char *p = strstr(json, needle);
    return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

/* used_memory from /healthz once it was read after `after_ms` (2 polls of 1 s later). */
static long long used_memory(struct harness_stack *s)
{
    static char body[8192];
    long long until = mono_ms() + 2500, v = -1;
    while (mono_ms() < until || v < 0) {
        int status;
        if (harness_http(s->d.http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0) ==
            0)
            v = json_int(body, "used_memory");
        harness_sleep_ms(200);
        if (mono_ms() > until + 30000)
            break;
    }
    return v;
}

int main(int argc, char **argv)
{
    int vehicles = 4, fixes = 36000, keep = 0, listpack = 0;
    for (int i = 1; i < argc; i++) {
        if (sscanf(argv[i], "--vehicles=%d", &vehicles) == 1 ||
            sscanf(argv[i], "--fixes=%d", &fixes) == 1 ||
            sscanf(argv[i], "--listpack-entries=%d", &listpack) == 1)
            continue;
        if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
            continue;
        }
        fprintf(stderr, "usage: bench-route-memory [--vehicles=N] [--fixes=N] "
                        "[--listpack-entries=N] [--keep]\n");
        return 2;
    }
    if (vehicles < 1 || vehicles > 100 || fixes < 1 || fixes > 86400) {
        fprintf(stderr, "bench-route-memory: 1..100 vehicles, 1..86400 fixes (one day at 1 Hz)\n");
        return 2;
    }
    static const char *const args[] = {"--redis-memory-check-interval=1",
                                       "--position-rate-burst=10000000", NULL};
    struct harness_stack s;
    memset(&s, 0, sizeof(s));
    s.keep_dir = keep;
    if (harness_stack_start(&s, "routemem", args) != 0)
        return 1;
    int rc = 1;
    static char secrets[100][64];
    char dev[32], veh[32];
    for (int v = 0; v < vehicles; v++) {
        snprintf(dev, sizeof(dev), "M%03d", v);
        snprintf(veh, sizeof(veh), "VM%03d", v);
        if (harness_stack_device(&s, dev, secrets[v]) != 0 ||
            harness_stack_vehicle(&s, veh, dev) != 0)
            goto out;
    }
    if (listpack > 0) {
        /* What-if: Redis keeps a sorted set of up to N members as one listpack (default 128). */
        char n[16], reply[64];
        snprintf(n, sizeof(n), "%d", listpack);
        const char *cmd[] = {"CONFIG", "SET", "zset-max-listpack-entries", n};
        if (harness_redis_cmd(s.redis.port, reply, sizeof(reply), 4, cmd) != 0 ||
            strcmp(reply, "+OK") != 0)
            goto out;
    }
    long long before = used_memory(&s);
    Lpg__V1__Fix *batch = calloc(500, sizeof(*batch));
    if (batch == NULL)
        goto out;
    long long t0 = mono_ms();
    for (int v = 0; v < vehicles; v++) {
        snprintf(dev, sizeof(dev), "M%03d", v);
        int fd = wire_login(s.d.handset_port, dev, secrets[v]);
        if (fd < 0) {
            free(batch);
            goto out;
        }
        uint64_t seq0 = 12345678; /* a unit a year in service */
        uint64_t req = 2;
        for (int f = 0; f < fixes; f += 500, req++) {
            int n = fixes - f < 500 ? fixes - f : 500;
            for (int i = 0; i < n; i++) {
                int k = f + i;
                /* ~40 km/h around a 2 km square, slowing and stopping now and then. */
                int32_t lat = LAT + (int32_t)((k * 1103) % 180000);
                int32_t lon = LON + (int32_t)((k * 1409) % 270000);
                wire_fix_3d(&batch[i], seq0 + (uint64_t)k,
                            DAY0_MS + 6ULL * 3600000 + (uint64_t)k * 1000 + (uint64_t)(k % 7), lat,
                            lon, (uint32_t)(k % 60 < 5 ? 0 : 1000 + (k * 37) % 400));
                batch[i].has_heading_cdeg = batch[i].has_accuracy_cm = 1;
                batch[i].heading_cdeg = (uint32_t)((k * 173) % 36000);
                batch[i].accuracy_cm = (uint32_t)(300 + (k * 13) % 500);
            }
            if (wire_send_positions(fd, req, batch, (size_t)n, 60000) < 0) {
                fprintf(stderr, "bench-route-memory: batch %llu of %s not acknowledged\n",
                        (unsigned long long)req, dev);
                close(fd);
                free(batch);
                goto out;
            }
        }
        close(fd);
    }
    free(batch);
    long long took = mono_ms() - t0;
    long long after = used_memory(&s);
    long long day_total = 0;
    for (int v = 0; v < vehicles; v++) {
        char key[64], reply[64];
        snprintf(key, sizeof(key), "lpg:route:VM%03d:20261128", v);
        const char *cmd[] = {"MEMORY", "USAGE", key, "SAMPLES", "0"};
        if (harness_redis_cmd(s.redis.port, reply, sizeof(reply), 5, cmd) != 0 || reply[0] != ':') {
            fprintf(stderr, "bench-route-memory: MEMORY USAGE %s: %s\n", key, reply);
            goto out;
        }
        day_total += strtoll(reply + 1, NULL, 10);
        const char *card[] = {"ZCARD", key};
        if (harness_redis_cmd(s.redis.port, reply, sizeof(reply), 2, card) != 0 ||
            strtoll(reply + 1, NULL, 10) != fixes) {
            fprintf(stderr, "bench-route-memory: %s holds %s fixes, want %d\n", key, reply, fixes);
            goto out;
        }
    }
    long long n = (long long)vehicles * fixes;
    printf("stored %lld fixes (%d vehicles x %d) in %lld ms; day sets %lld bytes; used_memory "
           "%lld -> %lld\n",
           n, vehicles, fixes, took, day_total, before, after);
    printf("bench-route-memory fixes=%lld day_set_bytes_per_fix=%.1f "
           "used_memory_bytes_per_fix=%.1f\n",
           n, (double)day_total / (double)n, (double)(after - before) / (double)n);
    rc = 0;
out:
    harness_stack_stop(&s);
    return rc;
}
