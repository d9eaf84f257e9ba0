/* http_report_stream.h -- the streamed replies of the auditor's reports (docs/tracking-api.md
 * "Reports"): the area report (http_v1_reports.c) and the driver-day report (http_v1_summary.c);
 * the route export (http_v1_tracking.c) uses the same buffer, flush and back-pressure with its
 * own content types.
 *
 * A report formats its records into `out` and hands them to the client with
 * report_stream_flush() before it reads more from the store, so memory stays bounded by what
 * one read produces: while more than REPORT_MAX_BACKLOG bytes wait in the client's socket queue,
 * the flush says "wait" and arms the retry timer (every REPORT_RETRY_MS); a client that accepts
 * nothing for REPORT_STALL_MS is given up. The 200 is sent by report_stream_start(), which a
 * report calls only once something was read: a store that fails before it is an ordinary 503.
 * Once started, a failure ends the stream without the document's closing part (JSON) or its
 * "# end" line (CSV), so a cut reply is always visible to the client.
 */
#ifndef LPG_HTTP_REPORT_STREAM_H
#define LPG_HTTP_REPORT_STREAM_H

#include "http/http_server.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

struct evbuffer;

#define REPORT_MAX_BACKLOG (1024 * 1024)
#define REPORT_RETRY_MS    20
#define REPORT_STALL_MS    30000

struct report_stream {
    struct http_call *call; /* NULL once the client went away (the closed callback says so) */
    struct evbuffer *out;   /* formatted, not yet handed to the client */
    struct event *retry;    /* the flush's wait: runs the report's next step */
    int64_t stalled_since;  /* when the client's backlog was first found full; 0 when not */
    int started;            /* the 200 was sent */
};

/* The buffer and the retry timer (retry_cb(arg) when it fires); 0, or -1 out of memory (then
 * report_stream_release() still frees what was made). */
int report_stream_init(struct report_stream *rs, struct event_base *base, struct http_call *call,
                       event_callback_fn retry_cb, void *arg);
/* Frees the buffer and the timer (not the call). */
void report_stream_release(struct report_stream *rs);
/* Answers 200 with chunked transfer, as CSV (with a header row) or JSON; closed(arg) runs when
 * the client goes away first (then set rs->call = NULL: the call is gone). */
void report_stream_start(struct report_stream *rs, int csv, http_stream_closed_fn *closed,
                         void *arg);
/* Hands `out` to the client: 0 when written (or empty), 1 when the client's backlog is full and
 * the retry timer will step the report again, -1 when the report must end (*why: the client
 * stopped reading, or out of memory). */
int report_stream_flush(struct report_stream *rs, const char **why);

/* j written as http_reply_json() writes a body (compact, reals to 10 digits), so a document
 * streamed in parts reads byte for byte as one sent whole; with open_object, without its closing
 * '}' (the head of an object the report goes on writing). Takes j's reference; 0, or -1 when j
 * is NULL or out of memory. */
int report_add_json(struct evbuffer *b, json_t *j, int open_object);

/* An instant as the JSON replies write it (RFC 3339, UTC, milliseconds), without quotes. */
void report_add_instant(struct evbuffer *b, int64_t ms);

/* ?format=csv|json, or Accept: text/csv; 1 csv, 0 json, -1 after replying 400. */
int report_format_csv(struct http_call *call);

#endif
