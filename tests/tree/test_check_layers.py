#!/usr/bin/env python3
"""test_check_layers.py -- check_layers.py on small made-up trees: a clean tree passes, and
each kind of violation it exists to catch makes it fail (so a broken checker cannot pass the
real tree by finding nothing)."""
import os
import subprocess
import sys
import tempfile
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")

CLEAN = {
    "geo/geo.h": "",
    "proto/frame.h": "",
    "dispatch/common/log.h": "#include <event2/event.h>\n",
    "dispatch/core/model.h": '#include "geo.h"\n#include "common/log.h"\n',
    "dispatch/core/model.c": '#include "core/model.h"\n#include <openssl/evp.h>\n',
    "dispatch/store/store.h": '#include "core/model.h"\n#include <hiredis/hiredis.h>\n',
    "dispatch/app/orders.h": '#include "store/store.h"\n',
    "dispatch/http/http_v1.c": '#include "app/orders.h"\n#include "lpg/v1/envelope.pb-c.h"\n',
    "dispatch/handset/handset.c": '#include "app/orders.h"\n#include "frame.h"\n',
    "dispatch/dispatchd.h": '#include "app/orders.h"\n',
    "dispatch/dispatchd.c": '#include "dispatchd.h"\n#include "http/http_v1.c"\n',
    "dispatch/agent/agent.c": '#include "common/log.h"\n#include "frame.h"\n#include "geo.h"\n',
}


def make_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def run(files, exceptions=None):
    with tempfile.TemporaryDirectory() as root:
        make_tree(root, files)
        args = [sys.executable, CHECKER, root]
        if exceptions is not None:
            path = os.path.join(root, "exceptions.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(exceptions)
            args.append(path)
        p = subprocess.run(args, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


def with_changes(**changes):
    files = dict(CLEAN)
    for rel, text in changes.items():
        files[rel.replace("__", "/").replace("_DOT_", ".")] = text
    return files


class CheckLayers(unittest.TestCase):
    def assertRefused(self, files, *words):
        rc, out = run(files)
        self.assertEqual(rc, 1, out)
        for w in words:
            self.assertIn(w, out)

    def test_clean_tree_passes(self):
        rc, out = run(CLEAN)
        self.assertEqual(rc, 0, out)

    def test_core_with_libevent(self):
        files = dict(CLEAN)
        files["dispatch/core/model.c"] += "#include <event2/buffer.h>\n"
        self.assertRefused(files, "dispatch/core/model.c: event2/buffer.h", "core/ must not")

    def test_core_with_hiredis_or_protobuf(self):
        for inc in ("<hiredis/hiredis.h>", "<protobuf-c/protobuf-c.h>"):
            files = dict(CLEAN)
            files["dispatch/core/model.c"] += f"#include {inc}\n"
            self.assertRefused(files, "core/ must not")

    def test_http_with_hiredis(self):
        files = dict(CLEAN)
        files["dispatch/http/http_v1.c"] += "#include <hiredis/hiredis.h>\n"
        self.assertRefused(files, "http/ must not include hiredis/")

    def test_upward_include(self):
        files = dict(CLEAN)
        files["dispatch/store/store.h"] += '#include "app/orders.h"\n'
        self.assertRefused(files, "store/ includes a folder above it (app/)")

    def test_transport_includes_transport(self):
        files = dict(CLEAN)
        files["dispatch/handset/handset.c"] += '#include "http/http_v1.c"\n'
        self.assertRefused(files, "another transport (http/)")

    def test_app_includes_proto(self):
        files = dict(CLEAN)
        files["dispatch/app/orders.h"] += '#include "lpg/v1/envelope.pb-c.h"\n'
        self.assertRefused(files, "only transports and the agent include proto/")

    def test_app_includes_the_binary(self):
        files = dict(CLEAN)
        files["dispatch/app/orders.h"] += '#include "dispatchd.h"\n'
        self.assertRefused(files, "app/ includes a folder above it (dispatchd/)")

    def test_agent_uses_service_code(self):
        files = dict(CLEAN)
        files["dispatch/agent/agent.c"] += '#include "core/model.h"\n'
        self.assertRefused(files, "the agent and the service share common/ only")

    def test_include_without_folder(self):
        files = dict(CLEAN)
        files["dispatch/app/orders.h"] += '#include "model.h"\n'
        self.assertRefused(files, "a project include names its folder")

    def test_circle_inside_a_folder(self):
        files = dict(CLEAN)
        files["dispatch/app/a.h"] = '#include "app/b.h"\n'
        files["dispatch/app/b.c"] = '#include "app/a.h"\n'
        files["dispatch/app/b.h"] = ""
        self.assertRefused(files, "circle: app/a <-> app/b")

    def test_listed_exception_passes_and_stale_one_fails(self):
        files = dict(CLEAN)
        files["dispatch/app/ids.h"] = ""
        files["dispatch/store/store.h"] += '#include "app/ids.h"\n'
        rc, out = run(files, "dispatch/store/store.h: app/ids.h   # being cut\n")
        self.assertEqual(rc, 0, out)
        rc, out = run(CLEAN, "dispatch/store/store.h: app/ids.h   # being cut\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("stale exception", out)


if __name__ == "__main__":
    unittest.main()
