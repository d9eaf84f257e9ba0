/*
 * dispatchd_settings.c - the settings table of dispatchd and its cross-field rules.
 *
 * Ranges are what the service can honour, not what a test setup happens to use: e.g. the frame
 * cap bounds the per-connection buffer of the handset listener, and shutdown_timeout 0 means
 * "do not wait for in-flight writes".
 */
#include "app/dispatchd_settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "core/delivery_rules.h"
#include "core/fix_filter.h"
#include "core/legal_defaults.h"
#include "core/rules.h"

#define DC struct dispatchd_config

/* Longest address or host name (a DNS name is at most 253 bytes). */
#define ADDR_LEN_MAX 255
/* Longest file path of a certificate or key. */
#define PATH_LEN_MAX 1024
/* Longest Redis user name and password (Redis itself has no smaller limit worth knowing). */
#define REDIS_SECRET_LEN_MAX 512
/* Longest Redis key prefix; short keeps every key short. */
#define KEY_PREFIX_LEN_MAX 64

const struct cfg_setting dispatchd_settings[] = {
    {.name = "log_level",
     .type = CFG_ENUM,
     .offset = CFG_OFF_ENUM(DC, log_level),
     .enum_names = log_level_names,
     .default_value = "info",
     .help = "Lowest severity that is logged; less severe messages are dropped unformatted."},

    {.name = "http_bind",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, http_bind),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Address the HTTP API listens on. Anything but loopback exposes the API to the "
             "network: an explicit choice."},
    {.name = "http_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_port),
     .min = 1,
     .max = 65535,
     .default_value = "8080",
     .help = "TCP port of the HTTP API."},
    {.name = "http_max_body",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_max_body),
     .min = 1024,
     .max = 67108864,
     .default_value = "1048576",
     .unit = "bytes",
     .help = "Largest HTTP request body accepted; larger requests are refused."},
    {.name = "http_max_headers",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_max_headers),
     .min = 1024,
     .max = 1048576,
     .default_value = "16384",
     .unit = "bytes",
     .help = "Largest total size of an HTTP request's headers."},
    {.name = "http_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_timeout),
     .min = 1,
     .max = 3600,
     .default_value = "30",
     .unit = "seconds",
     .help = "Time allowed to receive a request or send a response before the HTTP connection "
             "is closed."},
    {.name = "http_max_connections",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_max_connections),
     .min = 8,
     .max = 100000,
     .default_value = "1024",
     .unit = "connections",
     .help = "Most HTTP connections open at once (live-feed streams included); a connection "
             "beyond it gets 503 too_many_connections and is closed."},
    {.name = "http_header_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_header_timeout),
     .min = 1,
     .max = 3600,
     .default_value = "10",
     .unit = "seconds",
     .help = "Time allowed for a request's line and headers, from the connection's start or the "
             "end of the previous reply, however slowly they trickle in; past it the connection "
             "is closed."},
    {.name = "http_body_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, http_body_timeout),
     .min = 1,
     .max = 3600,
     .default_value = "30",
     .unit = "seconds",
     .help = "Time allowed for a request's body once its headers are in, however slowly it "
             "trickles in; past it the connection is closed."},
    {.name = "events_max_per_enterprise",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, events_max_per_enterprise),
     .min = 1,
     .max = 256,
     .default_value = "32",
     .unit = "streams",
     .help = "Most GET /v1/events streams open at once for one enterprise (admins' and "
             "auditors' streams count under their own user only); more get 429 too_many_streams."},
    {.name = "events_max_per_user",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, events_max_per_user),
     .min = 1,
     .max = 256,
     .default_value = "4",
     .unit = "streams",
     .help = "Most GET /v1/events streams open at once for one user; more get 429 "
             "too_many_streams."},
    {.name = "events_position_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, events_position_interval),
     .min = 1,
     .max = 3600,
     .default_value = "5",
     .unit = "seconds",
     .help = "Least time between two position events of one vehicle on GET /v1/events; the "
             "newest position of the interval is sent when it ends (none is lost)."},

    {.name = "http_tls_cert",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, http_tls_cert),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the HTTP API's TLS certificate, followed by its chain; empty: plain "
             "HTTP (allowed only on loopback or with allow_plaintext)."},
    {.name = "http_tls_key",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, http_tls_key),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the private key of http_tls_cert (readable by dispatchd only)."},
    {.name = "console_dir",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, console_dir),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "Directory of the browser console's files, served at /console/ (docs/console.md); "
             "empty: the console/ directory of the source tree dispatchd was built from. A "
             "directory that does not exist leaves /console/ answering 404."},
    {.name = "console_leaflet_dir",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, console_leaflet_dir),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "/usr/share/javascript/leaflet",
     .help = "Directory of the Leaflet map library (Debian libjs-leaflet), served at "
             "/console/vendor/leaflet/; empty: not served (the console's map stays blank)."},
    {.name = "console_tile_url",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, console_tile_url),
     .min = 0,
     .max = 512,
     .default_value = "",
     .help = "Leaflet URL template of a base map's tiles (http or https, e.g. "
             "https://tiles.example.cn/{z}/{x}/{y}.png); empty: no base map, the console "
             "draws on a plain background. Its host is allowed in the console's "
             "Content-Security-Policy."},

    {.name = "handset_bind",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, handset_bind),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Address the handset listener binds to. Anything but loopback exposes it to the "
             "network: an explicit choice."},
    {.name = "handset_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_port),
     .min = 1,
     .max = 65535,
     .default_value = "7070",
     .help = "TCP port of the handset listener."},
    {.name = "handset_max_connections",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_max_connections),
     .min = 1,
     .max = 1000000,
     .default_value = "10000",
     .unit = "connections",
     .help = "Most handset connections open at once; further connections are refused."},
    {.name = "handset_idle_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_idle_timeout),
     .min = 1,
     .max = 86400,
     .default_value = "300",
     .unit = "seconds",
     .help =
         "A handset connection that sends nothing for this long is closed (a Ping keeps it open)."},
    {.name = "handset_max_frame",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_max_frame),
     .min = 16,
     .max = 262144,
     .default_value = "65536",
     .unit = "bytes",
     .help = "Largest frame a handset may send; a larger length field closes the connection."},
    {.name = "handset_hello_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_hello_timeout),
     .min = 1,
     .max = 3600,
     .default_value = "10",
     .unit = "seconds",
     .help = "A handset connection whose Hello is not acknowledged this long after it connected "
             "is closed, whatever it sends meanwhile."},
    {.name = "handset_max_unauthenticated",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_max_unauthenticated),
     .min = 1,
     .max = 1000000,
     .default_value = "1000",
     .unit = "connections",
     .help = "Most handset connections open at once without an acknowledged Hello, from all "
             "addresses; never more than half of handset_max_connections, so that they cannot "
             "take the slots of logged-in devices. Further ones are refused."},
    {.name = "handset_max_unauthenticated_per_address",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handset_max_unauthenticated_per_address),
     .min = 1,
     .max = 1000000,
     .default_value = "32",
     .unit = "connections",
     .help = "Most handset connections open at once without an acknowledged Hello from one "
             "source address (devices behind one NAT share it, but each is anonymous only for "
             "the moment of its Hello). Further ones are refused."},

    {.name = "handset_tls_cert",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, handset_tls_cert),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the handset listener's TLS certificate, followed by its chain; empty: "
             "plain TCP (allowed only on loopback or with allow_plaintext)."},
    {.name = "handset_tls_key",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, handset_tls_key),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the private key of handset_tls_cert (readable by dispatchd only)."},
    {.name = "allow_plaintext",
     .type = CFG_BOOL,
     .offset = CFG_OFF_BOOL(DC, allow_plaintext),
     .default_value = "false",
     .help = "Let a listener without TLS bind to a non-loopback address (e.g. behind a "
             "TLS-terminating proxy on a private network); otherwise dispatchd refuses to start."},

    {.name = "jt808_bind",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, jt808_bind),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Address the JT/T 808 listener binds to. JT/T 808 has no TLS: terminals send their "
             "authentication code in clear, as the standard has it; anything but loopback "
             "exposes the listener to the network (logged at start)."},
    {.name = "jt808_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_port),
     .min = 1,
     .max = 65535,
     .default_value = "7808",
     .help = "TCP port of the JT/T 808 listener."},
    {.name = "jt808_max_connections",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_max_connections),
     .min = 1,
     .max = 1000000,
     .default_value = "100000",
     .unit = "connections",
     .help = "Most JT/T 808 connections open at once; further connections are refused. Each "
             "is a descriptor: LimitNOFILE must cover it."},
    {.name = "jt808_idle_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_idle_timeout),
     .min = 1,
     .max = 86400,
     .default_value = "180",
     .unit = "seconds",
     .help = "A JT/T 808 connection that sends nothing for this long is closed (three "
             "heartbeats at the default jt808_heartbeat)."},
    {.name = "jt808_auth_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_auth_timeout),
     .min = 1,
     .max = 3600,
     .default_value = "30",
     .unit = "seconds",
     .help = "A JT/T 808 connection not authenticated (0x0102) this long after it connected is "
             "closed, whatever it sends meanwhile."},
    {.name = "jt808_max_unauthenticated",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_max_unauthenticated),
     .min = 1,
     .max = 1000000,
     .default_value = "2000",
     .unit = "connections",
     .help = "Most JT/T 808 connections open at once before authentication, from all "
             "addresses; never more than half of jt808_max_connections."},
    {.name = "jt808_max_unauthenticated_per_address",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_max_unauthenticated_per_address),
     .min = 1,
     .max = 1000000,
     .default_value = "64",
     .unit = "connections",
     .help = "Most JT/T 808 connections open at once before authentication from one source "
             "address (terminals behind one carrier NAT share it)."},
    {.name = "jt808_heartbeat",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_heartbeat),
     .min = 5,
     .max = 3600,
     .default_value = "30",
     .unit = "seconds",
     .help = "Heartbeat interval pushed to JT/T 808 terminals after authentication (parameter "
             "0x0001)."},
    {.name = "jt808_reassembly_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, jt808_reassembly_timeout),
     .min = 1,
     .max = 600,
     .default_value = "10",
     .unit = "seconds",
     .help = "A JT/T 808 message in subpackages that is still missing packets this long after "
             "its last one gets 0x8003 (resend them); after twice this long it is dropped."},

    {.name = "redis_host",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, redis_host),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Host name or address of the Redis server."},
    {.name = "redis_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_port),
     .min = 1,
     .max = 65535,
     .default_value = "6379",
     .help = "TCP port of the Redis server."},
    {.name = "redis_connect_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_connect_timeout),
     .min = 100,
     .max = 60000,
     .default_value = "2000",
     .unit = "ms",
     .help = "Time allowed for one connection attempt to Redis, and for the reply to a "
             "health-check PING; past it Redis is declared down."},
    {.name = "redis_ping_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_ping_interval),
     .min = 100,
     .max = 60000,
     .default_value = "1000",
     .unit = "ms",
     .help = "Interval between health-check PINGs on the Redis connection."},
    {.name = "redis_reconnect_min",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_reconnect_min),
     .min = 10,
     .max = 60000,
     .default_value = "100",
     .unit = "ms",
     .help = "First delay before reconnecting to Redis; doubles per failed attempt up to "
             "redis_reconnect_max."},
    {.name = "redis_reconnect_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_reconnect_max),
     .min = 100,
     .max = 600000,
     .default_value = "5000",
     .unit = "ms",
     .help = "Longest delay between Redis reconnect attempts; at least redis_reconnect_min."},
    {.name = "redis_user",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, redis_user),
     .min = 0,
     .max = REDIS_SECRET_LEN_MAX,
     .default_value = "",
     .help = "Redis ACL user to authenticate as; empty: the default user (requirepass)."},
    {.name = "redis_password",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, redis_password),
     .min = 0,
     .max = REDIS_SECRET_LEN_MAX,
     .default_value = "",
     .help = "Password sent with AUTH after every connection to Redis; empty: no AUTH. Keep it "
             "in a config file readable by dispatchd only, not on the command line."},
    {.name = "redis_key_prefix",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, redis_key_prefix),
     .min = 1,
     .max = KEY_PREFIX_LEN_MAX,
     .default_value = "lpg:",
     .help = "Every Redis key the service writes starts with this prefix."},
    {.name = "redis_memory_watermark",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_memory_watermark),
     .min = 1,
     .max = 100,
     .default_value = "80",
     .unit = "% of maxmemory",
     .help = "When Redis's used memory passes this share of its maxmemory, /healthz warns and "
             "the admins get a system alert (at maxmemory Redis refuses every write)."},
    {.name = "redis_memory_check_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, redis_memory_check_interval),
     .min = 1,
     .max = 3600,
     .default_value = "10",
     .unit = "seconds",
     .help = "How often Redis's memory use is read (INFO memory) for redis_memory_watermark."},

    {.name = "shutdown_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, shutdown_timeout),
     .min = 0,
     .max = 60000,
     .default_value = "5000",
     .unit = "ms",
     .help = "How long a graceful shutdown waits for in-flight writes before exiting."},

    {.name = "route_retention_days",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, route_retention_days),
     .min = LEGAL_ROUTE_RETENTION_MIN_DAYS,
     .max = 3650,
     .default_value = LPG_STR(LEGAL_ROUTE_RETENTION_MIN_DAYS),
     .unit = "days",
     .help = "Days a vehicle's route history is kept (monitoring data: at least 6 months by "
             "regulation: six calendar months are at most 184 days, so at least 184)."},

    {.name = "position_batch_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, position_batch_max),
     .min = 1,
     .max = 2000,
     .default_value = "500",
     .unit = "fixes",
     .help = "Most fixes accepted in one PositionBatch; a larger batch is refused whole."},
    {.name = "position_rate_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, position_rate_max),
     .min = 1,
     .max = 100000,
     .default_value = "10",
     .unit = "fixes/s",
     .help = "Sustained position fixes per second one device may send (a token bucket refilled "
             "at this rate; a real unit sends 1); beyond it a batch is refused (REFUSED "
             "rate_limited) and the device resends it later."},
    {.name = "position_rate_burst",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, position_rate_burst),
     .min = 2000,
     .max = 10000000,
     .default_value = "36000",
     .unit = "fixes",
     .help = "Fixes one device may send at once above position_rate_max (the bucket's size): "
             "the store-and-forward backlog of a unit back from 10 h offline at 1 Hz goes in "
             "at once; a longer one drains at position_rate_max."},
    {.name = "position_seq_window",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, position_seq_window),
     .min = 10000,
     .max = 1000000000000,
     .default_value = "100000000",
     .unit = "seqs",
     .help = "A fix's seq may be at most this far above the device's stored high-water mark "
             "(3 years of 1 Hz fixes: more than any spool loses), or at most the server's clock "
             "in ms plus a day (devices numbering fixes by time); a batch with a larger jump is "
             "refused whole (REFUSED seq_out_of_window) and the mark is kept."},

    {.name = "geometry_ring_vertices_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, geometry_ring_vertices_max),
     .min = 3,
     .max = 100000,
     .default_value = "10000",
     .unit = "vertices",
     .help = "Most vertices in one ring (outer ring or hole, closing vertex not counted) of a "
             "zone or supply area from a client; more is refused with 422 invalid_geometry."},
    {.name = "geometry_vertices_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, geometry_vertices_max),
     .min = 3,
     .max = 100000,
     .default_value = "20000",
     .unit = "vertices",
     .help = "Most vertices in one zone or supply area from a client, all rings together; "
             "at least geometry_ring_vertices_max. More is refused with 422 invalid_geometry."},

    {.name = "speed_limit_road",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, speed_limit_road),
     .min = 1,
     .max = 200,
     .default_value = LPG_STR(LEGAL_ROAD_LIMIT_KMH),
     .unit = "km/h",
     .help = "Speed limit of dangerous-goods vehicles on ordinary roads (reg.; JT/T 808 0x0055); a "
             "zone's own lower limit wins."},

    {.name = "speed_limit_expressway",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, speed_limit_expressway),
     .min = 1,
     .max = 200,
     .default_value = LPG_STR(LEGAL_EXPRESSWAY_LIMIT_KMH),
     .unit = "km/h",
     .help = "Speed limit on expressways, for zones marked expressway (reg.; JT/T 808 0x0055)."},

    {.name = "overspeed_duration",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, overspeed_duration),
     .min = 1,
     .max = 600,
     .default_value = LPG_STR(LEGAL_OVERSPEED_DURATION_S),
     .unit = "seconds",
     .help = "Overspeed is raised only when the limit is exceeded continuously this long (JT/T 808 "
             "0x0056)."},

    {.name = "overspeed_warning_margin",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, overspeed_warning_margin),
     .min = 0,
     .max = 50,
     .default_value = LPG_STR(LEGAL_OVERSPEED_WARNING_KMH),
     .unit = "km/h",
     .help = "A warning is raised this far below the limit (JT/T 808 0x005B)."},

    {.name = "continuous_driving_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, continuous_driving_max),
     .min = 10,
     .max = 1440,
     .default_value = LPG_STR(LEGAL_CONTINUOUS_DRIVING_MAX_MIN),
     .unit = "minutes",
     .help = "Continuous driving without a rest beyond this is fatigue driving (reg.: 4 h; JT/T "
             "808 0x0057)."},

    {.name = "fatigue_warning",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, fatigue_warning),
     .min = 0,
     .max = 120,
     .default_value = LPG_STR(LEGAL_FATIGUE_WARNING_MIN),
     .unit = "minutes",
     .help = "The fatigue warning comes this long before the continuous-driving limit (JT/T 808 "
             "0x005C)."},

    {.name = "daily_driving_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, daily_driving_max),
     .min = 10,
     .max = 1440,
     .default_value = LPG_STR(LEGAL_DAILY_DRIVING_MAX_MIN),
     .unit = "minutes",
     .help =
         "Cumulative driving per local calendar day beyond this is a violation (JT/T 808 0x0058)."},

    {.name = "min_rest",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, min_rest),
     .min = 1,
     .max = 600,
     .default_value = LPG_STR(LEGAL_MIN_REST_MIN),
     .unit = "minutes",
     .help =
         "A stop at least this long resets continuous driving (reg.: 20 min; JT/T 808 0x0059)."},

    {.name = "stop_speed",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, stop_speed),
     .min = 1,
     .max = 30,
     .default_value = LPG_STR(LEGAL_STOP_SPEED_KMH),
     .unit = "km/h",
     .help = "Below this measured speed the vehicle counts as stopped."},

    {.name = "zone_exit_duration",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, zone_exit_duration),
     .min = 1,
     .max = 3600,
     .default_value = LPG_STR(LEGAL_ZONE_EXIT_DURATION_S),
     .unit = "seconds",
     .help = "A vehicle outside its person's fixed zone this long raises a zone-exit alert."},

    {.name = "signal_lost_after",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, signal_lost_after),
     .min = 1,
     .max = 120,
     .default_value = LPG_STR(LEGAL_SIGNAL_LOST_MIN),
     .unit = "minutes",
     .help = "No fix this long from a vehicle on an active delivery raises a signal-lost alert."},

    {.name = "cylinder_inspection_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, cylinder_inspection_interval),
     .min = 1,
     .max = 20,
     .default_value = LPG_STR(LEGAL_INSPECTION_INTERVAL_YEARS),
     .unit = "years",
     .help = "A cylinder without a next-inspection date is due this long after its last inspection "
             "(or manufacture); overdue cylinders are neither loaded nor handed over."},

    {.name = "cylinder_design_life",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, cylinder_design_life),
     .min = 1,
     .max = 50,
     .default_value = LPG_STR(LEGAL_DESIGN_LIFE_YEARS),
     .unit = "years",
     .help = "Service life of a cylinder whose record gives none (design life)."},

    {.name = "cylinder_max_life",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, cylinder_max_life),
     .min = 1,
     .max = 50,
     .default_value = LPG_STR(LEGAL_MAX_LIFE_YEARS),
     .unit = "years",
     .help = "No cylinder is used beyond this age, whatever its record says (even after passing "
             "inspection)."},

    {.name = "handover_max_distance",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handover_max_distance),
     .min = 5,
     .max = 5000,
     .default_value = LPG_STR(LEGAL_HANDOVER_MAX_DISTANCE_M),
     .unit = "m",
     .help =
         "A cylinder leaves the vehicle only this close to the customer's registered location."},

    {.name = "handover_max_fix_age",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, handover_max_fix_age),
     .min = 5,
     .max = 3600,
     .default_value = LPG_STR(LEGAL_HANDOVER_MAX_FIX_AGE_S),
     .unit = "seconds",
     .help = "A hand-over needs a vehicle fix at most this old (its position and speed prove where "
             "the vehicle is)."},

    {.name = "rectification_deadline",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, rectification_deadline),
     .min = 1,
     .max = 365,
     .default_value = LPG_STR(LEGAL_RECTIFICATION_DEADLINE_DAYS),
     .unit = "days",
     .help = "Deadline of a rectification notice issued by a failed safety check."},
    {.name = "unplanned_stop",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, unplanned_stop),
     .min = 1,
     .max = 1440,
     .default_value = "10",
     .unit = "minutes",
     .help = "A vehicle with full cylinders aboard stopped this long farther than the hand-over "
             "radius from every customer of its open orders and outside its station raises an "
             "unplanned_stop alert (one per stop; it ends when the vehicle moves)."},

    {.name = "fix_max_future",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, fix_max_future),
     .min = 0,
     .max = 3600,
     .default_value = LPG_STR(LEGAL_FIX_MAX_FUTURE_S),
     .unit = "seconds",
     .help = "Fixes timed further ahead of the server's clock are invalid (use a larger value to "
             "replay old or shifted logs)."},

    {.name = "fix_max_implied_speed",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, fix_max_implied_speed),
     .min = 50,
     .max = 2000,
     .default_value = LPG_STR(LEGAL_FIX_MAX_IMPLIED_SPEED_KMH),
     .unit = "km/h",
     .help =
         "A fix implying a faster move from the previous one is a position jump and is filtered."},

    {.name = "fix_max_accuracy",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, fix_max_accuracy),
     .min = 1,
     .max = 100000,
     .default_value = LPG_STR(LEGAL_FIX_MAX_ACCURACY_M),
     .unit = "m",
     .help = "Fixes reporting a worse horizontal accuracy are filtered."},

    {.name = "login_workers",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, login_workers),
     .min = 1,
     .max = 16,
     .default_value = "2",
     .unit = "threads",
     .help = "Threads that check passwords (scrypt, ~60-85 ms each) off the event loop."},

    {.name = "login_queue_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, login_queue_max),
     .min = 1,
     .max = 4096,
     .default_value = "32",
     .unit = "logins",
     .help =
         "Logins waiting for a password-checking thread, at most; further logins get 503 busy."},

    {.name = "auth_max_failures",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, auth_max_failures),
     .min = 1,
     .max = 1000,
     .default_value = "5",
     .unit = "failures",
     .help = "Failed logins of one account (or Hellos of one device) before further attempts are "
             "delayed."},

    {.name = "auth_max_failures_address",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, auth_max_failures_address),
     .min = 1,
     .max = 1000000,
     .default_value = "20",
     .unit = "failures",
     .help = "Failed logins (or Hellos) from one source address before further attempts from it "
             "are delayed."},

    {.name = "auth_delay",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, auth_delay),
     .min = 1,
     .max = 3600,
     .default_value = "1",
     .unit = "seconds",
     .help = "First delay after too many failures; it doubles with each further failure, up to "
             "auth_lock_period."},

    {.name = "auth_lock_period",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, auth_lock_period),
     .min = 1,
     .max = 86400,
     .default_value = "900",
     .unit = "seconds",
     .help =
         "Longest delay (the temporary lock); failures are forgotten after this long without one."},

    {.name = "auth_track_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, auth_track_max),
     .min = 16,
     .max = 1000000,
     .default_value = "10000",
     .unit = "keys",
     .help = "Accounts, devices or addresses with failures remembered per table; the least "
             "recently seen is forgotten first."},

    {.name = "session_ttl",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, session_ttl),
     .min = 60,
     .max = 604800,
     .default_value = "28800",
     .unit = "seconds",
     .help = "Lifetime of an HTTP login session (bearer token); after it the user logs in again."},

    {.name = "rematch_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, rematch_interval),
     .min = 1,
     .max = 3600,
     .default_value = "30",
     .unit = "seconds",
     .help = "Waiting orders are matched again this often (a pass costs nothing when none "
             "waits), besides the instants a rest ends, a day starts or a window opens."},

    {.name = "order_window_lead",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, order_window_lead),
     .min = 0,
     .max = 1440,
     .default_value = "60",
     .unit = "minutes",
     .help = "An order with a delivery window is offered to staff from this long before the "
             "window starts, not earlier."},

    {.name = "expiry_alert_days",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, expiry_alert_days),
     .min = 1,
     .max = 365,
     .default_value = "30",
     .unit = "days",
     .help = "An expiring alert is raised this many days before a staff certificate, a vehicle "
             "permit, a cylinder's inspection or an enterprise licence runs out."},

    {.name = "route_seal_grace",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(DC, route_seal_grace),
     .min = 1,
     .max = 604800,
     .default_value = "7200",
     .unit = "seconds",
     .help = "A vehicle's route day (its enterprise's local day) is sealed into the audit "
             "record this long after it ends, leaving time for late uploads; a fix of the day "
             "stored after its seal is recorded as route_late_after_seal."},
    {.name = "audit_signing_key",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(DC, audit_signing_key),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the Ed25519 private key that signs audit checkpoints (dispatchd "
             "--create-signing-key FILE makes one; mode 0600, refused otherwise); empty: "
             "GET /v1/audit/checkpoint and /v1/audit/key answer 503 signing_key_not_configured."},
};

#undef DC

const size_t dispatchd_settings_count = sizeof dispatchd_settings / sizeof dispatchd_settings[0];

/* 127.0.0.0/8, ::1 or "localhost": reachable from this host only. */
int dispatchd_settings_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(addr, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* A listener's TLS settings: both files or neither; in clear only on loopback unless the
 * operator said so. Returns 0, or -1 with the message in buf. */
static int check_listener_tls(const char *what, const char *bind, const char *cert, const char *key,
                              bool allow_plaintext, char *buf, size_t len)
{
    if ((cert[0] != '\0') != (key[0] != '\0')) {
        snprintf(buf, len, "%s_tls_cert and %s_tls_key must be set together", what, what);
        return -1;
    }
    if (cert[0] == '\0' && !allow_plaintext && !dispatchd_settings_is_loopback(bind)) {
        snprintf(buf, len,
                 "%s_bind \"%.64s\" is not a loopback address and the %s listener has no TLS: "
                 "set %s_tls_cert and %s_tls_key, or allow_plaintext = true to accept "
                 "plaintext on the network (tokens, passwords and device secrets in clear)",
                 what, bind, what, what, what);
        return -1;
    }
    return 0;
}

static int is_wildcard(const char *addr)
{
    return strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0 || strcmp(addr, "*") == 0;
}

int dispatchd_settings_validate(const void *conf, char *errbuf, size_t errlen)
{
    const struct dispatchd_config *c = conf;
    const char *msg = NULL;
    char buf[400];

    if (c->redis_reconnect_min > c->redis_reconnect_max) {
        snprintf(buf, sizeof buf,
                 "redis_reconnect_min (%lld ms) must not exceed redis_reconnect_max (%lld ms)",
                 (long long)c->redis_reconnect_min, (long long)c->redis_reconnect_max);
        msg = buf;
    } else if (c->geometry_ring_vertices_max > c->geometry_vertices_max) {
        snprintf(buf, sizeof buf,
                 "geometry_ring_vertices_max (%lld) must not exceed geometry_vertices_max (%lld)",
                 (long long)c->geometry_ring_vertices_max, (long long)c->geometry_vertices_max);
        msg = buf;
    } else if (c->cylinder_design_life > c->cylinder_max_life) {
        snprintf(buf, sizeof buf,
                 "cylinder_design_life (%lld years) must not exceed cylinder_max_life (%lld years)",
                 (long long)c->cylinder_design_life, (long long)c->cylinder_max_life);
        msg = buf;
    } else if (c->auth_delay > c->auth_lock_period) {
        snprintf(buf, sizeof buf, "auth_delay (%lld s) must not exceed auth_lock_period (%lld s)",
                 (long long)c->auth_delay, (long long)c->auth_lock_period);
        msg = buf;
    } else if (c->http_port == c->handset_port &&
               (strcmp(c->http_bind, c->handset_bind) == 0 || is_wildcard(c->http_bind) ||
                is_wildcard(c->handset_bind))) {
        snprintf(buf, sizeof buf,
                 "http_port and handset_port are both %lld on overlapping addresses "
                 "(http_bind \"%.64s\", handset_bind \"%.64s\")",
                 (long long)c->http_port, c->http_bind, c->handset_bind);
        msg = buf;
    } else if ((c->jt808_port == c->http_port &&
                (strcmp(c->http_bind, c->jt808_bind) == 0 || is_wildcard(c->http_bind) ||
                 is_wildcard(c->jt808_bind))) ||
               (c->jt808_port == c->handset_port &&
                (strcmp(c->handset_bind, c->jt808_bind) == 0 || is_wildcard(c->handset_bind) ||
                 is_wildcard(c->jt808_bind)))) {
        snprintf(buf, sizeof buf,
                 "jt808_port %lld is also the http_port or handset_port on an overlapping address",
                 (long long)c->jt808_port);
        msg = buf;
    } else if (c->redis_user[0] != '\0' && c->redis_password[0] == '\0') {
        snprintf(buf, sizeof buf, "redis_user is set without redis_password");
        msg = buf;
    } else if (check_listener_tls("http", c->http_bind, c->http_tls_cert, c->http_tls_key,
                                  c->allow_plaintext, buf, sizeof buf) != 0 ||
               check_listener_tls("handset", c->handset_bind, c->handset_tls_cert,
                                  c->handset_tls_key, c->allow_plaintext, buf, sizeof buf) != 0) {
        msg = buf;
    }
    if (msg == NULL)
        return 0;
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", msg);
    return -1;
}

void dispatchd_settings_apply_rules(const struct dispatchd_config *c, struct fix_filter_config *fix,
                                    struct rules_config *rules, struct delivery_policy *delivery,
                                    int64_t *rectification_ms)
{
    fix_filter_config_default(fix);
    rules_config_default(rules);
    delivery_policy_default(delivery);
    rules->road_limit_kmh = (double)c->speed_limit_road;
    rules->expressway_limit_kmh = (double)c->speed_limit_expressway;
    rules->overspeed_duration_ms = c->overspeed_duration * 1000;
    rules->overspeed_warning_margin_kmh = (double)c->overspeed_warning_margin;
    rules->continuous_driving_max_ms = c->continuous_driving_max * 60000;
    rules->fatigue_warning_ms = c->fatigue_warning * 60000;
    rules->daily_driving_max_ms = c->daily_driving_max * 60000;
    rules->min_rest_ms = c->min_rest * 60000;
    rules->stop_speed_kmh = (double)c->stop_speed;
    rules->zone_exit_duration_ms = c->zone_exit_duration * 1000;
    rules->signal_lost_ms = c->signal_lost_after * 60000;
    fix->max_future_ms = c->fix_max_future * 1000;
    fix->max_implied_speed_kmh = (double)c->fix_max_implied_speed;
    fix->max_accuracy_m = (double)c->fix_max_accuracy;
    delivery->inspection_interval_years = (int32_t)c->cylinder_inspection_interval;
    delivery->design_life_years = (int32_t)c->cylinder_design_life;
    delivery->max_life_years = (int32_t)c->cylinder_max_life;
    delivery->handover_max_distance_m = (double)c->handover_max_distance;
    delivery->handover_max_fix_age_ms = c->handover_max_fix_age * 1000;
    /* stopped for a hand-over = stopped for the fatigue rule: one notion of "stopped" */
    delivery->stopped_speed_cm_s = LPG_KMH_TO_CM_S(c->stop_speed);
    *rectification_ms = c->rectification_deadline * 86400000LL;
}
