// orders.js -- the dispatcher's order board: a column per open state (waiting orders with the
// reason they wait, in the server's words), the day's finished orders, a form to create one,
// and the actions assign / unassign / cancel. The API's refusals are shown by their code in the
// page's language (console/refusals.js), the server's message as the title; the board follows the
// live feed's order events.

import * as api from './api.js';
import { t, tOr } from './i18n.js';
import { h, clear, fmtTime, dayStartMs, localDay, now } from './util.js';
import { reasonText } from './reasons.js';
import { refusalText } from './refusals.js';

const OPEN = ['created', 'assigned', 'accepted', 'loaded', 'en_route', 'arrived'];
const FINAL = ['delivered', 'failed', 'cancelled'];
const SPECS = ['YSP-4.7', 'YSP-12', 'YSP-26.2', 'YSP-35.5', 'YSP-118', 'YSP-118-II'];

// Whether {lon, lat} lies in a GeoJSON Polygon (outer ring, minus its holes): ray casting.
function inRing(pt, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > pt.lat !== yj > pt.lat && pt.lon < ((xj - xi) * (pt.lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function inPolygon(pt, shape) {
  if (!shape || shape.type !== 'Polygon' || !shape.coordinates.length) return false;
  const [outer, ...holes] = shape.coordinates;
  return inRing(pt, outer) && !holes.some((hole) => inRing(pt, hole));
}

export class OrdersView {
  constructor(ctx) {
    this.ctx = ctx;
    this.orders = new Map();
    this.timer = null;
    this.open = null; // id of the order whose action form is shown
  }

  async mount(panel) {
    this.panel = panel;
    await this.reload();
  }

  unmount() {
    this.gone = true; // a load still in flight must not draw into the next view's panel
    clearTimeout(this.timer);
  }

  async reload() {
    const items = await api.listAll(`/v1/orders?enterprise_id=${encodeURIComponent(this.ctx.enterpriseId)}`);
    this.orders = new Map(items.map((o) => [o.id, o]));
    this.render();
  }

  onEvent(type, data) {
    if (type === 'order' && data.order) {
      this.orders.set(data.order.id, data.order);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.renderBoard(), 200);
    } else if (type === 'reset') {
      this.reload().catch((e) => this.ctx.toast(e.message));
    }
  }

  // A refusal of the API, kept on screen until the next action (a toast may be missed).
  say(text, kind, title) {
    const el = this.panel.querySelector('#order-message');
    el.textContent = text;
    el.className = `message ${kind}`;
    el.title = title || '';
    this.refused = null;
  }

  // Kept so that a change of language shows it again, in the new language.
  refusal(e) {
    this.say(t('refused', refusalText(e)), 'error', e.message || '');
    this.refused = e;
  }

  render() {
    if (this.gone) return;
    const p = clear(this.panel);
    const customers = this.ctx.customers.slice().sort((a, b) => a.id.localeCompare(b.id));
    const form = h(
      'form',
      { class: 'new-order', id: 'new-order', onsubmit: (ev) => this.create(ev) },
      h('h2', {}, t('new_order')),
      h(
        'label',
        {},
        t('customer_id'),
        ' ',
        h('select', { id: 'order-customer', required: true }, customers.map((c) => h('option', { value: c.id }, `${c.name} (${c.id})`))),
      ),
      h('label', {}, t('spec'), ' ', h('select', { id: 'order-spec' }, SPECS.map((s) => h('option', { value: s, selected: s === 'YSP-35.5' }, s)))),
      h('label', {}, t('count'), ' ', h('input', { id: 'order-count', type: 'number', min: '1', max: '50', value: '1', required: true })),
      h('label', {}, t('notes'), ' ', h('input', { id: 'order-notes', maxlength: '511' })),
      h('button', { type: 'submit', id: 'order-create' }, t('create')),
    );
    p.append(form, h('p', { id: 'order-message', class: 'message', role: 'alert' }));
    if (this.refused) this.refusal(this.refused);
    this.board = h('div', { class: 'board', id: 'order-board' });
    p.append(this.board);
    this.renderBoard();
  }

  renderBoard() {
    if (this.gone) return;
    if (!this.board) return;
    const board = clear(this.board);
    const today = dayStartMs(localDay(now()));
    const byState = new Map([...OPEN, 'final'].map((s) => [s, []]));
    for (const o of this.orders.values()) {
      if (OPEN.includes(o.state)) byState.get(o.state).push(o);
      else if (FINAL.includes(o.state) && Date.parse(o.updated_at) >= today) byState.get('final').push(o);
    }
    for (const [state, list] of byState) {
      list.sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
      const title = state === 'final' ? `${t('st_delivered')} / ${t('st_failed')} / ${t('st_cancelled')}` : t(`st_${state}`);
      board.append(
        h(
          'section',
          { class: `column col-${state}`, dataset: { state } },
          h('h3', {}, `${title} (${list.length})`),
          list.slice(0, 100).map((o) => this.card(o)),
        ),
      );
    }
  }

  card(o) {
    const customer = this.ctx.customers.find((c) => c.id === o.customer_id);
    const person = this.ctx.staff.get(o.staff_id);
    const items = (o.items || []).map((i) => `${i.spec}×${i.count}`).join(', ');
    const el = h(
      'article',
      { class: `card st-${o.state}`, dataset: { orderId: o.id, state: o.state }, onclick: () => this.toggle(o.id) },
      h('div', { class: 'card-head' }, h('b', {}, o.id), o.late ? h('span', { class: 'chip vs-alert' }, t('late')) : null),
      h('div', {}, customer ? customer.name : o.customer_id, items ? ` · ${items}` : ''),
      o.staff_id ? h('div', {}, `${t('staff')}: ${person ? person.name : o.staff_id}${o.vehicle_id ? ` · ${o.vehicle_id}` : ''}`) : null,
      o.state === 'created' && o.reason ? h('div', { class: 'reason', title: o.reason }, t('waiting_reason', reasonText(o.reason))) : null,
      FINAL.includes(o.state) && o.state !== 'delivered' && o.reason ? h('div', { class: 'reason' }, `${t('reason')}: ${o.reason}`) : null,
      h('div', { class: 'muted' }, fmtTime(o.updated_at)),
    );
    if (this.open === o.id && !FINAL.includes(o.state)) {
      // The same form across re-renders (live events redraw the board): what the dispatcher
      // chose or typed stays.
      if (!this.form || this.form.id !== o.id || this.form.state !== o.state)
        this.form = { id: o.id, state: o.state, el: this.actions(o) };
      el.append(this.form.el);
    }
    return el;
  }

  toggle(id) {
    this.open = this.open === id ? null : id;
    this.form = null;
    this.renderBoard();
  }

  // Who may be offered the order: on duty, not an escort, not its holder, not among those who
  // rejected it, with a zone that contains the customer. The server still decides (certificates,
  // vehicle, rest) and its refusal is shown.
  candidates(o) {
    const customer = this.ctx.customers.find((c) => c.id === o.customer_id);
    const zones = new Map(this.ctx.zones.map((z) => [z.id, z]));
    return [...this.ctx.staff.values()].filter((p) => {
      const zone = zones.get(p.zone_id);
      return (
        p.role !== 'escort' &&
        p.on_duty &&
        p.id !== o.staff_id &&
        !(o.rejected_by || []).includes(p.id) &&
        zone &&
        customer &&
        customer.location &&
        inPolygon(customer.location, zone.shape)
      );
    });
  }

  actions(o) {
    const staff = this.candidates(o);
    const who = h('select', { class: 'act-staff' }, h('option', { value: '' }, t('choose')), staff.map((p) => h('option', { value: p.id }, `${p.name} (${p.id})`)));
    const reason = h('input', { class: 'act-reason', placeholder: t('reason'), maxlength: '255' });
    const stop = (ev) => ev.stopPropagation();
    const act = (name) => async (ev) => {
      ev.stopPropagation();
      const body = {};
      if (name === 'assign') body.staff_id = who.value;
      if (reason.value.trim()) body.reason = reason.value.trim();
      try {
        const updated = await api.post(`/v1/orders/${encodeURIComponent(o.id)}/${name}`, body);
        this.orders.set(updated.id, updated);
        this.open = null;
        this.form = null;
        this.say(`${t(name)} ${o.id}: ${tOr(`st_${updated.state}`, updated.state)}`, 'ok');
        this.renderBoard();
      } catch (e) {
        this.refusal(e);
      }
    };
    const canUnassign = o.state === 'assigned' || o.state === 'accepted';
    return h(
      'div',
      { class: 'actions', onclick: stop },
      who,
      h('button', { type: 'button', class: 'act-assign', onclick: act('assign') }, t('assign')),
      reason,
      canUnassign ? h('button', { type: 'button', class: 'act-unassign', onclick: act('unassign') }, t('unassign')) : null,
      h('button', { type: 'button', class: 'act-cancel', onclick: act('cancel') }, t('cancel')),
    );
  }

  async create(ev) {
    ev.preventDefault();
    const notes = this.panel.querySelector('#order-notes').value.trim();
    const body = {
      enterprise_id: this.ctx.enterpriseId,
      customer_id: this.panel.querySelector('#order-customer').value,
      items: [{ spec: this.panel.querySelector('#order-spec').value, count: Number(this.panel.querySelector('#order-count').value) }],
    };
    if (notes) body.notes = notes;
    try {
      const o = await api.post('/v1/orders', body);
      this.orders.set(o.id, o);
      const what = o.state === 'created' ? t('waiting_reason', reasonText(o.reason)) : tOr(`st_${o.state}`, o.state);
      this.say(t('order_created', o.id, what), 'ok');
      this.panel.querySelector('#order-message').dataset.orderId = o.id;
      this.renderBoard();
    } catch (e) {
      this.refusal(e);
    }
  }
}
