/* prometheus.c -- Prometheus text format writers (see prometheus.h). */
#include "common/prometheus.h"

#include <stdio.h>

#include <event2/buffer.h>

void prom_family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_labels(struct evbuffer *out, const char *const *labels)
{
    if (labels == NULL || labels[0] == NULL)
        return;
    evbuffer_add(out, "{", 1);
    for (int i = 0; labels[i] && labels[i + 1]; i += 2) {
        evbuffer_add_printf(out, "%s%s=\"", i ? "," : "", labels[i]);
        for (const char *p = labels[i + 1]; *p; p++) {
            if (*p == '\\' || *p == '"')
                evbuffer_add_printf(out, "\\%c", *p);
            else if (*p == '\n')
                evbuffer_add(out, "\\n", 2);
            else
                evbuffer_add(out, p, 1);
        }
        evbuffer_add(out, "\"", 1);
    }
    evbuffer_add(out, "}", 1);
}

void prom_sample_u64(struct evbuffer *out, const char *name, const char *const *labels,
                     uint64_t value)
{
    evbuffer_add_printf(out, "%s", name);
    prom_labels(out, labels);
    evbuffer_add_printf(out, " %llu\n", (unsigned long long)value);
}

void prom_sample_double(struct evbuffer *out, const char *name, const char *const *labels,
                        double value)
{
    evbuffer_add_printf(out, "%s", name);
    prom_labels(out, labels);
    evbuffer_add_printf(out, " %.3f\n", value);
}
