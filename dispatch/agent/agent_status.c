/* agent_status.c - the status line and file (see agent_status.h). */
#include "agent/agent_status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

size_t agent_status_format(const struct agent_status *s, char *buf, size_t cap)
{
    time_t t = (time_t)(s->updated_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(
        buf, cap,
        "gpsd=%s server=%s read=%llu sent=%llu acked=%llu spooled=%llu "
        "dropped=%llu no_fix=%llu no_time=%llu backwards=%llu derived=%llu "
        "unreadable=%llu next_seq=%llu acked_seq=%llu gpsd_connects=%llu "
        "server_connects=%llu pid=%ld updated=%s",
        s->gpsd_up ? "up" : "down", s->server_up ? "up" : "down", (unsigned long long)s->read,
        (unsigned long long)s->sent, (unsigned long long)s->acked, (unsigned long long)s->spooled,
        (unsigned long long)s->dropped, (unsigned long long)s->no_fix,
        (unsigned long long)s->no_time, (unsigned long long)s->backwards,
        (unsigned long long)s->derived, (unsigned long long)s->unreadable,
        (unsigned long long)s->next_seq, (unsigned long long)s->acked_seq,
        (unsigned long long)s->gpsd_connects, (unsigned long long)s->server_connects, s->pid, when);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

int agent_status_write(const char *dir, const struct agent_status *s)
{
    char path[1100], tmp[1110], line[512];
    snprintf(path, sizeof(path), "%s/status", dir);
    snprintf(tmp, sizeof(tmp), "%s/status.tmp", dir);
    size_t n = agent_status_format(s, line, sizeof(line));
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fwrite(line, 1, n, f) == n && fputc('\n', f) != EOF;
    if (fclose(f) != 0 || !ok) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

int agent_status_print(const char *dir)
{
    char path[1100], line[512];
    snprintf(path, sizeof(path), "%s/status", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr,
                "lpg-agent: no status in %s (%s): has the agent run with this "
                "spool_dir?\n",
                path, strerror(errno));
        return 1;
    }
    while (fgets(line, sizeof(line), f))
        fputs(line, stdout);
    fclose(f);
    return 0;
}
