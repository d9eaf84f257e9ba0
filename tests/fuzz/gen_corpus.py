#!/usr/bin/python3
"""gen_corpus.py -- writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

The seeds are what the tests send (docs/import.md's examples, the entities of the unit tests,
the handset exchanges of tests/integration), in each target's input format (see the comment at
the top of each fuzz_*.c). Handset frames are built with Google's protobuf runtime from the
.proto files (compiled by protoc into a temporary directory), independently of the server's C
code. Run it again after changing a target's input format; the files are committed.

    /usr/bin/python3 tests/fuzz/gen_corpus.py   (Debian python3-protobuf)
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "corpus")

# The seeded device of fuzz_box.h.
DEVICE = "D1"
SECRET = b"fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuA"

AREA = {"type": "Polygon", "coordinates": [[[119.0, 49.0], [120.5, 49.0], [120.5, 49.5],
                                             [119.0, 49.5], [119.0, 49.0]]]}
SHAPE = {"type": "Polygon", "coordinates": [[[119.60, 49.15], [119.75, 49.15], [119.75, 49.30],
                                              [119.60, 49.30], [119.60, 49.15]]]}
HOLED = {"type": "Polygon", "coordinates": [
    [[119.1, 49.1], [119.9, 49.1], [119.9, 49.4], [119.1, 49.4], [119.1, 49.1]],
    [[119.3, 49.2], [119.3, 49.3], [119.5, 49.3], [119.5, 49.2], [119.3, 49.2]]]}
MULTI = {"type": "MultiPolygon", "coordinates": [SHAPE["coordinates"], [
    [[119.2, 49.35], [119.4, 49.35], [119.4, 49.45], [119.2, 49.35]]]]}


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def j(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---- entities (fuzz_model_json: selector byte = kind index << 2 | mode) ----

KINDS = ["enterprise", "zone", "staff", "vehicle", "customer", "order", "cylinder", "hazard",
         "order_event"]
ENTITIES = {
    "enterprise": {"id": "E1", "name": "Hailar Gas", "area": AREA, "utc_offset_min": 480},
    "zone": {"id": "Z1", "enterprise_id": "E1", "name": "West", "shape": SHAPE,
             "speed_limit_kmh": 40, "expressway": False},
    "staff": {"id": "S2", "enterprise_id": "E1", "name": "Zhang San", "role": "driver",
              "qualification_no": "Q-1", "qualification_expiry": "2027-05-01",
              "vehicle_id": "V2", "device_id": "hs-002", "on_duty": True},
    "vehicle": {"id": "V2", "enterprise_id": "E1", "plate": "MB54321", "kind": "van",
                "permit_no": "P-1", "permit_expiry": "2027-01-01", "capacity": 20},
    "customer": {"id": "C12", "enterprise_id": "E1", "name": "Zhang San", "kind": "household",
                 "location": {"lon": 119.7012, "lat": 49.2133}, "address": "8 Shengli St",
                 "premises": ["underground", "high_rise_residential"], "contract_no": "SC-1",
                 "contract_from": "2025-01-01", "contract_to": "2030-12-31"},
    "order": {"id": "O2", "enterprise_id": "E1", "customer_id": "C12", "kind": "delivery",
              "items": [{"spec": "YSP-12", "count": 2}, {"spec": "YSP-35.5", "count": 1}],
              "window_start": "2026-12-01T08:00:00+08:00", "window_end": "2026-12-01T12:00:00Z",
              "notes": "call first"},
    "cylinder": {"id": "CY2", "enterprise_id": "E1", "spec": "YSP-35.5", "manufacturer": "M",
                 "serial": "SN2", "manufactured": "2023-03-01", "last_inspection": "2025-03-01",
                 "service_life_years": 8},
    "hazard": {"id": "H1", "enterprise_id": "E1", "customer_id": "C12", "order_id": "O2",
               "hazard": "leak_test failed", "found_by": "S2",
               "found_at": "2026-11-28T21:15:22.123Z", "responsible": "Zhang San",
               "deadline": "2026-12-28T21:15:22.123Z", "status": "open"},
    "order_event": {"at": "2026-11-28T21:15:22.123Z", "from": "created", "to": "assigned",
                    "actor": "dispatcher", "actor_id": "u1", "reason": ""},
}
PATCHES = {
    "staff": [{"on_duty": False}, {"vehicle_id": None, "zone_id": None}, {"name": "Li"}],
    "vehicle": [{"capacity": 30}, {"permit_expiry": None}],
    "customer": [{"premises": []}, {"location": {"lon": 119.8, "lat": 49.3}}],
    "cylinder": [{"blacklisted": True, "blacklist_reason": "dent"}, {"serial": "X"}],
}


def model_json_seeds():
    for ki, kind in enumerate(KINDS):
        for mode in range(3):
            sel = bytes([ki << 2 | mode])
            write("fuzz_model_json", f"{kind}-{mode}", sel + j(ENTITIES[kind]).encode())
        for n, p in enumerate(PATCHES.get(kind, [])):
            write("fuzz_model_json", f"{kind}-patch{n}", bytes([ki << 2 | 2]) + j(p).encode())
    write("fuzz_model_json", "zone-holed", bytes([1 << 2]) + j(dict(ENTITIES["zone"], shape=HOLED)).encode())
    write("fuzz_model_json", "zone-multi", bytes([1 << 2 | 1]) + j(dict(ENTITIES["zone"], shape=MULTI)).encode())
    for n, s in enumerate(["2026-11-28T21:15:22.123Z", "2026-11-28t05:15:22+08:00",
                           "1970-01-01T00:00:00.001Z", "9999-12-31T23:59:59.999999Z"]):
        write("fuzz_model_json", f"instant{n}", b"\xff" + s.encode())


def geojson_seeds():
    for name, g in [("polygon", SHAPE), ("holed", HOLED), ("multi", MULTI), ("area", AREA),
                    ("feature", {"type": "Feature", "properties": {}, "geometry": HOLED}),
                    ("unclosed", {"type": "Polygon", "coordinates": [[[119.1, 49.1], [119.2, 49.1], [119.2, 49.2]]]}),
                    ("altitude", {"type": "Polygon", "coordinates": [[[119.1, 49.1, 5], [119.2, 49.1, 5], [119.2, 49.2, 5], [119.1, 49.1, 5]]]}),
                    ("bbox", dict(SHAPE, bbox=[119.6, 49.15, 119.75, 49.3]))]:
        write("fuzz_geojson", name, j(g))


# ---- CSV (fuzz_csv: config byte; fuzz_import: kind byte) ----

CSV = {
    "staff": "id,name,role,qualification_no,qualification_expiry,vehicle_id,device_id,on_duty\r\n"
             "S10,Li Si,delivery,Q-9,2027-01-01,,,TRUE\r\nS11,\"Wang, Wu\",driver,,,,,false\r\n",
    "vehicles": "id,plate,kind,permit_no,permit_expiry,capacity,staff_id\n"
                "V10,MB10000,truck,P-10,2027-06-30,40,\nV11,MB10001,e-bike,,,2,S1\n",
    "customers": "id,name,kind,lon,lat,address,premises,contract_no,contract_from,contract_to\n"
                 "C00001,张三,household,119.7012,49.2133,\"海拉尔区胜利大街8号, 2单元\",,SC-1,2025-01-01,2030-12-31\n"
                 "C00002,老王面馆,restaurant,119.7105,49.2101,\"河东 \"\"老王\"\" 面馆\",,SC-2,2025-01-01,2030-12-31\n"
                 "C00003,地下超市,market,119.7220,49.2170,,underground; semi_underground,SC-3,2025-01-01,2030-12-31\n",
    "cylinders": "id,spec,manufacturer,serial,manufactured,last_inspection,next_inspection,service_life_years,blacklisted,blacklist_reason\n"
                 "CY10,YSP-12,M,SN10,2024-01-01,2025-01-01,,8,false,\nCY11,YSP-118,M,SN11,2020-01-01,,,,TRUE,dent\n",
}
ZONES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"id": "Z10", "name": "西区", "speed_limit_kmh": 40},
     "geometry": SHAPE},
    {"type": "Feature", "id": "Z11", "properties": {"name": "North", "expressway": True},
     "geometry": HOLED},
    {"type": "Feature", "properties": {"id": "Z12", "name": "Multi"}, "geometry": MULTI}]}
IMPORT_KINDS = ["zones", "staff", "vehicles", "customers", "cylinders"]


def csv_seeds():
    for name, text in CSV.items():
        write("fuzz_csv", name, b"\x00" + text.encode())
        write("fuzz_csv", name + "-small", b"\x93" + text.encode())
    write("fuzz_csv", "bom-quotes", b"\x00\xef\xbb\xbfa,\"b\"\"c\",\"d\r\ne\"\r\n,,\n\"x\"")
    for i, kind in enumerate(IMPORT_KINDS):
        body = j(ZONES).encode() if kind == "zones" else CSV[kind].encode()
        write("fuzz_import", kind, bytes([i]) + body)
        write("fuzz_import", kind + "-skip", bytes([0x80 | i]) + body)
    # Rows that break the rules: duplicate id, wrong enterprise, unknown column, bad cells.
    write("fuzz_import", "staff-bad", b"\x01id,enterprise_id,name,role,vehicle_id\nS1,E1,A,delivery,V1\nS20,E2,B,driver,\nS21,,C,cook,V9\nS21,,D,driver,\n")
    write("fuzz_import", "customers-bad", b"\x03id,name,kind,lon,lat\nC1,x,household,190,49\nC30,y,school,0x10,nan\n")


# ---- the handset protocol (fuzz_handset, fuzz_frame) ----

def protos(tmp):
    src = os.path.join(TOP, "proto")
    files = [os.path.join("lpg", "v1", f) for f in
             ("session.proto", "position.proto", "delivery.proto", "envelope.proto")]
    subprocess.run(["protoc", f"--proto_path={src}", f"--python_out={tmp}"] + files, check=True,
                   cwd=src)
    sys.path.insert(0, tmp)
    from lpg.v1 import delivery_pb2, envelope_pb2, position_pb2, session_pb2  # noqa: E402
    return envelope_pb2, session_pb2, position_pb2, delivery_pb2


def handset_seeds():
    tmp = tempfile.mkdtemp(prefix="lpg-corpus-")
    try:
        env_pb, ses, pos, dlv = protos(tmp)
    finally:
        pass
    rid = [0]

    def frame(body_name, msg, request=True):
        e = env_pb.Envelope()
        if request:
            rid[0] += 1
            e.request_id = rid[0]
        getattr(e, body_name).CopyFrom(msg)
        b = e.SerializeToString()
        return struct.pack(">I", len(b)) + b

    def hello(secret=SECRET, device=DEVICE, version=1):
        return frame("hello", ses.Hello(protocol_version=version, device_id=device,
                                        credential=secret, software="fuzz 1", max_frame=65536))

    t0 = 1764800000000  # an instant in 2025 (UTC ms); the filters take far-past fixes as late

    def batch(first, n, late=False):
        fixes = [pos.Fix(seq=first + i, time_ms=t0 + 1000 * i, lat_e7=492000000 + 100 * i,
                         lon_e7=1197000000 + 100 * i, speed_cm_s=500, heading_cdeg=9000,
                         accuracy_cm=300, mode=pos.Fix.FIX_3D,
                         satellites=9)
                 for i in range(n)]
        return frame("position_batch", pos.PositionBatch(fixes=fixes, late=late))

    ping = lambda: frame("ping", ses.Ping(client_time_ms=t0))  # noqa: E731
    accept = lambda o="O1": frame("order_accept", dlv.OrderAccept(order_id=o))  # noqa: E731
    reject = lambda o="O1": frame("order_reject", dlv.OrderReject(order_id=o, reason="busy"))  # noqa: E731
    duty = lambda on: frame("duty_change", dlv.DutyChange(on_duty=on))  # noqa: E731
    scan = lambda a, o="O1", c="CY1": frame("cylinder_scan", dlv.CylinderScan(  # noqa: E731
        order_id=o, cylinder_code=c, action=a, time_ms=t0, lat_e7=492000000, lon_e7=1197000000))
    check = lambda r: frame("safety_check", dlv.SafetyCheck(  # noqa: E731
        order_id="O1", cylinder_code="CY1",
        items=[dlv.SafetyCheck.Item(item="leak_test", result=r, note="ok"),
               dlv.SafetyCheck.Item(item="hose_length", result=1)],
        customer_name="Wang Wu", customer_pin="1234", time_ms=t0, lat_e7=492000000,
        lon_e7=1197000000))
    confirm = lambda: frame("delivery_confirm", dlv.DeliveryConfirm(order_id="O1", time_ms=t0))  # noqa: E731
    station = lambda: frame("station_return", dlv.StationReturn(time_ms=t0))  # noqa: E731
    order_list = lambda: frame("order_list_request", dlv.OrderListRequest())  # noqa: E731
    push_ack = lambda p: frame("push_ack", dlv.PushAck(push_id=p))  # noqa: E731

    def seed(name, stream, flags=0, chunk=0, script=b""):
        data = bytes([flags, chunk, len(script)]) + script + stream
        write("fuzz_handset", name, data)

    h = hello()
    seed("hello", h)
    seed("hello-ping", h + ping() + ping())
    seed("hello-eof", h + ping(), flags=1)
    seed("hello-twice", h + hello())
    seed("hello-shutdown", h + ping(), flags=2)
    b1 = batch(1, 3)
    seed("batch", h + b1)
    seed("batch-resend", h + b1 + b1, chunk=0)
    seed("batch-resend-chunked", h + b1 + b1, chunk=4)
    seed("batch-next", h + b1 + batch(4, 5) + batch(2, 2, late=True))
    seed("accept", h + accept())
    seed("reject", h + reject())
    seed("duty", h + duty(False) + duty(True))
    seed("delivery", h + accept() + scan(1) + scan(1, c="CY2") + b1 + scan(2) + check(1)
         + confirm() + scan(3) + station())
    seed("load-both", h + accept() + scan(1) + scan(1, c="CY2") + duty(False) + scan(4, o="", c="CY2")
         + station())
    seed("check-fail", h + accept() + scan(1) + check(2))
    seed("return-full", h + scan(4, o=""))
    seed("store-failures", h + b1 + accept() + duty(True), flags=4, script=bytes([0, 2, 3, 1, 0, 2]))
    seed("store-failures-after", h + b1 + accept() + duty(True), chunk=6, script=bytes([2, 3, 1]))
    seed("no-hello", ping() + accept())
    seed("bad-secret", hello(secret=b"x" * 43) + ping())
    seed("bad-version", hello(version=2))
    seed("bad-device", hello(device="a:b"))
    seed("garbage", h + struct.pack(">I", 3) + b"\xff\xff\xff")
    seed("oversize", h + struct.pack(">I", 0x7fffffff))
    seed("empty-frame", h + struct.pack(">I", 0))
    seed("truncated", h + b1[:-2], flags=1)
    seed("server-kinds", h + frame("ack", ses.Ack(ack_seq=1)) + frame("error", ses.Error(code=1)))
    # fuzz_frame: 4 configuration bytes, then a stream of frames.
    write("fuzz_frame", "frames", b"\x00\x00\x10\x00" + h + b1 + ping())
    write("fuzz_frame", "frames-small", b"\x80\x00\x00\x40" + h + b1)
    write("fuzz_frame", "oversize", b"\x00\x00\x01\x00" + struct.pack(">I", 70000) + b"x" * 10)
    write("fuzz_frame", "empty", b"\x00\x00\x10\x00" + struct.pack(">I", 0))
    # order sync: the list on request, acknowledgements of pushes (known, unknown, missing id)
    seed("order-sync", h + order_list() + push_ack(1) + push_ack(2**64 - 1)
         + frame("push_ack", dlv.PushAck()) + accept() + order_list())
    seed("order-sync-store-failures", h + push_ack(1) + order_list(), flags=4,
         script=bytes([0, 2, 3, 1]))
    seed("server-kinds-sync", h + frame("order_list", dlv.OrderList())
         + frame("order_withdrawn", dlv.OrderWithdrawn(order_id="O1", reason=1)))

    shutil.rmtree(tmp)


# ---- fuzz_jt808_server: a terminal's byte stream (framing written here, independently of
# dispatch/jt808/jt808_codec.c: 0x7E flags, 0x7D escapes, XOR checksum) ----

# The seeded terminal of fuzz_box.h.
TERMINAL = "13912345678"
AUTH_CODE = b"FUZZ808CODE"
PLATE = "MB12345"
# 2026-12-06 12:00:00 UTC, in the past of any run, after 2000 (ingest's time mode).
FIX_UTC = 1796558400


def jt_frame(msg_id, body, serial, v2019=False, pkg=None, enc=0, phone=TERMINAL):
    props = len(body) | (enc << 10) | (0x2000 if pkg else 0) | (0x4000 if v2019 else 0)
    digits = phone.rjust(20 if v2019 else 12, "0")
    h = struct.pack(">HH", msg_id, props)
    if v2019:
        h += b"\x01"
    h += bytes.fromhex(digits) + struct.pack(">H", serial)
    if pkg:
        h += struct.pack(">HH", pkg[0], pkg[1])
    raw = h + body
    cs = 0
    for b in raw:
        cs ^= b
    raw += bytes([cs])
    return b"\x7e" + raw.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02") + b"\x7e"


def jt_bcd_time(utc_s):
    import time
    return bytes.fromhex(time.strftime("%y%m%d%H%M%S", time.gmtime(utc_s + 8 * 3600)))


def jt_location(i=0, alarm=0, status=0x000C0003, items=True):
    lat = int((49.2 + i * 0.0001) * 1e6)
    lon = int((119.7 + i * 0.0001) * 1e6)
    b = struct.pack(">IIIIHHH", alarm, status, lat, lon, 620, 400 + i, 90) + \
        jt_bcd_time(FIX_UTC + i * 10)
    if items:
        b += b"\x01\x04" + struct.pack(">I", 123456 + i) + b"\x02\x02" + struct.pack(">H", 500)
        b += b"\x03\x02" + struct.pack(">H", 401) + b"\x30\x01\x17" + b"\x31\x01\x0a"
        b += b"\xe1\x03abc"  # an item we do not know: skipped by its length
    return b


def jt_batch(kind, first, n):
    b = struct.pack(">HB", n, kind)
    for i in range(n):
        loc = jt_location(first + i)
        b += struct.pack(">H", len(loc)) + loc
    return b


def jt_driver(v2019=False):
    b = b"\x01" + jt_bcd_time(FIX_UTC) + b"\x00" + b"\x04\xd5\xc5\xc8\xfd"  # GBK name
    b += b"420106198001010000\x00\x00" + b"\x04\xba\xfe\xb1\xb1" + bytes.fromhex("20301231")
    if v2019:
        b += b"420106198001010000".ljust(20, b"\x00")
    return b


def jt_register(v2019=False, plate=PLATE):
    if v2019:
        b = struct.pack(">HH", 15, 100) + b"MAKER".ljust(11, b"\x00") + \
            b"MODEL-2019".ljust(30, b"\x00") + b"T0000001".ljust(30, b"\x00")
    else:
        b = struct.pack(">HH", 15, 100) + b"MAKER" + b"MODEL-2013".ljust(20, b"\x00") + \
            b"T000001"
    return b + b"\x02" + plate.encode()


def jt_auth(v2019=False, code=AUTH_CODE):
    if v2019:
        return bytes([len(code)]) + code + b"860000000000001" + b"1.0.0".ljust(20, b"\x00")
    return code


def jt808_server_seeds():
    def seed(name, stream, flags=0, chunk=0, script=b""):
        write("fuzz_jt808_server", name, bytes([flags, chunk, len(script)]) + script + stream)

    auth = jt_frame(0x0102, jt_auth(), 1)
    auth19 = jt_frame(0x0102, jt_auth(True), 1, v2019=True)
    seed("auth", auth)
    seed("auth-2019", auth19)
    seed("auth-wrong-code", jt_frame(0x0102, b"WRONG", 1))
    seed("before-auth", jt_frame(0x0002, b"", 1) + jt_frame(0x0200, jt_location(), 2) + auth)
    seed("register-then-auth", jt_frame(0x0100, jt_register(), 1) + auth, chunk=8)
    seed("register-2019", jt_frame(0x0100, jt_register(True), 1, v2019=True))
    seed("register-wrong-plate", jt_frame(0x0100, jt_register(plate="XX999"), 1))
    seed("register-unknown", jt_frame(0x0100, jt_register(), 1, phone="13800000000"))
    seed("positions", auth + jt_frame(0x0200, jt_location(1), 2) +
         jt_frame(0x0200, jt_location(2, alarm=1), 3) +
         jt_frame(0x0200, jt_location(3, status=0, items=False), 4) +
         jt_frame(0x0002, b"", 5) + jt_frame(0x0001, struct.pack(">HHB", 0, 0x8103, 0), 6))
    seed("positions-2019", auth19 + jt_frame(0x0200, jt_location(1), 2, v2019=True) +
         jt_frame(0x0704, jt_batch(0, 2, 3), 3, v2019=True), chunk=4)
    seed("batch-normal", auth + jt_frame(0x0704, jt_batch(0, 1, 5), 2))
    seed("batch-backfill", auth + jt_frame(0x0704, jt_batch(1, 1, 5), 2))
    seed("retransmission", auth + jt_frame(0x0200, jt_location(1), 2) * 2 +
         jt_frame(0x0704, jt_batch(1, 3, 2), 3) * 2)
    seed("driver-card", auth + jt_frame(0x0702, jt_driver(), 2) +
         jt_frame(0x0702, b"\x02" + jt_bcd_time(FIX_UTC + 60), 3))
    seed("driver-card-2019", auth19 + jt_frame(0x0702, jt_driver(True), 2, v2019=True))
    whole = jt_batch(0, 1, 20)  # 20 items, more than one frame's 1023 bytes
    parts = [whole[i:i + 400] for i in range(0, len(whole), 400)]
    packed = b"".join(jt_frame(0x0704, part, 10 + i, pkg=(len(parts), i + 1))
                      for i, part in enumerate(parts))
    seed("subpackages", auth + packed, chunk=16)
    seed("subpackages-missing", auth + b"".join(
        jt_frame(0x0704, part, 10 + i, pkg=(len(parts), i + 1))
        for i, part in enumerate(parts) if i != 1), flags=8)
    # 2019 packets with one missing: regress-8003-2019-short-number (kept as it is).
    seed("store-fails", auth + jt_frame(0x0200, jt_location(1), 2) +
         jt_frame(0x0200, jt_location(2), 3) + jt_frame(0x0200, jt_location(1), 2),
         script=b"\x01\x02\x03\x00")
    seed("store-fails-register", jt_frame(0x0100, jt_register(), 1), flags=4,
         script=b"\x02\x01\x03")
    seed("unsupported-encrypted", auth + jt_frame(0x0900, b"\x01abc", 2) +
         jt_frame(0x0200, jt_location(), 3, enc=1) + jt_frame(0x0003, b"", 4))
    seed("other-terminal", auth + jt_frame(0x0002, b"", 2, phone="13800000000"))
    # Numbers without significant digits: never a registered terminal (0x8100 result 4).
    seed("number-all-zeros", jt_frame(0x0100, jt_register(), 1, phone="0") +
         jt_frame(0x0102, AUTH_CODE, 2, phone="0"))
    seed("number-packed-imei", jt_frame(0x0100, jt_register(), 1, phone="4eb6fb4afd9e") + auth)
    seed("garbage", b"\x00\x01\x7e\x7e\x7d\x03\x7e" + auth[:-3] + b"\x7e" + auth +
         b"\x7e\x02\x00\x00\x05\x7e" + b"\xff" * 40, flags=1)
    seed("bad-checksum", auth[:-2] + bytes([auth[-2] ^ 1]) + b"\x7e" + auth, chunk=1)
    seed("logout-shutdown", auth + jt_frame(0x0002, b"", 2), flags=3)


def main():
    for t in ("fuzz_model_json", "fuzz_geojson", "fuzz_csv", "fuzz_import", "fuzz_handset",
              "fuzz_frame", "fuzz_jt808_server"):
        d = os.path.join(OUT, t)
        if os.path.isdir(d):
            # Regression inputs (crash-*, named by what they found) are kept; seeds are rewritten.
            for f in os.listdir(d):
                if not f.startswith("regress-"):
                    os.remove(os.path.join(d, f))
    model_json_seeds()
    geojson_seeds()
    csv_seeds()
    handset_seeds()
    jt808_server_seeds()
    n = sum(len(os.listdir(os.path.join(OUT, t))) for t in os.listdir(OUT))
    print(f"gen_corpus: {n} seeds under {os.path.relpath(OUT, TOP)}")


if __name__ == "__main__":
    main()
