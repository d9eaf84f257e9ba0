/*
 * agent_settings.h - lpg-agent's settings: struct agent_config and the cfg_ table that
 * describes it (names, defaults, ranges, units, help; config.h does the parsing). The table is
 * the only place a default or a limit of the agent is written down; docs/agent.md lists them
 * (checked by tests/docs against `lpg-agent --print-config`).
 *
 * Types as in dispatchd_settings.h: integers are int64_t, strings heap copies owned by the
 * struct (release with cfg_free(agent_settings, AGENT_SETTINGS_COUNT, &conf)).
 */
#ifndef LPG_AGENT_SETTINGS_H
#define LPG_AGENT_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* spool_fsync values: when appended fixes are forced to disk. */
enum agent_fsync {
    AGENT_FSYNC_ALWAYS = 0,   /* after every append: survives power loss, costs a disk flush */
    AGENT_FSYNC_INTERVAL = 1, /* at most spool_fsync_interval ms after an append */
    AGENT_FSYNC_NEVER = 2,    /* left to the kernel (survives kill -9, not power loss) */
};

struct agent_config {
    int log_level; /* enum log_level (log.h) */

    char *device_id;       /* registered device id (POST /v1/devices) */
    char *credential_file; /* file holding the device secret */

    char *server_host;
    int64_t server_port;
    char *tls_ca;         /* PEM CA file; "" = plain TCP */
    char *tls_cert;       /* optional client certificate (PEM) */
    char *tls_key;        /* its key */
    bool allow_plaintext; /* plain TCP to a non-loopback server_host */
    char *gpsd_host;
    int64_t gpsd_port;

    int64_t batch_max_fixes; /* fixes per PositionBatch */
    int64_t batch_max_age;   /* ms the oldest unsent fix waits before a batch is closed */
    int64_t late_after;      /* seconds: a batch whose oldest fix was read earlier is late */

    char *spool_dir;
    int64_t spool_max_fixes;      /* ring capacity, fixes */
    int spool_fsync;              /* enum agent_fsync */
    int64_t spool_fsync_interval; /* ms */

    int64_t reconnect_min;   /* ms, first delay before reconnecting (gpsd and server) */
    int64_t reconnect_max;   /* ms, cap of the backoff */
    int64_t connect_timeout; /* ms allowed for a TCP connect plus the Hello's answer */
    int64_t ack_timeout;     /* ms allowed for the answer to a batch or Ping */
    int64_t ping_interval;   /* seconds of silence before a Ping keeps the session open */

    int64_t epoch_timeout;   /* ms after the last report of an epoch before it is taken */
    int64_t derive_max_gap;  /* seconds: speed/heading are derived only across shorter gaps */
    int64_t time_offset;     /* seconds added to receiver time (replays of recorded logs) */
    int64_t status_interval; /* seconds between status lines in the log */
    int64_t max_frame;       /* bytes: largest frame accepted from the server */
};

#define AGENT_SETTINGS_COUNT 28

extern const struct cfg_setting agent_settings[AGENT_SETTINGS_COUNT];

/* Cross-field rules: reconnect_min <= reconnect_max; batch_max_fixes <= spool_max_fixes.
 * Same convention as config.h. */
int agent_settings_validate(const void *conf, char *errbuf, size_t errlen);
/* device_id and credential_file are set (needed to run, not to print the status). */
int agent_settings_require_device(const struct agent_config *c, char *errbuf, size_t errlen);

#endif /* LPG_AGENT_SETTINGS_H */
