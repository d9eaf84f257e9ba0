/*
 * agent.c - the lpg-agent binary: positions from gpsd, through the on-disk spool, to dispatchd.
 *
 * Every fix taken from gpsd is appended to the spool first (which gives it its persistent seq)
 * and only then sent; the spool forgets it when the server's Ack.position_seq covers it. So
 * whatever happens to the connection or to this process (restart, kill -9), a fix is either
 * acknowledged or still in the spool, and the server's de-duplication by (device, seq) makes
 * resending harmless. A batch is sent when it holds batch_max_fixes, when its oldest fix has
 * waited batch_max_age, or at once while a backlog is being sent.
 */
#define LOG_TAG "agent"
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_gpsd.h"
#include "agent/agent_link.h"
#include "agent/agent_settings.h"
#include "agent/agent_spool_file.h"
#include "agent/agent_status.h"
#include "common/config.h"
#include "common/log.h"
#include "common/timeval_ms.h"

#define AGENT_VERSION  "0.1.0"
#define CREDENTIAL_MAX 256 /* bytes: the protocol's bound on Hello.credential */

struct agent {
    struct agent_config cfg;
    struct event_base *base;
    struct agent_spool *spool;
    struct agent_gpsd *gpsd;
    struct agent_link *link;
    struct event *batch_ev, *fsync_ev, *tick_ev;
    struct agent_fix *buf; /* batch_max_fixes fixes read back from the spool */
    uint64_t read, acked;
    bool fsync_armed;
    int64_t last_log_ms, last_write_ms;
    char last_line[512];
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void arm_ms(struct event *ev, int64_t ms)
{
    struct timeval tv = timeval_from_ms(ms);
    evtimer_add(ev, &tv);
}

/* Sends the next batch if the link may take one and a batch is due. */
static void pump(struct agent *a)
{
    while (agent_link_ready(a->link)) {
        const struct agent_spool_index *ix = agent_spool_get_index(a->spool);
        uint64_t pending = agent_spool_index_pending(ix);
        if (pending == 0)
            return;
        size_t limit = agent_link_batch_limit(a->link);
        uint64_t next;
        size_t n =
            agent_spool_read(a->spool, agent_spool_index_first_pending(ix), a->buf, limit, &next);
        if (n == 0) {
            /* Every pending record up to `next` was torn (power cut): nothing to send there. */
            log_warn("skipping %llu unreadable spool records",
                     (unsigned long long)(next - agent_spool_index_first_pending(ix)));
            agent_spool_ack(a->spool, next - 1);
            continue;
        }
        int64_t now = wall_ms();
        int64_t age = now - (int64_t)a->buf[0].rx_ms;
        bool backlog = next < ix->next_seq;
        if (n < limit && !backlog && age < a->cfg.batch_max_age) {
            arm_ms(a->batch_ev, a->cfg.batch_max_age - age);
            return;
        }
        bool late = age > a->cfg.late_after * 1000;
        int rc;
        while ((rc = agent_link_send(a->link, a->buf, n, late)) == 1 && n > 1)
            n /= 2; /* does not fit in the server's frame limit */
        if (rc != 0)
            log_error("cannot send a batch of %zu fixes (rc %d)", n, rc);
        return;
    }
}

static void on_batch_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static void on_fsync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent *a = arg;
    a->fsync_armed = false;
    agent_spool_sync(a->spool);
}

static void on_fix(void *arg, struct agent_fix *fix)
{
    struct agent *a = arg;
    if (agent_spool_append(a->spool, fix) != 0)
        return;
    a->read++;
    log_debug("fix %llu at %llu ms: %d,%d", (unsigned long long)fix->seq,
              (unsigned long long)fix->time_ms, fix->lat_e7, fix->lon_e7);
    if (a->cfg.spool_fsync == AGENT_FSYNC_ALWAYS) {
        agent_spool_sync(a->spool);
    } else if (a->cfg.spool_fsync == AGENT_FSYNC_INTERVAL && !a->fsync_armed) {
        a->fsync_armed = true;
        arm_ms(a->fsync_ev, a->cfg.spool_fsync_interval);
    }
    pump(a);
}

static void on_ack(void *arg, uint64_t position_seq, uint64_t batch_last)
{
    struct agent *a = arg;
    const struct agent_spool_index *ix = agent_spool_get_index(a->spool);
    uint64_t before = ix->acked;
    if (position_seq < batch_last)
        /* The batch is stored; the server skipped its fixes above its mark (invalid, e.g. a
         * time in the future, or out of order). It has judged them: they are done too, or
         * they would be resent forever. */
        log_warn("the server stored the batch up to seq %llu but skipped fixes up to %llu "
                 "(invalid or out of order; see its lpg_fixes_total metrics)",
                 (unsigned long long)position_seq, (unsigned long long)batch_last);
    int jumped = agent_spool_ack(a->spool, position_seq > batch_last ? position_seq : batch_last);
    if (jumped == 1)
        log_warn("the server has already stored up to seq %llu, beyond this spool's last "
                 "fix (was the spool deleted?): continuing after it",
                 (unsigned long long)position_seq);
    else
        a->acked += ix->acked - before;
}

static void on_ready(void *arg)
{
    pump(arg);
}

static void fill_status(struct agent *a, struct agent_status *s)
{
    const struct agent_spool_index *ix = agent_spool_get_index(a->spool);
    const struct agent_receiver_counters *rc = agent_gpsd_counters(a->gpsd);
    memset(s, 0, sizeof(*s));
    s->gpsd_up = agent_gpsd_connected(a->gpsd);
    s->server_up = agent_link_connected(a->link);
    s->read = a->read;
    s->sent = agent_link_get_counters(a->link)->fixes_sent;
    s->acked = a->acked;
    s->spooled = agent_spool_index_pending(ix);
    s->dropped = ix->dropped;
    s->no_fix = rc->no_fix;
    s->no_time = rc->no_time;
    s->backwards = rc->backwards;
    s->derived = rc->derived;
    s->unreadable = agent_spool_unreadable(a->spool);
    s->next_seq = ix->next_seq;
    s->acked_seq = ix->acked;
    s->gpsd_connects = agent_gpsd_connects(a->gpsd);
    s->server_connects = agent_link_get_counters(a->link)->connects;
    s->pid = (long)getpid();
}

/* Every second: the status file when something changed; the log every status_interval. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct agent *a = arg;
    struct agent_status s;
    fill_status(a, &s);
    int64_t now = wall_ms();
    s.updated_ms = 0;
    char line[512];
    agent_status_format(&s, line, sizeof(line));
    s.updated_ms = now;
    if (strcmp(line, a->last_line) != 0 || now - a->last_write_ms >= 60000) {
        if (agent_status_write(a->cfg.spool_dir, &s) != 0)
            log_warn("cannot write %s/status: %s", a->cfg.spool_dir, strerror(errno));
        snprintf(a->last_line, sizeof(a->last_line), "%s", line);
        a->last_write_ms = now;
    }
    if (now - a->last_log_ms >= a->cfg.status_interval * 1000) {
        agent_status_format(&s, line, sizeof(line));
        log_info("status %s", line);
        a->last_log_ms = now;
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct agent *a = arg;
    log_info("%s: stopping (unacknowledged fixes stay in the spool)",
             sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopexit(a->base, NULL);
}

/* Reads the device secret: at most CREDENTIAL_MAX bytes, white space around it ignored. */
static int read_credential(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("cannot read credential_file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0004))
        log_warn("credential_file %s is readable by everyone; make it 0600 or 0640", path);
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    char *p = out;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    memmove(out, p, strlen(p) + 1);
    n = strlen(out);
    while (n > 0 &&
           (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    if (n == 0 || n > CREDENTIAL_MAX) {
        log_error("credential_file %s must hold the device secret (1..%d bytes)", path,
                  CREDENTIAL_MAX);
        return -1;
    }
    return 0;
}

enum { OPT_STATUS };
static const struct cfg_option agent_options[] = {
    [OPT_STATUS] = {"status", NULL,
                    "Print the status line of the agent running with this spool_dir (counters "
                    "of fixes read, sent, acknowledged, spooled and dropped) and exit."},
};

static const struct cfg_program agent_program = {
    .name = "lpg-agent",
    .version = AGENT_VERSION,
    .summary = "lpg-dispatch vehicle agent: positions from gpsd, stored and forwarded to "
               "dispatchd.",
    .settings = agent_settings,
    .n_settings = AGENT_SETTINGS_COUNT,
    .options = agent_options,
    .n_options = sizeof(agent_options) / sizeof(agent_options[0]),
    .validate = agent_settings_validate,
};

static int run(struct agent *a, const char *credential)
{
    char err[512];
    a->spool =
        agent_spool_open(a->cfg.spool_dir, (uint64_t)a->cfg.spool_max_fixes, err, sizeof(err));
    if (!a->spool) {
        log_error("%s", err);
        return 1;
    }
    const struct agent_spool_index *ix = agent_spool_get_index(a->spool);
    log_info("spool %s: %llu fixes waiting for the server, next seq %llu, %llu dropped ever",
             agent_spool_path(a->spool), (unsigned long long)agent_spool_index_pending(ix),
             (unsigned long long)ix->next_seq, (unsigned long long)ix->dropped);
    a->buf = calloc((size_t)a->cfg.batch_max_fixes, sizeof(*a->buf));
    a->base = event_base_new();
    if (!a->buf || !a->base)
        return 1;
    a->batch_ev = evtimer_new(a->base, on_batch_due, a);
    a->fsync_ev = evtimer_new(a->base, on_fsync, a);
    a->tick_ev = event_new(a->base, -1, EV_PERSIST, on_tick, a);
    struct event *sig_int = evsignal_new(a->base, SIGINT, on_signal, a);
    struct event *sig_term = evsignal_new(a->base, SIGTERM, on_signal, a);
    struct agent_link_callbacks cb = {.on_ack = on_ack, .on_ready = on_ready};
    a->link = agent_link_new(a->base, &a->cfg, credential, &cb, a);
    a->gpsd = agent_gpsd_new(a->base, &a->cfg, on_fix, a);
    int rc = 1;
    if (a->batch_ev && a->fsync_ev && a->tick_ev && sig_int && sig_term && a->link && a->gpsd) {
        struct timeval sec = {1, 0};
        event_add(a->tick_ev, &sec);
        event_add(sig_int, NULL);
        event_add(sig_term, NULL);
        on_tick(-1, 0, a);
        event_base_dispatch(a->base);
        rc = 0;
    } else {
        log_error("out of memory starting");
    }
    /* The epoch in progress goes to the spool before anything else closes. */
    agent_gpsd_free(a->gpsd);
    a->gpsd = NULL;
    agent_link_free(a->link);
    a->link = NULL;
    if (sig_int)
        event_free(sig_int);
    if (sig_term)
        event_free(sig_term);
    return rc;
}

int main(int argc, char **argv)
{
    struct agent a;
    memset(&a, 0, sizeof(a));
    char err[512];
    const char *opt_values[sizeof(agent_options) / sizeof(agent_options[0])];
    int rc =
        cfg_parse_args(&agent_program, &a.cfg, argc, argv, opt_values, stdout, err, sizeof(err));
    if (rc != CFG_PARSE_RUN) {
        if (rc == CFG_PARSE_ERROR)
            fprintf(stderr, "lpg-agent: %s\n(try lpg-agent --help)\n", err);
        cfg_free(agent_settings, AGENT_SETTINGS_COUNT, &a.cfg);
        return rc == CFG_PARSE_EXIT ? 0 : 2;
    }
    if (opt_values[OPT_STATUS]) {
        rc = agent_status_print(a.cfg.spool_dir);
        cfg_free(agent_settings, AGENT_SETTINGS_COUNT, &a.cfg);
        return rc;
    }
    if (agent_settings_require_device(&a.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "lpg-agent: %s\n(try lpg-agent --help)\n", err);
        cfg_free(agent_settings, AGENT_SETTINGS_COUNT, &a.cfg);
        return 2;
    }
    log_set_level((enum log_level)a.cfg.log_level);
    log_route_libevent();
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    log_info("lpg-agent %s starting (pid %d): device %s, gpsd %s:%lld, server %s:%lld",
             AGENT_VERSION, (int)getpid(), a.cfg.device_id, a.cfg.gpsd_host,
             (long long)a.cfg.gpsd_port, a.cfg.server_host, (long long)a.cfg.server_port);
    char credential[CREDENTIAL_MAX + 2];
    rc = read_credential(a.cfg.credential_file, credential, sizeof(credential)) == 0
             ? run(&a, credential)
             : 1;
    memset(credential, 0, sizeof(credential));
    if (a.spool) {
        struct agent_status s;
        memset(&s, 0, sizeof(s));
        const struct agent_spool_index *ix = agent_spool_get_index(a.spool);
        s.read = a.read;
        s.acked = a.acked;
        s.spooled = agent_spool_index_pending(ix);
        s.dropped = ix->dropped;
        s.unreadable = agent_spool_unreadable(a.spool);
        s.next_seq = ix->next_seq;
        s.acked_seq = ix->acked;
        s.pid = (long)getpid();
        s.updated_ms = wall_ms();
        agent_status_write(a.cfg.spool_dir, &s);
        log_info("stopped: %llu fixes read, %llu acknowledged, %llu left in the spool",
                 (unsigned long long)s.read, (unsigned long long)s.acked,
                 (unsigned long long)s.spooled);
        agent_spool_close(a.spool);
    }
    if (a.batch_ev)
        event_free(a.batch_ev);
    if (a.fsync_ev)
        event_free(a.fsync_ev);
    if (a.tick_ev)
        event_free(a.tick_ev);
    if (a.base)
        event_base_free(a.base);
    free(a.buf);
    cfg_free(agent_settings, AGENT_SETTINGS_COUNT, &a.cfg);
    return rc;
}
