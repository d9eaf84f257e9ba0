#!/usr/bin/env python3
"""check_layers.py -- the layering rule of dispatch/ (docs/architecture.md), checked from the
includes of every source file.

    dispatchd.c -> http/, handset/ -> app/ -> store/ -> core/ -> geo/ ; common/ below all
    agent/ is a separate program: it includes common/, proto/ and geo/ only.

A file may include its own folder and the folders below it; no transport includes another;
core/ includes no libevent, hiredis or protobuf-c header; http/ and handset/ include no hiredis
header; only the transports and the agent include proto/ (the frame codec and the generated
messages). Includes of the project name their folder ("core/model.h"), so a reader sees the
layer and this script needs no search path. Module circles (a.c/a.h including b.h while b
includes a.h) are refused too: they are the knots that make a layer impossible to cut.

Known violations still being cut are listed, one per line with the reason, in an exceptions
file; a listed violation that no longer occurs is an error too, so the list only shrinks.

Usage: check_layers.py REPO_ROOT [EXCEPTIONS_FILE]     exit 0 clean, 1 violations, 2 usage
"""
import os
import re
import sys

LEVEL = {
    "common": 0, "core": 1, "store": 2, "app": 3,
    "http": 4, "handset": 4, "jt808": 4,  # the transports
    "dispatchd": 5,
}
# Headers of outside libraries each folder must not include (prefix match on the <...> path).
FORBIDDEN_SYSTEM = {
    "common": ("hiredis/", "protobuf-c/"),
    "core": ("event2/", "hiredis/", "protobuf-c/"),
    "store": ("protobuf-c/",),
    "app": ("protobuf-c/",),
    "http": ("hiredis/", "protobuf-c/"),
    "handset": ("hiredis/",),
    "jt808": ("hiredis/", "protobuf-c/"),
    "agent": ("hiredis/",),
}
PROTO_ALLOWED = {"http", "handset", "dispatchd", "agent"}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


def folder_of(rel):
    """dispatch/core/model.c -> core; dispatch/dispatchd.c -> dispatchd."""
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else "dispatchd"


def module_of(rel):
    return os.path.splitext(rel)[0]


def scan(root):
    files = []
    for d, _, names in os.walk(os.path.join(root, "dispatch")):
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(files)


def project_headers(root):
    heads = set()
    for top in ("dispatch", "geo", "proto"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith(".h"):
                    heads.add(n)
    return heads


def check(root):
    """Returns (violations as 'file: include  -- why', module edges)."""
    violations = []
    edges = {}
    geo_heads = {n for n in os.listdir(os.path.join(root, "geo")) if n.endswith(".h")}
    all_heads = project_headers(root)
    for rel in scan(root):
        src = open(os.path.join(root, rel), encoding="utf-8").read()
        me = folder_of(rel)
        for kind, inc in INCLUDE.findall(src):
            where = f"{rel}: {inc}"
            if kind == "<":
                for bad in FORBIDDEN_SYSTEM.get(me, ()):
                    if inc.startswith(bad):
                        violations.append(f"{where}  -- {me}/ must not include {bad}")
                if inc.startswith("protobuf-c/") and me not in PROTO_ALLOWED:
                    pass  # reported above
                continue
            if inc.startswith("lpg/") or inc == "frame.h":
                if me not in PROTO_ALLOWED:
                    violations.append(f"{where}  -- only transports and the agent include proto/")
                continue
            if inc in geo_heads:
                if me not in LEVEL and me != "agent":
                    violations.append(f"{where}  -- unknown folder {me}")
                continue
            if "/" not in inc:
                if os.path.exists(os.path.join(root, "dispatch", inc)):
                    target = "dispatchd"  # the binary's own header, at the top of dispatch/
                elif inc in all_heads:
                    violations.append(f"{where}  -- a project include names its folder")
                    continue
                else:
                    continue  # a header of the system spelled with quotes
            else:
                target = inc.split("/")[0]
            target_path = os.path.join("dispatch", inc)
            if not os.path.exists(os.path.join(root, target_path)):
                violations.append(f"{where}  -- no such header")
                continue
            edges.setdefault(module_of(rel), set()).add(module_of(target_path))
            if target == me:
                continue
            if me == "agent" or target == "agent":
                if not (me == "agent" and target == "common"):
                    violations.append(f"{where}  -- the agent and the service share common/ only")
                continue
            if me not in LEVEL or target not in LEVEL:
                violations.append(f"{where}  -- unknown folder")
                continue
            if LEVEL[target] >= LEVEL[me]:
                what = "another transport" if LEVEL[target] == LEVEL[me] else "a folder above it"
                violations.append(f"{where}  -- {me}/ includes {what} ({target}/)")
    return violations, edges


def circles(edges):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    nodes = set(edges) | {t for ts in edges.values() for t in ts}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w == v:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.split("Usage:")[1].strip(), file=sys.stderr)
        return 2
    root = argv[1]
    allowed = {}
    if len(argv) == 3:
        for line in open(argv[2], encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                allowed[line] = False
    violations, edges = check(root)
    for comp in circles(edges):
        violations.append("circle: " + " <-> ".join(m.removeprefix("dispatch/") for m in comp)
                          + "  -- modules include each other")
    failed = 0
    for v in violations:
        key = v.split("  -- ")[0]
        if key in allowed:
            allowed[key] = True
            continue
        print("layering: " + v)
        failed += 1
    for key, seen in allowed.items():
        if not seen:
            print(f"layering: stale exception (no longer occurs; remove it): {key}")
            failed += 1
    n_files = len(scan(root))
    if failed:
        print(f"layering: {failed} problem(s) in {n_files} files")
        return 1
    print(f"layering: {n_files} files follow the rule ({len(allowed)} listed exception(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
