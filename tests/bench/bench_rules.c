/*
 * bench_rules.c - in-process throughput of the rules engine: fixes through the pre-rule
 * filters and every rule (rules_process_fix), for many vehicles, on one core.
 *
 * Workload: 10,000 vehicles, 1 Hz fixes interleaved vehicle by vehicle as an ingest loop would
 * see them; each vehicle drives a city pattern (cruise 30-55 km/h, bursts to 75 km/h that
 * become overspeed episodes, red-light and parking stops with GPS jitter, zone exits, a few
 * invalid / duplicate / spiking fixes) precomputed into memory so the timed loop measures the
 * engine only. Each round replays 200 fixes per vehicle (2 M fixes) on fresh states; prints
 * every round's rate, then the median of 7 rounds. Not a test (timings would make CTest
 * flaky); run from a Release build without sanitizers:
 *   build-rel/tests/bench/bench-rules
 * Last line: "bench-rules fixes_per_s_per_core=<n>".
 */
#include "bench_util.h"
#include "core/rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VEHICLES 10000
#define STEPS    200
#define ROUNDS   7

struct input {
    struct lpg_fix f;
    uint8_t inside_zone;
    uint8_t expressway;
};

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void) /* xorshift64*, [0, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    struct input *in = malloc(sizeof *in * VEHICLES * STEPS);
    struct rules_state *st = malloc(sizeof *st * VEHICLES);
    if (in == NULL || st == NULL) {
        fprintf(stderr, "bench-rules: out of memory\n");
        return 1;
    }
    const int64_t t0 = 1700000000000LL;
    for (int v = 0; v < VEHICLES; v++) {
        double lon = 119.6 + rnd() * 0.3, lat = 49.1 + rnd() * 0.2, hdg = rnd() * 6.283;
        for (int s = 0; s < STEPS; s++) {
            int phase = (s + v) % 100;
            double kmh = 30 + 25 * rnd();
            if (phase >= 40 && phase < 60)
                kmh = 72 + 6 * rnd(); /* overspeed burst */
            else if (phase >= 80)
                kmh = rnd() * 3; /* stopped, jitter */
            lon += kmh / 3.6 * cos(hdg) / 72700.0;
            lat += kmh / 3.6 * sin(hdg) / 111320.0;
            struct input *x = &in[(size_t)s * VEHICLES + (size_t)v];
            x->f = (struct lpg_fix){.time_ms = t0 + (int64_t)s * 1000,
                                    .pos = {lon + (rnd() - 0.5) * 2e-5, lat},
                                    .speed_kmh = kmh,
                                    .has_speed = true,
                                    .heading_deg = hdg * 57.3,
                                    .has_heading = true,
                                    .accuracy_m = 5 + rnd() * 10,
                                    .has_accuracy = true,
                                    .mode = LPG_FIX_MODE_3D};
            double r = rnd();
            if (r < 0.002)
                x->f.mode = LPG_FIX_MODE_NONE; /* invalid */
            else if (r < 0.004 && s > 0)
                x->f.time_ms -= 1000; /* duplicate */
            else if (r < 0.005)
                x->f.pos.lat += 0.05; /* spike */
            else if (r < 0.006)
                x->f.has_speed = false; /* derived speed */
            x->inside_zone = !(phase >= 20 && phase < 32);
            x->expressway = v % 10 == 0;
        }
    }

    struct rules_config cfg;
    struct fix_filter_config fcfg;
    rules_config_default(&cfg);
    fix_filter_config_default(&fcfg);
    double rates[ROUNDS];
    size_t events = 0, rejected = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int v = 0; v < VEHICLES; v++)
            rules_state_init(&st[v]);
        double start = now_s();
        for (size_t i = 0; i < (size_t)VEHICLES * STEPS; i++) {
            const struct input *x = &in[i];
            size_t v = i % VEHICLES;
            struct rules_ctx ctx = {.has_zone = true,
                                    .inside_zone = x->inside_zone,
                                    .expressway = x->expressway,
                                    .on_active_delivery = true,
                                    .utc_offset_min = 480};
            struct rule_event ev[RULES_EVENTS_MAX];
            size_t n;
            if (rules_process_fix(&fcfg, &cfg, &st[v], &x->f, x->f.time_ms, &ctx, ev,
                                  RULES_EVENTS_MAX, &n) != FIX_FILTER_OK)
                rejected++;
            events += n;
        }
        double el = now_s() - start;
        rates[round] = (double)VEHICLES * STEPS / el;
        printf("round %d: %.0f fixes/s\n", round + 1, rates[round]);
    }
    qsort(rates, ROUNDS, sizeof rates[0], bench_cmp_double);
    printf("vehicles=%d fixes_per_round=%d events=%zu rejected=%zu (all rounds)\n", VEHICLES,
           VEHICLES * STEPS, events, rejected);
    printf("bench-rules fixes_per_s_per_core=%.0f\n", rates[ROUNDS / 2]);
    free(in);
    free(st);
    return 0;
}
