/*
 * agent_status.h - lpg-agent's status (prefix agent_status_): one line of counters, logged
 * every status_interval and kept in <spool_dir>/status (rewritten atomically, so a reader never
 * sees half a line), which `lpg-agent --status` prints.
 *
 * The line is `name=value` pairs separated by spaces, e.g.
 *   gpsd=up server=up read=148 sent=150 acked=148 spooled=0 dropped=0 no_fix=3 no_time=5
 *   backwards=0 derived=0 unreadable=0 next_seq=149 acked_seq=148 gpsd_connects=1
 *   server_connects=1 pid=4242 updated=2026-12-03T07:10:00Z
 * read: fixes taken from gpsd since start; sent: fixes sent since start (resends included);
 * acked: fixes newly acknowledged since start; spooled: fixes waiting for an Ack now; dropped:
 * fixes dropped from a full spool, ever; no_fix / no_time / backwards / derived: the receiver
 * rules (agent_receiver.h); unreadable: spool records found torn; next_seq, acked_seq: the
 * spool's sequence numbers; gpsd_connects, server_connects: connections (sessions) opened since
 * start.
 */
#ifndef LPG_AGENT_STATUS_H
#define LPG_AGENT_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent_status {
    bool gpsd_up, server_up;
    uint64_t read, sent, acked, spooled, dropped;
    uint64_t no_fix, no_time, backwards, derived, unreadable;
    uint64_t next_seq, acked_seq;
    uint64_t gpsd_connects, server_connects; /* connections made since start */
    long pid;
    int64_t updated_ms;
};

/* Formats the line (no newline) into buf; returns its length (cut to cap-1). */
size_t agent_status_format(const struct agent_status *s, char *buf, size_t cap);
/* Writes the line to dir/status atomically. 0 or -1 (errno set). */
int agent_status_write(const char *dir, const struct agent_status *s);
/* `lpg-agent --status`: prints dir/status to stdout. 0, or 1 when there is none (the agent
 * never ran with this spool_dir), with a message on stderr. */
int agent_status_print(const char *dir);

#endif /* LPG_AGENT_STATUS_H */
