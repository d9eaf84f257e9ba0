#!/usr/bin/python3
"""test_console_browser.py -- the console (console/, docs/console.md) in a real headless
Chromium (Debian chromium + chromium-driver, driven by python3-selenium), against a real
redis-server and dispatchd loaded with the demo's data set (deploy/demo/dataset.py):

  - the page loads in Chinese; every label exists in both languages (console/i18n.js);
  - the demo dispatcher logs in; the live fleet lists the demo's vehicles;
  - a vehicle of the demo fleet (v-101, its handset hs-101 speaking the handset protocol through
    tests/python/lpg_client.py) is seen at one position, then at another, moved by the live
    feed, without a reload; a click shows its person;
  - English can be switched to and back;
  - an order is created and seen assigned, one waits with its reason, one is refused, one is
    cancelled; an overspeed alert is acknowledged with a note; the hazard ledger;
  - an auditor replays the vehicle's day and reads the overspeed episode on the speed chart
    with the limit line (the limit at each fix: 70 on the expressway zone the drive crosses, as
    the server's alert says, 60 at the depot; speed_limit.js's point-in-polygon), the audit chain and route days verified, the day exported as GPX, and
    the cylinder handed over with its passing safety check (v-101
    delivers an order for real through its handset: accept, load, drive, hand over, check,
    confirm); a reload asks for the login again (nothing stored in the browser); an admin has
    every view;
  - the browser's log has no error (a CSP violation, a failed request, an exception);
screenshots go to --out (the build tree); with --docs DIR the ones docs/console.md shows are
copied there too.

Every wait is on a condition with a generous deadline (a loaded 2-core machine); nothing
depends on the hour (times are the server's own). Exits 77 (CTest: skipped) with a message when
Chromium or its driver is not installed -- deploy/install-deps.sh installs them -- and fails on
anything else.

Usage: test_console_browser.py --dispatchd BIN --source SOURCE_DIR --out DIR [--docs DIR]
"""

import argparse
import datetime
import math
import os
import re
import shutil
import sys
import tempfile
import time
import traceback

from lpg_stack import ADMIN_PASSWORD, Stack, TestFailure, check, say

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SKIP = 77
WAIT = 45.0  # seconds, for anything the page must show
DISPATCHER_PASSWORD = "demo dispatcher password 1"
AUDITOR_PASSWORD = "demo auditor password 1"
INJECTED = 'Zhengyang depot <img id="lpg-injected" src="injected.png">'


def i18n_keys(source):
    """The keys of the zh and en tables of console/i18n.js."""
    with open(os.path.join(source, "console", "i18n.js"), encoding="utf-8") as f:
        text = f.read()
    zh = text[text.index("  zh: {"):text.index("  en: {")]
    en = text[text.index("  en: {"):text.index("\n};")]
    pattern = re.compile(r"^    ([a-z_0-9]+):", re.M)
    return set(pattern.findall(zh)), set(pattern.findall(en))


class Browser:
    def __init__(self, out_dir, home):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,900", "--lang=zh-CN", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking"]:
            opts.add_argument(arg)
        opts.set_capability("goog:loggingOptions", {"browser": "ALL"})
        opts.add_experimental_option("prefs", {"download.default_directory": out_dir,
                                               "download.prompt_for_download": False})
        self.out_dir = out_dir
        # The browser on the real clock: under deploy/test.sh's LPG_TEST_CLOCK (libfaketime
        # preloaded everywhere) Chromium takes minutes to start and loads the machine. The page
        # follows the server's clock anyway (the Date of its replies: console/util.js now()).
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
        # Its home in the test's directory: Chromium's config and crash handler write there,
        # not in the user's, and deploy/test.sh's clean-up finds them by that path.
        env["HOME"] = home
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=opts)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)
        self.log = []
        # Chromium logs every 4xx answer as an error; the ones a step provokes on purpose (a
        # refusal the page must show) are listed here, as (path regex, status).
        self.expected = []

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 -- already gone
            pass

    def wait(self, what, fn, timeout=WAIT):
        from selenium.common.exceptions import WebDriverException
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = fn()
                if got:
                    return got
            except WebDriverException:
                pass
            if time.monotonic() >= deadline:
                self.shot("failed-" + re.sub(r"[^a-z0-9]+", "-", what.lower())[:40])
                raise TestFailure("browser: %s: not within %.0f s" % (what, timeout))
            time.sleep(0.1)

    def click(self, selector, what=None):
        """Clicks selector once it is there; again if the live feed redrew it meanwhile."""
        self.wait(what or "click %s" % selector, lambda: self.css(selector).click() or True)

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def csss(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def shot(self, name):
        path = os.path.join(self.out_dir, name + ".png")
        try:
            self.driver.save_screenshot(path)
            say("screenshot %s", path)
        except Exception as e:  # noqa: BLE001 -- a screenshot is evidence, not the test
            say("could not save %s: %s", path, e)
        return path

    def drain_log(self):
        entries = self.driver.get_log("browser")
        self.log.extend(entries)
        return entries


def load_demo(port, source):
    sys.path.insert(0, os.path.join(source, "deploy", "demo"))
    sys.path.insert(0, os.path.join(source, "tests", "python"))
    import dataset
    from lpg_client import JsonHttp
    admin = JsonHttp(port, timeout=30)
    status, resp = admin.call("POST", "/v1/sessions", {"user": "root", "password": ADMIN_PASSWORD})
    check(status == 201, "admin login: %d %s", status, resp)
    admin.token = resp["token"]
    admin.dispatcher_password = DISPATCHER_PASSWORD
    secrets = dataset.load(admin, lambda m: say("demo data: %s", m))
    return dataset, admin, secrets


def log_in(b, user, password, view=None):
    """Fills the login form shown and submits it; with view, waits until that view is ready."""
    b.css("#login-user").clear()
    b.css("#login-user").send_keys(user)
    b.css("#login-password").send_keys(password)
    b.css("#login-submit").click()
    if view:
        b.wait("%s's %s view" % (user, view),
               lambda: b.css("#panel").get_attribute("data-view") == view
               and b.css("#panel").get_attribute("data-ready") == "true")


def vehicle_at(b, vehicle_id, lat, lon):
    rows = b.csss('li[data-vehicle-id="%s"]' % vehicle_id)
    if not rows:
        return False
    got_lat, got_lon = rows[0].get_attribute("data-lat"), rows[0].get_attribute("data-lon")
    return (got_lat and got_lon and abs(float(got_lat) - lat) < 1e-6 and
            abs(float(got_lon) - lon) < 1e-6)


class Drive:
    """v-101's handset reporting one fix per second of real time, moving east at a given speed
    (the fix filters refuse a jump: each step is the speed times the time that passed)."""

    def __init__(self, hs, start):
        self.hs, (self.lon, self.lat) = hs, start
        self.seq = int(time.time() * 1000)
        self.last = None

    def fix(self, kmh):
        self.seq += 1
        self.hs.send_positions([{
            "seq": self.seq, "time_ms": int(time.time() * 1000),
            "lat_e7": int(round(self.lat * 1e7)), "lon_e7": int(round(self.lon * 1e7)),
            "speed_cm_s": int(kmh / 3.6 * 100), "heading_cdeg": 9000, "accuracy_cm": 400,
            "mode": 3, "source": 1, "satellites": 9}])
        self.last = time.monotonic()

    def east(self, kmh, until_lon=None):
        """Waits a second, moves east by what kmh covers in the time that passed (not past
        until_lon), reports."""
        while time.monotonic() - self.last < 1.0:
            time.sleep(0.05)
        metres = kmh / 3.6 * (time.monotonic() - self.last)
        lon = self.lon + metres / (111195.0 * math.cos(math.radians(self.lat)))
        self.lon = round(min(lon, until_lon) if until_lon is not None else lon, 7)
        self.fix(kmh)


def deliver(b, drive, admin, dataset, v):
    """An order for c-1101 delivered by v-101: accepted, a cylinder loaded at the depot, the
    drive there (seen moving on the map; 80 km/h for 6 s on the way, on an expressway of limit
    70: an overspeed episode), the hand-over at the stopped vehicle, a passing safety check, the
    confirmation."""
    import fleet
    status, order = admin.call("POST", "/v1/orders", {
        "enterprise_id": dataset.ENTERPRISE, "customer_id": "c-1101",
        "items": [{"spec": dataset.HOUSEHOLD_SPEC, "count": 1}]})
    check(status == 201 and order["state"] == "assigned" and order["staff_id"] == v["staff"],
          "an order for c-1101 assigned to %s: %d %s", v["staff"], status, order)
    code = "CY-CONSOLE-0001"
    status, resp = admin.call("POST", "/v1/cylinders", {
        "id": code, "enterprise_id": dataset.ENTERPRISE, "spec": dataset.HOUSEHOLD_SPEC,
        "manufacturer": "Hulunbuir Pressure Vessel Works", "serial": code,
        "manufactured": "2024-09-01", "last_inspection": "2024-09-01"})
    check(status == 201, "register cylinder %s: %d %s", code, status, resp)
    drive.hs.accept(order["id"])
    drive.fix(0)
    drive.hs.scan("LOAD", code, order["id"])
    target_lon, _ = dataset.customer_location(v, 0)
    lon0 = drive.lon
    drive.east(36)
    b.wait("v-101 moved east on the map", lambda: vehicle_at(b, "v-101", drive.lat, drive.lon))
    check(drive.lon > lon0, "v-101 did not move")
    # The road east of here to the customer is an expressway of limit 70 (a narrow band: no
    # other customer): the limit there is 70 (the expressway's 80 lowered by its zone), 60 at the
    # depot (no zone of limit), whatever the length of the 80 km/h stretch.
    m_per_deg_lon = 111195.0 * math.cos(math.radians(drive.lat))
    status, resp = admin.call("POST", "/v1/zones", {
        "id": "hlr-expressway", "enterprise_id": dataset.ENTERPRISE, "name": "Hailar bypass",
        "expressway": True, "speed_limit_kmh": 70,
        "shape": {"type": "Polygon", "coordinates": [[
            [drive.lon + 1.0 / m_per_deg_lon, drive.lat - 0.0003],
            [target_lon + 5.0 / m_per_deg_lon, drive.lat - 0.0003],
            [target_lon + 5.0 / m_per_deg_lon, drive.lat + 0.0003],
            [drive.lon + 1.0 / m_per_deg_lon, drive.lat + 0.0003]]]}})
    check(status == 201, "an expressway zone on v-101's way: %d %s", status, resp)
    for _ in range(6):
        drive.east(80, target_lon)
    while drive.lon < target_lon:
        drive.east(45, target_lon)
    for _ in range(3):  # stopped at the customer
        drive.east(0)
    drive.hs.scan("HAND_OVER", code, order["id"])
    drive.hs.safety_check(order["id"], fleet.checklist("household"), "Zhang (customer)",
                          cylinder_code=code, pin="2468")
    drive.fix(0)
    drive.hs.confirm(order["id"])
    status, got = admin.call("GET", "/v1/orders/" + order["id"])
    check(status == 200 and got["state"] == "delivered", "the order is delivered: %s", got)
    b.wait("v-101 at the customer on the map",
           lambda: vehicle_at(b, "v-101", drive.lat, drive.lon))
    return code


# console/reasons.js: the server's waiting reasons (dispatch/core/match.c) in Chinese; what it
# does not know stays as the server wrote it.
REASONS = [
    ("zone hlr-south: 1 staff; 1 qualification certificate expired 2026-10-01",
     "区域 hlr-south：1 名人员；1 人从业资格证于 2026-10-01 过期"),
    ("zone hlr-south: 2 staff; 1 off duty, 1 no vehicle bound",
     "区域 hlr-south：2 名人员；1 人不在岗，1 人未绑定车辆"),
    ("zone hlr-north: 1 staff; 1 off duty; zone hlr-east has no staff",
     "区域 hlr-north：1 名人员；1 人不在岗；区域 hlr-east 没有配送人员"),
    ("no zone of enterprise hlr-gas contains the customer's location",
     "企业 hlr-gas 没有包含该用户位置的配送区域"),
    ("zone Z: 3 staff; 2 vehicle full (18/20, order needs 5), 1 in mandatory rest until "
     "2026-12-07 10:00", "区域 Z：3 名人员；2 人车辆已满（18/20，订单需 5 瓶），1 人强制休息至 "
     "2026-12-07 10:00"),
    ("zone Z: 2 staff; 2 rejected this order; 3 more zones not considered",
     "区域 Z：2 名人员；2 人拒绝或被撤回过此单；另有 3 个区域未计入"),
    ("off duty", "不在岗"),
    ("something new", "something new"),
]


def reasons_in_chinese(b):
    """The translation table of console/reasons.js, run in the page itself."""
    got = b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1], cases = arguments[0];"
        "import('/console/reasons.js').then((m) => done(cases.map(m.reasonText)))"
        ".catch((e) => done(String(e)));", [r for r, _ in REASONS])
    check(got == [zh for _, zh in REASONS], "reasons.js: got %r", got)
    say("reasons.js: %d waiting reasons in Chinese", len(REASONS))


# Alerts the table of console/alert_text.js must render, in zh and en, from their fields.
SAMPLE_ALERTS = [
    {"rule": "overspeed", "kind": "violation_end", "max_speed_kmh": 60.012, "limit_kmh": 40.0,
     "duration_ms": 15000, "message": "overspeed ended: ..."},
    {"rule": "fatigue", "kind": "violation_start", "code": "continuous", "duration_ms": 14400000,
     "message": "fatigue: ..."},
    {"rule": "fatigue", "kind": "violation_start", "code": "daily", "duration_ms": 29000000,
     "message": "daily driving time over 8.0 h: ..."},
    {"rule": "signal_lost", "kind": "violation_start", "duration_ms": 311757, "message": "no ..."},
    {"rule": "terminal_sos", "kind": "violation_start", "message": "terminal alarm: SOS"},
    {"rule": "redis_memory", "kind": "system", "message": "Redis memory at 88%"},
    {"rule": "overspeed", "kind": "warning", "message": "approaching (no figures)"},
]
SAMPLE_TEXTS = [
    ("超速结束：最高 60.0 km/h，超过 40 km/h 限速共 15.0 秒",
     "overspeed ended: max 60.0 km/h over the 40 km/h limit for 15.0 s"),
    ("疲劳驾驶：连续驾驶 240 分钟；须强制休息", "fatigue: 240 min of continuous driving; mandatory rest"),
    ("疲劳驾驶：当日已驾驶 8.1 小时，超过上限；休息至当日结束",
     "fatigue: 8.1 h of driving today, over the daily limit; rest until the end of the day"),
    ("配送途中 312 秒无定位", "no position for 312 s on an active delivery"),
    ("终端报警：紧急报警（SOS）", "terminal alarm: SOS (emergency alarm)"),
    ("Redis memory at 88%", "Redis memory at 88%"),  # not known: the server's message
    ("approaching (no figures)", "approaching (no figures)"),  # a figure missing: the same
]

# Refusals (code, message, field) and how console/refusals.js renders them in zh and en.
SAMPLE_REFUSALS = [
    ({"code": "missing_field", "message": "an acknowledgement needs a note", "field": "note"},
     ("missing_field: 缺少必填项（note）", "missing_field: a required field is missing (note)")),
    ({"code": "already_acknowledged", "message": "this alert was already acknowledged"},
     ("already_acknowledged: 该报警已被确认过",
      "already_acknowledged: this alert was already acknowledged")),
    ({"code": "customer_suspended", "message": "unpaid deposit", "field": "customer_id"},
     ("customer_suspended: 已暂停对该用户供气：unpaid deposit",
      "customer_suspended: supply to the customer is suspended: unpaid deposit")),
    ({"code": "something_new", "message": "a later server's refusal"},  # the server's text
     ("something_new: a later server's refusal", "something_new: a later server's refusal")),
]


def texts_in_both_languages(b, source):
    """Every rule and kind of console/alert_text.js and every code of console/refusals.js has
    both languages, every rule the console names (i18n.js rule_*) has a sentence, and a few
    alerts render as they should; run in the page itself."""
    got = b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1], alerts = arguments[0], refusals = arguments[1];"
        "Promise.all([import('/console/alert_text.js'), import('/console/refusals.js')])"
        ".then(([a, r]) => {"
        "  const kinds = (l) => Object.entries(a.ALERT_TEXTS[l])"
        "    .flatMap(([rule, k]) => Object.keys(k).map((kind) => rule + '.' + kind)).sort();"
        "  done({zh: kinds('zh'), en: kinds('en'),"
        "    tzh: Object.keys(a.TERMINAL.zh).sort(), ten: Object.keys(a.TERMINAL.en).sort(),"
        "    rzh: Object.keys(r.REFUSALS.zh).sort(), ren: Object.keys(r.REFUSALS.en).sort(),"
        "    rules: Object.keys(a.ALERT_TEXTS.zh),"
        "    texts: alerts.map((x) => [a.alertText(x, 'zh'), a.alertText(x, 'en')]),"
        "    refused: refusals.map((x) => [r.refusalText(x, 'zh'), r.refusalText(x, 'en')])});"
        "}).catch((e) => done(String(e)));", SAMPLE_ALERTS, [e for e, _ in SAMPLE_REFUSALS])
    check(isinstance(got, dict), "alert_text.js, refusals.js: %r", got)
    check(got["zh"] == got["en"] and len(got["zh"]) >= 17,
          "alert_text.js: rule.kind only in one language: %s", set(got["zh"]) ^ set(got["en"]))
    check(got["tzh"] == got["ten"] and len(got["tzh"]) == 12,
          "alert_text.js: terminal alarms %s / %s", got["tzh"], got["ten"])
    check(got["rzh"] == got["ren"] and "premises_underground" in got["rzh"],
          "refusals.js: codes only in one language: %s", set(got["rzh"]) ^ set(got["ren"]))
    with open(os.path.join(source, "console", "i18n.js"), encoding="utf-8") as f:
        named = set(re.findall(r"^    rule_([a-z_]+):", f.read(), re.M))
    named = {r for r in named if not r.startswith("terminal_")}
    check(named <= set(got["rules"]), "rules the console names with no sentence: %s",
          named - set(got["rules"]))
    check([tuple(x) for x in got["texts"]] == SAMPLE_TEXTS, "alert texts: %r", got["texts"])
    check([tuple(x) for x in got["refused"]] == [t for _, t in SAMPLE_REFUSALS],
          "refusal texts: %r", got["refused"])
    say("alert_text.js: %d rule/kind sentences, %d terminal alarms; refusals.js: %d codes; "
        "all in both languages", len(got["zh"]), len(got["tzh"]), len(got["rzh"]))


def scenario(b, base, stack, source, docs):
    zh, en = i18n_keys(source)
    check(zh == en and len(zh) > 50, "i18n.js: keys only in zh %s, only in en %s",
          sorted(zh - en), sorted(en - zh))
    say("i18n: %d labels in both languages", len(zh))

    dataset, admin, secrets = load_demo(stack.http_port, source)
    # A name with markup: the map's tooltips must show it as text (Leaflet inserts a string
    # tooltip as HTML; the console gives it elements).
    status, resp = admin.call("PATCH", "/v1/stations/st-zhengyang", {"name": INJECTED})
    check(status == 200, "rename a station: %d %s", status, resp)
    sys.path.insert(0, os.path.join(source, "tests", "python"))
    from lpg_client import HandsetClient

    say("the page, in Chinese by default")
    b.driver.get(base + "/console/")
    b.wait("the page is ready", lambda: b.css("body").get_attribute("data-ready") == "true")
    # The check of the browser's log at the end must be able to fail: an error logged now is
    # seen in the log (and then left out of it).
    b.driver.execute_script("console.error('lpg-console-selftest')")
    b.wait("the browser log shows console.error",
           lambda: any("lpg-console-selftest" in e.get("message", "") for e in b.drain_log()))
    b.log = [e for e in b.log if "lpg-console-selftest" not in e.get("message", "")]
    check(b.driver.title == "液化气配送监管控制台", "title %r", b.driver.title)
    check(b.css("#login-submit").text == "登录", "login button %r", b.css("#login-submit").text)
    b.shot("login")
    reasons_in_chinese(b)
    texts_in_both_languages(b, source)

    say("log in as the demo dispatcher")
    log_in(b, dataset.DISPATCHER, DISPATCHER_PASSWORD)
    b.wait("the fleet is listed", lambda: len(b.csss("li[data-vehicle-id]")) >= len(dataset.FLEET))
    check(b.css("#tab-fleet").text == "实时车队", "fleet tab %r", b.css("#tab-fleet").text)
    check(b.css(".leaflet-control-zoom-in").get_attribute("title") == "放大",
          "the map's zoom button in Chinese: %r",
          b.css(".leaflet-control-zoom-in").get_attribute("title"))
    b.wait("the live feed is up", lambda: "up" in b.css("#live").get_attribute("class"))
    # The page's clock is the server's (the Date of its replies), whatever the browser's:
    # under LPG_TEST_CLOCK the browser runs on the real clock, this test and dispatchd on the
    # faked one.
    page_now = b.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/console/util.js').then((m) => done(m.now())).catch((e) => done(String(e)));")
    check(isinstance(page_now, (int, float)) and abs(page_now - time.time() * 1000) < 5000,
          "the page's clock %r is not the server's (%d)", page_now, time.time() * 1000)

    say("v-101 reports a position, then another: the map follows the live feed")
    v = dataset.FLEET[0]
    with HandsetClient("127.0.0.1", stack.handset_port, timeout=30) as hs:
        hs.login(v["device"], secrets[v["device"]])
        drive = Drive(hs, dataset.depot(v))
        drive.fix(0)
        b.wait("v-101 at the depot", lambda: vehicle_at(b, "v-101", drive.lat, drive.lon))
        b.shot("fleet-before")
        lon0, lat0 = drive.lon, drive.lat
        deliver(b, drive, admin, dataset, v)
        say("v-101 moved from %.7f,%.7f to %.7f,%.7f", lat0, lon0, drive.lat, drive.lon)
    say("a station's name with markup shows as text in its tooltip")
    from selenium.webdriver.common.action_chains import ActionChains

    def tooltip_shows_text():
        for path in b.csss("path.lpg-station"):
            ActionChains(b.driver).move_to_element(path).perform()
            tips = [t.get_attribute("textContent") for t in b.csss(".leaflet-tooltip")]
            if any("lpg-injected" in tip for tip in tips):
                return True
        return False
    b.wait("the station's tooltip", tooltip_shows_text)
    check(not b.csss("#lpg-injected"), "a name's markup became an element of the page")
    b.click('li[data-vehicle-id="v-101"]')
    b.wait("v-101's details name its person",
           lambda: v["name"] in b.css("#vehicle-details").get_attribute("textContent"))
    b.shot("fleet")

    say("English and back")
    b.css("#lang-switch").click()
    b.wait("English labels", lambda: b.css("#tab-fleet").text == "Live fleet")
    check(b.css(".leaflet-control-zoom-in").get_attribute("title") == "Zoom in",
          "the map's zoom button in English: %r",
          b.css(".leaflet-control-zoom-in").get_attribute("title"))
    b.shot("fleet-en")
    b.css("#lang-switch").click()
    b.wait("Chinese labels", lambda: b.css("#tab-fleet").text == "实时车队")

    order_board(b, admin)
    alerts_and_hazards(b, admin)
    auditor_replay(b, admin)


def copy_for_docs(b, docs):
    if docs:
        os.makedirs(docs, exist_ok=True)
        for name in ["login", "fleet", "orders", "alerts", "replay"]:
            shutil.copy(os.path.join(b.out_dir, name + ".png"), os.path.join(docs, name + ".png"))
        say("screenshots for docs/console.md copied to %s", docs)


def show_view(b, name):
    b.css("#tab-" + name).click()
    b.wait("the %s view is ready" % name,
           lambda: b.css("#panel").get_attribute("data-view") == name and
           b.css("#panel").get_attribute("data-ready") == "true")


def order_board(b, admin):
    from selenium.webdriver.support.ui import Select
    say("order board: create an order for c-1101 and see it assigned")
    show_view(b, "orders")
    Select(b.css("#order-customer")).select_by_value("c-1101")
    Select(b.css("#order-spec")).select_by_value("YSP-35.5")
    b.css("#order-create").click()
    order_id = b.wait("the order is created",
                      lambda: b.css("#order-message").get_attribute("data-order-id"))
    card = '.col-assigned article[data-order-id="%s"]' % order_id
    b.wait("order %s on the board, assigned" % order_id, lambda: b.csss(card))
    b.wait("the card names the person", lambda: "Wang Wei" in b.css(card).get_attribute("textContent"))

    say("an order in the zone of the expired certificate waits, saying why")
    Select(b.css("#order-customer")).select_by_value("c-1801")
    b.css("#order-create").click()
    b.wait("a second order is created",
           lambda: b.css("#order-message").get_attribute("data-order-id") not in (None, order_id))
    waiting = '.col-created article[data-order-id="%s"]' % \
        b.css("#order-message").get_attribute("data-order-id")
    b.wait("the waiting order with its reason", lambda: b.csss(waiting))
    reason, original = b.wait("the waiting reason", lambda: (
        b.css(waiting + " .reason").get_attribute("textContent"),
        b.css(waiting + " .reason").get_attribute("title")))
    check("1 人从业资格证于 2026-10-01 过期" in reason and "区域 hlr-hedong-s：1 名人员" in reason,
          "the waiting reason in Chinese: %r", reason)
    check("qualification certificate expired 2026-10-01" in original,
          "the server's words as the title: %r", original)
    b.shot("orders")

    say("assign the waiting order: only Li Na's zone holds c-1801; her refusal, in Chinese")
    b.click(waiting)
    b.wait("its actions", lambda: b.csss(waiting + " .act-staff"))
    offered = [e.get_attribute("value") for e in b.csss(waiting + " .act-staff option")]
    check(offered == ["", "s-li"], "people offered for c-1801: %s", offered)
    Select(b.css(waiting + " .act-staff")).select_by_value("s-li")
    b.expected.append((r"/v1/orders/[^/]+/assign$", 422))
    b.click(waiting + " .act-assign")
    b.wait("the refusal not_eligible, translated",
           lambda: "not_eligible" in b.css("#order-message").text and
           "从业资格证于 2026-10-01 过期" in b.css("#order-message").text)

    say("a refused order: the API's refusal is shown in Chinese, then in English")
    b.expected.append((r"/v1/orders$", 422))
    Select(b.css("#order-customer")).select_by_value("c-1799")  # underground premises
    b.css("#order-create").click()
    b.wait("the refusal premises_underground is shown in Chinese",
           lambda: "premises_underground: 用户场所位于地下室，不得供气" in
           b.css("#order-message").text)
    check("error" in b.css("#order-message").get_attribute("class"), "refusal not as an error")
    title = b.css("#order-message").get_attribute("title")
    check("underground" in title, "the server's message as the title: %r", title)
    switch_language(b, "en")
    b.wait("the refusal in English",
           lambda: "premises_underground: the premises are underground: no LPG supply" in
           b.css("#order-message").text)
    switch_language(b, "zh")
    b.wait("the refusal in Chinese again",
           lambda: "用户场所位于地下室" in b.css("#order-message").text)

    say("cancel the order with a reason")
    b.click(card)
    b.wait("its actions", lambda: b.csss(card + " .act-cancel"))
    b.expected.append((r"/v1/orders/[^/]+/cancel$", 400))
    b.click(card + " .act-cancel")  # without a reason: refused by the API
    b.wait("a reason is required",
           lambda: "missing_field" in b.css("#order-message").text)
    b.css(card + " .act-reason").send_keys("customer cancelled by phone")
    # An order created elsewhere redraws the board from the live feed: what was typed stays.
    status, other = admin.call("POST", "/v1/orders", {
        "enterprise_id": "hlr-gas", "customer_id": "c-1102",
        "items": [{"spec": "YSP-35.5", "count": 1}]})
    check(status == 201, "an order from elsewhere: %d %s", status, other)
    b.wait("the board redrawn with it", lambda: b.csss('article[data-order-id="%s"]' % other["id"]))
    typed = b.wait("the reason typed", lambda: b.css(card + " .act-reason").get_attribute("value"))
    check(typed == "customer cancelled by phone", "the typed reason after a redraw: %r", typed)
    b.click(card + " .act-cancel")
    b.wait("order %s cancelled" % order_id,
           lambda: b.csss('.col-final article[data-order-id="%s"][data-state="cancelled"]' %
                          order_id))


def switch_language(b, code):
    """Switches the page to zh or en with the header's button and waits for the labels."""
    tab = {"zh": "实时车队", "en": "Live fleet"}[code]
    if b.css("#tab-fleet").text != tab:
        b.css("#lang-switch").click()
    b.wait("%s labels" % code, lambda: b.css("#tab-fleet").text == tab)


def alerts_and_hazards(b, admin):
    say("alerts: v-101's overspeed, its text in Chinese and English, acknowledged with a note")
    show_view(b, "alerts")
    row = 'tr.alert-row[data-rule="overspeed"].kind-violation_start'
    b.wait("the overspeed alert is listed", lambda: b.csss(row))
    alert_id = b.wait("its id", lambda: b.css(row).get_attribute("data-alert-id"))
    one = 'tr[data-alert-id="%s"]' % alert_id
    status, resp = admin.call("GET", "/v1/alerts?vehicle_id=v-101&rule=overspeed")
    alert = [a for a in resp.get("items", []) if a["id"] == alert_id] if status == 200 else []
    check(len(alert) == 1, "alert %s by the API: %d %s", alert_id, status, resp)
    a = alert[0]
    figures = (a["max_speed_kmh"], a["limit_kmh"], a["duration_ms"] / 1000.0)
    zh = "超速：%.1f km/h，超过 %.0f km/h 限速 %.1f 秒" % figures
    en = "overspeed: %.1f km/h over the %.0f km/h limit for %.1f s" % figures
    cell = one + " td.alert-text"
    b.wait("the alert's text in Chinese", lambda: b.css(cell).text == zh)
    check(b.css(cell).get_attribute("title") == a["message"],
          "the server's message as the title: %r", b.css(cell).get_attribute("title"))
    switch_language(b, "en")
    b.wait("the alert's text in English", lambda: b.css(cell).text == en)
    switch_language(b, "zh")
    b.wait("the alert's text in Chinese again", lambda: b.css(cell).text == zh)
    b.css(one + " .ack-note").send_keys("called Wang Wei: slowed down")
    b.click(one + " .ack-send")
    b.wait("the alert shows its acknowledgement",
           lambda: "called Wang Wei: slowed down" in b.css(one).get_attribute("textContent") and
           "acked" in b.css(one).get_attribute("class"))
    b.shot("alerts")

    say("hazard ledger: open, overdue, closed")
    show_view(b, "hazards")
    b.css("#hazards-closed").click()
    b.wait("the closed notices are listed",
           lambda: b.css("#hazard-table").get_attribute("data-status") == "closed")


def limit_line_is_the_servers(b, admin):
    """The replay's limit at each fix (console/speed_limit.js) is the one the server's overspeed
    rule applied: the lowest of it during the episode is the alert's limit_kmh, 70 on the
    expressway; 60 at the depot, before it. Then speed_limit.js's point-in-polygon on its own:
    holes and multipolygons, boundaries inside, and the rule's cases."""
    # The slider's clock names the limit and the time of the fix at the cursor: every fix's.
    per_fix = b.driver.execute_script(
        "const s = document.getElementById('replay-slider'), c = document.getElementById("
        "'replay-clock'), out = [], keep = s.value;"
        "for (let i = 0; i <= Number(s.max); i++) { s.value = String(i);"
        " s.dispatchEvent(new Event('input')); out.push([Number(c.dataset.time),"
        " Number(c.dataset.limit)]); }"
        "s.value = keep; s.dispatchEvent(new Event('input')); return out;")
    status, resp = admin.call("GET", "/v1/alerts?vehicle_id=v-101&rule=overspeed")
    ends = [a for a in resp.get("items", []) if a["kind"] == "violation_end"]
    check(status == 200 and len(ends) == 1, "v-101's overspeed episode: %d %s", status, resp)

    def ms(iso):
        return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    start, end = ms(ends[0]["start"]), ms(ends[0]["end"])
    inside = [lim for t, lim in per_fix if start <= t <= end]
    check(len(inside) >= 3 and min(inside) == ends[0]["limit_kmh"] == 70,
          "the chart's limits during the episode %s, the alert's limit %r", inside,
          ends[0]["limit_kmh"])
    check(per_fix[0][1] == 60 and per_fix[0][0] < start,
          "the chart's limit at the depot %r (the road's, 60)", per_fix[0])
    got = b.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/console/speed_limit.js').then((m) => {
          const sq = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
          const holed = { type: 'Polygon', coordinates: [sq(0, 0, 10, 10), sq(4, 4, 6, 6)] };
          const multi = { type: 'MultiPolygon', coordinates: [[sq(0, 0, 1, 1)], [sq(5, 5, 6, 6)]] };
          const cfg = { speed_limit_road_kmh: 60, speed_limit_expressway_kmh: 80 };
          const z = (id, shape, lim, ew) => ({ id, shape, speed_limit_kmh: lim, expressway: ew });
          const town = z('a', holed, 40, false), way = z('b', multi, 0, true);
          done([m.shapeContains(holed, 2, 2), m.shapeContains(holed, 5, 5),
                m.shapeContains(holed, 4, 5), m.shapeContains(holed, 10, 3),
                m.shapeContains(holed, 11, 3), m.shapeContains(multi, 5.5, 5.5),
                m.shapeContains(multi, 3, 3),
                m.limitAt([town, way], 0, cfg, 2, 2), m.limitAt([town, way], 0, cfg, 5.5, 5.5),
                m.limitAt([town, way], 0, cfg, 0.5, 0.5), m.limitAt([town, way], 0, cfg, 20, 20),
                m.limitAt([town, way], 50, cfg, 0.5, 0.5), m.limitAt([z('c', holed, 0, false)],
                0, cfg, 2, 2)]);
        }).catch((e) => done(String(e)));""")
    check(got == [True, False, True, True, False, True, False, 40, 80, 80, 60, 50, 60],
          "speed_limit.js: %r", got)


def auditor_replay(b, admin):
    say("log out; an auditor replays v-101's day and reads the overspeed episode on the chart")
    b.css("#logout").click()
    b.wait("the login form again", lambda: b.css("#login-view").is_displayed())
    status, resp = admin.call("POST", "/v1/users", {"name": "demo-auditor", "role": "auditor",
                                                    "password": AUDITOR_PASSWORD})
    check(status == 201, "create the auditor: %d %s", status, resp)
    # The local day (UTC+8) of the overspeed episode: the day to replay, whatever the hour.
    status, resp = admin.call("GET", "/v1/alerts?vehicle_id=v-101&rule=overspeed")
    check(status == 200 and resp["items"], "v-101's overspeed alerts: %d %s", status, resp)
    end_ms = int(datetime.datetime.fromisoformat(
        resp["items"][0]["end"].replace("Z", "+00:00")).timestamp() * 1000)
    day = datetime.datetime.utcfromtimestamp((end_ms + 8 * 3600 * 1000) / 1000).strftime("%Y-%m-%d")
    log_in(b, "demo-auditor", AUDITOR_PASSWORD, "replay")
    tabs = [e.get_attribute("id") for e in b.csss("#tabs button")]
    check(tabs == ["tab-replay", "tab-alerts", "tab-hazards"], "auditor's tabs %s", tabs)
    from selenium.webdriver.support.ui import Select
    Select(b.css("#replay-vehicle")).select_by_value("v-101")
    b.driver.execute_script("document.getElementById('replay-day').value = arguments[0]", day)
    b.css("#replay-load").click()
    b.wait("the speed chart with an overspeed episode",
           lambda: int(b.css("#speed-chart").get_attribute("data-episodes") or 0) >= 1)
    check(b.css("#speed-chart").get_attribute("data-limit") == "70" and
          b.css("#speed-chart").get_attribute("data-limits") == "60,70",
          "limit line at %r, levels %r", b.css("#speed-chart").get_attribute("data-limit"),
          b.css("#speed-chart").get_attribute("data-limits"))
    limit_line_is_the_servers(b, admin)
    text = b.css("#replay-overspeed").text
    check("80.0" in text, "the overspeed episode's maximum in %r", text)
    check(int(b.css("#replay-out").get_attribute("data-fixes")) >= 9, "fixes of the day: %s",
          b.css("#replay-out").get_attribute("data-fixes"))
    b.wait("the cylinder handed over, with its passing check",
           lambda: b.csss('#replay-checks li.ok[data-cylinder="CY-CONSOLE-0001"]'))
    check(b.csss("path.lpg-check.passed"), "the safety check is not on the map")
    check(b.css("#replay-chain").get_attribute("data-ok") == "true", "the audit chain: %r",
          b.css("#replay-chain").text)
    check(all("ok" == li.get_attribute("class") for li in b.csss("#replay-verify li")),
          "a route day does not verify: %r", b.css("#replay-verify").text)
    say("export the day as GPX")
    gpx = os.path.join(b.out_dir, "v-101-%s.gpx" % day)
    if os.path.exists(gpx):  # an earlier run's
        os.remove(gpx)
    b.css("#export-gpx").click()
    b.wait("the GPX file is downloaded", lambda: os.path.exists(gpx) and
           "</gpx>" in open(gpx, encoding="utf-8").read())
    b.css("#replay-play").click()
    b.wait("play moves the slider", lambda: int(b.css("#replay-slider").get_attribute("value")) > 0)
    b.wait("the replay ends", lambda: b.css("#replay-play").text == "播放", timeout=60)
    b.shot("replay")

    say("the auditor reads alerts without acknowledging")
    show_view(b, "alerts")
    b.wait("the alerts are listed", lambda: b.csss("tr.alert-row"))
    check(not b.csss(".ack-form"), "an auditor is offered an acknowledgement")

    say("a reload asks for the login again: the token lived in the page's memory only")
    b.driver.refresh()
    b.wait("the page is ready again", lambda: b.css("body").get_attribute("data-ready") == "true")
    check(b.css("#login-view").is_displayed() and not b.css("#app").is_displayed(),
          "after a reload the console is open without a login")
    stored = b.driver.execute_script(
        "return JSON.stringify([Object.keys(sessionStorage), Object.keys(localStorage), "
        "document.cookie])")
    check("token" not in stored.lower() and "bearer" not in stored.lower(),
          "something token-like is stored in the browser: %s", stored)

    say("an admin has every view")
    log_in(b, "root", ADMIN_PASSWORD, "fleet")
    tabs = [e.get_attribute("id") for e in b.csss("#tabs button")]
    check(tabs == ["tab-fleet", "tab-orders", "tab-replay", "tab-alerts", "tab-hazards"],
          "admin's tabs %s", tabs)
    b.wait("the admin sees the demo fleet", lambda: len(b.csss("li[data-vehicle-id]")) >= 8)


def check_log(b):
    b.drain_log()
    def expected(e):
        m = re.match(r"(http://\S+) - Failed to load resource: the server responded with a "
                     r"status of (\d+)", e.get("message", ""))
        return m and any(re.search(path, m.group(1)) and int(m.group(2)) == status
                         for path, status in b.expected)
    bad = [e for e in b.log if e.get("level") in ("SEVERE", "ERROR") and not expected(e)]
    for e in b.log:
        say("browser log: %s %s", e.get("level"), e.get("message"))
    check(not bad, "the browser logged %d error(s): %s", len(bad),
          "; ".join(e.get("message", "") for e in bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dispatchd", required=True)
    ap.add_argument("--source", required=True, help="the source tree (console/, deploy/demo/)")
    ap.add_argument("--out", required=True, help="where the screenshots go")
    ap.add_argument("--docs", help="also copy the screenshots docs/console.md shows here")
    args = ap.parse_args()
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        print("SKIP: %s not installed (Debian chromium and chromium-driver; "
              "deploy/install-deps.sh installs them)" % " and ".join(missing))
        return SKIP
    source = os.path.abspath(args.source)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lpg-console-browser-")
    stack = Stack(os.path.abspath(args.dispatchd), tmp,
                  ["--console-dir=" + os.path.join(source, "console"),
                   "--events-position-interval=1", "--overspeed-duration=2"])
    b = None
    failure = None
    try:
        stack.start()
        b = Browser(os.path.abspath(args.out), os.path.join(tmp, "home"))
        base = "http://127.0.0.1:%d" % stack.http_port
        scenario(b, base, stack, source, args.docs)
        check_log(b)
        copy_for_docs(b, args.docs)  # only screenshots of a passing run
    except Exception as e:  # noqa: BLE001 -- any failure, with where it happened
        if not isinstance(e, TestFailure):
            traceback.print_exc()
        failure = "%s: %s" % (type(e).__name__, e)
        if b is not None:
            try:
                b.shot("failure")
                for entry in b.drain_log():
                    say("browser log: %s %s", entry.get("level"), entry.get("message"))
            except Exception:  # noqa: BLE001
                pass
    if b is not None:
        b.quit()
    return stack.finish(failure)


if __name__ == "__main__":
    sys.exit(main())
