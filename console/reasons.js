// reasons.js -- the server's words for why an order waits (dispatch/core/match.c), in Chinese.
//
// The reason is English text built from a few fixed phrases ("zone Z: 2 staff; 1 off duty,
// 1 qualification certificate expired 2026-10-01"). In Chinese each known phrase is replaced;
// anything not known stays as the server wrote it, and the original is kept as the element's
// title, so nothing is lost in translation.

import { lang } from './i18n.js';

const ZH = [
  [/^no zone of enterprise (\S+) contains the customer's location$/, '企业 $1 没有包含该用户位置的配送区域'],
  [/^enterprise (\S+)'s gas business licence (\S+) expired on (\S+)$/, '企业 $1 的燃气经营许可证 $2 已于 $3 过期'],
  [/^delivery window starts (.+); offered to staff from (.+)$/, '送气时段 $1 开始；$2 起派给配送员'],
  [/^zone (\S+) has no staff$/, '区域 $1 没有配送人员'],
  [/^zone (\S+): (\d+) staff$/, '区域 $1：$2 名人员'],
  [/^(\d+) more zones not considered$/, '另有 $1 个区域未计入'],
  [/^of another enterprise$/, '属于其他企业'],
  [/^rejected this order$/, '拒绝或被撤回过此单'],
  [/^escort \(does not deliver\)$/, '为押运员（不送气）'],
  [/^off duty$/, '不在岗'],
  [/^in mandatory rest until (.+)$/, '强制休息至 $1'],
  [/^qualification certificate missing$/, '无从业资格证'],
  [/^qualification certificate expired (\S+)$/, '从业资格证于 $1 过期'],
  [/^qualification certificate valid from (\S+)$/, '从业资格证 $1 起生效'],
  [/^safety-training certificate missing$/, '无安全培训证'],
  [/^safety-training certificate expired (\S+)$/, '安全培训证于 $1 过期'],
  [/^safety-training certificate valid from (\S+)$/, '安全培训证 $1 起生效'],
  [/^no vehicle bound$/, '未绑定车辆'],
  [/^bound vehicle not found$/, '绑定的车辆不存在'],
  [/^bound vehicle belongs to another enterprise$/, '绑定的车辆属于其他企业'],
  [/^bound vehicle is bound to another person$/, '绑定的车辆已绑定他人'],
  [/^vehicle permit missing$/, '车辆无危险货物运输许可'],
  [/^vehicle permit expired (\S+)$/, '车辆运输许可于 $1 过期'],
  [/^vehicle full \((\d+)\/(\d+), order needs (\d+)\)$/, '车辆已满（$1/$2，订单需 $3 瓶）'],
  [/^vehicle held: (.+)$/, '车辆被扣停：$1'],
  [/^no escort on board \(the vehicle's kind needs one\)$/, '车上无押运员（该车型必须配备）'],
  [/^escort's certificates not in force$/, '押运员证件无效'],
];

// Staff counted under a cause: "2 off duty" is 2人 + the cause; a single person's refusal (an
// assign's not_eligible) has no count.
function phrase(text) {
  const counted = /^(\d+) (?!staff|more zones)(.*)$/.exec(text);
  const [n, rest] = counted ? [`${counted[1]} 人`, counted[2]] : ['', text];
  for (const [re, zh] of ZH) if (re.test(rest)) return n + rest.replace(re, zh);
  return text;
}

// The reason in the current language.
export function reasonText(reason) {
  if (!reason || lang() !== 'zh') return reason || '';
  // "; " separates zones and a zone's head from its causes; ", " before a count separates
  // causes (a cause's own text may hold ", ": "vehicle full (18/20, order needs 5)").
  return reason
    .split('; ')
    .map((part) => part.split(/, (?=\d+ )/).map(phrase).join('，'))
    .join('；');
}
