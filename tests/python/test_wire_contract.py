"""test_wire_contract.py -- the handset wire contract (proto/README.md) proved by an independent
implementation: lpg_client.py (Google's protobuf runtime, protoc-generated modules, no code from
the C side) against a real redis-server and dispatchd.

In Hailar: an enterprise, a zone, a licensed vehicle, a delivery person bound to it and on duty,
a customer with a supply contract; a handset registered for the person. Then over TCP:
  - a wrong credential and an unknown device get Error UNAUTHORIZED (fatal; connection closed);
  - the device logs in (Ack echoes the request id, with session id, version, frame limit);
  - an order created over HTTP is pushed as OrderAssigned with the right order, customer,
    address, location (1e-7 degree), items, window and notes;
  - OrderAccept gets an Ack echoing the request id and the order is `accepted` over HTTP; a
    second accept is Error REFUSED echoing its id;
  - a PositionBatch is acknowledged with its position_seq; a LOAD of an unknown cylinder is
    Error REFUSED with refusal "unknown_cylinder", echoing the id, not fatal;
  - DutyChange off/on is acknowledged and visible over HTTP;
  - an order assigned while the device is offline is re-sent at the next login (the accepted
    one is not); OrderReject without a reason is INVALID_ARGUMENT, with one it is acknowledged
    and the order goes back to waiting.

Usage (CTest runs it as python.wire_contract):
    PYTHONPATH=<build>/tests/python/gen /usr/bin/python3 test_wire_contract.py \
        --dispatchd <build>/dispatch/dispatchd [--redis-server /usr/bin/redis-server]
Set LPG_KEEP_TMP=1 to keep the temporary directory (Redis data, logs) for a post-mortem.
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
import traceback

from lpg_client import ConnectionClosed, HandsetClient, JsonHttp, ServerError, WireError
from lpg_stack import ADMIN_PASSWORD, Stack, TestFailure, check, say

DEVICE = "hs-py-001"
# A customer in Hailar with 7 decimals, so the 1e-7 degree representation is exercised.
CUSTOMER = {"lat": 49.2198765, "lon": 119.7054321}


def expect_eq(got, want, what):
    check(got == want, "%s: got %r, want %r", what, got, want)


# ---- HTTP ----

class Http(JsonHttp):
    """JsonHttp (lpg_client.py) with a checked call."""

    def expect(self, status, method, path, body=None):
        got, resp = self.call(method, path, body)
        check(got == status, "%s %s: got HTTP %d, want %d: %s", method, path, got, status, resp)
        return resp


def rect(lon0, lat0, lon1, lat1):
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1],
                                                [lon0, lat1], [lon0, lat0]]]}


def rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


# ---- the scenario ----

def onboard(http):
    say("HTTP: admin login; enterprise E1 around Hailar, zone Z1, vehicle V1, person S1, "
        "customer C1")
    http.token = http.expect(201, "POST", "/v1/sessions",
                             {"user": "root", "password": ADMIN_PASSWORD})["token"]
    http.expect(201, "POST", "/v1/enterprises",
                {"id": "E1", "name": "Hailar Gas", "area": rect(119.60, 49.15, 119.90, 49.30)})
    http.expect(201, "POST", "/v1/zones",
                {"id": "Z1", "enterprise_id": "E1", "name": "West",
                 "shape": rect(119.60, 49.15, 119.75, 49.30)})
    http.expect(201, "POST", "/v1/vehicles",
                {"id": "V1", "enterprise_id": "E1", "plate": "蒙E12345", "kind": "van",
                 "permit_no": "P-1", "permit_expiry": "2030-01-01", "capacity": 20})
    http.expect(201, "POST", "/v1/staff",
                {"id": "S1", "enterprise_id": "E1", "name": "Wang Wei", "role": "delivery",
                 "qualification_no": "Q-1", "qualification_expiry": "2030-01-01",
                 "training_no": "T-1", "training_expiry": "2030-01-01", "zone_id": "Z1",
                 "vehicle_id": "V1", "on_duty": True})
    http.expect(201, "POST", "/v1/customers",
                {"id": "C1", "enterprise_id": "E1", "name": "王家 (Wang household)",
                 "kind": "household", "location": CUSTOMER, "address": "海拉尔区 胜利大街 1号",
                 "contract_no": "SC-1", "contract_from": "2025-01-01",
                 "contract_to": "2030-12-31"})
    say("HTTP: register device %s for S1", DEVICE)
    dev = http.expect(201, "POST", "/v1/devices", {"device_id": DEVICE, "staff_id": "S1"})
    check(isinstance(dev.get("secret"), str) and dev["secret"], "no secret in %s", dev)
    return dev["secret"]


def expect_unauthorized(port, device, credential, what):
    with HandsetClient("127.0.0.1", port) as hs:
        try:
            hs.login(device, credential)
        except ServerError as e:
            expect_eq(e.code_name, "UNAUTHORIZED", what + ": error code")
            check(e.fatal, "%s: UNAUTHORIZED must be fatal", what)
            expect_eq(e.ack_seq, hs.last_request_id, what + ": Error.ack_seq")
            check(e.message, "%s: Error.message is empty", what)
        else:
            raise TestFailure("%s: the login was accepted" % what)
        try:
            env = hs.recv(timeout=3)
            raise TestFailure("%s: connection still open after a fatal error; got %s" %
                              (what, env.WhichOneof("body")))
        except ConnectionClosed:
            pass
    say("TCP: %s -> Error UNAUTHORIZED (fatal), connection closed", what)


def login(port, secret):
    hs = HandsetClient("127.0.0.1", port).connect()
    ack = hs.login(DEVICE, secret)
    expect_eq(ack.ack_seq, hs.last_request_id, "Ack.ack_seq of Hello")
    expect_eq(ack.protocol_version, 1, "Ack.protocol_version")
    check(len(ack.session_id) > 0, "Ack.session_id is empty")
    check(0 < ack.max_frame <= 256 * 1024, "Ack.max_frame %d out of range", ack.max_frame)
    say("TCP: %s logged in: session %s, server max_frame %d", DEVICE, ack.session_id,
        ack.max_frame)
    return hs


def check_assigned(msg, want):
    expect_eq(msg.order_id, want["id"], "OrderAssigned.order_id")
    expect_eq(msg.customer_id, "C1", "OrderAssigned.customer_id")
    expect_eq(msg.customer_name, "王家 (Wang household)", "OrderAssigned.customer_name")
    expect_eq(msg.address, "海拉尔区 胜利大街 1号", "OrderAssigned.address")
    check(msg.HasField("lat_e7") and msg.HasField("lon_e7"), "OrderAssigned has no location")
    for axis in ("lat", "lon"):
        got = getattr(msg, axis + "_e7")
        check(abs(got - CUSTOMER[axis] * 1e7) <= 1.0,
              "OrderAssigned.%s_e7 = %d is not within 1e-7 degree of %.7f", axis, got,
              CUSTOMER[axis])
    items = [(i.cylinder_spec, i.count) for i in msg.items]
    expect_eq(items, [(i["spec"], i["count"]) for i in want["items"]], "OrderAssigned.items")
    if "window_start_ms" in want:
        expect_eq(msg.window_start_ms, want["window_start_ms"], "OrderAssigned.window_start_ms")
        expect_eq(msg.window_end_ms, want["window_end_ms"], "OrderAssigned.window_end_ms")
    else:
        check(not msg.HasField("window_start_ms") and not msg.HasField("window_end_ms"),
              "OrderAssigned has a window the order does not have")
    if "notes" in want:
        expect_eq(msg.notes, want["notes"], "OrderAssigned.notes")


def expect_server_error(fn, code_name, what, hs):
    try:
        fn()
    except ServerError as e:
        expect_eq(e.code_name, code_name, what + ": error code")
        expect_eq(e.ack_seq, hs.last_request_id, what + ": Error.ack_seq")
        check(not e.fatal, "%s: %s must not be fatal", what, code_name)
        say("TCP: %s -> Error %s (request %d echoed): %s", what, code_name, e.ack_seq, e.message)
        return
    raise TestFailure("%s: acknowledged, want Error %s" % (what, code_name))


def order_state(http, order_id):
    return http.expect(200, "GET", "/v1/orders/" + order_id)


def scenario(http, handset_port):
    secret = onboard(http)
    expect_unauthorized(handset_port, DEVICE, secret[::-1] if len(secret) > 1 else "x",
                        "Hello with a wrong credential")
    expect_unauthorized(handset_port, "hs-py-unknown", secret, "Hello from an unknown device")

    hs = login(handset_port, secret)
    try:
        hs.ping()
        check(not hs.assigned, "assignments pushed before any order exists")

        now_ms = int(time.time() * 1000)
        # Within the order_window_lead (60 min by default) with a margin, so that O1 is offered
        # at once; 250 ms shows the window's milliseconds survive the wire.
        start_ms = (now_ms // 1000 + 1800) * 1000 + 250
        o1 = {"id": "O1", "customer_id": "C1",
              "items": [{"spec": "YSP-35.5", "count": 2}, {"spec": "YSP-12", "count": 1}],
              "window_start_ms": start_ms, "window_end_ms": start_ms + 2 * 3600 * 1000,
              "notes": "ring twice; 二楼"}
        say("HTTP: create order O1 while %s is online", DEVICE)
        body = {k: o1[k] for k in ("id", "customer_id", "items", "notes")}
        body.update(enterprise_id="E1", window_start=rfc3339(o1["window_start_ms"]),
                    window_end=rfc3339(o1["window_end_ms"]))
        created = http.expect(201, "POST", "/v1/orders", body)
        expect_eq((created.get("state"), created.get("staff_id")), ("assigned", "S1"),
                  "O1 after creation (state, staff_id)")

        msg = hs.wait_assigned(timeout=5)
        check_assigned(msg, o1)
        say("TCP: received OrderAssigned %s: customer %s at lat_e7=%d lon_e7=%d, %d item(s)",
            msg.order_id, msg.customer_id, msg.lat_e7, msg.lon_e7, len(msg.items))

        ack = hs.accept("O1")
        expect_eq(ack.ack_seq, hs.last_request_id, "Ack.ack_seq of OrderAccept")
        say("TCP: OrderAccept O1 (request %d) -> Ack %d", hs.last_request_id, ack.ack_seq)
        expect_eq(order_state(http, "O1").get("state"), "accepted", "HTTP state of O1")
        say("HTTP: O1 is accepted")
        expect_server_error(lambda: hs.accept("O1"), "REFUSED", "OrderAccept O1 again", hs)
        expect_server_error(lambda: hs.accept("O-nope"), "REFUSED",
                            "OrderAccept of an unknown order", hs)

        # A position, then a delivery request the rules refuse: Error REFUSED carries the
        # rule's code in `refusal` (docs/compliance.md).
        ack = hs.send_positions([{"seq": 1, "time_ms": int(time.time() * 1000),
                                  "lat_e7": round(CUSTOMER["lat"] * 1e7),
                                  "lon_e7": round(CUSTOMER["lon"] * 1e7), "speed_cm_s": 0}])
        expect_eq((ack.ack_seq, ack.position_seq), (hs.last_request_id, 1),
                  "Ack (ack_seq, position_seq) of PositionBatch")
        try:
            hs.scan("LOAD", "CY-nowhere", "O1")
            raise TestFailure("LOAD of an unknown cylinder was acknowledged")
        except ServerError as e:
            expect_eq((e.code_name, e.refusal, e.ack_seq, e.fatal),
                      ("REFUSED", "unknown_cylinder", hs.last_request_id, False),
                      "Error of a LOAD of an unknown cylinder (code, refusal, ack_seq, fatal)")
        say("TCP: PositionBatch -> Ack position_seq 1; LOAD of an unknown cylinder -> "
            "Error REFUSED refusal=unknown_cylinder")

        for on in (False, True):
            ack = hs.duty(on)
            expect_eq(ack.ack_seq, hs.last_request_id, "Ack.ack_seq of DutyChange")
            staff = http.expect(200, "GET", "/v1/staff/S1")
            expect_eq(staff.get("on_duty"), on, "HTTP on_duty of S1 after DutyChange")
            say("TCP: DutyChange on_duty=%s -> Ack %d; HTTP agrees", on, ack.ack_seq)
    finally:
        hs.close()
    say("TCP: %s disconnected", DEVICE)

    # The device is offline. Give the server a moment to see the close, so that O2 is assigned
    # with no session of S1 open (a push to a half-closed socket would be lost anyway).
    time.sleep(0.2)
    o2 = {"id": "O2", "customer_id": "C1", "items": [{"spec": "YSP-12", "count": 1}]}
    say("HTTP: create order O2 while %s is offline", DEVICE)
    created = http.expect(201, "POST", "/v1/orders", dict(o2, enterprise_id="E1"))
    expect_eq((created.get("state"), created.get("staff_id")), ("assigned", "S1"),
              "O2 after creation (state, staff_id)")

    hs = login(handset_port, secret)
    try:
        msg = hs.wait_assigned(timeout=5)
        check_assigned(msg, o2)
        say("TCP: O2 re-sent at login as OrderAssigned")
        # Nothing else is pending: O1 was accepted, so it must not be re-sent. Repeats of O2
        # are allowed by the contract (same order_id = same order).
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                extra = hs.wait_assigned(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
            check(extra.order_id == "O2", "order %s re-sent at login, but it was answered",
                  extra.order_id)
        expect_server_error(lambda: hs.reject("O2", None), "INVALID_ARGUMENT",
                            "OrderReject without a reason", hs)
        ack = hs.reject("O2", "cylinder valve damaged on the truck")
        expect_eq(ack.ack_seq, hs.last_request_id, "Ack.ack_seq of OrderReject")
        o = order_state(http, "O2")
        expect_eq(o.get("state"), "created", "HTTP state of O2 after the rejection")
        check("S1" in (o.get("rejected_by") or []), "O2.rejected_by lacks S1: %s", o)
        say("TCP: OrderReject O2 -> Ack %d; HTTP: O2 waits again, rejected_by S1", ack.ack_seq)
        hs.ping()
        check(not hs.assigned, "O2 was pushed again after the rejection: %s" % list(hs.assigned))
    finally:
        hs.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dispatchd", required=True)
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    args = ap.parse_args()
    # The processes run in the temporary directory: resolve relative paths first.
    args.dispatchd = os.path.abspath(args.dispatchd)
    args.redis_server = shutil.which(args.redis_server) or args.redis_server
    say("python %s, protobuf runtime %s", sys.version.split()[0],
        __import__("google.protobuf").protobuf.__version__)

    tmp = tempfile.mkdtemp(prefix="lpg-pywire-")
    say("temporary directory %s", tmp)
    stack = Stack(args.dispatchd, tmp, ["--log-level=debug"], redis_server=args.redis_server,
                  appendonly=True)
    failure = None
    try:
        stack.start()
        scenario(Http(stack.http_port), stack.handset_port)
    except (TestFailure, ServerError, WireError) as e:
        failure = "%s: %s" % (type(e).__name__, e)
    except Exception as e:  # anything else is a failure too, with where it happened
        traceback.print_exc()
        failure = "%s: %s" % (type(e).__name__, e)
    return stack.finish(failure, "PASS: the wire contract holds for an independent client")


if __name__ == "__main__":
    sys.exit(main())
