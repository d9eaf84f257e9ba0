/* http_console.c -- the browser console's static files at /console/ (http_console.h).
 *
 * Why not evhttp's own file serving: it has none worth the name, and a static tree reached from
 * the network is where path traversal lives. So the rules are few and strict: a whitelist of
 * characters per segment (which also rules out "..", hidden files and empty segments), then
 * realpath() of the result must still lie inside the tree (which rules out a symlink that points
 * out of it), then only a regular file of a known type, of bounded size.
 *
 * Files are read on the event loop (evbuffer_add_file): they are few and small (the console's
 * modules, Leaflet), and the browser revalidates them with If-None-Match (ETag from size and
 * modification time), which costs a stat() and no read.
 */
#define _DEFAULT_SOURCE /* realpath, st_mtim */
#define LOG_TAG         "console"
#include "http/http_console.h"

#include "common/log.h"
#include "http/http_server.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define MOUNT          "/console"
#define LEAFLET_PREFIX "vendor/leaflet/"

struct http_console {
    char *root;    /* realpath of console_dir; NULL: not installed */
    char *leaflet; /* realpath of console_leaflet_dir; NULL: not served */
    char *csp;     /* the Content-Security-Policy header */
    char *config;  /* /console/config.json's body */
};

/* Content type and cache policy by extension; anything else is not served. The console's own
 * files change with the project (no build step puts a version in their names), so the browser
 * revalidates them every time; Leaflet changes with a package upgrade only. */
struct file_type {
    const char *ext;
    const char *type;
};
static const struct file_type file_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"}, /* ES modules need a JavaScript type */
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL || strchr(dot, '/') != NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
        if (strcmp(dot, file_types[i].ext) == 0)
            return file_types[i].type;
    return NULL;
}

/* The origin of a Leaflet tile URL template, for the CSP ("https://tiles.example.cn:8443"; a
 * "{s}" subdomain becomes "*"), written to out; -1 when the template is not
 * http(s)://host[:port]/... with a host of letters, digits, '.', '-' and at most a leading
 * "{s}." label. */
static int tile_origin(const char *url, char *out, size_t cap)
{
    const char *host;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return -1;
    const char *slash = strchr(host, '/');
    if (slash == NULL || slash == host)
        return -1;
    const char *h = host;
    bool wildcard = strncmp(h, "{s}.", 4) == 0;
    if (wildcard)
        h += 4;
    bool port = false;
    for (const char *p = h; p < slash; p++) {
        if (*p == ':' && !port && p > h && p + 1 < slash)
            port = true;
        else if (port ? !isdigit((unsigned char)*p)
                      : !(isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
            return -1;
    }
    for (const char *p = slash; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7F)
            return -1;
    int n = snprintf(out, cap, "%.*s%s%.*s", (int)(host - url), url, wildcard ? "*." : "",
                     (int)(slash - h), h);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* realpath of dir, or NULL (logged) when it is unusable. */
static char *resolve_dir(const char *dir, const char *what)
{
    char *real = realpath(dir, NULL);
    struct stat st;
    if (real == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_warn("%s %s is not a readable directory (%s): not served", what, dir,
                 real ? "not a directory" : strerror(errno));
        free(real);
        return NULL;
    }
    return real;
}

struct http_console *http_console_new(const char *dir, const char *default_dir,
                                      const char *leaflet_dir, const char *tile_url,
                                      const struct http_console_limits *limits, char *errbuf,
                                      size_t errlen)
{
    char origin[600] = "";
    if (tile_url && tile_url[0] && tile_origin(tile_url, origin, sizeof(origin)) != 0) {
        snprintf(errbuf, errlen,
                 "console_tile_url must be http(s)://host[:port]/path with a plain host name "
                 "(a leading {s}. allowed): %.200s",
                 tile_url);
        return NULL;
    }
    struct http_console *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    const char *root = dir && dir[0] ? dir : default_dir;
    if (root && root[0])
        c->root = resolve_dir(root, "console_dir");
    if (leaflet_dir && leaflet_dir[0])
        c->leaflet = resolve_dir(leaflet_dir, "console_leaflet_dir");
    char csp[1024];
    snprintf(csp, sizeof(csp),
             "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'%s%s; "
             "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
             "form-action 'self'; frame-ancestors 'none'",
             origin[0] ? " " : "", origin);
    c->csp = strdup(csp);
    /* The road-class limits, so that the replay's limit line is the one the overspeed rule
     * applied at each fix (console/speed_limit.js). */
    json_t *cfg =
        json_pack("{s:s, s:b, s:I, s:I}", "tile_url", tile_url ? tile_url : "", "leaflet",
                  c->leaflet != NULL, "speed_limit_road_kmh", (json_int_t)limits->road_kmh,
                  "speed_limit_expressway_kmh", (json_int_t)limits->expressway_kmh);
    c->config = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (c->csp == NULL || c->config == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        http_console_free(c);
        return NULL;
    }
    if (c->root)
        log_info("console at /console/ from %s%s%s", c->root,
                 c->leaflet ? ", Leaflet from " : " (no Leaflet)", c->leaflet ? c->leaflet : "");
    return c;
}

void http_console_free(struct http_console *c)
{
    if (c == NULL)
        return;
    free(c->root);
    free(c->leaflet);
    free(c->csp);
    free(c->config);
    free(c);
}

const char *http_console_csp(const struct http_console *c)
{
    return c->csp;
}

/* The headers of every console reply, errors included. */
static void add_security_headers(struct http_console *c, struct http_call *call)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(http_call_request(call));
    evhttp_add_header(out, "Content-Security-Policy", c->csp);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(out, "X-Frame-Options", "DENY");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    evhttp_add_header(out, "Cross-Origin-Resource-Policy", "same-origin");
}

/* 1 when every segment of rel is [A-Za-z0-9._-]+ not starting with '.' (so no "..", no hidden
 * file, no empty segment, no trailing '/'). */
static int safe_relative(const char *rel)
{
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || *seg == '.')
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
        } else if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
            return 0;
        }
    }
}

static void reply_not_found(struct http_call *call, const char *why)
{
    http_reply_error(call, 404, "not_found", why, NULL);
}

/* Serves the file rel (already checked by safe_relative) of the tree root. */
static void serve_file(struct http_call *call, const char *root, const char *rel, bool vendor)
{
    const char *type = type_of(rel);
    if (type == NULL) {
        reply_not_found(call, "no such console file (unknown file type)");
        return;
    }
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        reply_not_found(call, "no such console file");
        return;
    }
    /* Symlinks are followed, but what they lead to must be inside the tree. */
    char *real = realpath(path, NULL);
    size_t rlen = strlen(root);
    if (real == NULL || strncmp(real, root, rlen) != 0 || real[rlen] != '/') {
        free(real);
        reply_not_found(call, "no such console file");
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    free(real);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        reply_not_found(call, "no such console file");
        return;
    }
    if (st.st_size > CONSOLE_FILE_MAX) {
        close(fd);
        log_warn("console file %s/%s is larger than %d bytes: not served", root, rel,
                 CONSOLE_FILE_MAX);
        http_reply_error(call, 500, "internal", "console file too large to serve", NULL);
        return;
    }
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    struct evkeyvalq *out = evhttp_request_get_output_headers(http_call_request(call));
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "Cache-Control", vendor ? "public, max-age=86400" : "no-cache");
    const char *inm = http_call_header(call, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        close(fd);
        http_reply_buffer(call, 304, NULL, NULL);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (body == NULL) {
        close(fd);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    if (st.st_size > 0 && evbuffer_add_file(body, fd, 0, st.st_size) != 0) {
        /* evbuffer_add_file closes fd on failure too */
        http_reply_error(call, 500, "internal", "could not read a console file", NULL);
    } else {
        if (st.st_size == 0)
            close(fd);
        http_reply_buffer(call, 200, type, body);
    }
    evbuffer_free(body);
}

/* Why the raw (percent-encoded) path is malformed, or NULL: every '%' starts %XX, and no
 * escape decodes to NUL or another control character. */
static const char *escape_problem(const char *raw)
{
    for (const char *r = raw; (r = strchr(r, '%')) != NULL; r++) {
        if (!isxdigit((unsigned char)r[1]) || !isxdigit((unsigned char)r[2]))
            return "invalid percent-encoding in the path (a '%' must start %XX)";
        char hex[3] = {r[1], r[2], '\0'};
        long v = strtol(hex, NULL, 16);
        if (v < 0x20 || v == 0x7F)
            return "a control character (NUL included) in the path";
    }
    return NULL;
}

static void handle_console(struct http_call *call, void *arg)
{
    struct http_console *c = arg;
    struct evhttp_request *req = http_call_request(call);
    add_security_headers(c, call);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        http_reply_error(call, 405, "method_not_allowed",
                         "the console's files are read with GET or HEAD only", NULL);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    if (raw == NULL || strlen(raw) > 3 * CONSOLE_PATH_MAX + sizeof(MOUNT)) {
        http_reply_error(call, 400, "invalid_path", "path too long", NULL);
        return;
    }
    if (strcmp(raw, MOUNT) == 0) { /* relative URLs of the page need the slash */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", MOUNT "/");
        http_reply_buffer(call, 301, NULL, NULL);
        return;
    }
    const char *problem = escape_problem(raw);
    if (problem) {
        http_reply_error(call, 400, "invalid_path", problem, NULL);
        return;
    }
    size_t len = 0;
    char *decoded = evhttp_uridecode(raw + sizeof(MOUNT), 0, &len); /* after "/console/" */
    if (decoded == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    if (len != strlen(decoded) || len > CONSOLE_PATH_MAX) {
        free(decoded);
        http_reply_error(call, 400, "invalid_path",
                         len > CONSOLE_PATH_MAX ? "path too long" : "NUL in the path", NULL);
        return;
    }
    const char *rel = decoded[0] ? decoded : "index.html";
    if (strcmp(rel, "config.json") == 0) {
        struct evbuffer *body = evbuffer_new();
        if (body == NULL) {
            http_reply_error(call, 500, "internal", "out of memory", NULL);
        } else {
            evbuffer_add(body, c->config, strlen(c->config));
            http_reply_buffer(call, 200, "application/json; charset=utf-8", body);
            evbuffer_free(body);
        }
    } else if (strncmp(rel, LEAFLET_PREFIX, strlen(LEAFLET_PREFIX)) == 0) {
        rel += strlen(LEAFLET_PREFIX);
        if (c->leaflet == NULL)
            reply_not_found(call, "Leaflet is not installed (console_leaflet_dir)");
        else if (!safe_relative(rel))
            reply_not_found(call, "no such console file");
        else
            serve_file(call, c->leaflet, rel, true);
    } else if (c->root == NULL) {
        reply_not_found(call, "the console is not installed (console_dir)");
    } else if (!safe_relative(rel)) {
        reply_not_found(call, "no such console file");
    } else {
        serve_file(call, c->root, rel, false);
    }
    free(decoded);
}

void http_console_mount(struct http_console *c, struct http_server *hs)
{
    http_server_mount(hs, MOUNT, handle_console, c);
}
