#!/usr/bin/python3
"""Checks docs/openapi.yaml, the machine-readable contract of dispatchd's HTTP API.

  check_openapi.py spec OPENAPI.yaml HTTP-API.md DISPATCH-HTTP-DIR
      The document is OpenAPI 3.1 as far as can be checked offline (its structure, every $ref
      resolves, every path parameter is declared, every schema is a valid JSON Schema 2020-12
      schema by jsonschema's bundled metaschema), and its operations are exactly the routes
      dispatchd serves (the route tables of dispatch/http/*.c) and the endpoint index of
      docs/http-api.md.

  check_openapi.py exchanges OPENAPI.yaml RECORD-DIR
      Every HTTP exchange the tests recorded in RECORD-DIR (one JSON line each, written by
      tests/harness/harness.c and tests/python/lpg_client.py) matches the document: the
      method and path are an operation (or are answered 404 not_found / 405
      method_not_allowed, which the document states for any other path and method), the status
      is one the operation declares, the content type one of that response's, and a JSON body
      validates against its schema (Draft 2020-12); a request body the server accepted (2xx)
      validates against the operation's requestBody schema. Events of a text/event-stream are checked
      against the schema the media type names for their event name (x-sse-events). Prints how
      many exchanges and operations the tests cover, and the operations none exercises.

  check_openapi.py selftest OPENAPI.yaml TMP-DIR
      The exchange check fails on a body that does not validate, an undeclared status, a path
      or method the document lacks; and passes a good exchange.

Debian packages only: python3-yaml, python3-jsonschema (deploy/install-deps.sh).
"""
import glob
import json
import os
import re
import sys
import urllib.parse

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERRORS = []


def fail(msg):
    ERRORS.append(msg)


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def pointer(doc, ref):
    """The object at a local reference "#/a/b" of doc (None when it does not resolve)."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def deref(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 16:
        node = pointer(doc, node["$ref"])
        seen += 1
    return node


def operations(spec):
    """(METHOD, template, operation) of every operation of the document."""
    for template, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), template, op


# ---- the static check ----

def routes_of_sources(http_dir):
    """(METHOD, path) of every route in the route tables of dispatch/http/*.c."""
    routes = set()
    for src in sorted(glob.glob(os.path.join(http_dir, "*.c"))):
        with open(src, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"(/[^"]*)",\s*\w+,\s*HTTP_ROUTE_', text):
            routes.add((m.group(1), m.group(2)))
        # KIND_ROUTES(kind, "path"): list, create and read one (http_v1_registry.c).
        if "#define KIND_ROUTES" in text:
            for m in re.finditer(r'^\s*KIND_ROUTES\(\w+,\s*"([^"]+)"\)', text, re.M):
                base = "/v1/" + m.group(1)
                routes |= {("GET", base), ("POST", base), ("GET", base + "/{id}")}
    return routes


def routes_of_index(md_path):
    """(METHOD, path) of every row of the "Endpoint index" table of docs/http-api.md."""
    with open(md_path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Endpoint index\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        fail("%s: no \"## Endpoint index\" section" % md_path)
        return set()
    routes = set()
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) < 2 or cells[0] in ("method", "") or set(cells[0]) <= set("-"):
            continue
        methods = [x.strip() for x in cells[0].split(",")]
        paths = []
        for p in re.findall(r"`([^`]+)`", cells[1]):
            p = p.split("?")[0]
            if not p.startswith("/v1") and not p.startswith("/healthz") and \
               not p.startswith("/metrics"):
                # "/unassign" after "/v1/orders/{id}/assign": a sibling of the previous path.
                p = paths[-1].rsplit("/", 1)[0] + p
            paths.append(p)
        if len(methods) > 1 and len(methods) == len(paths):
            routes |= set(zip(methods, paths))
        else:
            routes |= {(mm, p) for mm in methods for p in paths}
    return routes


def walk_schemas(node, where, out):
    """Every schema object of the document: components/schemas, parameters', media types'."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "schema" and isinstance(v, dict):
                out.append((where + "/schema", v))
            elif k == "schemas" and where == "#/components" and isinstance(v, dict):
                for name, s in v.items():
                    out.append((where + "/schemas/" + name, s))
            elif k == "x-sse-events" and isinstance(v, dict):
                for name, s in v.items():
                    out.append((where + "/x-sse-events/" + name, s))
            else:
                walk_schemas(v, where + "/" + str(k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_schemas(v, "%s/%d" % (where, i), out)


def check_refs(spec, node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and pointer(spec, ref) is None:
            fail("%s: $ref %s does not resolve" % (where, ref))
        for k, v in node.items():
            check_refs(spec, v, where + "/" + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_refs(spec, v, "%s/%d" % (where, i))


def check_spec(spec_path, md_path, http_dir):
    spec = load_spec(spec_path)
    if not str(spec.get("openapi", "")).startswith("3.1."):
        fail("openapi: must be 3.1.x, is %r" % spec.get("openapi"))
    for key in ("title", "version"):
        if not (spec.get("info") or {}).get(key):
            fail("info.%s is missing" % key)
    if not isinstance(spec.get("paths"), dict):
        fail("paths: missing")
        return
    check_refs(spec, spec, "#")
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    op_ids = set()
    for method, template, op in operations(spec):
        name = "%s %s" % (method, template)
        if not op.get("operationId"):
            fail("%s: no operationId" % name)
        elif op["operationId"] in op_ids:
            fail("%s: operationId %s is not unique" % (name, op["operationId"]))
        op_ids.add(op.get("operationId"))
        if not op.get("responses"):
            fail("%s: no responses" % name)
        for code, resp in (op.get("responses") or {}).items():
            if not re.fullmatch(r"[1-5](\d\d|XX)|default", str(code)):
                fail("%s: response %r is not a status" % (name, code))
            if not (deref(spec, resp) or {}).get("description"):
                fail("%s %s: a response needs a description" % (name, code))
        params = [deref(spec, p) for p in
                  (spec["paths"][template].get("parameters") or []) + (op.get("parameters") or [])]
        declared = {p.get("name") for p in params if p and p.get("in") == "path"}
        wanted = set(re.findall(r"\{(\w+)\}", template))
        if declared != wanted:
            fail("%s: path parameters declared %s, template has %s" %
                 (name, sorted(declared), sorted(wanted)))
        for p in params:
            if p and p.get("in") == "path" and p.get("required") is not True:
                fail("%s: path parameter %s must be required" % (name, p.get("name")))
        for req in op.get("security") or spec.get("security") or []:
            for s in req:
                if s not in schemes:
                    fail("%s: security scheme %s is not in components.securitySchemes" % (name, s))
    schemas = []
    walk_schemas(spec, "#", schemas)
    for where, s in schemas:
        try:
            jsonschema.Draft202012Validator.check_schema(s)
        except jsonschema.exceptions.SchemaError as e:
            fail("%s: not a valid JSON Schema 2020-12 schema: %s" % (where, e.message))
    in_spec = {(m, t) for m, t, _ in operations(spec)}
    in_src = routes_of_sources(http_dir)
    in_doc = routes_of_index(md_path)
    for m, t in sorted(in_src - in_spec):
        fail("%s %s: served (dispatch/http) but not in openapi.yaml" % (m, t))
    for m, t in sorted(in_spec - in_src):
        fail("%s %s: in openapi.yaml but not served by dispatch/http" % (m, t))
    for m, t in sorted(in_doc - in_spec):
        fail("%s %s: in the endpoint index of http-api.md but not in openapi.yaml" % (m, t))
    for m, t in sorted(in_spec - in_doc):
        fail("%s %s: in openapi.yaml but not in the endpoint index of http-api.md" % (m, t))
    n_codes = check_codes(spec, md_path)
    print("openapi: %d operations, %d schemas checked; %d routes in the sources, %d in the index; "
          "%d error codes of http-api.md named" % (len(in_spec), len(schemas), len(in_src),
                                                   len(in_doc), n_codes))


def check_codes(spec, md_path):
    """Every code of the "Error codes" and "Order rules" tables of docs/http-api.md is named in
    the description of a response of its status (an order rule's: 422)."""
    with open(md_path, encoding="utf-8") as f:
        text = f.read()
    wanted = set()
    m = re.search(r"^## Error codes\n(.*?)(?=^## )", text, re.M | re.S)
    for status, cell in re.findall(r"^\| (\d{3}) \| ([^|]*)\|", m.group(1) if m else "", re.M):
        wanted |= {(status, c) for c in re.findall(r"`([a-z_]+)`", cell)}
    m = re.search(r"^### Order rules \(refusal codes\)\n(.*?)(?=^### )", text, re.M | re.S)
    for code in re.findall(r"^\| `([a-z_]+)` \|", m.group(1) if m else "", re.M):
        wanted.add(("422", code))
    if len(wanted) < 30:
        fail("%s: found only %d error codes in its tables" % (md_path, len(wanted)))
    described = {}
    for _, _, op in operations(spec):
        for status, resp in (op.get("responses") or {}).items():
            resp = deref(spec, resp) or {}
            described.setdefault(str(status), set()).update(
                re.findall(r"[a-z_]+", resp.get("description", "")))
    # 405 answers a method no operation has: the document states it in info.description.
    described.setdefault("405", set()).update(
        re.findall(r"[a-z_]+", (spec.get("info") or {}).get("description", "")))
    for status, code in sorted(wanted):
        if code not in described.get(status, set()):
            fail("error code %s %s (docs/http-api.md) is named by no %s response of openapi.yaml"
                 % (status, code, status))
    return len(wanted)


# ---- the check of recorded exchanges ----

def parse_response(raw):
    """(status, headers {lower name: value}, body text, complete) of a raw response."""
    head, sep, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    m = re.match(r"HTTP/1\.\d (\d{3})", lines[0])
    status = int(m.group(1)) if m else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    complete = bool(sep)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest, complete = [], body, False
        while rest:
            size_line, _, rest = rest.partition("\r\n")
            try:
                size = int(size_line.split(";")[0], 16)
            except ValueError:
                break
            if size == 0:
                complete = True
                break
            # Sizes count bytes; the text was decoded from UTF-8.
            chunk = rest.encode("utf-8", "surrogateescape")[:size].decode("utf-8", "replace")
            out.append(chunk)
            rest = rest[len(chunk) + 2:]
        body = "".join(out)
    elif "content-length" in headers:
        try:
            complete = complete and len(body.encode("utf-8", "replace")) >= \
                int(headers["content-length"])
        except ValueError:
            pass
    return status, headers, body, complete


def sse_events(text):
    """(event name, data) of every whole event in a piece of a stream; cut ones are left out."""
    if text.startswith("HTTP/"):
        text = text.partition("\r\n\r\n")[2]
    text = text.replace("\r\n", "\n")
    blocks = text.split("\n\n")
    blocks.pop()  # after the last blank line: an event not finished yet (or nothing)
    for block in blocks:
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
        if data:
            yield name or "message", "\n".join(data)


class Matcher:
    def __init__(self, spec):
        self.spec = spec
        self.ops = []
        for method, template, op in operations(spec):
            segs = template.strip("/").split("/")
            self.ops.append((method, template, segs, op))
        self.validators = {}

    def templates(self, path):
        """Templates matching a concrete path, most literal segments first."""
        segs = path.split("?")[0].strip("/").split("/")
        found = []
        for _, template, tsegs, _ in self.ops:
            if len(tsegs) != len(segs):
                continue
            if all(t == s or (t.startswith("{") and s) for t, s in zip(tsegs, segs)):
                literal = sum(1 for t in tsegs if not t.startswith("{"))
                found.append((-literal, template))
        return [t for _, t in sorted(set(found))]

    def operation(self, method, template):
        for m, t, _, op in self.ops:
            if m == method and t == template:
                return op
        return None

    def validate(self, schema, instance):
        key = id(schema)
        v = self.validators.get(key)
        if v is None:
            # The schema with the document's components beside it: its $refs resolve in place.
            root = dict(schema)
            root.setdefault("components", self.spec.get("components") or {})
            v = jsonschema.Draft202012Validator(root)
            self.validators[key] = v
        return sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))


# One object, so that its validator is made once (Matcher.validate caches by identity).
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def check_exchanges(spec_path, record_dir, quiet=False):
    spec = load_spec(spec_path)
    mt = Matcher(spec)
    records = []
    for name in sorted(glob.glob(os.path.join(record_dir, "*.jsonl"))):
        with open(name, "rb") as f:
            for n, line in enumerate(f, 1):
                try:
                    rec = json.loads(line.decode("utf-8", "surrogateescape"))
                except ValueError as e:
                    fail("%s:%d: not a JSON line: %s" % (name, n, e))
                    continue
                rec["where"] = "%s:%d (%s)" % (os.path.basename(name), n, rec.get("prog", "?"))
                records.append(rec)
    covered = {}
    n_responses = n_events = n_bodies = n_requests = 0
    for rec in records:
        method, path = rec.get("method", "?"), rec.get("path", "?")
        what = "%s %s [%s]" % (method, path, rec["where"])
        op_method = "GET" if method == "HEAD" else method
        templates = mt.templates(path)
        op, template = None, None
        for t in templates:
            op = mt.operation(op_method, t)
            if op:
                template = t
                break
        if "stream" in rec:
            if op is None:
                fail("%s: an event stream of no operation" % what)
                continue
            media = ((op.get("responses") or {}).get("200") or {}).get("content", {})
            events = (media.get("text/event-stream") or {}).get("x-sse-events") or {}
            for name, data in sse_events(rec["stream"]):
                n_events += 1
                schema = events.get(name)
                if schema is None:
                    fail("%s: event %r is not in x-sse-events" % (what, name))
                    continue
                try:
                    body = json.loads(data)
                except ValueError:
                    fail("%s: event %s: data is not JSON: %.200s" % (what, name, data))
                    continue
                for e in mt.validate(schema, body):
                    fail("%s: event %s: %s at %s: %.300s" %
                         (what, name, e.message, "/".join(map(str, e.absolute_path)), data))
                covered.setdefault("%s %s" % (op_method, template), 0)
            continue
        status, headers, body, complete = parse_response(rec.get("response", ""))
        if status is None:
            continue
        n_responses += 1
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if op is None:
            # Any other path is 404 not_found, any other method of a path 405 (the document's
            # description says so); the tests probe both on purpose.
            want = 405 if templates else 404
            if status != want:
                fail("%s: answered %d, and the document has no such operation" % (what, status))
                continue
            resp = {"content": {"application/json": {"schema": ERROR_SCHEMA}}}
        else:
            covered["%s %s" % (op_method, template)] = \
                covered.get("%s %s" % (op_method, template), 0) + 1
            resp = deref(spec, (op.get("responses") or {}).get(str(status)))
            if resp is None:
                fail("%s: status %d is not declared by the operation: %.300s" %
                     (what, status, body))
                continue
        if op is not None and 200 <= status < 300 and rec.get("request"):
            # A body the server accepted must be one the document allows: else clients
            # generated from it could not send what works.
            schema = (((op.get("requestBody") or {}).get("content") or {})
                      .get("application/json") or {}).get("schema")
            try:
                sent = json.loads(rec["request"])
            except ValueError:
                sent, schema = None, None
            if schema is not None:
                n_requests += 1
                for e in mt.validate(schema, sent):
                    fail("%s: the request body was accepted (%d) but does not validate: %s "
                         "at /%s: %.300s" % (what, status, e.message,
                                             "/".join(map(str, e.absolute_path)), rec["request"]))
        content = resp.get("content") or {}
        if method == "HEAD" or not complete:
            # No body to check (HEAD; or a response the test read only the start of).
            if content and ctype not in content:
                fail("%s: content type %r, the document has %s" % (what, ctype, sorted(content)))
            continue
        if not content:
            if body:
                fail("%s: a body where the document has none: %.200s" % (what, body))
            continue
        media = content.get(ctype)
        if media is None:
            fail("%s: %d with content type %r, the document has %s" %
                 (what, status, ctype, sorted(content)))
            continue
        if ctype != "application/json" and not ctype.endswith("+json"):
            continue
        try:
            instance = json.loads(body)
        except ValueError:
            fail("%s: %d: the body is not JSON: %.200s" % (what, status, body))
            continue
        n_bodies += 1
        code = instance.get("error", {}).get("code") if isinstance(instance, dict) and \
            isinstance(instance.get("error"), dict) else None
        if op is not None and isinstance(code, str) and \
                code not in re.findall(r"[a-z_]+", resp.get("description", "")):
            fail("%s: %d %s: the code is not named in the description of the response" %
                 (what, status, code))
        for e in mt.validate(media.get("schema") or {}, instance):
            fail("%s: %d: %s at /%s: %.300s" %
                 (what, status, e.message, "/".join(map(str, e.absolute_path)), body))
    all_ops = sorted("%s %s" % (m, t) for m, t, _ in operations(spec))
    untested = [o for o in all_ops if o not in covered]
    if quiet:
        return
    print("openapi exchanges: %d responses (%d JSON bodies validated), %d accepted request bodies "
          "and %d stream events from %d records; %d of %d operations exercised" %
          (n_responses, n_bodies, n_requests, n_events, len(records), len(covered), len(all_ops)))
    if untested:
        print("operations no test exercises: " + ", ".join(untested))


def selftest(spec_path, tmp_dir):
    """The exchange check fails on each fault it is for, and passes a good exchange."""
    import shutil
    import tempfile
    good = ('HTTP/1.0 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n'
            '{"user":"root","role":"admin","expires_at":"2026-12-07T05:00:00.000Z"}')
    cases = [
        ("a good exchange", True, "GET", "/v1/sessions/current", good),
        ("a body that does not validate", False, "GET", "/v1/sessions/current",
         good.replace('"admin"', '"superuser"')),
        ("a status the operation does not declare", False, "GET", "/v1/sessions/current",
         good.replace("200 OK", "418 Teapot")),
        ("a path the document lacks, answered", False, "GET", "/v1/teapots", good),
        ("a method the document lacks, answered", False, "PUT", "/v1/sessions/current", good),
        ("an unknown path answered 404 not_found", True, "GET", "/v1/teapots",
         'HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n'
         '{"error":{"code":"not_found","message":"no such path"}}'),
    ]
    bad = 0
    for what, ok, method, path, raw in cases:
        d = tempfile.mkdtemp(dir=tmp_dir)
        with open(os.path.join(d, "1.jsonl"), "w", encoding="utf-8") as f:
            f.write(json.dumps({"prog": "selftest", "method": method, "path": path,
                                "response": raw}) + "\n")
        del ERRORS[:]
        check_exchanges(spec_path, d, quiet=True)
        shutil.rmtree(d)
        if (not ERRORS) != ok:
            print("SELFTEST: %s: the check %s" % (what, "failed" if ok else "passed"),
                  file=sys.stderr)
            bad += 1
    del ERRORS[:]
    if bad:
        fail("%d self-test case(s) wrong" % bad)
    else:
        print("openapi selftest: %d cases as expected" % len(cases))


def main(argv):
    if len(argv) == 4 and argv[1] == "selftest":
        selftest(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "spec":
        check_spec(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "exchanges":
        check_exchanges(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in ERRORS[:200]:
        print("FAIL: " + e, file=sys.stderr)
    if len(ERRORS) > 200:
        print("FAIL: ... and %d more" % (len(ERRORS) - 200), file=sys.stderr)
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
