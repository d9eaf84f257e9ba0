#!/usr/bin/python3
"""test_console_files.py -- dispatchd serving the console's files at /console/ (issue 15, A).

Against a real redis-server and dispatchd whose console_dir is a private tree made here (so
that it can hold what an attacker would look for: a symlink out of the tree, a hidden file, a
file too large, a file of an unknown type), console_leaflet_dir Debian's libjs-leaflet, and a
console_tile_url; every request is sent as raw bytes, so that nothing normalises the path:
  - /console redirects to /console/, which is index.html; a module .js is text/javascript;
    Leaflet's files are served under /console/vendor/leaflet/ with their types;
  - every reply (errors included) has the strict Content-Security-Policy (no inline script,
    'self', the tile server's origin in img-src only), nosniff, DENY framing;
  - caching: the console's files revalidate (no-cache + ETag; If-None-Match gives 304 with no
    body), Leaflet's are cacheable for a day; HEAD gives the headers and no body (also on an
    API route: /healthz, with the Content-Length of the GET);
  - /console/config.json gives the tile URL and the road-class speed limits (settings);
  - traversal refused: ../, %2e%2e, %2f-encoded slashes, the Leaflet prefix climbing out,
    //, hidden files, a symlink out of the tree -> 404; a NUL (%00), a bad escape, an
    overlong path -> 400; a file over the cap is not served; unknown types -> 404;
  - only GET and HEAD: POST/PUT/DELETE -> 405 with Allow: GET, HEAD;
  - /metrics counts them under route="/console/*";
  - dispatchd exits 0 on SIGTERM (no leak under ASan).

Usage: test_console_files.py --dispatchd BUILD/dispatch/dispatchd [--leaflet DIR]
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import traceback

from lpg_stack import Stack, TestFailure, check, say

TILE_URL = "https://{s}.tiles.example.cn:8443/{z}/{x}/{y}.png"


def raw_request(port, method, path, headers=()):
    """(status, {header: value} lower-case names, body) of one request sent byte for byte."""
    req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    for h in headers:
        req += h + "\r\n"
    req += "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(req.encode("latin-1"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return status, hdrs, body


def expect(port, method, path, status, headers=()):
    got, hdrs, body = raw_request(port, method, path, headers)
    check(got == status, "%s %r: HTTP %d, want %d: %r", method, path, got, status, body[:200])
    csp = hdrs.get("content-security-policy", "")
    check("default-src 'self'" in csp and "script-src 'self'" in csp and
          "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp,
          "%s %r: weak or missing Content-Security-Policy %r", method, path, csp)
    check(hdrs.get("x-content-type-options") == "nosniff", "%s %r: no nosniff", method, path)
    return hdrs, body


def make_tree(root, secret):
    os.makedirs(os.path.join(root, "console", "lib"))
    c = os.path.join(root, "console")
    files = {
        "index.html": b"<!doctype html><title>console</title><script type=module src=app.js>"
                      b"</script>\n",
        "app.js": b"import { t } from './lib/i18n.js';\nconsole.log(t);\n",
        "lib/i18n.js": b"export const t = 1;\n",
        "style.css": b"body { margin: 0 }\n",
        ".hidden.js": b"secret\n",
        "notes.bak": b"unknown type\n",
    }
    for name, data in files.items():
        with open(os.path.join(c, name), "wb") as f:
            f.write(data)
    with open(os.path.join(c, "big.txt"), "wb") as f:  # over CONSOLE_FILE_MAX (4 MiB)
        f.truncate(4 * 1024 * 1024 + 1)
    os.symlink(secret, os.path.join(c, "out.txt"))          # out of the tree: refused
    os.symlink(os.path.join(c, "app.js"), os.path.join(c, "alias.js"))  # inside: served
    os.symlink(root, os.path.join(c, "up"))                 # a directory out of the tree
    return c


def scenario(port, leaflet, secret_name):
    say("index, redirect, types")
    hdrs, _ = expect(port, "GET", "/console", 301)
    check(hdrs.get("location") == "/console/", "redirect to %r", hdrs.get("location"))
    hdrs, body = expect(port, "GET", "/console/", 200)
    check(hdrs["content-type"] == "text/html; charset=utf-8" and b"<title>console" in body,
          "index: %r %r", hdrs.get("content-type"), body[:80])
    hdrs, body = expect(port, "GET", "/console/app.js", 200)
    check(hdrs["content-type"] == "text/javascript; charset=utf-8", "app.js type %r",
          hdrs["content-type"])
    check(hdrs.get("cache-control") == "no-cache" and hdrs.get("etag"), "app.js caching %r",
          hdrs)
    etag = hdrs["etag"]
    expect(port, "GET", "/console/lib/i18n.js", 200)
    hdrs, _ = expect(port, "GET", "/console/style.css", 200)
    check(hdrs["content-type"] == "text/css; charset=utf-8", "css type %r", hdrs)
    hdrs, body = expect(port, "GET", "/console/alias.js", 200)
    check(body.startswith(b"import"), "a symlink inside the tree is served")

    csp = hdrs["content-security-policy"]
    check("img-src 'self' https://*.tiles.example.cn:8443;" in csp, "tile origin in %r", csp)
    check("connect-src 'self';" in csp and "style-src 'self';" in csp, "csp %r", csp)

    say("revalidation and HEAD")
    hdrs, body = expect(port, "GET", "/console/app.js", 304, ["If-None-Match: " + etag])
    check(body == b"", "304 with a body: %r", body)
    hdrs, body = expect(port, "HEAD", "/console/app.js", 200)
    check(body == b"" and hdrs.get("etag") == etag, "HEAD: body %r headers %r", body, hdrs)

    say("HEAD on an API route: the headers only, with the GET body's length")
    _, hdrs, body = raw_request(port, "HEAD", "/healthz")
    check(body == b"", "HEAD /healthz has a body: %r", body[:80])
    _, _, got = raw_request(port, "GET", "/healthz")
    check(int(hdrs.get("content-length", -1)) == len(got), "HEAD /healthz Content-Length %r, "
          "GET body %d bytes", hdrs.get("content-length"), len(got))

    say("config.json")
    hdrs, body = expect(port, "GET", "/console/config.json", 200)
    check(b'"tile_url":"https://{s}.tiles.example.cn:8443/{z}/{x}/{y}.png"' in body,
          "config.json %r", body)
    cfg = json.loads(body)
    check(cfg.get("speed_limit_road_kmh") == 55 and cfg.get("speed_limit_expressway_kmh") == 90,
          "config.json's speed limits (settings speed_limit_road, speed_limit_expressway): %r",
          body)

    if leaflet:
        say("Leaflet from %s", leaflet)
        hdrs, body = expect(port, "GET", "/console/vendor/leaflet/leaflet.esm.js", 200)
        check(hdrs["content-type"] == "text/javascript; charset=utf-8" and
              hdrs.get("cache-control") == "public, max-age=86400" and b"Leaflet" in body[:300],
              "leaflet.esm.js: %r", hdrs)
        hdrs, _ = expect(port, "GET", "/console/vendor/leaflet/leaflet.css", 200)
        check(hdrs["content-type"].startswith("text/css"), "leaflet.css %r", hdrs)
        hdrs, _ = expect(port, "GET", "/console/vendor/leaflet/images/layers.png", 200)
        check(hdrs["content-type"] == "image/png", "layers.png %r", hdrs)
        expect(port, "GET", "/console/vendor/leaflet/../../../../etc/passwd", 404)
        expect(port, "GET", "/console/vendor/leaflet/%2e%2e/leaflet/leaflet.js", 404)
        expect(port, "GET", "/console/vendor/leaflet/leaflet.css.gz", 404)  # unknown type

    say("traversal, hidden, symlinks out, unknown types, size cap")
    for path in ["/console/../console/app.js", "/console/..", "/console/%2e%2e/%2e%2e/etc/passwd",
                 "/console/%2E%2E%2Fapp.js", "/console/lib/%2e%2e%2f%2e%2e%2f" + secret_name,
                 "/console/..%2f" + secret_name, "/console//etc/passwd", "/console/lib/",
                 "/console/./app.js", "/console/.hidden.js", "/console/out.txt",
                 "/console/up/" + secret_name, "/console/notes.bak", "/console/nothere.js",
                 "/console/lib", "/console/%c0%ae%c0%ae/" + secret_name,
                 "/console/app.js%20", "/console/app%5c..%5capp.js"]:
        _, body = expect(port, "GET", path, 404)
        check(b"TOP SECRET" not in body, "%s leaked the secret", path)
    for path in ["/console/app.js%00.png", "/console/%00", "/console/%zz", "/console/%2",
                 "/console/" + "a" * 300 + ".js", "/console/" + "%41" * 300 + ".js",
                 "/console/a%0a.js"]:
        expect(port, "GET", path, 400)
    expect(port, "GET", "/console/big.txt", 500)
    _, body = expect(port, "GET", "/console/app.js?x=../../etc/passwd", 200)
    check(body.startswith(b"import"), "a query string changes nothing")

    say("methods")
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]:
        hdrs, _ = expect(port, method, "/console/app.js", 405)
        check(hdrs.get("allow") == "GET, HEAD", "%s: Allow %r", method, hdrs.get("allow"))
    got, _, _ = raw_request(port, "GET", "/consolex")
    check(got == 404, "/consolex: %d", got)

    say("/metrics counts the console's requests under one route")
    _, _, metrics = raw_request(port, "GET", "/metrics")
    check(b'lpg_http_requests_total{route="/console/*",method="any",status="200"}' in metrics and
          b'route="/console/*",method="any",status="404"' in metrics,
          "no /console/* route in /metrics")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dispatchd", required=True)
    ap.add_argument("--leaflet", default="/usr/share/javascript/leaflet")
    args = ap.parse_args()
    dispatchd = os.path.abspath(args.dispatchd)
    leaflet = args.leaflet if os.path.isfile(os.path.join(args.leaflet, "leaflet.esm.js")) else ""
    if not leaflet:
        say("NOTE: no Leaflet in %s (deploy/install-deps.sh installs libjs-leaflet): its part "
            "is not checked", args.leaflet)
    tmp = tempfile.mkdtemp(prefix="lpg-console-files-")
    secret = os.path.join(tmp, "secret.txt")
    with open(secret, "w") as f:
        f.write("TOP SECRET\n")
    root = make_tree(tmp, secret)
    stack = Stack(dispatchd, tmp, ["--console-dir=" + root, "--console-leaflet-dir=" + leaflet,
                                   "--console-tile-url=" + TILE_URL, "--speed-limit-road=55",
                                   "--speed-limit-expressway=90"])
    failure = None
    try:
        stack.start()
        scenario(stack.http_port, leaflet, "secret.txt")
    except Exception as e:  # noqa: BLE001 -- any failure, with where it happened
        if not isinstance(e, TestFailure):
            traceback.print_exc()
        failure = "%s: %s" % (type(e).__name__, e)
    return stack.finish(failure)


if __name__ == "__main__":
    sys.exit(main())
