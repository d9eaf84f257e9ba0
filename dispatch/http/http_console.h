/* http_console.h -- the browser console's files at /console/ (docs/console.md).
 *
 * Static files only: the console's own tree (console_dir) and Debian's Leaflet
 * (console_leaflet_dir, at /console/vendor/leaflet/), plus /console/config.json, the few
 * settings the page needs (the tile URL). GET and HEAD only. Every reply carries a strict
 * Content-Security-Policy (no inline script; 'self' only, plus the tile server's origin for
 * images when console_tile_url is set), nosniff, and an ETag for revalidation.
 *
 * Every path from the network is hostile: it must be a list of segments of [A-Za-z0-9._-]
 * that do not start with '.', at most CONSOLE_PATH_MAX bytes; the file it names must resolve
 * (symlinks followed) to a regular file inside its tree, of a known extension, at most
 * CONSOLE_FILE_MAX bytes. Anything else is 404 (400 for a malformed escape or a NUL).
 *
 * Error convention: http_console_new returns NULL and fills errbuf.
 */
#ifndef LPG_HTTP_CONSOLE_H
#define LPG_HTTP_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct http_server;

/* Longest path under /console/ (decoded), and largest file served. */
#define CONSOLE_PATH_MAX 256
#define CONSOLE_FILE_MAX (4 * 1024 * 1024)

struct http_console;

/* What /console/config.json tells the page besides the map: the road-class speed limits
 * (settings speed_limit_road, speed_limit_expressway), km/h. */
struct http_console_limits {
    int64_t road_kmh;
    int64_t expressway_kmh;
};

/* dir: the console's files ("" or NULL: default_dir); leaflet_dir: Leaflet's ("" : none);
 * tile_url: Leaflet URL template of the base map ("": none). A directory that does not exist
 * is logged and served as empty (404); a tile_url that is not http(s)://host[:port]/... is an
 * error. limits: not NULL. */
struct http_console *http_console_new(const char *dir, const char *default_dir,
                                      const char *leaflet_dir, const char *tile_url,
                                      const struct http_console_limits *limits, char *errbuf,
                                      size_t errlen);
/* Serves /console on hs (http_server_mount); c must outlive hs's serving. */
void http_console_mount(struct http_console *c, struct http_server *hs);
void http_console_free(struct http_console *c);

/* The Content-Security-Policy sent with every console reply (for the tests). */
const char *http_console_csp(const struct http_console *c);

#endif
