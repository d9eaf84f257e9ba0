// fleet.js -- the dispatcher's live fleet: every vehicle of the enterprise on the map and in a
// list, moved by the live feed's position events, coloured by state; a click shows the person,
// load, order, open alerts and rest. The board (GET /v1/fleet) is read at start and again
// whenever an order or alert event may have changed a vehicle's state.

import * as api from './api.js';
import { L } from './map.js';
import { t, tOr } from './i18n.js';
import { alertText } from './alert_text.js';
import { h, textEl, clear, fmtTime, dayStartMs, localDay, now } from './util.js';

// The colour class of a vehicle: offline, resting, open alert, or its order's stage.
export function vehicleState(v, alertCount) {
  if (v.rest_until && Date.parse(v.rest_until) > now()) return 'resting';
  if (!v.online) return 'offline';
  if (alertCount > 0) return 'alert';
  const s = v.order && v.order.state;
  if (!s) return 'idle';
  if (s === 'assigned' || s === 'accepted') return 'assigned';
  if (s === 'arrived') return 'arrived';
  return 'moving'; // loaded, en_route
}

export class FleetView {
  constructor(ctx) {
    this.ctx = ctx; // {enterpriseId, map, staff: Map id -> person}
    this.vehicles = new Map(); // id -> board item
    this.markers = new Map(); // id -> L.circleMarker
    this.openAlerts = new Map(); // vehicle id -> count of open alerts seen
    this.selected = null;
    this.layer = L.layerGroup();
    this.refreshTimer = null;
  }

  async mount(panel) {
    this.panel = panel;
    this.layer.addTo(this.ctx.map);
    await this.reload();
  }

  unmount() {
    this.gone = true; // a load still in flight must not draw into the next view's panel
    this.layer.remove();
    clearTimeout(this.refreshTimer);
  }

  async reload() {
    const items = await api.listAll(`/v1/fleet?enterprise_id=${encodeURIComponent(this.ctx.enterpriseId)}`);
    await this.loadOpenAlerts();
    this.vehicles = new Map(items.map((v) => [v.vehicle_id, v]));
    for (const v of items) this.placeMarker(v);
    this.render();
  }

  // Unacknowledged warnings and violations since the start of the local day.
  async loadOpenAlerts() {
    const from = new Date(dayStartMs(localDay(now()))).toISOString();
    const data = await api.get(
      `/v1/alerts?enterprise_id=${encodeURIComponent(this.ctx.enterpriseId)}&from=${from}&limit=500`,
    );
    this.openAlerts = new Map();
    for (const a of data.items) {
      if (a.acknowledged_at || a.kind === 'violation_end' || !a.vehicle_id) continue;
      this.openAlerts.set(a.vehicle_id, (this.openAlerts.get(a.vehicle_id) || 0) + 1);
    }
  }

  placeMarker(v) {
    const state = vehicleState(v, this.openAlerts.get(v.vehicle_id) || 0);
    let m = this.markers.get(v.vehicle_id);
    if (!v.position) {
      if (m) m.remove();
      this.markers.delete(v.vehicle_id);
      return;
    }
    const at = [v.position.lat, v.position.lon];
    if (!m) {
      m = L.circleMarker(at, { radius: 8, className: `lpg-vehicle vs-${state}` });
      m.bindTooltip(textEl(v.plate || v.vehicle_id), { permanent: false });
      m.on('click', () => this.select(v.vehicle_id));
      m.addTo(this.layer);
      this.markers.set(v.vehicle_id, m);
    } else {
      m.setLatLng(at);
    }
    const path = m.getElement();
    if (path) path.setAttribute('class', `leaflet-interactive lpg-vehicle vs-${state}`);
  }

  onEvent(type, data) {
    if (type === 'position') {
      const v = this.vehicles.get(data.vehicle_id);
      if (!v) return;
      v.position = {
        lat: data.lat,
        lon: data.lon,
        speed_kmh: data.speed_kmh,
        heading: data.heading,
        time: data.time,
      };
      v.online = true;
      if (data.driver_id) v.person_id = data.driver_id;
      this.placeMarker(v);
      this.renderRow(v);
      if (this.selected === v.vehicle_id) this.renderDetails();
    } else if (type === 'order' || type === 'alert' || type === 'reset') {
      // The board has the orders' and rests' effect on each vehicle: read it again, at most
      // once a second however many events come.
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.reload().catch(() => {}), 1000);
    }
  }

  render() {
    if (this.gone) return;
    const p = clear(this.panel);
    p.append(
      h('h2', {}, t('vehicles')),
      h(
        'div',
        { class: 'legend' },
        ['idle', 'assigned', 'moving', 'arrived', 'alert', 'resting', 'offline'].map((s) =>
          h('span', { class: `chip vs-${s}` }, t(`vs_${s}`)),
        ),
      ),
    );
    this.details = h('div', { class: 'details', id: 'vehicle-details' });
    p.append(this.details);
    this.list = h('ul', { class: 'vehicle-list', id: 'vehicle-list' });
    const sorted = [...this.vehicles.values()].sort((a, b) => a.vehicle_id.localeCompare(b.vehicle_id));
    for (const v of sorted) this.list.append(this.row(v));
    p.append(this.list);
    this.renderDetails();
  }

  row(v) {
    const state = vehicleState(v, this.openAlerts.get(v.vehicle_id) || 0);
    const pos = v.position;
    const person = this.ctx.staff.get(v.person_id);
    return h(
      'li',
      {
        class: `vehicle vs-${state}${this.selected === v.vehicle_id ? ' selected' : ''}`,
        dataset: {
          vehicleId: v.vehicle_id,
          state,
          lat: pos ? pos.lat : '',
          lon: pos ? pos.lon : '',
          time: pos ? pos.time : '',
        },
        onclick: () => this.select(v.vehicle_id),
      },
      h('span', { class: `chip vs-${state}` }, t(`vs_${state}`)),
      h('b', {}, v.plate || v.vehicle_id),
      ' ',
      person ? person.name : v.person_id || '',
      ' ',
      h('span', { class: 'muted' }, pos ? `${t('kmh', (pos.speed_kmh ?? 0).toFixed(0))} · ${fmtTime(pos.time).slice(11)}` : t('no_position')),
    );
  }

  renderRow(v) {
    if (!this.list) return;
    const old = this.list.querySelector(`li[data-vehicle-id="${CSS.escape(v.vehicle_id)}"]`);
    if (old) old.replaceWith(this.row(v));
  }

  async select(id) {
    this.selected = id;
    for (const li of this.list.querySelectorAll('li.vehicle'))
      li.classList.toggle('selected', li.dataset.vehicleId === id);
    const v = this.vehicles.get(id);
    if (v && v.position) this.ctx.map.panTo([v.position.lat, v.position.lon]);
    this.alertsOfSelected = null;
    this.renderDetails();
    try {
      const from = new Date(dayStartMs(localDay(now()))).toISOString();
      const data = await api.get(`/v1/alerts?vehicle_id=${encodeURIComponent(id)}&from=${from}&limit=500`);
      if (this.selected !== id) return;
      this.alertsOfSelected = data.items.filter((a) => !a.acknowledged_at && a.kind !== 'violation_end');
      this.renderDetails();
    } catch (e) {
      this.ctx.toast(e.message);
    }
  }

  renderDetails() {
    if (this.gone) return;
    if (!this.details) return;
    const d = clear(this.details);
    const v = this.vehicles.get(this.selected);
    if (!v) return;
    const person = this.ctx.staff.get(v.person_id);
    const pos = v.position;
    const rows = [
      [t('plate'), `${v.plate || ''} (${v.vehicle_id})`],
      [t('person'), person ? `${person.name} (${person.id})` : v.person_id || t('none')],
      [t('state'), `${v.online ? t('online') : t('offline')}${v.source ? ` · ${tOr(`src_${v.source}`, v.source)}` : ''}`],
      [t('last_fix'), pos ? `${fmtTime(pos.time)} · ${pos.lat.toFixed(5)}, ${pos.lon.toFixed(5)}` : t('no_position')],
      [t('speed'), pos && pos.speed_kmh != null ? t('kmh', pos.speed_kmh.toFixed(1)) : '—'],
      [t('load'), t('cylinders', v.cylinders_aboard ?? 0)],
      [t('order'), v.order ? `${v.order.id} · ${tOr(`st_${v.order.state}`, v.order.state)}` : t('none')],
      [t('rest_until'), v.rest_until ? fmtTime(v.rest_until) : t('none')],
    ];
    d.append(
      h('h3', {}, v.plate || v.vehicle_id),
      h('dl', {}, rows.map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)])),
      h('h4', {}, t('open_alerts')),
    );
    if (this.alertsOfSelected === null) d.append(h('p', { class: 'muted' }, t('loading')));
    else if (!this.alertsOfSelected || this.alertsOfSelected.length === 0) d.append(h('p', {}, t('none')));
    else
      d.append(
        h(
          'ul',
          { class: 'alert-list' },
          this.alertsOfSelected
            .slice()
            .reverse()
            .map((a) => h('li', { class: `alert kind-${a.kind}`, title: a.message }, `${fmtTime(a.end)} ${tOr(`rule_${a.rule}`, a.rule)}: ${alertText(a)}`)),
        ),
      );
  }
}
