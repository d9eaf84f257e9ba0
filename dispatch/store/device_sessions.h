/* device_sessions.h -- a device's open session as the store records it (docs/redis-keys.md):
 *   {p}device:{id}:session  hash: session_id, peer ("address:port"), opened_ms (UTC ms),
 *                           protocol (the wire protocol's version), software (free text from
 *                           the device, at most DEVICE_SESSION_SOFTWARE_MAX bytes)
 * Written when a session opens, before it is acknowledged (an acknowledged session is stored).
 */
#ifndef LPG_DEVICE_SESSIONS_H
#define LPG_DEVICE_SESSIONS_H

#include <stdint.h>

struct store;

#define DEVICE_SESSION_SOFTWARE_MAX 128 /* bytes kept of the device's software text */

struct device_session {
    const char *device_id;
    const char *session_id;
    const char *peer;     /* the connection's peer, for the operators */
    int64_t opened_ms;    /* UTC ms */
    int protocol;         /* the version the session speaks */
    const char *software; /* "" when the device said nothing; cut to the limit */
};

/* err: NULL once recorded; else why not (the command was lost with the connection, or Redis
 * answered an error), valid only during the call. */
typedef void device_session_done_fn(void *arg, const char *err);

/* Records s. Returns 0 (done is called once, later), or -1 with why (static text): nothing was
 * sent and done will not be called. */
int device_session_record(struct store *st, const struct device_session *s,
                          device_session_done_fn *done, void *arg, const char **why);

#endif
