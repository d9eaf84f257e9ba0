// replay.js -- the auditor's route replay: one vehicle's local day on the map with a time slider
// and play/pause, a speed chart with the limit line (the limit that applied at each fix, a step
// line: speed_limit.js) and the overspeed episodes shaded, the
// day's episodes (overspeed, fatigue, zone exit, ...) on a timeline, trips and stops, exports
// (GPX, GeoJSON, CSV), the cylinders handed over with their safety checks (on the map and
// listed) and the route days' verification against the audit record.

import * as api from './api.js';
import { L } from './map.js';
import { t, tOr } from './i18n.js';
import { alertText } from './alert_text.js';
import { h, textEl, clear, fmtTime, fmtClock, localDay, dayStartMs, now } from './util.js';
import { limitAt } from './speed_limit.js';

const SVG = 'http://www.w3.org/2000/svg';
const TIMELINE_RULES = ['overspeed', 'fatigue', 'zone_exit', 'signal_lost', 'unplanned_stop'];

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

// Episodes [start ms, end ms, alert] of a rule: a violation_end closes its violation_start.
function episodes(alerts, rule) {
  const out = [];
  const ends = alerts.filter((a) => a.rule === rule && a.kind === 'violation_end');
  for (const a of ends) out.push([Date.parse(a.start), Date.parse(a.end), a]);
  for (const a of alerts.filter((x) => x.rule === rule && x.kind === 'violation_start')) {
    const s = Date.parse(a.start);
    if (!ends.some((e) => Date.parse(e.start) === s)) out.push([s, Date.parse(a.end), a]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

export class ReplayView {
  constructor(ctx) {
    this.ctx = ctx;
    this.layer = L.layerGroup();
    this.fixes = [];
    this.timer = null;
  }

  async mount(panel) {
    this.panel = panel;
    this.layer.addTo(this.ctx.map);
    this.day = this.day || localDay(now());
    this.renderControls();
  }

  unmount() {
    this.gone = true; // a load still in flight must not draw into the next view's panel
    this.pause();
    this.layer.remove();
  }

  onEvent() {}

  render() {
    if (this.gone) return;
    this.renderControls();
    if (this.data) this.renderDay();
  }

  renderControls() {
    if (this.gone) return;
    const p = clear(this.panel);
    const vehicles = this.ctx.vehicles.slice().sort((a, b) => a.id.localeCompare(b.id));
    this.vehicleSel = h('select', { id: 'replay-vehicle' }, vehicles.map((v) => h('option', { value: v.id, selected: v.id === this.vehicleId }, `${v.plate || ''} (${v.id})`)));
    this.dayInput = h('input', { id: 'replay-day', type: 'date', value: this.day });
    p.append(
      h('h2', {}, t('tab_replay')),
      h(
        'form',
        { class: 'replay-form', onsubmit: (ev) => this.load(ev) },
        h('label', {}, t('vehicle'), ' ', this.vehicleSel),
        h('label', {}, t('day'), ' ', this.dayInput),
        h('button', { type: 'submit', id: 'replay-load' }, t('replay')),
      ),
      h('div', { id: 'replay-out' }),
    );
  }

  async load(ev) {
    ev.preventDefault();
    this.pause();
    this.vehicleId = this.vehicleSel.value;
    this.day = this.dayInput.value || localDay(now());
    const out = clear(this.panel.querySelector('#replay-out'));
    out.append(h('p', { class: 'muted' }, t('loading')));
    const from = dayStartMs(this.day);
    const range = `from=${new Date(from).toISOString()}&to=${new Date(from + 86400000).toISOString()}`;
    const id = encodeURIComponent(this.vehicleId);
    // The route days are UTC days: a local day touches two of them.
    const utcDays = [...new Set([new Date(from).toISOString().slice(0, 10), new Date(from + 86399999).toISOString().slice(0, 10)])];
    const [route, alerts, trips] = await Promise.all([
      api.get(`/v1/vehicles/${id}/route?${range}`),
      api.get(`/v1/alerts?vehicle_id=${id}&${range}&limit=500`),
      api.get(`/v1/vehicles/${id}/trips?${range}&min_stop_s=60`),
    ]);
    const verify = [];
    for (const d of utcDays) {
      try {
        verify.push(await api.get(`/v1/vehicles/${id}/route/verify?date=${d}`));
      } catch (e) {
        verify.push({ date: d, error: e.message });
      }
    }
    const checks = await this.checksOfDay(id, from);
    // The whole audit chain, for an auditor without a jurisdiction (403 for the others).
    let chain;
    try {
      chain = await api.get('/v1/audit/verify');
    } catch (e) {
      chain = { error: e.status === 403 ? t('chain_not_yours') : e.message };
    }
    this.data = { route, alerts: alerts.items, trips, verify, range, checks, chain };
    // The limit at each fix, as the overspeed rule took it: where the fix is (the enterprise's
    // zones), the road class (config.json) and the vehicle's own limit.
    const vehicle = this.ctx.vehicles.find((v) => v.id === this.vehicleId);
    const vehicleLimit = (vehicle && vehicle.speed_limit_kmh) || 0;
    const config = this.ctx.config || {};
    this.fixes = route.fixes.map((f) => ({ ...f, ms: Date.parse(f.time), limit: limitAt(this.ctx.zones || [], vehicleLimit, config, f.lon, f.lat) }));
    this.index = 0;
    this.drawMap();
    this.renderDay();
  }

  // The safety checks (one per cylinder handed over) of the orders the vehicle carried that
  // changed during the day: GET /v1/orders?vehicle_id=, then each one's checks (at most 50).
  async checksOfDay(id, from) {
    const orders = (await api.get(`/v1/orders?vehicle_id=${id}&limit=1000`)).items.filter((o) => {
      const ms = Date.parse(o.updated_at);
      return ms >= from && ms < from + 86400000;
    });
    const lists = await Promise.all(orders.slice(0, 50).map((o) => api.get(`/v1/orders/${encodeURIComponent(o.id)}/checks`)));
    return lists
      .flatMap((l) => l.items || [])
      .filter((c) => {
        const ms = Date.parse(c.time);
        return ms >= from && ms < from + 86400000;
      })
      .sort((x, y) => Date.parse(x.time) - Date.parse(y.time));
  }

  drawMap() {
    this.layer.clearLayers();
    const pts = this.fixes.map((f) => [f.lat, f.lon]);
    if (!pts.length) return;
    const line = L.polyline(pts, { className: 'lpg-track' }).addTo(this.layer);
    this.ctx.map.fitBounds(line.getBounds(), { padding: [30, 30], maxZoom: 17 });
    for (const item of this.data.trips.items || []) {
      if (item.type === 'stop' && item.position)
        L.circleMarker([item.position.lat, item.position.lon], { radius: 5, className: 'lpg-stop' })
          .bindTooltip(textEl(`${t('stops')}: ${fmtClock(item.start)}–${fmtClock(item.end)}`))
          .addTo(this.layer);
    }
    for (const a of this.data.alerts) {
      if (a.position && a.kind !== 'violation_end')
        L.circleMarker([a.position.lat, a.position.lon], { radius: 6, className: 'lpg-alert' })
          .bindTooltip(h('span', { title: a.message }, `${tOr(`rule_${a.rule}`, a.rule)} ${fmtClock(a.end)}: ${alertText(a)}`))
          .addTo(this.layer);
    }
    for (const c of this.data.checks) {
      if (c.position)
        L.circleMarker([c.position.lat, c.position.lon], { radius: 6, className: `lpg-check ${c.passed ? 'passed' : 'failed'}` })
          .bindTooltip(textEl(this.checkText(c)))
          .addTo(this.layer);
    }
    this.cursor = L.circleMarker(pts[0], { radius: 8, className: 'lpg-vehicle vs-moving' }).addTo(this.layer);
  }

  renderDay() {
    if (this.gone) return;
    const out = clear(this.panel.querySelector('#replay-out'));
    const { alerts, trips, verify } = this.data;
    const n = this.fixes.length;
    out.dataset.fixes = String(n);
    if (!n) {
      out.append(h('p', {}, t('no_route')));
    } else {
      this.slider = h('input', { id: 'replay-slider', type: 'range', min: '0', max: String(n - 1), value: String(this.index), oninput: () => this.seek(Number(this.slider.value)) });
      this.playBtn = h('button', { type: 'button', id: 'replay-play', onclick: () => (this.timer ? this.pause() : this.play()) }, t('play'));
      this.clock = h('span', { id: 'replay-clock' });
      out.append(h('p', {}, t('fixes', n)), h('div', { class: 'replay-controls' }, this.playBtn, this.slider, this.clock));
      out.append(this.chart(), this.timeline());
      this.seek(this.index);
    }
    const over = episodes(alerts, 'overspeed');
    out.append(
      h('p', { id: 'replay-overspeed' }, t('overspeed_episodes', over.length ? over.map(([s, e, a]) => `${fmtClock(s)}–${fmtClock(e)} (${a.max_speed_kmh != null ? t('kmh', a.max_speed_kmh.toFixed(1)) : ''})`).join('; ') : t('none'))),
      h('h3', {}, `${t('trips')} / ${t('stops')}`),
      h('ul', { class: 'trips' }, (trips.items || []).map((i) => h('li', {}, `${i.type === 'trip' ? t('trips') : t('stops')} ${fmtClock(i.start)}–${fmtClock(i.end)}${i.type === 'trip' ? ` · ${(i.distance_m / 1000).toFixed(2)} km · ${t('kmh', (i.max_speed_kmh || 0).toFixed(0))}` : ''}`))),
      h('h3', {}, t('handovers')),
      h('ul', { id: 'replay-checks', dataset: { count: this.data.checks.length } }, this.data.checks.length ? this.data.checks.map((c) => h('li', { class: c.passed ? 'ok' : 'bad', dataset: { cylinder: c.cylinder_id || '' } }, this.checkText(c))) : h('li', { class: 'muted' }, t('none'))),
      h('h3', {}, t('export')),
      h('div', { class: 'exports' }, ['gpx', 'geojson', 'csv'].map((f) => h('button', { type: 'button', id: `export-${f}`, onclick: () => this.download(f) }, f.toUpperCase()))),
      h('h3', {}, t('verify')),
      h('p', { id: 'replay-chain', class: this.data.chain.ok ? 'ok' : 'bad', dataset: { ok: String(Boolean(this.data.chain.ok)) } }, `${t('audit_chain')}: ${this.data.chain.error ? this.data.chain.error : this.data.chain.ok ? t('chain_ok', this.data.chain.checked) : t('chain_bad', this.data.chain.first_broken_seq, this.data.chain.reason)}`),
      h('ul', { id: 'replay-verify' }, verify.map((v) => h('li', { class: v.ok ? 'ok' : 'bad' }, `${v.date} (UTC): ${v.error ? v.error : v.ok ? t('verify_ok') : `${t('verify_bad')}: ${v.first_difference ? v.first_difference.what : ''}`}${v.fixes != null ? ` · ${t('fixes', v.fixes)}` : ''}`))),
    );
  }

  checkText(c) {
    const customer = this.ctx.customers.find((x) => x.id === c.customer_id);
    return `${fmtClock(c.time)} ${c.cylinder_id || t('reinspection')} → ${customer ? customer.name : c.customer_id} · ${t('check')}: ${c.passed ? t('check_passed') : t('check_failed')} (${c.order_id})`;
  }

  // Speed against time: the limit at each fix as a red step line, overspeed episodes shaded.
  // data-limit is the highest limit of the day, data-limits its levels (ascending).
  chart() {
    const W = 640, H = 170, PAD = 30;
    const f = this.fixes;
    const t0 = f[0].ms, t1 = Math.max(f[f.length - 1].ms, t0 + 1000);
    const levels = [...new Set(f.map((p) => p.limit))].sort((a, b) => a - b);
    const limit = levels[levels.length - 1];
    const vmax = Math.max(limit * 1.25, ...f.map((x) => x.speed_kmh || 0)) * 1.05;
    const x = (ms) => PAD + ((ms - t0) / (t1 - t0)) * (W - 2 * PAD);
    const y = (v) => H - PAD - (v / vmax) * (H - 2 * PAD);
    const over = episodes(this.data.alerts, 'overspeed');
    const el = svg('svg', { id: 'speed-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, 'data-limit': limit, 'data-limits': levels.join(','), 'data-episodes': over.length });
    for (const [s, e] of over) {
      const xs = x(Math.max(s, t0)), xe = x(Math.min(e, t1));
      el.append(svg('rect', { class: 'episode', x: xs, y: PAD, width: Math.max(2, xe - xs), height: H - 2 * PAD }));
    }
    el.append(svg('line', { class: 'axis', x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD }));
    el.append(svg('line', { class: 'axis', x1: PAD, y1: PAD, x2: PAD, y2: H - PAD }));
    // A step: a limit holds from its fix to the next one.
    const steps = [];
    f.forEach((p, i) => {
      if (i > 0 && p.limit !== f[i - 1].limit) steps.push(`${x(p.ms).toFixed(1)},${y(f[i - 1].limit).toFixed(1)}`);
      steps.push(`${x(p.ms).toFixed(1)},${y(p.limit).toFixed(1)}`);
    });
    if (f.length === 1) steps.push(`${(W - PAD).toFixed(1)},${y(f[0].limit).toFixed(1)}`);
    el.append(svg('polyline', { class: 'limit', points: steps.join(' ') }));
    const label = svg('text', { class: 'label', x: W - PAD, y: y(limit) - 4, 'text-anchor': 'end' });
    label.textContent = `${t('limit')} ${levels.join(' / ')}`;
    el.append(label);
    for (const v of [0, Math.round(vmax / 2)]) {
      const tick = svg('text', { class: 'label', x: PAD - 4, y: y(v) + 4, 'text-anchor': 'end' });
      tick.textContent = String(v);
      el.append(tick);
    }
    for (const ms of [t0, t1]) {
      const tick = svg('text', { class: 'label', x: x(ms), y: H - PAD + 14, 'text-anchor': ms === t0 ? 'start' : 'end' });
      tick.textContent = fmtClock(ms);
      el.append(tick);
    }
    el.append(svg('polyline', { class: 'speed', points: f.map((p) => `${x(p.ms).toFixed(1)},${y(p.speed_kmh || 0).toFixed(1)}`).join(' ') }));
    this.chartCursor = svg('line', { class: 'cursor', x1: PAD, y1: PAD, x2: PAD, y2: H - PAD });
    el.append(this.chartCursor);
    this.chartX = x;
    return h('figure', { class: 'chart-box' }, el, h('figcaption', {}, t('speed_chart')));
  }

  // One row per rule with episodes that day, on the chart's time axis.
  timeline() {
    const W = 640, PAD = 30, ROW = 16;
    const f = this.fixes;
    const t0 = f[0].ms, t1 = Math.max(f[f.length - 1].ms, t0 + 1000);
    const rules = TIMELINE_RULES.filter((r) => this.data.alerts.some((a) => a.rule === r));
    const el = svg('svg', { id: 'episode-timeline', class: 'chart', viewBox: `0 0 ${W} ${Math.max(1, rules.length) * ROW + 4}` });
    rules.forEach((rule, i) => {
      const name = svg('text', { class: 'label', x: 2, y: i * ROW + 12 });
      name.textContent = tOr(`rule_${rule}`, rule);
      el.append(name);
      for (const [s, e] of episodes(this.data.alerts, rule)) {
        const xs = PAD + 60 + ((Math.max(s, t0) - t0) / (t1 - t0)) * (W - 2 * PAD - 60);
        const xe = PAD + 60 + ((Math.min(e, t1) - t0) / (t1 - t0)) * (W - 2 * PAD - 60);
        el.append(svg('rect', { class: `episode rule-${rule}`, x: xs, y: i * ROW + 2, width: Math.max(2, xe - xs), height: ROW - 4 }));
      }
    });
    return h('figure', { class: 'chart-box' }, el, h('figcaption', {}, t('episodes')));
  }

  seek(i) {
    const f = this.fixes[i];
    if (!f) return;
    this.index = i;
    if (this.slider) this.slider.value = String(i);
    if (this.cursor) this.cursor.setLatLng([f.lat, f.lon]);
    if (this.chartCursor) {
      const x = this.chartX(f.ms).toFixed(1);
      this.chartCursor.setAttribute('x1', x);
      this.chartCursor.setAttribute('x2', x);
    }
    if (this.clock) {
      this.clock.textContent = `${fmtTime(f.ms)} · ${t('kmh', (f.speed_kmh || 0).toFixed(1))} · ${t('limit')} ${f.limit}`;
      this.clock.dataset.limit = String(f.limit);
      this.clock.dataset.time = String(f.ms);
    }
  }

  play() {
    if (this.index >= this.fixes.length - 1) this.seek(0);
    const step = Math.max(1, Math.round(this.fixes.length / 300)); // about 30 s for a day
    this.timer = setInterval(() => {
      if (this.index >= this.fixes.length - 1) this.pause();
      else this.seek(Math.min(this.fixes.length - 1, this.index + step));
    }, 100);
    this.playBtn.textContent = t('pause');
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.playBtn) this.playBtn.textContent = t('play');
  }

  // The export in the chosen format, through the API (the token cannot go in a link).
  async download(format) {
    try {
      const resp = await fetch(`/v1/vehicles/${encodeURIComponent(this.vehicleId)}/route?${this.data.range}&format=${format}`, {
        headers: { Authorization: `Bearer ${api.currentToken()}` },
      });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const url = URL.createObjectURL(await resp.blob());
      const a = h('a', { href: url, download: `${this.vehicleId}-${this.day}.${format === 'geojson' ? 'geojson' : format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      this.ctx.toast(e.message);
    }
  }
}
