"""fleet.py -- simulated delivery vehicles for the demo: one handset connection each.

Every vehicle (dataset.FLEET) is a thread that logs its handset in (lpg_client.HandsetClient),
reports a position fix every second in real time, and works its orders the way a delivery
person does (docs/compliance.md): accept, load the cylinders at the depot, drive to the
customer, stop, hand over, make the safety check of every cylinder, confirm, drive back,
return what was not delivered and close the trip (StationReturn -> LoadReconciliation).

The dispatcher's side (orders over HTTP, cylinders filled at the station) is Dispatcher, which
the vehicles share. Each vehicle's first cycle follows its `script`, so that within a minute
every kind of refusal and alert is seen once:
  speeding      75 km/h for 15 s on the way (overspeed alert)
  roadside      a hand-over tried while moving, then stopped 300 m short of the customer
                (refused vehicle_moving, not_at_customer; two roadside_sale alerts)
  overdue       tries to load the cylinder overdue for inspection (refused overdue_inspection)
  failed_check  the household's leak test fails (order failed, customer suspended, hazard
                notice and alert), then a re-inspection order passes and lifts the suspension;
                back at the depot one of the two cylinders is not scanned back into stock
                (reconciliation unbalanced: load_mismatch alert, the cylinder marked lost)
  restaurant    a restaurant's check, with the business items
  expired       the person's certificate expired: no order reaches them; the vehicle stays at
                its depot and keeps reporting
Later cycles are plain deliveries.
"""

import math
import threading
import time

import dataset
from lpg_client import ServerError, WireError

HOUSEHOLD_ITEMS = [
    "leak_test", "hose_gas_specific", "hose_length", "hose_no_joints",
    "hose_not_through_structure", "regulator_non_adjustable", "regulator_service_life",
    "premises_not_underground", "premises_not_high_rise", "ventilation", "cylinder_placement",
    "no_second_gas_source", "stove_flame_failure"]
BUSINESS_ITEMS = [("gas_detector", "PASS"), ("emergency_shutoff", "PASS"),
                  ("cylinder_room", "NOT_APPLICABLE"), ("cylinders_apart", "PASS")]
FINAL_STATES = ("delivered", "failed", "cancelled")
CRUISE_KMH = 40.0


def checklist(kind, failing=None):
    items = [(k, "FAIL" if k == failing else "PASS",
              "bubbles at the regulator joint" if k == failing else None)
             for k in HOUSEHOLD_ITEMS]
    if kind != "household":
        items += [(k, r, None) for k, r in BUSINESS_ITEMS]
    return items


def distance_m(a, b):
    dx = (b[0] - a[0]) * dataset.M_PER_DEG_LAT * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * dataset.M_PER_DEG_LAT
    return math.hypot(dx, dy)


def bearing_deg(a, b):
    dx = (b[0] - a[0]) * math.cos(math.radians(a[1]))
    dy = b[1] - a[1]
    return math.degrees(math.atan2(dx, dy)) % 360.0


def toward(a, b, metres):
    """The point `metres` from a toward b (b itself when closer)."""
    d = distance_m(a, b)
    if d <= metres or d == 0:
        return b
    f = metres / d
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


class Dispatcher:
    """The dispatcher's HTTP side, shared by the vehicles (one request at a time)."""

    def __init__(self, http, narrator, stamp):
        self.http = http
        self.narrator = narrator
        self.stamp = stamp
        self.lock = threading.Lock()

    def call(self, method, path, body=None):
        with self.lock:
            return self.http.call(method, path, body)

    def prepare(self):
        """Cancels orders an earlier run left open, and orders a re-inspection for every
        customer whose supply an earlier run left suspended."""
        after, left = None, []
        while True:
            status, page = self.call("GET", "/v1/orders?limit=1000" +
                                     ("&after=" + after if after else ""))
            if status != 200:
                raise RuntimeError("GET /v1/orders: HTTP %d %s" % (status, page))
            left += [o["id"] for o in page["items"] if o["state"] not in FINAL_STATES]
            after = page.get("next_after")
            if not after:
                break
        for oid in left:
            self.narrator.own_orders[oid] = "cancelled"
            self.cancel(oid, "left open by an earlier demo run")
        if left:
            self.narrator.say("dispatcher", "cancelled %d order(s) left open by an earlier run" %
                              len(left))
        status, page = self.call("GET", "/v1/customers?status=suspended&limit=1000")
        for c in page.get("items", []) if status == 200 else []:
            self.order(c["id"], None, "reinsp-" + c["id"], kind="re-inspection")

    def order(self, customer_id, items, suffix, kind="delivery"):
        """POST /v1/orders; returns (status, body) and narrates the outcome."""
        body = {"id": "o-%s-%s" % (self.stamp, suffix), "customer_id": customer_id,
                "kind": kind}
        if items:
            body["items"] = [{"spec": s, "count": n} for s, n in items]
        # Said here, not by the live feed (narrate.py), which may see it first.
        self.narrator.own_orders[body["id"]] = "posting"
        status, resp = self.call("POST", "/v1/orders", body)
        what = "%s %s for %s" % ("order" if kind == "delivery" else kind, body["id"], customer_id)
        if items:
            what += " (%s)" % ", ".join("%d x %s" % (n, s) for s, n in items)
        if status == 201 and resp["state"] == "assigned":
            self.narrator.own_orders[body["id"]] = "assigned"
            self.narrator.say("dispatcher", "%s assigned to %s" % (what, resp["staff_id"]))
        elif status == 201:
            self.narrator.own_orders[body["id"]] = resp["state"]
            self.narrator.say("dispatcher", "%s WAITING: %s" % (what, resp["reason"]),
                              tone="waiting")
        else:
            err = resp.get("error", {}) if isinstance(resp, dict) else {}
            self.narrator.say("dispatcher", "%s REFUSED %d %s: %s" %
                              (what, status, err.get("code"), err.get("message")),
                              tone="refused")
        return status, resp

    def cancel(self, order_id, reason):
        status, resp = self.call("POST", "/v1/orders/%s/cancel" % order_id, {"reason": reason})
        if status != 200:
            raise RuntimeError("cancel %s: HTTP %d %s" % (order_id, status, resp))

    def fill_cylinders(self, vehicle_id, spec, count, tag):
        """Registers `count` freshly filled cylinders of `spec` at the station; their codes."""
        codes = []
        for n in range(count):
            code = "CY-%s-%s-%s%d" % (vehicle_id[2:], self.stamp, tag, n + 1)
            status, resp = self.call("POST", "/v1/cylinders", {
                "id": code, "spec": spec, "manufacturer": "Hulunbuir Pressure Vessel Works",
                "serial": code, "manufactured": "2024-09-01", "last_inspection": "2024-09-01"})
            if status != 201:
                raise RuntimeError("POST /v1/cylinders %s: HTTP %d %s" % (code, status, resp))
            codes.append(code)
        return codes

    def vehicle_load(self, vehicle_id):
        status, resp = self.call("GET", "/v1/vehicles/%s/load" % vehicle_id)
        if status != 200:
            raise RuntimeError("GET /v1/vehicles/%s/load: HTTP %d %s" % (vehicle_id, status, resp))
        return resp

    def get_order(self, order_id):
        status, resp = self.call("GET", "/v1/orders/" + order_id)
        if status != 200:
            raise RuntimeError("GET /v1/orders/%s: HTTP %d %s" % (order_id, status, resp))
        return resp


class Vehicle(threading.Thread):
    """One simulated vehicle and its person's handset."""

    def __init__(self, spec, secret, client_factory, dispatcher, narrator, stop):
        super().__init__(name=spec["vehicle"], daemon=True)
        self.spec = spec
        self.secret = secret
        self.client_factory = client_factory
        self.dispatcher = dispatcher
        self.narrator = narrator
        self.first_cycle_done = spec["script"] == "expired"  # Li Na's never ends
        self.stop = stop
        self.pos = dataset.depot(spec)
        self.speed_kmh = 0.0
        self.heading = 0.0
        self.seq = 0
        self.cycle = 0
        self.hs = None

    def say(self, msg, tone="info", detail=False):
        self.narrator.say("%s %s" % (self.spec["vehicle"], self.spec["staff"]), msg, tone, detail)

    def run(self):
        try:
            with self.client_factory() as hs:
                self.hs = hs
                hs.login(self.spec["device"], self.secret, software="lpg-demo fleet.py")
                self.say("handset %s logged in at the depot %.5f,%.5f" %
                         ((self.spec["device"],) + self.pos), detail=True)
                self.start_of_shift()
                while not self.stop.is_set():
                    self.work()
        except (ServerError, WireError, OSError, RuntimeError) as e:
            if not self.stop.is_set():
                self.say("simulation stopped: %s" % e, tone="alert")

    # ---- time and position ----

    def tick(self):
        """Waits for the next second and reports the position: one fix, one PositionBatch."""
        if self.stop.wait(max(0.0, 1.0 - time.time() % 1.0)):
            raise WireError("stopping")
        now = int(time.time() * 1000)
        self.seq = max(self.seq + 1, now)  # increasing across runs too (the server's mark)
        self.hs.send_positions([{
            "seq": self.seq, "time_ms": now,
            "lat_e7": int(round(self.pos[1] * 1e7)), "lon_e7": int(round(self.pos[0] * 1e7)),
            "speed_cm_s": int(round(self.speed_kmh / 3.6 * 100)),
            "heading_cdeg": int(self.heading * 100) % 36000, "accuracy_cm": 400,
            "mode": 3, "source": 1, "satellites": 9}])  # mode FIX_3D, source GNSS
        self.hs.alerts.clear()  # the live feed narrates alerts

    def wait(self, seconds):
        self.speed_kmh = 0.0
        for _ in range(int(seconds)):
            self.tick()

    def drive(self, target, kmh, metres=None):
        """Drives toward target at kmh, one fix a second, for `metres` (default: all the way,
        stopping there: the last fix has speed 0)."""
        start = self.pos
        goal = toward(start, target, metres) if metres is not None else target
        self.heading = bearing_deg(start, target)
        while distance_m(self.pos, goal) > 0.5:
            self.pos = toward(self.pos, goal, kmh / 3.6)
            self.speed_kmh = kmh if distance_m(self.pos, goal) > 0.5 or metres else 0.0
            self.tick()

    # ---- handset requests ----

    def try_scan(self, action, code, order_id=None, expect=None):
        """A CylinderScan; returns None when acknowledged, else the refusal code."""
        try:
            self.hs.scan(action, code, order_id)
        except ServerError as e:
            if e.code_name != "REFUSED":
                raise
            self.say("%s %s REFUSED: %s (%s)" % (action, code, e.refusal, e.message),
                     tone="refused")
            return e.refusal
        if expect:
            self.say("%s %s accepted, but %s was expected" % (action, code, expect),
                     tone="alert")
        return None

    def wait_assignment(self, order_id, seconds=15):
        """Ticks until OrderAssigned for order_id is pushed; other assignments stay queued."""
        for _ in range(seconds):
            for got in list(self.hs.assigned):
                if got.order_id == order_id:
                    self.hs.assigned.remove(got)
                    return got
            self.tick()
        raise RuntimeError("order %s was not pushed within %d s" % (order_id, seconds))

    # ---- the work ----

    def start_of_shift(self):
        """Takes back what an earlier run left aboard and closes its trip."""
        # The reconciliation is accepted at the vehicle's station only: report from it first.
        self.tick()
        load = self.dispatcher.vehicle_load(self.spec["vehicle"])
        returned = sum(self.try_scan("RETURN_FULL", c["id"]) is None for c in load["full"])
        if load["full"] or load["empty"] or load["trip"]["loaded"]:
            try:
                self.hs.station_return()
                self.say("closed the trip an earlier run left open (%d cylinder(s) returned "
                         "to stock)" % returned, detail=True)
            except ServerError as e:
                self.say("station return at the start of shift: %s" % e, detail=True)
        self.tick()

    def work(self):
        if self.spec["script"] == "expired":
            self.wait(30)  # no order can reach Li Na: she just reports from the depot
            return
        while self.hs.assigned:  # e.g. a re-inspection left by an earlier run
            self.serve(self.hs.assigned.popleft().order_id)
        self.cycle += 1
        n = (self.cycle - 1) % len(self.spec["customers"])
        if self.spec["customers"][n][5]:  # premises where supply is forbidden: never ordered
            n = 0
        cid, _, kind = self.spec["customers"][n][:3]
        spec = dataset.RESTAURANT_SPEC if kind == "restaurant" else dataset.HOUSEHOLD_SPEC
        count = 1 if kind == "restaurant" else 2
        status, order = self.dispatcher.order(cid, [(spec, count)], "%s-%d" % (
            self.spec["vehicle"][2:], self.cycle))
        if status == 201 and order["state"] == "assigned":
            self.wait_assignment(order["id"])
            self.serve(order["id"], customer_index=n)
        elif status == 201:
            # Not assigned (e.g. a mandatory rest after hours of demo): do not pile up waiting
            # orders; try again in a minute.
            self.narrator.own_orders[order["id"]] = "cancelled"
            self.dispatcher.cancel(order["id"], "the demo vehicle could not take it")
            self.wait(60)
        self.first_cycle_done = True  # its scripted episode has happened (demo.py's guide)
        self.wait(6)

    def serve(self, order_id, customer_index=None):
        order = self.dispatcher.get_order(order_id)
        index = customer_index
        if index is None:
            index = [c[0] for c in self.spec["customers"]].index(order["customer_id"])
        cid, cname, ckind = self.spec["customers"][index][:3]
        target = dataset.customer_location(self.spec, index)
        script = self.spec["script"] if self.cycle == 1 else "delivery"
        self.hs.accept(order_id)
        self.say("accepted %s (%s, %s)" % (order_id, cname, order["kind"]), detail=True)
        if order["kind"] == "re-inspection":
            self.drive(target, CRUISE_KMH)
            self.wait(2)
            self.reinspect(order_id, cname, ckind)
            self.back_to_depot(script)
            return
        codes = []
        for item in order["items"]:
            codes += self.dispatcher.fill_cylinders(self.spec["vehicle"], item["spec"],
                                                    item["count"], "%d" % self.cycle)
        if script == "overdue":
            self.try_scan("LOAD", dataset.OVERDUE_CYLINDER, order_id, expect="overdue_inspection")
            self.tick()
        for code in codes:
            if self.try_scan("LOAD", code, order_id) is None:
                self.say("loaded %s for %s" % (code, order_id), detail=True)
            self.tick()
        if script == "speeding":
            self.say("driving to %s at 75 km/h (limit 60)" % cname)
            self.drive(target, 75.0, metres=75.0 / 3.6 * 15)
            self.say("slowing down to %d km/h" % CRUISE_KMH, detail=True)
        elif script == "roadside":
            self.drive(target, 30.0, metres=60)
            self.say("tries to hand a cylinder over while driving at 30 km/h", detail=True)
            self.try_scan("HAND_OVER", codes[0], order_id, expect="vehicle_moving")
            self.drive(target, 30.0, metres=distance_m(self.pos, target) - 300)
            self.speed_kmh = 0.0
            self.wait(2)
            self.say("stopped 300 m short of %s and tries a hand-over there" % cname,
                     detail=True)
            self.try_scan("HAND_OVER", codes[0], order_id, expect="not_at_customer")
        self.drive(target, CRUISE_KMH)
        self.wait(2)
        self.say("stopped at %s, %.0f m from the registered location" %
                 (cname, distance_m(self.pos, target)), detail=True)
        failing = "leak_test" if script == "failed_check" else None
        failed = False
        for code in codes:
            if self.try_scan("HAND_OVER", code, order_id) is not None:
                continue
            self.tick()
            self.hs.safety_check(order_id, checklist(ckind, failing), "%s (customer)" % cname,
                                 cylinder_code=code, pin="2468")
            if failing:
                self.say("safety check FAILED (%s) at %s: supply suspended, hazard notice" %
                         (failing, cname), tone="alert")
                self.say("the cylinders go back on the vehicle", detail=True)
                failed = True
                break
            self.say("handed over %s, safety check passed" % code, detail=True)
        if not failed:
            self.tick()
            try:
                self.hs.confirm(order_id)
                self.say("delivered %s to %s (%d cylinder(s), checks passed)" %
                         (order_id, cname, len(codes)), tone="good")
            except ServerError as e:
                self.say("confirmation of %s refused: %s" % (order_id, e), tone="refused")
        else:
            self.wait(1)
            self.say("the customer fixed the leak; the dispatcher orders a re-inspection",
                     detail=True)
            status, re = self.dispatcher.order(cid, None, "%s-%d-re" % (
                self.spec["vehicle"][2:], self.cycle), kind="re-inspection")
            if status == 201 and re["state"] == "assigned":
                self.wait_assignment(re["id"])
                self.hs.accept(re["id"])
                self.tick()
                self.reinspect(re["id"], cname, ckind)
        # Its scripted episode is over (demo.py reprints the guide once all are); the failed
        # check's goes on at the depot (the cylinder not scanned back).
        self.first_cycle_done = self.first_cycle_done or script != "failed_check"
        self.back_to_depot(script)

    def reinspect(self, order_id, cname, ckind):
        self.hs.safety_check(order_id, checklist(ckind), "%s (customer)" % cname, pin="2468")
        self.say("re-inspection %s passed: supply to %s resumed" % (order_id, cname),
                 tone="good")

    def back_to_depot(self, script=None):
        self.wait(1)
        self.drive(dataset.depot(self.spec), CRUISE_KMH)
        self.wait(1)
        full = self.dispatcher.vehicle_load(self.spec["vehicle"])["full"]
        if script == "failed_check" and full:
            self.say("forgets to scan %s back into stock" % full[-1]["id"], detail=True)
            full = full[:-1]
        for c in full:
            if self.try_scan("RETURN_FULL", c["id"]) is None:
                self.say("returned %s to stock" % c["id"], detail=True)
        rec = self.hs.station_return()
        what = "loaded %d, handed over %d, returned %d, empties %d" % (
            rec.loaded, rec.handed_over, rec.returned_full, rec.empties)
        if rec.balanced:
            self.say("back at the depot, trip reconciled: %s" % what, detail=True)
        else:
            self.say("back at the depot: load MISMATCH, missing %s (%s)" %
                     (", ".join(rec.missing), what), tone="alert")
