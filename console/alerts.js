// alerts.js -- the alerts of the enterprise (newest first; a dispatcher acknowledges one with a
// note, an auditor reads) and the hazard ledger (open, overdue, closed notices).

import * as api from './api.js';
import { t, tOr } from './i18n.js';
import { alertText } from './alert_text.js';
import { refusalText } from './refusals.js';
import { h, clear, fmtTime, now } from './util.js';

const DAYS = 7; // how far back the list goes
const MAX_PAGES = 4; // of 500 alerts

export class AlertsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.alerts = []; // newest first
    this.forms = new Map(); // alert id -> its acknowledgement form, kept across re-renders
  }

  async mount(panel) {
    this.panel = panel;
    await this.reload();
  }

  unmount() {
    this.gone = true; // a load still in flight must not draw into the next view's panel
  }

  async reload() {
    const from = new Date(now() - DAYS * 86400000).toISOString();
    const base = `/v1/alerts?enterprise_id=${encodeURIComponent(this.ctx.enterpriseId)}&from=${from}&limit=500`;
    const all = [];
    let cursor = null;
    for (let i = 0; i < MAX_PAGES; i++) {
      const data = await api.get(cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base);
      all.push(...data.items);
      if (!data.next) break;
      cursor = data.next;
    }
    this.alerts = all.reverse();
    this.render();
  }

  onEvent(type, data) {
    if (type === 'alert' && data.id && !this.alerts.some((a) => a.id === data.id)) {
      this.alerts.unshift(data);
      this.render();
    } else if (type === 'reset') {
      this.reload().catch((e) => this.ctx.toast(e.message));
    }
  }

  render() {
    if (this.gone) return;
    const p = clear(this.panel);
    const canAck = this.ctx.role !== 'auditor';
    p.append(h('h2', {}, t('alerts_newest')), h('p', { id: 'alert-message', class: 'message', role: 'alert' }));
    const rows = this.alerts.map((a) => {
      const person = this.ctx.staff.get(a.staff_id);
      const ack = a.acknowledged_at
        ? h('span', { class: 'acked' }, t('acked_by', a.acknowledged_by, fmtTime(a.acknowledged_at), a.ack_note))
        : canAck
          ? this.ackForm(a) // the same element across re-renders: a note being typed stays
          : h('span', { class: 'muted' }, t('not_acked'));
      return h(
        'tr',
        { class: `alert-row kind-${a.kind}${a.acknowledged_at ? ' acked' : ''}`, dataset: { alertId: a.id, rule: a.rule } },
        h('td', {}, fmtTime(a.end)),
        h('td', {}, a.vehicle_id || ''),
        h('td', {}, person ? person.name : a.staff_id || ''),
        h('td', {}, tOr(`rule_${a.rule}`, a.rule)),
        h('td', {}, tOr(`kind_${a.kind}`, a.kind)),
        h('td', { class: 'alert-text', title: a.message }, alertText(a)),
        h('td', { class: 'ack-cell' }, ack),
      );
    });
    p.append(
      h(
        'table',
        { class: 'list', id: 'alert-table' },
        h('thead', {}, h('tr', {}, ['time', 'vehicle', 'person', 'rule', 'kind', 'message', 'acknowledge'].map((k) => h('th', {}, t(k))))),
        h('tbody', {}, rows),
      ),
    );
  }

  ackForm(a) {
    if (!this.forms.has(a.id)) this.forms.set(a.id, this.makeAckForm(a));
    return this.forms.get(a.id);
  }

  makeAckForm(a) {
    const note = h('input', { class: 'ack-note', placeholder: t('ack_note'), maxlength: '255' });
    const send = async (ev) => {
      ev.preventDefault();
      try {
        const updated = await api.post(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, { note: note.value });
        Object.assign(a, updated);
        this.forms.delete(a.id);
        this.render();
      } catch (e) {
        const el = this.panel.querySelector('#alert-message');
        el.textContent = t('refused', refusalText(e));
        el.title = e.message || '';
        el.className = 'message error';
      }
    };
    return h('form', { class: 'ack-form', onsubmit: send }, note, h('button', { type: 'submit', class: 'ack-send' }, t('acknowledge')));
  }
}

export class HazardsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.status = 'open';
    this.items = [];
  }

  async mount(panel) {
    this.panel = panel;
    await this.reload();
  }

  unmount() {
    this.gone = true; // a load still in flight must not draw into the next view's panel
  }

  onEvent() {}

  async reload() {
    this.items = await api.listAll(
      `/v1/hazards?enterprise_id=${encodeURIComponent(this.ctx.enterpriseId)}&status=${this.status}`,
    );
    this.render();
  }

  render() {
    if (this.gone) return;
    const p = clear(this.panel);
    const customers = new Map(this.ctx.customers.map((c) => [c.id, c]));
    p.append(
      h('h2', {}, t('tab_hazards')),
      h(
        'div',
        { class: 'filters' },
        ['open', 'overdue', 'closed'].map((s) =>
          h(
            'button',
            {
              type: 'button',
              class: `tab-small${this.status === s ? ' active' : ''}`,
              id: `hazards-${s}`,
              onclick: () => {
                this.status = s;
                this.reload().catch((e) => this.ctx.toast(e.message));
              },
            },
            t(`hz_${s}`),
          ),
        ),
      ),
      h(
        'table',
        { class: 'list', id: 'hazard-table', dataset: { status: this.status } },
        h('thead', {}, h('tr', {}, ['time', 'customer', 'hazard', 'deadline', 'state', 'order'].map((k) => h('th', {}, t(k))))),
        h(
          'tbody',
          {},
          this.items.map((z) =>
            h(
              'tr',
              { class: z.overdue ? 'overdue' : '', dataset: { hazardId: z.id } },
              h('td', {}, fmtTime(z.found_at)),
              h('td', {}, customers.get(z.customer_id) ? customers.get(z.customer_id).name : z.customer_id),
              h('td', {}, z.hazard),
              h('td', {}, z.deadline ? fmtTime(z.deadline) : ''),
              h('td', {}, z.status === 'closed' ? `${t('hz_closed')} ${fmtTime(z.closed_at)}` : z.overdue ? t('hz_overdue') : t('hz_open')),
              h('td', {}, z.order_id || ''),
            ),
          ),
        ),
      ),
    );
    if (!this.items.length) p.append(h('p', { class: 'muted' }, t('none')));
  }
}
