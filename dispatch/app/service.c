/* service.c -- see service.h. */
#define LOG_TAG "service"
#include "app/service.h"

#include "common/log.h"

double service_uptime(const struct service *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - s->started.tv_sec) +
           (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
}

void service_request_reload(struct service *s)
{
    if (!s->loaded || s->shutting_down)
        return;
    if (s->reload_needed)
        return; /* one reload is already asked for */
    log_error("a change Redis committed could not be applied to the registry; reloading the "
              "registry from Redis");
    s->reload_needed = 1;
    if (s->reload_start != NULL)
        s->reload_start(s->reload_arg);
}

void service_registry_put_failed(void *arg)
{
    service_request_reload(arg);
}
