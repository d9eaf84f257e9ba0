/*
 * log.c - the leveled logger declared in log.h: formats one bounded line per message
 * (timestamp, level, tag, message), hands it to the sink in one piece, and bridges libevent's
 * log and fatal callbacks into it.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};

/* Column text of each level, padded so messages line up. */
static const char *const level_columns[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

/* The tag is cut to this many bytes so the prefix has a fixed upper bound. */
#define LOG_TAG_MAX 16

int log_min_level_ = LL_INFO;

/* The one logger. file == NULL means stderr. */
static struct {
    FILE *file;
    log_sink_fn sink;
    void *sink_arg;
} logger;

static enum log_level clamp_level(int level)
{
    if (level < LL_DEBUG)
        return LL_DEBUG;
    if (level > LL_ERROR)
        return LL_ERROR;
    return (enum log_level)level;
}

void log_set_level(enum log_level level)
{
    log_min_level_ = clamp_level((int)level);
}

enum log_level log_get_level(void)
{
    return clamp_level(log_min_level_);
}

int log_level_from_name(const char *name)
{
    for (int i = 0; log_level_names[i] != NULL; i++) {
        const char *a = log_level_names[i], *b = name;
        while (*a != '\0' && (*b == *a || *b == *a - 'a' + 'A')) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return i;
    }
    return -1;
}

const char *log_level_name(int level)
{
    return (level >= LL_DEBUG && level <= LL_ERROR) ? log_level_names[level] : "?";
}

void log_set_file(FILE *f)
{
    logger.file = f;
    logger.sink = NULL;
    logger.sink_arg = NULL;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
    logger.sink = fn;
    logger.sink_arg = fn != NULL ? arg : NULL;
}

/* One write(2) per line when the stream has a descriptor; retried only for EINTR and the rare
 * partial write. Failures drop the line: logging must not take the service down. */
static void write_file(FILE *f, const char *line, size_t len)
{
    int fd = fileno(f);
    if (fd < 0) {
        fwrite(line, 1, len, f);
        fflush(f);
        return;
    }
    fflush(f); /* anything the program printed to the same stream goes first */
    while (len > 0) {
        ssize_t w = write(fd, line, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        line += w;
        len -= (size_t)w;
    }
}

void log_write_(enum log_level level, const char *tag, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    int saved_errno = errno; /* callers log strerror(errno) and then still use errno */
    level = clamp_level((int)level);

    struct timespec now;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[LOG_LINE_MAX + 1];
    int prefix =
        snprintf(line, sizeof line, "%s.%03dZ %s %.*s: ", stamp, (int)(now.tv_nsec / 1000000),
                 level_columns[level], LOG_TAG_MAX, tag != NULL ? tag : "-");
    size_t p = prefix > 0 ? (size_t)prefix : 0;
    size_t body_cap = LOG_LINE_MAX - 1 - p; /* message bytes that fit before the '\n' */

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + p, body_cap + 1, fmt, ap);
    va_end(ap);

    size_t body;
    if (n < 0) {
        body = (size_t)snprintf(line + p, body_cap + 1, "(unformattable log message: %s)", fmt);
        body = body > body_cap ? body_cap : body;
    } else {
        body = (size_t)n;
    }
    if (body > body_cap) {
        size_t mark = sizeof LOG_TRUNCATED_MARK - 1;
        body = body_cap;
        memcpy(line + p + body - mark, LOG_TRUNCATED_MARK, mark);
    }
    for (size_t i = p; i < p + body; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            line[i] = '?';
    }
    line[p + body] = '\n';
    line[p + body + 1] = '\0';
    size_t len = p + body + 1;

    if (logger.sink != NULL)
        logger.sink(logger.sink_arg, level, line, len);
    else
        write_file(logger.file != NULL ? logger.file : stderr, line, len);
    errno = saved_errno;
}

/* ---- libevent bridge ---- */

static void libevent_log_cb(int severity, const char *msg)
{
    enum log_level level;
    switch (severity) {
    case EVENT_LOG_DEBUG:
        level = LL_DEBUG;
        break;
    case EVENT_LOG_MSG:
        level = LL_INFO;
        break;
    case EVENT_LOG_WARN:
        level = LL_WARN;
        break;
    default:
        level = LL_ERROR;
        break;
    }
    if (log_enabled(level))
        log_write_(level, "libevent", "%s", msg);
}

/* Libevent calls this for an unrecoverable internal error; it must not return. */
static void libevent_fatal_cb(int err)
{
    log_write_(LL_ERROR, "libevent", "fatal internal error (code %d); aborting", err);
    abort();
}

void log_route_libevent(void)
{
    event_set_log_callback(libevent_log_cb);
    event_set_fatal_callback(libevent_fatal_cb);
}
