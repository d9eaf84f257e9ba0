// app.js -- the console's shell: login (POST /v1/sessions; the token in memory only), the
// views the role may use, the enterprise, the map, and one live-feed stream shared by the views.

import * as api from './api.js';
import { t, lang, setLang, applyI18n } from './i18n.js';
import { h, clear, setUtcOffset, utcOffsetLabel } from './util.js';
import { createMap, drawEnterprise, relabelMap } from './map.js';
import { FleetView } from './fleet.js';
import { OrdersView } from './orders.js';
import { AlertsView, HazardsView } from './alerts.js';
import { ReplayView } from './replay.js';

// Which views each role has (docs/console.md): dispatchers steer, auditors read.
const VIEWS = {
  fleet: { label: 'tab_fleet', make: (ctx) => new FleetView(ctx), map: true, roles: ['dispatcher', 'admin'] },
  orders: { label: 'tab_orders', make: (ctx) => new OrdersView(ctx), map: false, roles: ['dispatcher', 'admin'] },
  replay: { label: 'tab_replay', make: (ctx) => new ReplayView(ctx), map: true, roles: ['auditor', 'admin'] },
  alerts: { label: 'tab_alerts', make: (ctx) => new AlertsView(ctx), map: false, roles: ['dispatcher', 'admin', 'auditor'] },
  hazards: { label: 'tab_hazards', make: (ctx) => new HazardsView(ctx), map: false, roles: ['dispatcher', 'admin', 'auditor'] },
};

const $ = (id) => document.getElementById(id);

const state = {
  config: { tile_url: '', leaflet: true },
  session: null,
  enterprises: [],
  ctx: null, // what the views share
  view: null,
  viewName: null,
  feed: null, // AbortController of the live feed
  layers: null,
};

function toast(message, kind = 'error') {
  const el = $('toast');
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.hidden = true;
  }, 6000);
}

async function loadConfig() {
  try {
    const resp = await fetch('config.json', { cache: 'no-store' });
    if (resp.ok) state.config = await resp.json();
  } catch (e) {
    // defaults: no tiles
  }
}

function showLogin(message) {
  stopFeed();
  if (state.view) state.view.unmount();
  state.view = null;
  state.session = null;
  api.setToken(null);
  $('app').hidden = true;
  $('login-view').hidden = false;
  $('logout').hidden = true;
  $('who').textContent = '';
  clear($('tabs'));
  $('login-error').textContent = message || '';
  $('login-password').value = '';
  $('login-user').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const data = await api.post('/v1/sessions', {
      user: $('login-user').value,
      password: $('login-password').value,
    });
    api.setToken(data.token);
    state.session = data.session;
    $('login-password').value = '';
    await start();
  } catch (e) {
    showLogin(t('login_failed', e.message)); // also when the start after the login failed
  } finally {
    $('login-submit').disabled = false;
  }
}

async function onLogout() {
  try {
    await api.call('DELETE', '/v1/sessions/current');
  } catch (e) {
    // the session may be gone already
  }
  showLogin('');
}

function viewsOf(role) {
  return Object.keys(VIEWS).filter((name) => VIEWS[name].roles.includes(role));
}

async function start() {
  const s = state.session;
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${s.user} · ${t(`role_${s.role}`)}`;
  $('who').dataset.role = s.role;
  if (s.role === 'dispatcher') {
    state.enterprises = [await api.get(`/v1/enterprises/${encodeURIComponent(s.enterprise_id)}`)];
  } else {
    state.enterprises = await api.listAll('/v1/enterprises');
  }
  const sel = clear($('enterprise'));
  for (const e of state.enterprises) sel.append(h('option', { value: e.id }, `${e.name} (${e.id})`));
  $('enterprise-box').hidden = state.enterprises.length < 2;
  if (!state.ctx) {
    state.ctx = { map: createMap($('map'), state.config), config: state.config, toast };
  }
  state.ctx.role = s.role;
  state.viewName = null; // the role's first view
  renderTabs();
  await chooseEnterprise(state.enterprises.length ? state.enterprises[0].id : null);
}

function renderTabs() {
  const nav = clear($('tabs'));
  for (const name of viewsOf(state.session.role)) {
    nav.append(
      h(
        'button',
        {
          type: 'button',
          class: `tab${state.viewName === name ? ' active' : ''}`,
          id: `tab-${name}`,
          onclick: () => showView(name),
        },
        t(VIEWS[name].label),
      ),
    );
  }
}

async function chooseEnterprise(id) {
  const ctx = state.ctx;
  const e = state.enterprises.find((x) => x.id === id);
  if (!e) return;
  ctx.enterpriseId = id;
  ctx.enterprise = e;
  setUtcOffset(e.utc_offset_min);
  $('tz').textContent = t('time_zone', utcOffsetLabel());
  const q = `enterprise_id=${encodeURIComponent(id)}`;
  const [zones, stations, customers, staff, vehicles] = await Promise.all([
    api.listAll(`/v1/zones?${q}&geometry=1`),
    api.listAll(`/v1/stations?${q}`),
    api.listAll(`/v1/customers?${q}`),
    api.listAll(`/v1/staff?${q}`),
    api.listAll(`/v1/vehicles?${q}`),
  ]);
  Object.assign(ctx, { zones, stations, customers, vehicles });
  ctx.staff = new Map(staff.map((p) => [p.id, p]));
  if (state.layers) state.layers.remove();
  state.layers = drawEnterprise(ctx.map, { enterprise: e, zones, stations, customers });
  startFeed();
  const views = viewsOf(state.session.role);
  await showView(views.includes(state.viewName) ? state.viewName : views[0]);
}

async function showView(name) {
  if (state.view) state.view.unmount();
  state.viewName = name;
  renderTabs();
  const def = VIEWS[name];
  $('app').classList.toggle('no-map', !def.map);
  state.ctx.map.invalidateSize();
  const panel = clear($('panel'));
  panel.dataset.view = name;
  panel.dataset.ready = 'false';
  const view = def.make(state.ctx);
  state.view = view;
  try {
    await view.mount(panel);
    if (state.view === view) panel.dataset.ready = 'true'; // not if another tab was chosen meanwhile
  } catch (e) {
    if (state.view === view) toast(e.message);
  }
}

// One stream for every view (a user may hold only a few: events_max_per_user). Auditors have
// none: they look at the past.
function startFeed() {
  stopFeed();
  if (state.session.role === 'auditor') return;
  const ctl = new AbortController();
  state.feed = ctl;
  const enterpriseId = state.ctx.enterpriseId;
  api.follow(
    '/v1/events',
    (type, data) => {
      const of = data.enterprise_id || (data.order && data.order.enterprise_id);
      if (of && of !== enterpriseId) return;
      if (state.view && state.view.onEvent) state.view.onEvent(type, data);
    },
    (up) => {
      $('live').textContent = up ? t('live_on') : t('live_off');
      $('live').className = up ? 'live up' : 'live down';
    },
    ctl.signal,
  );
}

function stopFeed() {
  if (state.feed) state.feed.abort();
  state.feed = null;
  $('live').textContent = '';
  $('live').className = 'live';
}

async function main() {
  applyI18n(document);
  await loadConfig();
  api.whenUnauthorized(() => showLogin(t('session_ended')));
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('lang-switch').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    if (state.session) {
      $('who').textContent = `${state.session.user} · ${t(`role_${state.session.role}`)}`;
      $('tz').textContent = t('time_zone', utcOffsetLabel());
      renderTabs();
      relabelMap(state.ctx.map);
      if (state.view && state.view.render) state.view.render();
    }
  });
  $('enterprise').addEventListener('change', (ev) => chooseEnterprise(ev.target.value).catch((e) => toast(e.message)));
  $('login-user').focus();
  document.body.dataset.ready = 'true';
}

main();
