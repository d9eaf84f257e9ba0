/*
 * agent_settings.c - the settings table of lpg-agent and its cross-field rules.
 *
 * Defaults suit a vehicle unit: gpsd and dispatchd reached over TCP, a spool of a day and more
 * of 1 Hz fixes (100,000 records of 64 bytes, 6.4 MB), fixes on disk within a second.
 */
#include "agent/agent_settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define AC struct agent_config

#define ADDR_LEN_MAX 255
#define PATH_LEN_MAX 1024

static const char *const fsync_names[] = {"always", "interval", "never", NULL};

const struct cfg_setting agent_settings[AGENT_SETTINGS_COUNT] = {
    {.name = "log_level",
     .type = CFG_ENUM,
     .offset = CFG_OFF_ENUM(AC, log_level),
     .enum_names = log_level_names,
     .default_value = "info",
     .help = "Lowest severity that is logged; less severe messages are dropped unformatted."},

    {.name = "device_id",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, device_id),
     .min = 0,
     .max = 64,
     .default_value = "",
     .help = "Device id registered for this vehicle's unit (POST /v1/devices); required."},
    {.name = "credential_file",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, credential_file),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "File holding the device secret answered by POST /v1/devices (kept out of the "
             "config file; leading and trailing white space is ignored); required."},

    {.name = "server_host",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, server_host),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Host name or address of dispatchd's handset listener."},
    {.name = "server_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, server_port),
     .min = 1,
     .max = 65535,
     .default_value = "7070",
     .help = "TCP port of dispatchd's handset listener."},
    {.name = "tls_ca",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, tls_ca),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the CA certificate(s) that signed dispatchd's handset certificate: "
             "the agent then speaks TLS and accepts only a certificate for server_host; empty: "
             "plain TCP (allowed only to a loopback server_host or with allow_plaintext)."},
    {.name = "tls_cert",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, tls_cert),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of a client certificate presented to the server (optional; with "
             "tls_key)."},
    {.name = "tls_key",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, tls_key),
     .min = 0,
     .max = PATH_LEN_MAX,
     .default_value = "",
     .help = "PEM file of the private key of tls_cert."},
    {.name = "allow_plaintext",
     .type = CFG_BOOL,
     .offset = CFG_OFF_BOOL(AC, allow_plaintext),
     .default_value = "false",
     .help = "Let the agent talk to a non-loopback server_host without TLS (the device secret "
             "then crosses the network in clear); otherwise it refuses to start."},
    {.name = "gpsd_host",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, gpsd_host),
     .min = 1,
     .max = ADDR_LEN_MAX,
     .default_value = "127.0.0.1",
     .help = "Host name or address of gpsd."},
    {.name = "gpsd_port",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, gpsd_port),
     .min = 1,
     .max = 65535,
     .default_value = "2947",
     .help = "TCP port of gpsd."},

    {.name = "batch_max_fixes",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, batch_max_fixes),
     .min = 1,
     .max = 2000,
     .default_value = "50",
     .unit = "fixes",
     .help = "A batch is sent once it holds this many fixes (keep it at most the server's "
             "position_batch_max); a backlog goes in batches of this size."},
    {.name = "batch_max_age",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, batch_max_age),
     .min = 0,
     .max = 600000,
     .default_value = "5000",
     .unit = "ms",
     .help = "A batch is sent once its oldest fix has waited this long, however few it holds."},
    {.name = "late_after",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, late_after),
     .min = 1,
     .max = 86400,
     .default_value = "30",
     .unit = "seconds",
     .help = "A batch whose oldest fix was read from gpsd longer ago than this is sent as "
             "late (PositionBatch.late: buffered while offline)."},

    {.name = "spool_dir",
     .type = CFG_STRING,
     .offset = CFG_OFF_STRING(AC, spool_dir),
     .min = 1,
     .max = PATH_LEN_MAX,
     .default_value = "/var/lib/lpg-agent",
     .help = "Directory of the spool (every fix until the server acknowledges it, and the "
             "sequence counter) and of the status file; created if missing."},
    {.name = "spool_max_fixes",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, spool_max_fixes),
     .min = 16,
     .max = 10000000,
     .default_value = "100000",
     .unit = "fixes",
     .help = "Capacity of the spool (64 bytes per fix on disk); when it is full the oldest "
             "unacknowledged fix is dropped and counted."},
    {.name = "spool_fsync",
     .type = CFG_ENUM,
     .offset = CFG_OFF_ENUM(AC, spool_fsync),
     .enum_names = fsync_names,
     .default_value = "interval",
     .help = "When spooled fixes are forced to disk: always (after every fix), interval "
             "(within spool_fsync_interval), never (left to the kernel: a kill -9 loses "
             "nothing, a power cut may)."},
    {.name = "spool_fsync_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, spool_fsync_interval),
     .min = 10,
     .max = 600000,
     .default_value = "1000",
     .unit = "ms",
     .help = "With spool_fsync = interval, the longest time a spooled fix stays only in the "
             "page cache."},

    {.name = "reconnect_min",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, reconnect_min),
     .min = 10,
     .max = 600000,
     .default_value = "500",
     .unit = "ms",
     .help = "First delay before reconnecting to gpsd or the server; doubles per failed "
             "attempt up to reconnect_max, with random jitter of up to half the delay."},
    {.name = "reconnect_max",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, reconnect_max),
     .min = 10,
     .max = 3600000,
     .default_value = "30000",
     .unit = "ms",
     .help = "Longest delay between reconnect attempts; at least reconnect_min."},
    {.name = "connect_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, connect_timeout),
     .min = 100,
     .max = 600000,
     .default_value = "10000",
     .unit = "ms",
     .help = "Time allowed to connect to the server and have the Hello answered."},
    {.name = "ack_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, ack_timeout),
     .min = 100,
     .max = 600000,
     .default_value = "20000",
     .unit = "ms",
     .help = "Time allowed for the answer to a batch or a Ping; past it the connection is "
             "dropped and the batch resent on the next one (resending is harmless)."},
    {.name = "ping_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, ping_interval),
     .min = 1,
     .max = 86400,
     .default_value = "60",
     .unit = "seconds",
     .help = "After this long without sending, a Ping keeps the session open (keep it below "
             "the server's handset_idle_timeout)."},

    {.name = "epoch_timeout",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, epoch_timeout),
     .min = 10,
     .max = 60000,
     .default_value = "1200",
     .unit = "ms",
     .help = "gpsd reports one epoch in several TPVs (one per NMEA sentence); an epoch is "
             "taken when a later one starts or this long after its last report."},
    {.name = "derive_max_gap",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, derive_max_gap),
     .min = 1,
     .max = 3600,
     .default_value = "10",
     .unit = "seconds",
     .help = "When the receiver gives no speed or course, they are derived from the previous "
             "fix if it is at most this much older; otherwise they are left absent."},
    {.name = "time_offset",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, time_offset),
     .min = -2000000000,
     .max = 2000000000,
     .default_value = "0",
     .unit = "seconds",
     .help = "Added to every receiver time before it is sent. Only for replaying recorded "
             "logs (tests, demos) as if recorded now; keep 0 on a vehicle."},
    {.name = "status_interval",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, status_interval),
     .min = 1,
     .max = 86400,
     .default_value = "60",
     .unit = "seconds",
     .help = "Interval of the status line in the log; the status file (read by --status) is "
             "rewritten every second while counters change."},
    {.name = "max_frame",
     .type = CFG_INT,
     .offset = CFG_OFF_INT(AC, max_frame),
     .min = 4096,
     .max = 262144,
     .default_value = "65536",
     .unit = "bytes",
     .help = "Largest frame accepted from the server (announced in the Hello)."},
};

/* 127.0.0.0/8, ::1 or "localhost". */
static int host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int agent_settings_require_device(const struct agent_config *c, char *errbuf, size_t errlen)
{
    const char *why = NULL;
    if (c->device_id[0] == '\0')
        why = "device_id is required (the id registered with POST /v1/devices)";
    else if (c->credential_file[0] == '\0')
        why = "credential_file is required (a file holding the device secret)";
    else if (c->tls_ca[0] == '\0' && !c->allow_plaintext && !host_is_loopback(c->server_host))
        why = "server_host is not a loopback address and tls_ca is not set: set tls_ca (the CA "
              "of dispatchd's certificate), or allow_plaintext = true to send the device "
              "secret and positions in clear";
    if (why && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", why);
    return why ? -1 : 0;
}

int agent_settings_validate(const void *conf, char *errbuf, size_t errlen)
{
    const struct agent_config *c = conf;
    const char *why = NULL;
    if (c->reconnect_min > c->reconnect_max)
        why = "reconnect_min must not exceed reconnect_max";
    else if (c->batch_max_fixes > c->spool_max_fixes)
        why = "batch_max_fixes must not exceed spool_max_fixes";
    else if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0'))
        why = "tls_cert and tls_key must be set together";
    else if (c->tls_cert[0] != '\0' && c->tls_ca[0] == '\0')
        why = "tls_cert needs tls_ca (a client certificate is only sent over TLS)";
    if (why && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", why);
    return why ? -1 : 0;
}
