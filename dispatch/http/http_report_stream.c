/* http_report_stream.c -- the streamed replies of the reports (http_report_stream.h). */
#include "http/http_report_stream.h"

#include "common/clock.h"
#include "core/model_json.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

int report_stream_init(struct report_stream *rs, struct event_base *base, struct http_call *call,
                       event_callback_fn retry_cb, void *arg)
{
    memset(rs, 0, sizeof(*rs));
    rs->call = call;
    rs->out = evbuffer_new();
    rs->retry = evtimer_new(base, retry_cb, arg);
    return rs->out && rs->retry ? 0 : -1;
}

void report_stream_release(struct report_stream *rs)
{
    if (rs->retry)
        event_free(rs->retry);
    if (rs->out)
        evbuffer_free(rs->out);
    rs->retry = NULL;
    rs->out = NULL;
}

void report_stream_start(struct report_stream *rs, int csv, http_stream_closed_fn *closed,
                         void *arg)
{
    rs->started = 1;
    http_stream_start(rs->call,
                      csv ? "text/csv; charset=utf-8; header=present"
                          : "application/json; charset=utf-8",
                      closed, arg);
}

int report_stream_flush(struct report_stream *rs, const char **why)
{
    size_t len = evbuffer_get_length(rs->out);
    if (len == 0)
        return 0;
    const char *data = (const char *)evbuffer_pullup(rs->out, -1);
    if (data == NULL || http_stream_write(rs->call, data, len, REPORT_MAX_BACKLOG) != 0) {
        int64_t now = lpg_now_ms();
        if (rs->stalled_since == 0)
            rs->stalled_since = now;
        if (data == NULL || now - rs->stalled_since > REPORT_STALL_MS) {
            *why = data ? "the client stopped reading" : "out of memory";
            return -1;
        }
        struct timeval tv = {0, REPORT_RETRY_MS * 1000};
        evtimer_add(rs->retry, &tv);
        return 1;
    }
    evbuffer_drain(rs->out, len);
    rs->stalled_since = 0;
    return 0;
}

int report_add_json(struct evbuffer *b, json_t *j, int open_object)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (text == NULL)
        return -1;
    size_t len = strlen(text);
    if (open_object && len > 0 && text[len - 1] == '}')
        len--;
    int rc = evbuffer_add(b, text, len);
    free(text);
    return rc == 0 ? 0 : -1;
}

void report_add_instant(struct evbuffer *b, int64_t ms)
{
    char t[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(ms, t);
    evbuffer_add(b, t, LPG_JSON_INSTANT_LEN);
}

int report_format_csv(struct http_call *call)
{
    const char *f = http_call_query(call, "format");
    if (f == NULL) {
        const char *acc = http_call_header(call, "Accept");
        return acc && strstr(acc, "text/csv") ? 1 : 0;
    }
    if (strcmp(f, "csv") == 0)
        return 1;
    if (strcmp(f, "json") == 0)
        return 0;
    http_reply_error(call, 400, "invalid_parameter", "format must be json or csv", "format");
    return -1;
}
