"""dataset.py -- the demo data set: a gas enterprise in Hailar, Hulunbuir (Inner Mongolia).

Everything the demo needs, as plain data, and load(), which creates it over the HTTP API
(docs/http-api.md). Loading is idempotent: what exists already (409 already_exists, from an
earlier run on the same Redis data) is left as it is. Handset devices are registered again at
every load, because POST /v1/devices shows a device's secret only once.

The map: the supply area covers the city (lon 119.68-119.87, lat 49.17-49.27); eight delivery
zones, 4 x 2 rectangles of about 2.7 x 4.4 km (lon edges 119.70/.7375/.775/.8125/.85, lat
edges 49.18/49.22/49.26). Each simulated vehicle belongs to one person with one zone, starts
from a depot at the zone's centre and serves customers 250-550 m from it, so a whole delivery
cycle fits in about a minute of real time. Positions are given as (east, north) metres from
the depot.
"""

import math

ENTERPRISE = "hlr-gas"
DISPATCHER = "demo-dispatcher"
M_PER_DEG_LAT = 111195.0

LON_EDGES = [119.70, 119.7375, 119.775, 119.8125, 119.85]
LAT_EDGES = [49.18, 49.22, 49.26]


def rect(lon0, lat0, lon1, lat1):
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1],
                                                [lon0, lat1], [lon0, lat0]]]}


def offset(point, east_m, north_m):
    """(lon, lat) moved east/north by metres (local flat approximation; fine for < 1 km)."""
    lon, lat = point
    return (round(lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))), 7),
            round(lat + north_m / M_PER_DEG_LAT, 7))


# (id, name, column, row): row 0 is the southern row.
ZONE_CELLS = [
    ("hlr-hulun", "Hulun St (north-west)", 0, 1),
    ("hlr-zhengyang", "Zhengyang St", 1, 1),
    ("hlr-jiankang", "Jiankang St", 2, 1),
    ("hlr-hedong-n", "Hedong north", 3, 1),
    ("hlr-bayanhan", "Bayanhan St (south-west)", 0, 0),
    ("hlr-jianshe", "Jianshe St", 1, 0),
    ("hlr-shengli", "Shengli St", 2, 0),
    ("hlr-hedong-s", "Hedong south", 3, 0),
]


def zone_shape(col, row):
    return rect(LON_EDGES[col], LAT_EDGES[row], LON_EDGES[col + 1], LAT_EDGES[row + 1])


def zone_centre(zone_id):
    for zid, _, col, row in ZONE_CELLS:
        if zid == zone_id:
            return (round((LON_EDGES[col] + LON_EDGES[col + 1]) / 2, 7),
                    round((LAT_EDGES[row] + LAT_EDGES[row + 1]) / 2, 7))
    raise KeyError(zone_id)


# The simulated fleet. `script` names what this vehicle shows in its first cycle (fleet.py);
# later cycles are plain deliveries. Customers: (id, name, kind, east_m, north_m, premises).
FLEET = [
    {"vehicle": "v-101", "plate": "蒙E·D1011", "staff": "s-wang", "name": "Wang Wei",
     "zone": "hlr-hulun", "device": "hs-101", "script": "delivery",
     "customers": [("c-1101", "Zhang household", "household", 250, 0, []),
                   ("c-1102", "Gao household", "household", 150, 200, [])]},
    {"vehicle": "v-102", "plate": "蒙E·D1022", "staff": "s-zhao", "name": "Zhao Min",
     "zone": "hlr-zhengyang", "device": "hs-102", "script": "restaurant",
     "customers": [("c-1201", "Grassland Hotpot", "restaurant", -250, 0, []),
                   ("c-1202", "Bai household", "household", 0, -220, [])]},
    {"vehicle": "v-103", "plate": "蒙E·D1033", "staff": "s-chen", "name": "Chen Gang",
     "zone": "hlr-jiankang", "device": "hs-103", "script": "speeding",
     "customers": [("c-1301", "Ma household", "household", 0, 550, [])]},
    {"vehicle": "v-104", "plate": "蒙E·D1044", "staff": "s-liu", "name": "Liu Yang",
     "zone": "hlr-hedong-n", "device": "hs-104", "script": "roadside",
     "customers": [("c-1401", "Qiao household", "household", 420, 0, [])]},
    {"vehicle": "v-105", "plate": "蒙E·D1055", "staff": "s-sun", "name": "Sun Li",
     "zone": "hlr-bayanhan", "device": "hs-105", "script": "overdue",
     "customers": [("c-1501", "Bao household", "household", 0, 250, [])]},
    {"vehicle": "v-106", "plate": "蒙E·D1066", "staff": "s-zhou", "name": "Zhou Jie",
     "zone": "hlr-jianshe", "device": "hs-106", "script": "failed_check",
     "customers": [("c-1601", "Han household", "household", 250, 0, [])]},
    {"vehicle": "v-107", "plate": "蒙E·D1077", "staff": "s-wu", "name": "Wu Qiang",
     "zone": "hlr-shengli", "device": "hs-107", "script": "delivery",
     "customers": [("c-1701", "Tian household", "household", -200, 150, []),
                   ("c-1799", "Basement Noodle House", "restaurant", 300, -300,
                    ["underground"])]},
    # Li Na's qualification certificate expired: orders in her zone wait, with the reason.
    {"vehicle": "v-108", "plate": "蒙E·D1088", "staff": "s-li", "name": "Li Na",
     "zone": "hlr-hedong-s", "device": "hs-108", "script": "expired",
     "qualification_expiry": "2026-10-01",
     "customers": [("c-1801", "Wang household (Hedong)", "household", 0, 250, [])]},
]

# Reserved for vehicle units running lpg-agent fed by gpsfake (deploy/run.sh,
# start_gpsfake_agents): registered, bound and given devices, but off duty so that no order
# goes to them; the simulator leaves them alone.
AGENT_FLEET = [
    {"vehicle": "v-201", "plate": "蒙E·G2011", "staff": "s-ma", "name": "Ma Jun",
     "zone": "hlr-hulun", "device": "unit-201"},
    {"vehicle": "v-202", "plate": "蒙E·G2022", "staff": "s-hu", "name": "Hu Bin",
     "zone": "hlr-bayanhan", "device": "unit-202"},
]

# A truck whose JT/T 808 satellite terminal reports, not a handset (issue 12): deploy/run.sh,
# start_jt808_terminal, runs lpg-jt808-sim (tests/jt808sim) as its terminal: it registers
# (0x0100), authenticates, inserts the driver's card (0x0702: this person's certificate) and
# replays a recorded drive. Registered with its terminal, its driver bound; off duty, like the
# vehicle units, so that no order goes to it.
JT808_FLEET = [
    {"vehicle": "v-301", "plate": "蒙E·J3011", "staff": "s-gao", "name": "Gao Feng",
     "zone": "hlr-shengli", "terminal": "013800000301"},
]

# The one cylinder overdue for inspection (due 2026-05-10): loading it is refused.
OVERDUE_CYLINDER = "CY-HLR-0001-OVERDUE"

HOUSEHOLD_SPEC = "YSP-35.5"
RESTAURANT_SPEC = "YSP-118"


def customer_location(vehicle, index):
    cid, _, _, east, north, _ = vehicle["customers"][index]
    return offset(zone_centre(vehicle["zone"]), east, north)


def depot(vehicle):
    return zone_centre(vehicle["zone"])


def station_id(zone_id):
    """Each zone's depot is a station (issue 13): a circle of DEPOT_RADIUS_M at its centre,
    where its vehicles load and reconcile (docs/http-api.md, "Stations")."""
    return "st-" + zone_id[len("hlr-"):]


DEPOT_RADIUS_M = 150  # customers are 250-550 m from the depot: never inside it


def certificate(person):
    """The qualification certificate number of a person of FLEET, AGENT_FLEET or JT808_FLEET."""
    return "QC-150700-%04d" % (7 + (FLEET + AGENT_FLEET + JT808_FLEET).index(person))


def _entities():
    """(path, body) in creation order: what another refers to comes first."""
    out = [("/v1/enterprises", {
        "id": ENTERPRISE, "name": "Hailar City Gas Co. (demo)", "licence_no": "NM-HLR-2023-0042",
        "area": rect(119.68, 49.17, 119.87, 49.27)})]
    for zid, name, col, row in ZONE_CELLS:
        out.append(("/v1/zones", {"id": zid, "enterprise_id": ENTERPRISE, "name": name,
                                  "shape": zone_shape(col, row)}))
    for zid, name, _, _ in ZONE_CELLS:
        lon, lat = zone_centre(zid)
        out.append(("/v1/stations", {"id": station_id(zid), "enterprise_id": ENTERPRISE,
                                     "name": "%s depot" % name,
                                     "center": {"lon": lon, "lat": lat},
                                     "radius_m": DEPOT_RADIUS_M}))
    for i, v in enumerate(FLEET + AGENT_FLEET + JT808_FLEET):
        out.append(("/v1/vehicles", {
            "id": v["vehicle"], "enterprise_id": ENTERPRISE, "plate": v["plate"], "kind": "van",
            "permit_no": "150700-DG-%04d" % (101 + i), "permit_expiry": "2027-12-31",
            "capacity": 20, "station_id": station_id(v["zone"])}))
    for i, v in enumerate(FLEET + AGENT_FLEET + JT808_FLEET):
        out.append(("/v1/staff", {
            "id": v["staff"], "enterprise_id": ENTERPRISE, "name": v["name"],
            "role": "delivery", "qualification_no": certificate(v),
            "qualification_expiry": v.get("qualification_expiry", "2028-12-31"),
            "training_no": "ST-2026-%03d" % (113 + i), "training_expiry": "2027-08-31",
            "zone_id": v["zone"], "vehicle_id": v["vehicle"],
            "on_duty": v in FLEET}))
    for v in FLEET:
        for n, (cid, name, kind, _, _, premises) in enumerate(v["customers"]):
            lon, lat = customer_location(v, n)
            out.append(("/v1/customers", {
                "id": cid, "enterprise_id": ENTERPRISE, "name": name, "kind": kind,
                "location": {"lon": lon, "lat": lat}, "premises": premises,
                "address": "%s, Hailar" % name, "contract_no": "GC-2025-%s" % cid[2:],
                "contract_from": "2025-01-01", "contract_to": "2028-12-31"}))
    out.append(("/v1/cylinders", {
        "id": OVERDUE_CYLINDER, "enterprise_id": ENTERPRISE, "spec": HOUSEHOLD_SPEC,
        "manufacturer": "Hulunbuir Pressure Vessel Works", "serial": "HPV-2018-0001",
        "manufactured": "2018-05-10", "last_inspection": "2022-05-10",
        "next_inspection": "2026-05-10"}))
    return out


def load(admin, say):
    """Creates the data set with the admin client (lpg_client.JsonHttp), the dispatcher user
    included (its password: admin.dispatcher_password). Returns {device_id: secret} for every
    device of FLEET and AGENT_FLEET. Raises RuntimeError on anything but 201 or 409."""
    created = existing = 0
    for path, body in _entities() + [("/v1/users", {
            "name": DISPATCHER, "role": "dispatcher", "enterprise_id": ENTERPRISE,
            "password": admin.dispatcher_password})]:
        status, resp = admin.call("POST", path, body)
        if status == 201:
            created += 1
        elif status == 409:
            existing += 1
        else:
            raise RuntimeError("POST %s %s: HTTP %d %s" % (path, body.get("id", body.get("name")),
                                                           status, resp))
    # A vehicle created by a run before stations existed (409 above) gets its station here:
    # without one it may not load (docs/http-api.md, "Stations").
    for v in FLEET + AGENT_FLEET + JT808_FLEET:
        status, resp = admin.call("PATCH", "/v1/vehicles/" + v["vehicle"],
                                  {"station_id": station_id(v["zone"])})
        if status != 200:
            raise RuntimeError("PATCH /v1/vehicles/%s: HTTP %d %s" % (v["vehicle"], status, resp))
    for v in JT808_FLEET:
        status, resp = admin.call("POST", "/v1/terminals", {
            "id": v["terminal"], "vehicle_id": v["vehicle"], "protocol": "jt808"})
        if status == 201:
            created += 1
        elif status == 409:
            existing += 1
        else:
            raise RuntimeError("POST /v1/terminals %s: HTTP %d %s" % (v["terminal"], status,
                                                                     resp))
        # Registration (0x0100) is for a terminal's first use only; the demo's simulated
        # terminal registers on every run, so the operator reopens it (clears its code).
        status, resp = admin.call("PATCH", "/v1/terminals/" + v["terminal"], {"auth_code": ""})
        if status != 200:
            raise RuntimeError("PATCH /v1/terminals/%s: HTTP %d %s" % (v["terminal"], status,
                                                                      resp))
    say("data set: %d created, %d already there (enterprise %s, %d zones, %d vehicles and "
        "staff, %d customers)" % (created, existing, ENTERPRISE, len(ZONE_CELLS),
                                  len(FLEET) + len(AGENT_FLEET) + len(JT808_FLEET),
                                  sum(len(v["customers"]) for v in FLEET)))
    secrets = {}
    for v in FLEET + AGENT_FLEET:
        status, resp = admin.call("POST", "/v1/devices",
                                  {"device_id": v["device"], "staff_id": v["staff"]})
        if status != 201:
            raise RuntimeError("POST /v1/devices %s: HTTP %d %s" % (v["device"], status, resp))
        secrets[v["device"]] = resp["secret"]
    return secrets
