// refusals.js -- the API's refusals of the order board's actions (create, assign, unassign,
// cancel) and of an alert's acknowledgement in the page's language, by their code (docs/http-api.md, "Error codes" and "Order
// rules (refusal codes)").
//
// The server's message is English and names the specifics ("item 0 (YSP-12) asks for 60
// cylinders ..."); the code says what kind of refusal it is. A known code shows its sentence (the
// field, when the refusal names one, follows it); an unknown code shows the server's message. The
// board keeps the server's message as the element's title, so nothing is lost in translation.

import { lang } from './i18n.js';
import { reasonText } from './reasons.js';

export const REFUSALS = {
  zh: {
    invalid_json: '请求内容不是有效的 JSON 对象',
    missing_field: '缺少必填项',
    unknown_field: '不认识的字段',
    read_only_field: '该字段由系统维护，不能填写',
    invalid_field: '字段值无效',
    unauthenticated: '未登录或登录已过期，请重新登录',
    forbidden: '当前角色无权执行此操作',
    wrong_enterprise: '不能操作其他企业的数据',
    read_only: '审计员只能查看，不能修改',
    not_found: '该记录不存在',
    already_acknowledged: '该报警已被确认过',
    illegal_transition: '订单当前状态不允许此操作，未作任何更改',
    unknown_reference: '引用的对象不存在或属于其他企业',
    not_eligible: '该人员现在不能接此单',
    no_items: '送气订单没有气瓶：至少填写一种规格和数量',
    reinspection_with_items: '复检订单不能带气瓶（复检通过后另开送气订单）',
    invalid_item_count: '同一规格的气瓶数量须为 1 到 50',
    unknown_cylinder_spec: '未知的气瓶规格',
    duplicate_cylinder_spec: '同一规格重复填写：请合并为一个总数',
    invalid_window: '送气时段的结束早于开始',
    window_in_past: '送气时段已经过去',
    customer_not_in_enterprise: '该用户属于其他企业',
    enterprise_licence_expired: '企业燃气经营许可证已过期，不得经营',
    no_supply_contract: '该用户没有供用气合同',
    supply_contract_not_in_force: '该用户的供用气合同不在有效期内',
    reseller_unlicensed: '转售户没有燃气经营许可证，不得供气',
    reseller_licence_expired: '转售户的燃气经营许可证已过期',
    customer_suspended: '已暂停对该用户供气',
    premises_underground: '用户场所位于地下室，不得供气',
    premises_semi_underground: '用户场所位于半地下室，不得供气',
    premises_high_rise_residential: '高层住宅，不得供应瓶装液化气',
    premises_high_rise_public: '高层公共建筑，不得供应瓶装液化气',
    two_phase_cylinder_to_restaurant: '餐饮用户不得使用 YSP-118-II 气液两相瓶',
    outside_service_area: '用户位于企业供应范围之外（超供应范围经营）',
    loading: '服务正在加载数据，请稍后再试',
    store_unavailable: '数据存储暂不可用，未作更改，请稍后再试',
    store_outcome_unknown: '与数据存储的连接中断，操作可能已保存也可能没有：请刷新后再决定是否重试',
    internal: '服务内部错误',
  },
  en: {
    invalid_json: 'the request is not a valid JSON object',
    missing_field: 'a required field is missing',
    unknown_field: 'unknown field',
    read_only_field: 'the field is kept by the system and may not be sent',
    invalid_field: 'invalid value',
    unauthenticated: 'not logged in, or the session expired: log in again',
    forbidden: 'your role may not do this',
    wrong_enterprise: 'this belongs to another enterprise',
    read_only: 'an auditor reads, and changes nothing',
    not_found: 'no such record',
    already_acknowledged: 'this alert was already acknowledged',
    illegal_transition: 'the order cannot make this move from its current state; nothing changed',
    unknown_reference: 'a referenced record does not exist or belongs to another enterprise',
    not_eligible: 'this person may not take the order now',
    no_items: 'a delivery order needs at least one cylinder spec and count',
    reinspection_with_items: 'a re-inspection order carries no cylinders (deliver on a separate order once the check has passed)',
    invalid_item_count: 'each cylinder spec takes 1 to 50 cylinders',
    unknown_cylinder_spec: 'unknown cylinder spec',
    duplicate_cylinder_spec: 'a cylinder spec is listed twice: give it once with its total count',
    invalid_window: 'the delivery window ends before it starts',
    window_in_past: 'the delivery window is over',
    customer_not_in_enterprise: 'the customer belongs to another enterprise',
    enterprise_licence_expired: "the enterprise's gas business licence has expired",
    no_supply_contract: 'the customer has no supply contract',
    supply_contract_not_in_force: "the customer's supply contract is not in force",
    reseller_unlicensed: 'a reseller without a gas business licence may not be supplied',
    reseller_licence_expired: "the reseller's gas business licence has expired",
    customer_suspended: 'supply to the customer is suspended',
    premises_underground: 'the premises are underground: no LPG supply',
    premises_semi_underground: 'the premises are semi-underground: no LPG supply',
    premises_high_rise_residential: 'a high-rise residential building: no bottled LPG',
    premises_high_rise_public: 'a high-rise public building: no bottled LPG',
    two_phase_cylinder_to_restaurant: 'no YSP-118-II two-phase cylinder for a restaurant',
    outside_service_area: "the customer is outside the enterprise's supply area",
    loading: 'the service is loading its data; try again shortly',
    store_unavailable: 'the data store is unreachable; nothing changed, try again later',
    store_outcome_unknown: 'the data store connection dropped: the change may or may not be saved; reload before retrying',
    internal: 'internal error of the service',
  },
};

// Codes whose server message is the point (the why of not_eligible, a suspension's reason):
// the message follows the sentence.
const WITH_MESSAGE = new Set(['not_eligible', 'customer_suspended']);

// The refusal (an ApiError: code, message, field) as "code: sentence" in `language` (default:
// the page's); the server's message for an unknown code.
export function refusalText(e, language = lang()) {
  const code = e && typeof e.code === 'string' ? e.code : '';
  const message = (e && e.message) || '';
  const table = REFUSALS[language] || REFUSALS.en;
  const sentence = code && Object.prototype.hasOwnProperty.call(table, code) ? table[code] : null;
  if (!sentence) return code ? `${code}: ${message}` : message;
  let text = `${code}: ${sentence}`;
  if (e.field && !WITH_MESSAGE.has(code)) text += language === 'zh' ? `（${e.field}）` : ` (${e.field})`;
  if (WITH_MESSAGE.has(code) && message) {
    // An assign's not_eligible says why in the words of the waiting reasons.
    const why = code === 'not_eligible' && language === 'zh' ? reasonText(message) : message;
    text += language === 'zh' ? `：${why}` : `: ${why}`;
  }
  return text;
}
