/*
 * log.h - leveled logging (prefix log_): one line per message, to stderr by default.
 *
 *   #define LOG_TAG "http"      (before including log.h; a short subsystem tag, default "-")
 *   #include "common/log.h"
 *   log_info("listening on %s:%d", host, port);
 *
 * Line format (UTC, milliseconds, level padded to 5 columns):
 *   2026-11-28T21:15:22.123Z INFO  http: listening on 127.0.0.1:8080
 *
 * Cost when off: the macros compare the level with one int before anything else, so a disabled
 * message neither evaluates its arguments nor formats anything. Arguments are printf-checked.
 *
 * Lines never interleave partially: each is formatted into a bounded stack buffer of
 * LOG_LINE_MAX bytes and handed to the sink whole (the default sink issues one write(2) per
 * line). Longer messages are cut and end with LOG_TRUNCATED_MARK. Control characters in the
 * message (newlines from peer data, escape sequences) are replaced with '?' so one message is
 * always exactly one line.
 *
 * Errors: logging never fails from the caller's point of view; a line the sink cannot write is
 * dropped. log_level_from_name() returns -1 for an unknown name.
 *
 * State: one module-level logger (level, sink), configured at startup from the main thread
 * before other threads start; formatting and writing are thread-safe.
 *
 * The level names are spelled LL_* because <syslog.h> defines LOG_DEBUG, LOG_INFO, ... as
 * macros.
 */
#ifndef LPG_LOG_H
#define LPG_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level {
    LL_DEBUG = 0,
    LL_INFO = 1,
    LL_WARN = 2,
    LL_ERROR = 3,
};

/* Longest line handed to the sink, in bytes, including the trailing newline. Below PIPE_BUF
 * (4096 on Linux), so a line written to a pipe is atomic. */
#define LOG_LINE_MAX 2048
/* Ends a message that was cut to fit in LOG_LINE_MAX. */
#define LOG_TRUNCATED_MARK "...[truncated]"

/* "debug", "info", "warn", "error", NULL: indexed by enum log_level (usable as a CFG_ENUM). */
extern const char *const log_level_names[];

/* Messages below this level are dropped. Read by the macros; change it only with
 * log_set_level(). */
extern int log_min_level_;

/* Receives each finished line: `line` is NUL-terminated, ends with '\n', len excludes the NUL
 * and is at most LOG_LINE_MAX. Valid only during the call. */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *line, size_t len);

void log_set_level(enum log_level level); /* default LL_INFO; out-of-range values are clamped */
enum log_level log_get_level(void);

/* Level for "debug"/"info"/"warn"/"error" (case-insensitive), or -1. */
int log_level_from_name(const char *name);
/* "debug", ... for a level, "?" for anything else. */
const char *log_level_name(int level);

/* Write lines to `f` (default stderr) with one write(2) per line on its file descriptor, or one
 * fwrite+fflush if it has none (e.g. open_memstream). NULL restores stderr. Removes any sink. */
void log_set_file(FILE *f);
/* Send lines to a callback instead (tests, syslog later). NULL restores the file output. */
void log_set_sink(log_sink_fn fn, void *arg);

/* Route libevent's internal messages into this logger with tag "libevent" (EVENT_LOG_DEBUG ->
 * LL_DEBUG, MSG -> LL_INFO, WARN -> LL_WARN, ERR -> LL_ERROR), and make libevent's fatal errors
 * log at LL_ERROR and abort(). Call once at startup, before creating an event_base. Libevent
 * only produces debug messages if event_enable_debug_logging() was also called. */
void log_route_libevent(void);

/* The macros' back end: formats and writes one line if `level` is enabled. Use the macros. */
void log_write_(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifndef LOG_TAG
#define LOG_TAG "-"
#endif

#define log_enabled(level) ((int)(level) >= log_min_level_)

#define log_at_(level, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(level))                                                                    \
            log_write_((level), LOG_TAG, __VA_ARGS__);                                             \
    } while (0)

/* log_debug(fmt, ...): printf-style; nothing is evaluated unless the level is enabled. */
#define log_debug(...) log_at_(LL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at_(LL_INFO, __VA_ARGS__)
#define log_warn(...)  log_at_(LL_WARN, __VA_ARGS__)
#define log_error(...) log_at_(LL_ERROR, __VA_ARGS__)

#endif /* LPG_LOG_H */
