/* harness.h -- helpers for integration tests that run the real thing: a private
 * redis-server on a free loopback port in a temporary directory, dispatchd, and raw TCP/HTTP
 * clients. Every process a test starts is stopped by harness_proc_stop() (and, as a last
 * resort, killed by harness_cleanup_all() from an atexit handler), so nothing outlives a test.
 *
 * Errors: functions return 0 / -1 (or NULL) and print what went wrong to stderr, so a failing
 * test says why. Timeouts are in milliseconds.
 */
#ifndef LPG_TEST_HARNESS_H
#define LPG_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct harness_proc {
    pid_t pid;     /* 0 when not running */
    char log[512]; /* file receiving the process's stdout and stderr */
    char name[32];
};

/* A fresh private directory under $TMPDIR (or /tmp); removed by harness_rmdir(). */
int harness_tmpdir(char *out, size_t cap, const char *tag);
void harness_rmdir(const char *dir);

/* A loopback TCP port that was free a moment ago (bind to port 0, read it, close). */
int harness_free_port(void);

/* Starts argv[0] with argv, stdout+stderr to `log`. */
int harness_proc_start(struct harness_proc *p, const char *name, const char *log,
                       char *const argv[]);
/* Sends `sig`, waits up to timeout_ms, then SIGKILL. Returns the exit status as from
 * waitpid() (use WIFEXITED etc.), or -1. */
int harness_proc_stop(struct harness_proc *p, int sig, int timeout_ms);
/* 1 while the process runs. */
int harness_proc_alive(struct harness_proc *p);
/* Prints the last `lines` lines of the process's log to stderr (on failures). */
void harness_proc_dump_log(const struct harness_proc *p, int lines);

/* A private redis-server in the foreground: loopback, given port, data in dir. */
struct harness_redis {
    struct harness_proc proc;
    int port;
    char dir[256];
};
int harness_redis_start(struct harness_redis *r, const char *dir, int port);
int harness_redis_stop(struct harness_redis *r);
/* Sends one command (arguments as separate strings) and copies the reply's first line
 * (e.g. "+PONG", "$5" followed by the bulk on the next call is NOT handled: bulk strings are
 * returned whole, without the "$n" line). Returns 0 on a reply. */
int harness_redis_cmd(int port, char *reply, size_t cap, int argc, const char *const argv[]);

/* dispatchd with HTTP/handset ports and Redis port set, plus extra "--name=value" args. */
struct harness_dispatchd {
    struct harness_proc proc;
    int http_port;
    int handset_port;
    int jt808_port;
};
int harness_dispatchd_start(struct harness_dispatchd *d, const char *dir, int redis_port,
                            const char *const *extra_args);

/* Plain HTTP/1.0 request to 127.0.0.1:port. Fills *status and the body (NUL-terminated,
 * truncated to cap-1). `headers` (optional) receives the header block. */
int harness_http(int port, const char *method, const char *path, int *status, char *body,
                 size_t cap, char *headers, size_t hcap);

/* Like harness_http, with extra request header lines (each ending in "\r\n"; may be NULL)
 * and a body (may be NULL; sent with Content-Length and Content-Type: application/json). */
int harness_http_req(int port, const char *method, const char *path, const char *extra_headers,
                     const char *body, int *status, char *resp, size_t cap);

/* The contract check of docs/openapi.yaml (tests/docs/check_openapi.py): when the environment
 * names a directory in LPG_HTTP_RECORD_DIR, every exchange of harness_http* (the response, and
 * the request's body) is appended there as one JSON line (to <dir>/<pid>.jsonl). Tests with an HTTP
 * client of their own record its exchanges with harness_http_record_raw: `raw` is the whole
 * response as read (status line, headers, body; a chunked body is decoded by the checker). No-op
 * otherwise. */
void harness_http_record_raw(const char *method, const char *path, const char *raw, size_t len);
/* Records text read from an event stream (GET path answered text/event-stream) after its
 * headers: whole events in it are checked against their schemas, a cut one is skipped. */
void harness_http_record_stream(const char *path, const char *text, size_t len);

/* An HTTP/1.1 GET reply read to its end (Connection: close), a chunked body decoded: for the
 * tests of streamed replies, which harness_http's fixed buffer does not fit. */
struct harness_reply {
    int status;
    char headers[4096]; /* the status line and headers, NUL-terminated */
    char *body;         /* the decoded body, NUL-terminated, malloc'd */
    size_t len;
    int chunked;  /* Transfer-Encoding: chunked */
    int complete; /* chunked: the terminating chunk arrived (a cut stream has none) */
    char *raw;    /* the reply as read, malloc'd: for harness_http_record_raw */
    size_t raw_len;
};

/* Sends `GET path HTTP/1.1` with Connection: close and, unless token is NULL, the bearer token.
 * Returns the socket, or -1. */
int harness_get11_send(int port, const char *token, const char *path);
/* Sends that request on a connected socket (e.g. from harness_tcp_connect_rcvbuf); 0 or -1. */
int harness_get11_request(int fd, const char *token, const char *path);
/* Reads fd's reply to EOF, waiting up to wait_ms for each read, then closes fd. Returns 0, or
 * -1 (r freed) when no status line and headers arrived, a read timed out or the chunked framing
 * is broken. Free r with harness_reply_free. */
int harness_get11_read(int fd, struct harness_reply *r, int wait_ms);
/* Fills r from a reply read by the caller: raw (malloc'd, len bytes and one spare for a NUL)
 * becomes r's. Returns 0, or -1 (r freed, raw with it) as harness_get11_read. */
int harness_reply_parse(struct harness_reply *r, char *raw, size_t len);
void harness_reply_free(struct harness_reply *r);

/* Runs `dispatchd --redis-port=P --create-admin NAME` with the password on its stdin. Returns
 * its exit status (0 on success). */
int harness_create_admin(int redis_port, const char *name, const char *password);

/* Polls GET path until it returns `want_status` or timeout. Returns 0 when it did. */
/* The value of the sample `name{labels}` (as printed) in dispatchd's /metrics on http_port;
 * -1 when /metrics does not answer 200 or has no such sample. */
long long harness_metric(int http_port, const char *sample);

int harness_http_wait_status(int port, const char *path, int want_status, int timeout_ms);

/* TLS. harness_set_tls_ca(CA): from then on harness_http*, harness_dispatchd_start and
 * harness_stack_* speak HTTPS to dispatchd, trusting only CA (a PEM file) and checking the
 * certificate's name against 127.0.0.1; NULL: plain HTTP again. */
void harness_set_tls_ca(const char *ca_file);
/* A TLS connection to 127.0.0.1:port verifying the server's certificate against ca_file and
 * host (a DNS name, sent as SNI, or an IP address). The descriptor works with
 * harness_send_all, harness_recv_exact, harness_wait_closed and the wire client; close it with
 * harness_close(). -1 when the handshake fails (why in err, if given). */
int harness_tls_connect(int port, const char *ca_file, const char *host, char *err, size_t errlen);
/* Closes a descriptor from harness_tcp_connect or harness_tls_connect. */
void harness_close(int fd);
/* harness_set_redis_password(P): from then on harness_redis_start runs Redis with
 * requirepass P, and harness_redis_cmd, harness_create_admin and harness_dispatchd_start
 * authenticate with P; NULL: none. */
void harness_set_redis_password(const char *password);

/* TCP client helpers. */
int harness_tcp_connect(int port);
/* The same with a receive buffer of rcvbuf bytes (set before connecting; 0: the default): a slow
 * reader whose backlog builds up on the server's side, not in its own socket. */
int harness_tcp_connect_rcvbuf(int port, int rcvbuf);
int harness_send_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes within timeout_ms. Returns 0, or -1 on EOF/timeout/error
 * (*eof set to 1 when the peer closed). */
int harness_recv_exact(int fd, void *buf, size_t len, int timeout_ms, int *eof);
/* 1 when the peer closes the connection (EOF/reset) within timeout_ms, discarding data. */
int harness_wait_closed(int fd, int timeout_ms);

/* How long a test waits for a reply it expects (or for a close it expects): the wait ends when
 * the reply comes, so this only bounds a failure. A busy 2-core machine (ASan, other jobs beside
 * the suite) has taken seconds to answer a Hello: fixed waits of 3 s made tests flaky. */
#define HARNESS_REPLY_TIMEOUT_MS 15000

/* The usual stack of an integration test: a temp dir, Redis on a free port, and dispatchd
 * talking to it. stop() stops dispatchd with SIGTERM (returning its wait status), then Redis,
 * then removes the directory (kept when keep_dir is set, for post-mortems). */
struct harness_stack {
    char dir[256];
    struct harness_redis redis;
    struct harness_dispatchd d;
    int keep_dir;
};
int harness_stack_start(struct harness_stack *s, const char *tag, const char *const *extra_args);
/* Every stack has an admin "root" with this password (created before dispatchd starts). */
#define HARNESS_ADMIN_PASSWORD "correct horse battery"
/* Logs in as root; the token goes to tok (64 bytes). */
int harness_stack_admin_token(struct harness_stack *s, char tok[64]);
/* Registers handset device_id for its own test staff member "S-<device_id>" (creating
 * enterprise "E0" on first use) and copies its secret into secret (64 bytes). */
int harness_stack_device(struct harness_stack *s, const char *device_id, char secret[64]);
/* Creates vehicle vehicle_id in "E0", bound to the test staff member of device_id
 * ("S-<device_id>", from harness_stack_device), so the device's positions are recorded. */
int harness_stack_vehicle(struct harness_stack *s, const char *vehicle_id, const char *device_id);
/* Copies the string value of "key" from a flat JSON text into out; 0 when found. */
int harness_json_str(const char *json, const char *key, char *out, size_t cap);
int harness_stack_stop(struct harness_stack *s);

void harness_sleep_ms(int ms);
/* Path of the dispatchd binary under test ($LPG_TEST_DISPATCHD, else the one built). */
const char *harness_dispatchd_path(void);
/* Kills every process still running that this harness started. */
void harness_cleanup_all(void);

#endif
