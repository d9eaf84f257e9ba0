/* harness.c -- processes, ports, and raw clients for integration tests (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#ifndef HARNESS_DISPATCHD
#error "HARNESS_DISPATCHD (path of the dispatchd binary) must be defined by the build"
#endif
#ifndef HARNESS_REDIS_SERVER
#error "HARNESS_REDIS_SERVER (path of redis-server) must be defined by the build"
#endif

#define HARNESS_MAX_PROCS 32

static pid_t started[HARNESS_MAX_PROCS];
static int atexit_installed;

static void track(pid_t pid)
{
    if (!atexit_installed) {
        atexit(harness_cleanup_all);
        atexit_installed = 1;
    }
    for (int i = 0; i < HARNESS_MAX_PROCS; i++)
        if (started[i] == 0) {
            started[i] = pid;
            return;
        }
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < HARNESS_MAX_PROCS; i++)
        if (started[i] == pid)
            started[i] = 0;
}

void harness_cleanup_all(void)
{
    for (int i = 0; i < HARNESS_MAX_PROCS; i++)
        if (started[i] > 0) {
            kill(started[i], SIGKILL);
            waitpid(started[i], NULL, 0);
            started[i] = 0;
        }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* LPG_TEST_DISPATCHD overrides the binary found at build time: tests/bench/compare_trees.sh
 * runs the benchmarks of one tree against the dispatchd of another. */
const char *harness_dispatchd_path(void)
{
    const char *path = getenv("LPG_TEST_DISPATCHD");
    return path != NULL && *path != '\0' ? path : HARNESS_DISPATCHD;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int harness_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(out, cap, "%s/lpg-%s-XXXXXX", base, tag);
    if (mkdtemp(out) == NULL) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

void harness_rmdir(const char *dir)
{
    /* Our temp dirs hold only flat files and redis' appendonlydir; rm -rf is simplest. */
    if (dir == NULL || strncmp(dir, "/", 1) != 0 || strstr(dir, "/lpg-") == NULL)
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", dir);
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int harness_proc_start(struct harness_proc *p, const char *name, const char *log,
                       char *const argv[])
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->log, sizeof(p->log), "%s", log);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Die with the test: a test that crashes (a sanitizer abort skips atexit) must not
         * leave a redis-server or dispatchd behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        /* dispatchd runs as its systemd unit starts it: glibc's per-thread malloc cache off
         * (deploy/systemd/dispatchd.service; dispatch/dispatchd.c, tune_malloc). */
        if (strcmp(name, "dispatchd") == 0)
            setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 0);
        execv(argv[0], argv);
        fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    track(pid);
    return 0;
}

int harness_proc_alive(struct harness_proc *p)
{
    if (p->pid <= 0)
        return 0;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        untrack(p->pid);
        p->pid = 0;
        return 0;
    }
    return 1;
}

int harness_proc_stop(struct harness_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    long long deadline = now_ms() + timeout_ms;
    int status = -1;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (now_ms() >= deadline) {
            fprintf(stderr, "harness: %s (pid %d) did not stop within %d ms; killing it\n", p->name,
                    (int)p->pid, timeout_ms);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            status = -1;
            break;
        }
        harness_sleep_ms(10);
    }
    untrack(p->pid);
    p->pid = 0;
    return status;
}

void harness_proc_dump_log(const struct harness_proc *p, int lines)
{
    char cmd[700];
    fprintf(stderr, "---- last %d lines of %s (%s) ----\n", lines, p->name, p->log);
    snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, p->log);
    if (system(cmd) != 0)
        fprintf(stderr, "(could not read the log)\n");
}

/* ---- TLS: the connections of harness_tls_connect(), by descriptor ---- */

#define HARNESS_MAX_FD 4096
static SSL *tls_of[HARNESS_MAX_FD];
static SSL_CTX *tls_ctx_cache;
static char tls_ctx_ca[512];
static char http_ca[512];        /* harness_set_tls_ca(); "" = plain HTTP */
static char redis_password[128]; /* harness_set_redis_password(); "" = none */

static SSL *fd_tls(int fd)
{
    return fd >= 0 && fd < HARNESS_MAX_FD ? tls_of[fd] : NULL;
}

static ssize_t io_recv(int fd, void *buf, size_t len)
{
    SSL *ssl = fd_tls(fd);
    if (ssl == NULL)
        return recv(fd, buf, len, 0);
    size_t n = 0;
    if (SSL_read_ex(ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    int e = SSL_get_error(ssl, 0);
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
        return 0;
    if (errno == 0 || errno == EAGAIN)
        errno = EPROTO;
    return -1;
}

static ssize_t io_send(int fd, const void *buf, size_t len)
{
    SSL *ssl = fd_tls(fd);
    if (ssl == NULL)
        return send(fd, buf, len, MSG_NOSIGNAL);
    size_t n = 0;
    if (SSL_write_ex(ssl, buf, len, &n) == 1)
        return (ssize_t)n;
    ERR_clear_error();
    errno = EPIPE;
    return -1;
}

/* Decrypted bytes waiting inside TLS: poll() would not see them. */
static int io_pending(int fd)
{
    SSL *ssl = fd_tls(fd);
    return ssl != NULL && SSL_pending(ssl) > 0;
}

void harness_set_tls_ca(const char *ca_file)
{
    snprintf(http_ca, sizeof(http_ca), "%s", ca_file ? ca_file : "");
}

void harness_set_redis_password(const char *password)
{
    snprintf(redis_password, sizeof(redis_password), "%s", password ? password : "");
}

int harness_tls_connect(int port, const char *ca_file, const char *host, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (tls_ctx_cache == NULL || strcmp(tls_ctx_ca, ca_file) != 0) {
        SSL_CTX_free(tls_ctx_cache);
        tls_ctx_cache = SSL_CTX_new(TLS_client_method());
        snprintf(tls_ctx_ca, sizeof(tls_ctx_ca), "%s", ca_file);
        if (tls_ctx_cache == NULL ||
            SSL_CTX_load_verify_locations(tls_ctx_cache, ca_file, NULL) != 1) {
            fprintf(stderr, "harness: cannot load CA %s\n", ca_file);
            ERR_clear_error();
            return -1;
        }
        SSL_CTX_set_verify(tls_ctx_cache, SSL_VERIFY_PEER, NULL);
    }
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    if (fd >= HARNESS_MAX_FD) {
        close(fd);
        return -1;
    }
    /* A server that never answers the handshake must not hang the test. */
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(tls_ctx_cache);
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, host, &a4) == 1;
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
        (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
               : (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1))) {
        SSL_free(ssl);
        close(fd);
        ERR_clear_error();
        return -1;
    }
    if (SSL_connect(ssl) != 1) {
        unsigned long e = ERR_get_error();
        long vr = SSL_get_verify_result(ssl);
        if (err && errlen)
            snprintf(
                err, errlen, "%s%s%s", vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "",
                vr != X509_V_OK ? ": " : "", e ? ERR_reason_error_string(e) : "handshake failed");
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return -1;
    }
    tls_of[fd] = ssl;
    return fd;
}

void harness_close(int fd)
{
    SSL *ssl = fd_tls(fd);
    if (ssl != NULL) {
        SSL_free(ssl);
        tls_of[fd] = NULL;
    }
    close(fd);
}

/* ---- TCP ---- */

int harness_tcp_connect(int port)
{
    return harness_tcp_connect_rcvbuf(port, 0);
}

int harness_tcp_connect_rcvbuf(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    /* Before connect: the window scale is agreed in the handshake. */
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int harness_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = io_send(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int harness_recv_exact(int fd, void *buf, size_t len, int timeout_ms, int *eof)
{
    char *p = buf;
    long long deadline = now_ms() + timeout_ms;
    if (eof)
        *eof = 0;
    while (len > 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = io_pending(fd) ? 1 : poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t n = io_recv(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (eof)
                *eof = 1;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int harness_wait_closed(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char sink[4096];
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = io_pending(fd) ? 1 : poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return 0;
        ssize_t n = io_recv(fd, sink, sizeof(sink));
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
    }
}

/* ---- HTTP ---- */

/* Appends `s` (len bytes) to out as the inside of a JSON string: quotes, backslashes and
 * control bytes escaped; other bytes as they are (the checker reads invalid UTF-8 leniently). */
static size_t json_escape_into(char *out, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)sprintf(out + n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    return n;
}

/* One JSON line {"prog","method","path",<key>:raw[,"request":request]} appended to the
 * recording directory. */
static void record_line(const char *method, const char *path, const char *key, const char *raw,
                        size_t len, const char *request)
{
    const char *dir = getenv("LPG_HTTP_RECORD_DIR");
    if (dir == NULL || dir[0] == '\0')
        return;
    char prog[64] = "?";
    FILE *comm = fopen("/proc/self/comm", "r");
    if (comm) {
        if (fgets(prog, sizeof(prog), comm))
            prog[strcspn(prog, "\n")] = '\0';
        fclose(comm);
    }
    size_t mlen = strlen(method), plen = strlen(path), glen = strlen(prog);
    size_t qlen = request ? strlen(request) : 0;
    /* Every byte escapes to at most 6 ("\u00XX"); 128 for the keys and punctuation. */
    size_t cap = 6 * (len + mlen + plen + glen + qlen) + 128 + strlen(key);
    char *line = malloc(cap);
    if (line == NULL)
        return;
    size_t n = (size_t)sprintf(line, "{\"prog\":\"");
    n += json_escape_into(line + n, prog, glen);
    n += (size_t)sprintf(line + n, "\",\"method\":\"");
    n += json_escape_into(line + n, method, mlen);
    n += (size_t)sprintf(line + n, "\",\"path\":\"");
    n += json_escape_into(line + n, path, plen);
    n += (size_t)sprintf(line + n, "\",\"%s\":\"", key);
    n += json_escape_into(line + n, raw, len);
    if (request) {
        n += (size_t)sprintf(line + n, "\",\"request\":\"");
        n += json_escape_into(line + n, request, qlen);
    }
    n += (size_t)sprintf(line + n, "\"}\n");
    char file[512];
    snprintf(file, sizeof(file), "%s/%ld.jsonl", dir, (long)getpid());
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    /* One write per exchange: lines of concurrent writers do not interleave (O_APPEND). A
     * recording that fails is reported loudly: a silent gap would hide responses from the check. */
    if (fd < 0 || write(fd, line, n) != (ssize_t)n)
        fprintf(stderr, "harness: cannot record the HTTP exchange in %s: %s\n", file,
                strerror(errno));
    if (fd >= 0)
        close(fd);
    free(line);
}

/* No answer at all (a refused or cut connection) is nothing the contract describes. */
static void record_exchange(const char *method, const char *path, const char *raw, size_t len,
                            const char *request)
{
    if (len >= 5 && memcmp(raw, "HTTP/", 5) == 0)
        record_line(method, path, "response", raw, len, request);
}

void harness_http_record_raw(const char *method, const char *path, const char *raw, size_t len)
{
    record_exchange(method, path, raw, len, NULL);
}

void harness_http_record_stream(const char *path, const char *text, size_t len)
{
    if (len > 0)
        record_line("GET", path, "stream", text, len, NULL);
}

int harness_get11_request(int fd, const char *token, const char *path)
{
    char req[2048];
    int n = snprintf(
        req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n",
        path, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    if (n <= 0 || (size_t)n >= sizeof(req))
        return -1;
    return harness_send_all(fd, req, (size_t)n);
}

int harness_get11_send(int port, const char *token, const char *path)
{
    int fd = harness_tcp_connect(port);
    if (fd >= 0 && harness_get11_request(fd, token, path) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void harness_reply_free(struct harness_reply *r)
{
    free(r->body);
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

/* Decodes r->raw's chunked body (after the headers at body_start) into r->body. */
static int decode_chunked(struct harness_reply *r, const char *p)
{
    const char *end = r->raw + r->raw_len;
    while (p < end) {
        char *e;
        unsigned long size = strtoul(p, &e, 16);
        const char *data = strstr(e, "\r\n");
        if (e == p || data == NULL)
            return -1;
        data += 2;
        if (size == 0) {
            r->complete = 1;
            return 0;
        }
        if (size > (size_t)(end - data))
            return 0; /* cut inside a chunk: what arrived whole is the body */
        memcpy(r->body + r->len, data, size);
        r->len += size;
        p = data + size + 2;
    }
    return 0;
}

int harness_get11_read(int fd, struct harness_reply *r, int wait_ms)
{
    size_t cap = 1 << 16, used = 0;
    char *raw = malloc(cap);
    int rc = raw != NULL ? 0 : -1;
    while (rc == 0) { /* to EOF (Connection: close) */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, wait_ms) != 1) {
            rc = -1;
            break;
        }
        if (used + 65536 > cap) {
            char *bigger = realloc(raw, cap * 2);
            if (bigger == NULL) {
                rc = -1;
                break;
            }
            raw = bigger;
            cap *= 2;
        }
        ssize_t got = recv(fd, raw + used, cap - used - 1, 0);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    close(fd);
    if (rc != 0) {
        free(raw);
        memset(r, 0, sizeof(*r));
        return -1;
    }
    return harness_reply_parse(r, raw, used);
}

int harness_reply_parse(struct harness_reply *r, char *raw, size_t used)
{
    memset(r, 0, sizeof(*r));
    r->raw = raw;
    r->raw_len = used;
    raw[used] = '\0';
    const char *hend = strstr(raw, "\r\n\r\n");
    size_t hlen = hend != NULL ? (size_t)(hend - raw) : 0;
    if (hend == NULL || hlen >= sizeof(r->headers) || sscanf(raw, "HTTP/1.1 %d", &r->status) != 1 ||
        (r->body = malloc(used - hlen - 4 + 1)) == NULL) {
        harness_reply_free(r);
        return -1;
    }
    memcpy(r->headers, raw, hlen);
    r->headers[hlen] = '\0';
    r->chunked = strstr(r->headers, "Transfer-Encoding: chunked") != NULL;
    if (!r->chunked) {
        r->len = used - hlen - 4;
        memcpy(r->body, hend + 4, r->len);
    } else if (decode_chunked(r, hend + 4) != 0) {
        harness_reply_free(r);
        return -1;
    }
    r->body[r->len] = '\0';
    return 0;
}

static int http_exchange(int port, const char *method, const char *path, const char *extra,
                         const char *reqbody, int *status, char *body, size_t cap, char *headers,
                         size_t hcap)
{
    int fd = http_ca[0] ? harness_tls_connect(port, http_ca, "127.0.0.1", NULL, 0)
                        : harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    size_t blen = reqbody ? strlen(reqbody) : 0;
    size_t rcap = 1024 + blen;
    char *req = malloc(rcap);
    if (req == NULL) {
        close(fd);
        return -1;
    }
    int n = snprintf(req, rcap, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s", method, path,
                     extra ? extra : "");
    if (reqbody)
        n += snprintf(req + n, rcap - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    n += snprintf(req + n, rcap - (size_t)n, "\r\n%s", reqbody ? reqbody : "");
    int sent = harness_send_all(fd, req, (size_t)n);
    free(req);
    if (sent != 0) {
        harness_close(fd);
        return -1;
    }
    size_t size = 65536, used = 0;
    char *resp = malloc(size);
    if (resp == NULL) {
        harness_close(fd);
        return -1;
    }
    long long deadline = now_ms() + HARNESS_REPLY_TIMEOUT_MS;
    for (;;) {
        if (used + 1 >= size) {
            char *bigger = realloc(resp, size * 2);
            if (bigger == NULL)
                break;
            resp = bigger;
            size *= 2;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || (!io_pending(fd) && poll(&pfd, 1, (int)left) <= 0))
            break;
        ssize_t r = io_recv(fd, resp + used, size - used - 1);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    harness_close(fd);
    resp[used] = '\0';
    record_exchange(method, path, resp, used, reqbody);
    int rc = -1;
    char *sep = strstr(resp, "\r\n\r\n");
    if (sep && sscanf(resp, "HTTP/1.%*d %d", status) == 1) {
        *sep = '\0';
        if (headers && hcap)
            snprintf(headers, hcap, "%s", resp);
        if (body && cap)
            snprintf(body, cap, "%s", sep + 4);
        rc = 0;
    }
    free(resp);
    return rc;
}

int harness_http(int port, const char *method, const char *path, int *status, char *body,
                 size_t cap, char *headers, size_t hcap)
{
    return http_exchange(port, method, path, NULL, NULL, status, body, cap, headers, hcap);
}

int harness_http_req(int port, const char *method, const char *path, const char *extra_headers,
                     const char *body, int *status, char *resp, size_t cap)
{
    return http_exchange(port, method, path, extra_headers, body, status, resp, cap, NULL, 0);
}

int harness_create_admin(int redis_port, const char *name, const char *password)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "printf '%%s\\n' '%s' | '%s' --redis-port=%d %s%s%s --create-admin '%s'", password,
             harness_dispatchd_path(), redis_port, redis_password[0] ? "--redis-password='" : "",
             redis_password, redis_password[0] ? "'" : "", name);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int harness_http_wait_status(int port, const char *path, int want_status, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int status = 0;
    do {
        char body[4096];
        if (harness_http(port, "GET", path, &status, body, sizeof(body), NULL, 0) == 0 &&
            status == want_status)
            return 0;
        harness_sleep_ms(50);
    } while (now_ms() < deadline);
    fprintf(stderr, "harness: GET %s on port %d did not return %d within %d ms (last %d)\n", path,
            port, want_status, timeout_ms, status);
    return -1;
}

/* ---- Redis ---- */

int harness_redis_cmd(int port, char *reply, size_t cap, int argc, const char *const argv[])
{
    int fd = harness_tcp_connect(port);
    if (fd < 0)
        return -1;
    char buf[4096];
    int n = 0;
    if (redis_password[0]) /* its +OK is skipped below */
        n = snprintf(buf, sizeof(buf), "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(redis_password),
                     redis_password);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "*%d\r\n", argc);
    for (int i = 0; i < argc && n < (int)sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (n >= (int)sizeof(buf) || harness_send_all(fd, buf, (size_t)n) != 0) {
        close(fd);
        return -1;
    }
    /* Read what arrives within a short window: replies we use are small. */
    size_t used = 0;
    long long deadline = now_ms() + 2000;
    while (used < sizeof(buf) - 1) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, used ? 50 : (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    buf[used] = '\0';
    if (used == 0)
        return -1;
    char *start = buf;
    if (redis_password[0]) {
        if (strncmp(buf, "+OK\r\n", 5) != 0) { /* AUTH refused: that is the reply */
            char *e = strstr(buf, "\r\n");
            if (e)
                *e = '\0';
            snprintf(reply, cap, "%s", buf);
            return 0;
        }
        start = buf + 5;
        if (*start == '\0')
            return -1;
    }
    char *eol = strstr(start, "\r\n");
    if (start[0] == '$' && eol) {
        if (strncmp(start, "$-1", 3) == 0) {
            snprintf(reply, cap, "(nil)");
        } else {
            char *bulk = eol + 2;
            char *end = strstr(bulk, "\r\n");
            if (end)
                *end = '\0';
            snprintf(reply, cap, "%s", bulk);
        }
    } else {
        if (eol)
            *eol = '\0';
        snprintf(reply, cap, "%s", start);
    }
    return 0;
}

int harness_redis_start(struct harness_redis *r, const char *dir, int port)
{
    memset(r, 0, sizeof(r->proc));
    r->port = port;
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    char portstr[16], log[400];
    snprintf(portstr, sizeof(portstr), "%d", port);
    snprintf(log, sizeof(log), "%s/redis-%d.log", dir, port);
    /* Foreground under our supervision: --daemonize would exit 0 even if the bind failed.
     * AOF on, as in production: the tests exercise the real persistence path. */
    /* LPG_TEST_REDIS_SERVER overrides the path found at build time: deploy/test.sh points it at
     * a wrapper when it runs the suite under a fake clock (LPG_TEST_CLOCK), which Redis must
     * not see (libfaketime and its allocator deadlock at start). */
    const char *server = getenv("LPG_TEST_REDIS_SERVER");
    if (server == NULL || *server == '\0')
        server = HARNESS_REDIS_SERVER;
    char *const argv[] = {(char *)server,
                          (char *)"--port",
                          portstr,
                          (char *)"--bind",
                          (char *)"127.0.0.1",
                          (char *)"--dir",
                          (char *)dir,
                          (char *)"--daemonize",
                          (char *)"no",
                          (char *)"--save",
                          (char *)"",
                          (char *)"--appendonly",
                          (char *)"yes",
                          (char *)"--protected-mode",
                          (char *)"yes",
                          redis_password[0] ? (char *)"--requirepass" : NULL,
                          redis_password,
                          NULL};
    if (harness_proc_start(&r->proc, "redis-server", log, argv) != 0)
        return -1;
    long long deadline = now_ms() + HARNESS_REPLY_TIMEOUT_MS;
    while (now_ms() < deadline) {
        if (!harness_proc_alive(&r->proc)) {
            fprintf(stderr, "harness: redis-server on port %d exited at start\n", port);
            harness_proc_dump_log(&r->proc, 20);
            return -1;
        }
        char reply[64];
        const char *ping[] = {"PING"};
        if (harness_redis_cmd(port, reply, sizeof(reply), 1, ping) == 0 &&
            strcmp(reply, "+PONG") == 0)
            return 0;
        harness_sleep_ms(20);
    }
    fprintf(stderr, "harness: redis-server on port %d did not answer PING\n", port);
    harness_proc_stop(&r->proc, SIGKILL, 1000);
    return -1;
}

int harness_redis_stop(struct harness_redis *r)
{
    return harness_proc_stop(&r->proc, SIGTERM, 5000);
}

/* ---- dispatchd ---- */

int harness_dispatchd_start(struct harness_dispatchd *d, const char *dir, int redis_port,
                            const char *const *extra_args)
{
    d->http_port = harness_free_port();
    d->handset_port = harness_free_port();
    d->jt808_port = harness_free_port();
    if (d->http_port < 0 || d->handset_port < 0 || d->jt808_port < 0)
        return -1;
    char a_http[40], a_handset[40], a_jt808[40], a_redis[40], log[400];
    snprintf(a_http, sizeof(a_http), "--http-port=%d", d->http_port);
    snprintf(a_handset, sizeof(a_handset), "--handset-port=%d", d->handset_port);
    snprintf(a_jt808, sizeof(a_jt808), "--jt808-port=%d", d->jt808_port);
    snprintf(a_redis, sizeof(a_redis), "--redis-port=%d", redis_port);
    snprintf(log, sizeof(log), "%s/dispatchd-%d.log", dir, d->http_port);
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)harness_dispatchd_path();
    argv[n++] = a_http;
    argv[n++] = a_handset;
    argv[n++] = a_jt808;
    argv[n++] = a_redis;
    argv[n++] = (char *)"--log-level=debug";
    char a_pass[160];
    if (redis_password[0]) {
        snprintf(a_pass, sizeof(a_pass), "--redis-password=%s", redis_password);
        argv[n++] = a_pass;
    }
    for (int i = 0; extra_args && extra_args[i] && n < 31; i++)
        argv[n++] = (char *)extra_args[i];
    argv[n] = NULL;
    if (harness_proc_start(&d->proc, "dispatchd", log, argv) != 0)
        return -1;
    /* Ready when HTTP answers at all (200 or 503 depending on Redis). */
    long long deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        if (!harness_proc_alive(&d->proc)) {
            fprintf(stderr, "harness: dispatchd exited at start\n");
            harness_proc_dump_log(&d->proc, 30);
            return -1;
        }
        int status;
        char body[2048];
        if (harness_http(d->http_port, "GET", "/healthz", &status, body, sizeof(body), NULL, 0) ==
            0)
            return 0;
        harness_sleep_ms(20);
    }
    fprintf(stderr, "harness: dispatchd did not answer HTTP within 10 s\n");
    harness_proc_dump_log(&d->proc, 30);
    harness_proc_stop(&d->proc, SIGKILL, 1000);
    return -1;
}

/* ---- the usual stack ---- */

int harness_stack_start(struct harness_stack *s, const char *tag, const char *const *extra_args)
{
    memset(s, 0, sizeof(*s));
    if (harness_tmpdir(s->dir, sizeof(s->dir), tag) != 0)
        return -1;
    int port = harness_free_port();
    if (port < 0 || harness_redis_start(&s->redis, s->dir, port) != 0)
        return -1;
    if (harness_create_admin(port, "root", HARNESS_ADMIN_PASSWORD) != 0 ||
        harness_dispatchd_start(&s->d, s->dir, port, extra_args) != 0) {
        harness_redis_stop(&s->redis);
        return -1;
    }
    /* Wait until dispatchd has connected to Redis. */
    if (harness_http_wait_status(s->d.http_port, "/healthz", 200, HARNESS_REPLY_TIMEOUT_MS) != 0) {
        harness_proc_dump_log(&s->d.proc, 30);
        return -1;
    }
    return 0;
}

int harness_stack_stop(struct harness_stack *s)
{
    int status = -1;
    if (s->d.proc.pid > 0)
        status = harness_proc_stop(&s->d.proc, SIGTERM, 10000);
    if (status != 0 && s->d.proc.log[0])
        harness_proc_dump_log(&s->d.proc, 40);
    if (s->redis.proc.pid > 0)
        harness_redis_stop(&s->redis);
    if (!s->keep_dir && status == 0)
        harness_rmdir(s->dir);
    else if (s->dir[0])
        fprintf(stderr, "harness: kept %s for inspection\n", s->dir);
    return status;
}

int harness_json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[96];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int harness_stack_admin_token(struct harness_stack *s, char tok[64])
{
    char resp[4096];
    int status;
    if (harness_http_req(s->d.http_port, "POST", "/v1/sessions", NULL,
                         "{\"user\":\"root\",\"password\":\"" HARNESS_ADMIN_PASSWORD "\"}", &status,
                         resp, sizeof(resp)) != 0 ||
        status != 201 || harness_json_str(resp, "token", tok, 64) != 0) {
        fprintf(stderr, "harness: admin login failed (%d): %s\n", status, resp);
        return -1;
    }
    return 0;
}

int harness_stack_vehicle(struct harness_stack *s, const char *vehicle_id, const char *device_id)
{
    char tok[64], auth[128], resp[4096], body[512];
    int status;
    if (harness_stack_admin_token(s, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"enterprise_id\":\"E0\",\"plate\":\"P-%s\",\"kind\":\"van\","
             "\"capacity\":10,\"staff_id\":\"S-%s\"}",
             vehicle_id, vehicle_id, device_id);
    if (harness_http_req(s->d.http_port, "POST", "/v1/vehicles", auth, body, &status, resp,
                         sizeof(resp)) != 0 ||
        status != 201) {
        fprintf(stderr, "harness: creating vehicle %s failed (%d): %s\n", vehicle_id, status, resp);
        return -1;
    }
    return 0;
}

int harness_stack_device(struct harness_stack *s, const char *device_id, char secret[64])
{
    char tok[64], auth[128], resp[8192], body[512];
    int status;
    if (harness_stack_admin_token(s, tok) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    /* First use: an enterprise around Hailar and one delivery person (201, or 409 later). */
    harness_http_req(s->d.http_port, "POST", "/v1/enterprises", auth,
                     "{\"id\":\"E0\",\"name\":\"Test Gas\",\"area\":{\"type\":\"Polygon\","
                     "\"coordinates\":[[[119.6,49.15],[119.9,49.15],[119.9,49.3],[119.6,49.3],"
                     "[119.6,49.15]]]}}",
                     &status, resp, sizeof(resp));
    /* One person per device: only a person's latest device may log in. */
    snprintf(body, sizeof(body),
             "{\"id\":\"S-%s\",\"enterprise_id\":\"E0\",\"name\":\"Tester\","
             "\"role\":\"delivery\"}",
             device_id);
    harness_http_req(s->d.http_port, "POST", "/v1/staff", auth, body, &status, resp, sizeof(resp));
    snprintf(body, sizeof(body), "{\"device_id\":\"%s\",\"staff_id\":\"S-%s\"}", device_id,
             device_id);
    if (harness_http_req(s->d.http_port, "POST", "/v1/devices", auth, body, &status, resp,
                         sizeof(resp)) != 0 ||
        status != 201 || harness_json_str(resp, "secret", secret, 64) != 0) {
        fprintf(stderr, "harness: registering device %s failed (%d): %s\n", device_id, status,
                resp);
        return -1;
    }
    return 0;
}

long long harness_metric(int http_port, const char *sample)
{
    static char resp[262144];
    int status = 0;
    if (harness_http_req(http_port, "GET", "/metrics", NULL, NULL, &status, resp, sizeof(resp)) !=
            0 ||
        status != 200)
        return -1;
    char pat[256];
    snprintf(pat, sizeof(pat), "\n%s ", sample);
    const char *p = strstr(resp, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}
