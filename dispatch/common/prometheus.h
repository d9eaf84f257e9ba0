/* prometheus.h -- writers for the Prometheus text exposition format (version 0.0.4), used by
 * GET /metrics. Each metric family is one prom_family() line pair followed by its samples.
 */
#ifndef LPG_PROMETHEUS_H
#define LPG_PROMETHEUS_H

#include <stdint.h>

struct evbuffer;

/* Writes "# HELP name help" and "# TYPE name type" (type: "counter" or "gauge"). */
void prom_family(struct evbuffer *out, const char *name, const char *type, const char *help);

/* Writes one sample. `labels` is NULL or a list of name/value pairs ending with NULL; values
 * are escaped as the format requires (backslash, double quote, newline). */
void prom_sample_u64(struct evbuffer *out, const char *name, const char *const *labels,
                     uint64_t value);
void prom_sample_double(struct evbuffer *out, const char *name, const char *const *labels,
                        double value);

#endif
