/* device_sessions.c -- see device_sessions.h. */
#include "store/device_sessions.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller's callback, until the store answers. */
struct session_write {
    device_session_done_fn *done;
    void *arg;
};

static void on_session_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct session_write w = *(struct session_write *)arg;
    free(arg);
    const char *redis_err = err ? NULL : store_reply_error(reply);
    w.done(w.arg, err ? err : redis_err);
}

int device_session_record(struct store *st, const struct device_session *s,
                          device_session_done_fn *done, void *arg, const char **why)
{
    char key[160], suffix[120], opened[24], protocol[16];
    keys_device_session(suffix, sizeof(suffix), s->device_id);
    store_key(st, key, sizeof(key), suffix);
    snprintf(opened, sizeof(opened), "%" PRId64, s->opened_ms);
    snprintf(protocol, sizeof(protocol), "%d", s->protocol);
    const char *software = s->software ? s->software : "";
    const char *argv[] = {"HSET",      key,    "session_id", s->session_id, "peer",     s->peer,
                          "opened_ms", opened, "protocol",   protocol,      "software", software};
    size_t argvlen[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        argvlen[i] = strlen(argv[i]);
    if (argvlen[11] > DEVICE_SESSION_SOFTWARE_MAX)
        argvlen[11] = DEVICE_SESSION_SOFTWARE_MAX; /* free text for logs; keep it short */
    struct session_write *w = malloc(sizeof(*w));
    if (w == NULL) {
        *why = "out of memory";
        return -1;
    }
    w->done = done;
    w->arg = arg;
    if (store_command_argv(st, on_session_stored, w, (int)(sizeof(argv) / sizeof(argv[0])), argv,
                           argvlen, why) != 0) {
        free(w);
        return -1;
    }
    return 0;
}
