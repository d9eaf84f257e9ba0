/*
 * dispatchd_settings.h - dispatchd's settings: struct dispatchd_config and the cfg_ table that
 * describes it (names, defaults, ranges, units, help). The table is the only place a default or
 * a limit of dispatchd is written down; config.h does the parsing.
 *
 * Types: every integer setting is int64_t (the width the cfg_ engine stores; its range is
 * checked on load, so narrowing it to int at the point of use is safe for these ranges); strings
 * are heap copies owned by the struct (release with cfg_free(dispatchd_settings,
 * dispatchd_settings_count, &conf)); log_level holds an enum log_level.
 */
#ifndef LPG_DISPATCHD_SETTINGS_H
#define LPG_DISPATCHD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct fix_filter_config;
struct rules_config;
struct delivery_policy;

struct dispatchd_config {
    int log_level; /* enum log_level (log.h) */

    /* HTTP API */
    char *http_bind;                   /* address; default loopback */
    int64_t http_port;                 /* TCP port */
    int64_t http_max_body;             /* bytes */
    int64_t http_max_headers;          /* bytes */
    int64_t http_timeout;              /* seconds */
    int64_t http_max_connections;      /* count */
    int64_t http_header_timeout;       /* seconds */
    int64_t http_body_timeout;         /* seconds */
    int64_t events_max_per_enterprise; /* live-feed streams */
    int64_t events_max_per_user;       /* live-feed streams */
    int64_t events_position_interval;  /* seconds between one vehicle's position events */
    char *http_tls_cert;               /* PEM file; "" = plain HTTP */
    char *http_tls_key;                /* PEM file */
    char *console_dir;                 /* the console's files; "" = the source tree's console/ */
    char *console_leaflet_dir;         /* Debian libjs-leaflet's files */
    char *console_tile_url;            /* base map tiles; "" = none (plain background) */

    /* handset listener */
    char *handset_bind;                              /* address; default loopback */
    int64_t handset_port;                            /* TCP port */
    int64_t handset_max_connections;                 /* count */
    int64_t handset_idle_timeout;                    /* seconds */
    int64_t handset_max_frame;                       /* bytes */
    int64_t handset_hello_timeout;                   /* seconds */
    int64_t handset_max_unauthenticated;             /* count */
    int64_t handset_max_unauthenticated_per_address; /* count */
    char *handset_tls_cert;                          /* PEM file; "" = plain TCP */
    char *handset_tls_key;                           /* PEM file */
    bool allow_plaintext; /* a listener without TLS may bind to a non-loopback address */

    /* JT/T 808 listener (terminals speak no TLS) */
    char *jt808_bind;                              /* address; default loopback */
    int64_t jt808_port;                            /* TCP port */
    int64_t jt808_max_connections;                 /* count */
    int64_t jt808_idle_timeout;                    /* seconds */
    int64_t jt808_auth_timeout;                    /* seconds */
    int64_t jt808_max_unauthenticated;             /* count */
    int64_t jt808_max_unauthenticated_per_address; /* count */
    int64_t jt808_heartbeat;                       /* seconds, pushed to terminals */
    int64_t jt808_reassembly_timeout;              /* seconds */

    /* Redis store */
    char *redis_host;                    /* host name or address */
    int64_t redis_port;                  /* TCP port */
    int64_t redis_connect_timeout;       /* ms */
    int64_t redis_ping_interval;         /* ms */
    int64_t redis_reconnect_min;         /* ms, first reconnect delay */
    int64_t redis_reconnect_max;         /* ms, cap of the reconnect backoff */
    char *redis_user;                    /* ACL user; "" = default user */
    char *redis_password;                /* AUTH password; "" = no AUTH; never logged */
    char *redis_key_prefix;              /* every key the service writes starts with it */
    int64_t redis_memory_watermark;      /* % of maxmemory: /healthz warns, admins alerted */
    int64_t redis_memory_check_interval; /* seconds between INFO memory polls */

    int64_t route_retention_days;       /* days of route history kept */
    int64_t position_batch_max;         /* fixes per PositionBatch */
    int64_t position_rate_max;          /* fixes/s per device, sustained (ingest.c) */
    int64_t position_rate_burst;        /* fixes per device at once (token bucket size) */
    int64_t position_seq_window;        /* largest seq jump above a device's mark */
    int64_t geometry_ring_vertices_max; /* vertices of one ring of a zone or area */
    int64_t geometry_vertices_max;      /* vertices of one zone or area */
    /* tracking rules and the filters before them (rules.h, fix_filter.h) */
    int64_t speed_limit_road;         /* km/h */
    int64_t speed_limit_expressway;   /* km/h */
    int64_t overspeed_duration;       /* seconds */
    int64_t overspeed_warning_margin; /* km/h */
    int64_t continuous_driving_max;   /* minutes */
    int64_t fatigue_warning;          /* minutes */
    int64_t daily_driving_max;        /* minutes */
    int64_t min_rest;                 /* minutes */
    int64_t stop_speed;               /* km/h */
    int64_t zone_exit_duration;       /* seconds */
    int64_t signal_lost_after;        /* minutes */
    int64_t fix_max_future;           /* seconds */
    int64_t fix_max_implied_speed;    /* km/h */
    int64_t fix_max_accuracy;         /* m */
    /* delivery compliance (delivery_rules.h) */
    int64_t cylinder_inspection_interval; /* years */
    int64_t cylinder_design_life;         /* years */
    int64_t cylinder_max_life;            /* years */
    int64_t handover_max_distance;        /* m */
    int64_t handover_max_fix_age;         /* seconds */
    int64_t rectification_deadline;       /* days */
    int64_t unplanned_stop;               /* minutes (issue 13: depot_watch.h) */
    /* limits on logins: hashing threads and failed-attempt throttles (login_guard.h) */
    int64_t login_workers;             /* threads hashing passwords off the event loop */
    int64_t login_queue_max;           /* logins waiting for a hashing thread, at most */
    int64_t auth_max_failures;         /* per account / device before delays start */
    int64_t auth_max_failures_address; /* per source address before delays start */
    int64_t auth_delay;                /* seconds, the first delay */
    int64_t auth_lock_period;          /* seconds, the longest delay (the lock) */
    int64_t auth_track_max;            /* keys per throttle table */
    int64_t session_ttl;               /* seconds an HTTP login session lasts */
    int64_t shutdown_timeout;          /* ms a graceful shutdown waits for in-flight writes */
    /* dispatch that moves by itself (app/dispatcher.h) */
    int64_t rematch_interval;  /* seconds between periodic re-matches of waiting orders */
    int64_t order_window_lead; /* minutes before a delivery window an order is offered */
    int64_t expiry_alert_days; /* days before a document runs out that it is alerted */
    int64_t route_seal_grace;  /* seconds after a UTC day ends that its routes are sealed */
    char *audit_signing_key;   /* PEM file of the checkpoints' Ed25519 key; "" = none */
};

/* Number of settings; a constant expression, so it can size arrays and static initializers.
 * Keep it equal to the table: extra entries do not compile, a missing one would leave a zeroed
 * entry, which tests/dispatch/test_config.c refuses. */
#define DISPATCHD_SETTINGS_COUNT 90

extern const struct cfg_setting dispatchd_settings[DISPATCHD_SETTINGS_COUNT];
extern const size_t dispatchd_settings_count; /* == DISPATCHD_SETTINGS_COUNT */

/* Cross-field rules the table cannot express (single-field ranges are already checked):
 *   - redis_reconnect_min <= redis_reconnect_max;
 *   - cylinder_design_life <= cylinder_max_life;
 *   - the HTTP and handset listeners do not claim the same port on the same (or a wildcard)
 *     address;
 *   - each listener's TLS certificate and key are set together, and a listener without TLS
 *     binds to loopback only, unless allow_plaintext.
 * conf is a struct dispatchd_config (void * so it fits cfg_program.validate). Returns 0, or -1
 * with a message naming the settings in errbuf (config.h error convention). */
int dispatchd_settings_validate(const void *conf, char *errbuf, size_t errlen);

/* The figures of the rules as the settings give them: each config is first set to its default
 * (fix_filter_config_default, rules_config_default, delivery_policy_default: the tuning that
 * has no setting keeps it), then every figure that is a setting is taken from c, converted to
 * the rules' units. The defaults of both come from core/legal_defaults.h; test_config checks
 * that the settings' defaults give exactly the rules' defaults. */
void dispatchd_settings_apply_rules(const struct dispatchd_config *c, struct fix_filter_config *fix,
                                    struct rules_config *rules, struct delivery_policy *delivery,
                                    int64_t *rectification_ms);

/* Whether a bind address is a loopback one (127.0.0.0/8, ::1, localhost). */
int dispatchd_settings_is_loopback(const char *addr);

#endif /* LPG_DISPATCHD_SETTINGS_H */
