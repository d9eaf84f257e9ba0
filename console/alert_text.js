// alert_text.js -- an alert as a sentence in the page's language, from its fields.
//
// The server's `message` is English ("overspeed: 80.0 km/h over the 60 km/h limit for 2.0 s").
// Each known rule and kind has a sentence in both languages built from the figures the alert
// carries (docs/tracking-api.md, "Alerts"); a rule or kind not known here (a later server's) or
// one missing the figures it needs shows the server's message. The message stays available: the
// views give it as the element's title. Every place that shows an alert uses alertText().

import { lang } from './i18n.js';
import { fmtTime } from './util.js';

const num = (x, digits) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : null);
const secs = (a, digits) => num(typeof a.duration_ms === 'number' ? a.duration_ms / 1000 : null, digits);
const mins = (a) => num(typeof a.duration_ms === 'number' ? a.duration_ms / 60000 : null, 0);
const hours = (a) => num(typeof a.duration_ms === 'number' ? a.duration_ms / 3600000 : null, 1);
// Whole minutes between start and end (the unplanned-stop messages count them so).
const span = (a) => {
  const ms = Date.parse(a.end) - Date.parse(a.start);
  return Number.isFinite(ms) ? String(Math.floor(ms / 60000)) : null;
};

// The terminal's alarm bits (docs/tracking-api.md, "The terminal's own alarms").
export const TERMINAL = {
  zh: {
    terminal_sos: '紧急报警（SOS）',
    terminal_overspeed: '超速',
    terminal_fatigue: '疲劳驾驶',
    terminal_gnss_fault: 'GNSS 模块故障',
    terminal_antenna_open: 'GNSS 天线未接',
    terminal_antenna_short: 'GNSS 天线短路',
    terminal_power_low: '主电源欠压',
    terminal_power_off: '主电源掉电',
    terminal_overspeed_warning: '超速预警',
    terminal_fatigue_warning: '疲劳驾驶预警',
    terminal_daily_driving: '当天累计驾驶超时',
    terminal_door_illegal: '车门非法开启',
  },
  en: {
    terminal_sos: 'SOS (emergency alarm)',
    terminal_overspeed: 'overspeed',
    terminal_fatigue: 'fatigue driving',
    terminal_gnss_fault: 'GNSS module fault',
    terminal_antenna_open: 'GNSS antenna not connected',
    terminal_antenna_short: 'GNSS antenna short circuit',
    terminal_power_low: 'main power under-voltage',
    terminal_power_off: 'main power off',
    terminal_overspeed_warning: 'overspeed pre-warning',
    terminal_fatigue_warning: 'fatigue driving pre-warning',
    terminal_daily_driving: 'daily driving time exceeded',
    terminal_door_illegal: 'illegal door opening',
  },
};

// `expiring`: what holds the document, and which document.
const SUBJECT = {
  zh: { enterprise: '企业', staff: '人员', vehicle: '车辆', cylinder: '气瓶' },
  en: { enterprise: 'enterprise', staff: 'staff', vehicle: 'vehicle', cylinder: 'cylinder' },
};
const DOCUMENT = {
  zh: { licence: '燃气经营许可证', qualification: '从业资格证', training: '安全培训证', permit: '危险货物运输许可', inspection: '定期检验' },
  en: { licence: 'gas business licence', qualification: 'qualification certificate', training: 'safety-training certificate', permit: 'vehicle permit', inspection: 'periodic inspection' },
};

// A sentence returns null when a figure it needs is missing: the server's message is shown then.
const need = (...xs) => xs.every((x) => x !== null && x !== undefined && x !== '');
const fill = (parts, ...xs) => (need(...xs) ? parts.reduce((s, p, i) => s + xs[i - 1] + p) : null);
const z = (parts, ...xs) => fill(parts, ...xs);
// A table's own entry, never an inherited one (`constructor` is no rule).
const own = (table, key) => (typeof key === 'string' && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null);

// rule -> kind -> (alert, figures) -> sentence; `*` is any kind.
export const ALERT_TEXTS = {
  zh: {
    overspeed: {
      warning: (a) => z`接近限速：${num(a.max_speed_kmh, 1)} km/h，限速 ${num(a.limit_kmh, 0)} km/h`,
      violation_start: (a) => z`超速：${num(a.max_speed_kmh, 1)} km/h，超过 ${num(a.limit_kmh, 0)} km/h 限速 ${secs(a, 1)} 秒`,
      violation_end: (a) => z`超速结束：最高 ${num(a.max_speed_kmh, 1)} km/h，超过 ${num(a.limit_kmh, 0)} km/h 限速共 ${secs(a, 1)} 秒`,
    },
    fatigue: {
      warning: (a) => (a.code === 'continuous' ? z`连续驾驶 ${mins(a)} 分钟：即将需要休息` : null),
      violation_start: (a) =>
        a.code === 'daily'
          ? z`疲劳驾驶：当日已驾驶 ${hours(a)} 小时，超过上限；休息至当日结束`
          : a.code === 'continuous'
            ? a.rest_until
              ? z`疲劳驾驶：连续驾驶 ${mins(a)} 分钟；强制休息至 ${fmtTime(a.rest_until)}`
              : z`疲劳驾驶：连续驾驶 ${mins(a)} 分钟；须强制休息`
            : null,
      violation_end: (a) =>
        a.code === 'daily' ? z`当日驾驶时间：${hours(a)} 小时` : a.code === 'continuous' ? z`疲劳驾驶结束：休息前连续驾驶 ${mins(a)} 分钟` : null,
    },
    zone_exit: {
      violation_start: (a) => z`驶出配送区域 ${secs(a, 0)} 秒`,
      violation_end: (a) => z`已回到配送区域，区域外共 ${secs(a, 0)} 秒`,
    },
    signal_lost: {
      violation_start: (a) => z`配送途中 ${secs(a, 0)} 秒无定位`,
      violation_end: (a) => z`定位信号恢复，中断 ${secs(a, 0)} 秒`,
    },
    roadside_sale: { '*': (a) => z`车辆 ${a.vehicle_id} 疑似沿途销售` },
    load_mismatch: { '*': (a) => z`车辆 ${a.vehicle_id} 装车、交付与回收的气瓶数量不符` },
    hazard: { '*': () => z`安全检查发现隐患` },
    unplanned_stop: {
      violation_start: (a) => z`计划外停车：车辆 ${a.vehicle_id} 载有满瓶，远离用户和站点，已停 ${span(a)} 分钟`,
      violation_end: (a) => z`计划外停车结束：车辆 ${a.vehicle_id} 停车 ${span(a)} 分钟后重新行驶`,
    },
    driver_card: { '*': () => z`驾驶员卡被拒绝` },
    expiring: {
      '*': (a) => z`${own(SUBJECT.zh, a.subject_kind)} ${a.subject_id} 的${own(DOCUMENT.zh, a.document)}有效期至 ${a.expires}`,
    },
  },
  en: {
    overspeed: {
      warning: (a) => z`approaching the speed limit: ${num(a.max_speed_kmh, 1)} km/h, limit ${num(a.limit_kmh, 0)} km/h`,
      violation_start: (a) => z`overspeed: ${num(a.max_speed_kmh, 1)} km/h over the ${num(a.limit_kmh, 0)} km/h limit for ${secs(a, 1)} s`,
      violation_end: (a) => z`overspeed ended: max ${num(a.max_speed_kmh, 1)} km/h over the ${num(a.limit_kmh, 0)} km/h limit for ${secs(a, 1)} s`,
    },
    fatigue: {
      warning: (a) => (a.code === 'continuous' ? z`continuous driving ${mins(a)} min: a rest is due soon` : null),
      violation_start: (a) =>
        a.code === 'daily'
          ? z`fatigue: ${hours(a)} h of driving today, over the daily limit; rest until the end of the day`
          : a.code === 'continuous'
            ? a.rest_until
              ? z`fatigue: ${mins(a)} min of continuous driving; mandatory rest until ${fmtTime(a.rest_until)}`
              : z`fatigue: ${mins(a)} min of continuous driving; mandatory rest`
            : null,
      violation_end: (a) =>
        a.code === 'daily'
          ? z`daily driving time of the day: ${hours(a)} h`
          : a.code === 'continuous'
            ? z`fatigue ended: ${mins(a)} min of continuous driving before the rest`
            : null,
    },
    zone_exit: {
      violation_start: (a) => z`outside the delivery zone for ${secs(a, 0)} s`,
      violation_end: (a) => z`back in the delivery zone after ${secs(a, 0)} s outside`,
    },
    signal_lost: {
      violation_start: (a) => z`no position for ${secs(a, 0)} s on an active delivery`,
      violation_end: (a) => z`position signal back after ${secs(a, 0)} s`,
    },
    roadside_sale: { '*': (a) => z`suspected roadside sale by vehicle ${a.vehicle_id}` },
    load_mismatch: { '*': (a) => z`load mismatch on vehicle ${a.vehicle_id}: cylinders loaded, handed over and returned do not add up` },
    hazard: { '*': () => z`a safety check found a hazard` },
    unplanned_stop: {
      violation_start: (a) => z`unplanned stop: ${a.vehicle_id} stopped ${span(a)} min, full cylinders aboard, away from its customers and station`,
      violation_end: (a) => z`unplanned stop over: ${a.vehicle_id} moves again after ${span(a)} min`,
    },
    driver_card: { '*': () => z`driver's card refused` },
    expiring: {
      '*': (a) => z`${own(SUBJECT.en, a.subject_kind)} ${a.subject_id}: ${own(DOCUMENT.en, a.document)} valid until ${a.expires}`,
    },
  },
};

// The terminal's alarms: "terminal alarm: <name>", whatever the kind.
const TERMINAL_TEXT = {
  zh: (name, a) => (a.kind === 'violation_end' ? `终端报警结束：${name}` : `终端报警：${name}`),
  en: (name, a) => (a.kind === 'violation_end' ? `terminal alarm ended: ${name}` : `terminal alarm: ${name}`),
};

// The alert as a sentence in `language` (default: the page's); the server's message when the rule
// or kind is not known here or a figure is missing.
export function alertText(a, language = lang()) {
  if (!a) return '';
  const fallback = a.message || a.rule || '';
  const table = own(ALERT_TEXTS, language);
  if (!table) return fallback;
  if (typeof a.rule === 'string' && a.rule.startsWith('terminal_')) {
    const name = own(TERMINAL[language], a.rule);
    return name ? TERMINAL_TEXT[language](name, a) : fallback;
  }
  const byKind = own(table, a.rule);
  const sentence = byKind && (own(byKind, a.kind) || own(byKind, '*'));
  return (sentence && sentence(a)) || fallback;
}
