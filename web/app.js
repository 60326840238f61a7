/*
 * herald dashboard: a page for the disclosure office. It talks to heraldd's admin API
 * (/api/v1, docs/openapi.yaml) with the token typed at login, kept in sessionStorage (gone when
 * the tab closes; no cookies). Everything from the server is put on the page as text
 * (textContent), never as HTML; the page's Content-Security-Policy allows only these files.
 * Views refresh every few seconds while shown.
 */
'use strict';

(() => {
  const REFRESH_MS = 4000;

  // ---- words ---------------------------------------------------------------------------
  const STR = {
    zh: {
      'app.title': '政务信息发布运维台', 'app.subtitle': 'herald · 审核通过信息的多渠道发布',
      'login.heading': '登录', 'login.token': '访问令牌', 'login.submit': '登录', 'login.logout': '退出',
      'login.explain': '请输入管理员分配给您的访问令牌。令牌只保存在本浏览器标签页中，关闭标签页即失效。',
      'login.bad': '令牌无效，请检查后重试。', 'login.expired': '登录已失效，请重新输入令牌。',
      'login.unreachable': '无法连接到 heraldd。',
      'tab.overview': '运行概览', 'tab.failures': '失败投递', 'tab.items': '信息查询',
      'tab.deadletters': '死信队列', 'tab.report': '年度报告', 'tab.audit': '操作日志',
      'who': '{name}（{role}）', 'role.viewer': '查看', 'role.operator': '操作员', 'role.admin': '管理员',
      'refreshed': '更新于 {time}',
      'overview.channels': '发布渠道', 'overview.recent': '最近投递（实时）',
      'tile.items': '已入库信息', 'tile.backlog': '待发送', 'tile.inflight': '正在发送',
      'tile.failed': '失败待处理', 'tile.rejected': '被拒收消息',
      'ch.backlog': '排队 / 等待', 'ch.inflight': '正在发送', 'ch.failed': '失败', 'ch.d24': '24小时已发布',
      'ch.breaker': '熔断器', 'ch.rate': '限速', 'ch.lastok': '最近成功', 'ch.unlimited': '不限',
      'ch.reauth': '需要重新授权：{reason}',
      'act.pause': '暂停', 'act.resume': '恢复', 'act.retryfailed': '全部重试 ({n})',
      'act.credentials': '更新凭据', 'act.unpark': '解除等待', 'act.retry': '重试', 'act.cancel': '取消',
      'act.release': '立即发布', 'act.resolve': '已人工处理', 'act.retract': '撤回此信息', 'act.replay': '重放',
      'act.done': '已完成：{what}',
      'col.time': '时间', 'col.updated': '更新时间', 'col.item': '信息', 'col.channel': '渠道',
      'col.state': '状态', 'col.attempts': '尝试', 'col.why': '原因 / 结果', 'col.actions': '操作',
      'col.approved': '审核通过', 'col.publisher': '发布单位', 'col.category': '类别',
      'col.deliveries': '投递情况', 'col.reason': '拒收原因', 'col.detail': '说明', 'col.source': '来源',
      'col.preview': '内容预览', 'col.who': '操作人', 'col.action': '操作', 'col.target': '目标',
      'col.version': '版本',
      'none': '暂无', 'none.failures': '没有失败的投递。', 'none.rejections': '没有被拒收的消息。',
      'failures.explain': '以下投递已失败，需要人工处理。先排除渠道故障（见原因），再点击“重试”。',
      'dlq.explain': '被拒收的消息未能通过格式校验（未入库）。修正配置后可重放；重放仍不通过的会保留在此。',
      'dlq.binary': '二进制', 'dlq.replayed': '已重放',
      'items.search': '标题关键词', 'items.since': '审核通过自', 'items.until': '至', 'items.find': '查询',
      'items.more': '加载更多', 'items.anystate': '全部状态', 'items.anychannel': '全部渠道',
      'item.deliveries': '各渠道投递', 'item.timeline': '时间线', 'item.id': '编号', 'item.version': '版本',
      'item.publisher': '发布单位', 'item.column': '栏目', 'item.category': '类别', 'item.approved': '审核通过',
      'item.retracted': '已撤回',
      'tl.state': '{prev} → {state}', 'tl.new': '新建', 'tl.attempt': '{op}：{outcome}',
      'tl.audit': '{who} {action}',
      'op.send': '发送', 'op.retract': '撤回', 'op.poll': '查询结果', 'op.reconcile': '核对',
      'report.year': '年度', 'report.show': '生成', 'report.csv': '下载 CSV',
      'report.total': '全年合计', 'report.month': '按月', 'report.publisher': '按发布单位',
      'report.column': '按栏目', 'report.category': '按类别', 'report.channel': '按渠道',
      'rep.items': '主动公开', 'rep.published': '已发布', 'rep.retracted': '已撤回',
      'rep.deliveries': '投递数', 'rep.delivered': '成功', 'rep.failed': '失败',
      'rep.inprogress': '进行中', 'rep.rate': '成功率',
      'action.reason': '原因（记入操作日志）', 'action.reason.required': '原因（必填，记入操作日志）',
      'action.needreason': '请填写原因。',
      'dlg.retry': '重试投递', 'dlg.retry.text': '将投递 #{id}（{channel}）重新排队发送。',
      'dlg.cancel': '取消投递', 'dlg.cancel.text': '投递 #{id}（{channel}）将不再发送。',
      'dlg.release': '立即发布', 'dlg.release.text': '解除投递 #{id} 的暂缓，立即排队发送。',
      'dlg.resolve': '标记已人工处理', 'dlg.resolve.text': '确认已在平台上人工完成投递 #{id} 所需的操作。',
      'dlg.retract': '撤回信息', 'dlg.retract.text': '从所有渠道撤回“{title}”。',
      'dlg.pause': '暂停渠道', 'dlg.pause.text': '{channel} 将暂停发送，信息在队列中等待。',
      'dlg.resume': '恢复渠道', 'dlg.resume.text': '{channel} 将恢复发送。',
      'dlg.retryfailed': '重试全部失败投递', 'dlg.retryfailed.text': '{channel} 的 {n} 条失败投递将重新排队。',
      'dlg.unpark': '解除等待', 'dlg.unpark.text': '{channel} 将重新尝试发送（问题已在别处解决时使用）。',
      'dlg.credentials': '更新渠道凭据', 'dlg.credentials.text': '为 {channel} 设置新的密钥；保存后渠道恢复发送。',
      'dlg.replay': '重放被拒收的消息', 'dlg.replay.text': '把消息 R{id} 重新交给入库校验。',
      'cred.key': '密钥名称', 'cred.value': '新的密钥值',
      'common.close': '关闭', 'common.cancel': '取消', 'common.confirm': '确定',
      'err.forbidden': '您的令牌没有此操作的权限。', 'err.generic': '操作失败：{msg}',
      'alert.channel_parked': '渠道 {channel} 需要人工处理（通常是重新授权）', 'alert.channel_down': '渠道 {channel} 无法连接',
      'alert.deliveries_failed': '{count} 条投递失败，等待处理', 'alert.messages_rejected': '{count} 条消息被拒收（死信队列）',
      'alert.intake_paused': '信息接收已暂停（存储异常或积压），新信息在 Kafka 中等待', 'alert.not_joined': '尚未加入 Kafka 消费组',
    },
    en: {
      'app.title': 'Government Information Publishing — Operations', 'app.subtitle': 'herald · approved items to every channel',
      'login.heading': 'Sign in', 'login.token': 'Access token', 'login.submit': 'Sign in', 'login.logout': 'Sign out',
      'login.explain': 'Enter the access token your administrator gave you. It is kept in this browser tab only and is gone when the tab closes.',
      'login.bad': 'The token is not valid.', 'login.expired': 'Your session ended; enter your token again.',
      'login.unreachable': 'heraldd cannot be reached.',
      'tab.overview': 'Overview', 'tab.failures': 'Failures', 'tab.items': 'Items',
      'tab.deadletters': 'Dead letters', 'tab.report': 'Annual report', 'tab.audit': 'Audit log',
      'who': '{name} ({role})', 'role.viewer': 'viewer', 'role.operator': 'operator', 'role.admin': 'admin',
      'refreshed': 'updated {time}',
      'overview.channels': 'Channels', 'overview.recent': 'Recent deliveries (live)',
      'tile.items': 'Items stored', 'tile.backlog': 'Waiting to send', 'tile.inflight': 'Sending now',
      'tile.failed': 'Failed, need action', 'tile.rejected': 'Rejected messages',
      'ch.backlog': 'Queued / waiting', 'ch.inflight': 'Sending now', 'ch.failed': 'Failed', 'ch.d24': 'Published (24 h)',
      'ch.breaker': 'Breaker', 'ch.rate': 'Rate limit', 'ch.lastok': 'Last success', 'ch.unlimited': 'none',
      'ch.reauth': 'Needs re-authorization: {reason}',
      'act.pause': 'Pause', 'act.resume': 'Resume', 'act.retryfailed': 'Retry all ({n})',
      'act.credentials': 'New credentials', 'act.unpark': 'Unpark', 'act.retry': 'Retry', 'act.cancel': 'Cancel',
      'act.release': 'Release now', 'act.resolve': 'Handled by hand', 'act.retract': 'Retract this item', 'act.replay': 'Replay',
      'act.done': 'Done: {what}',
      'col.time': 'Time', 'col.updated': 'Updated', 'col.item': 'Item', 'col.channel': 'Channel',
      'col.state': 'State', 'col.attempts': 'Attempts', 'col.why': 'Reason / result', 'col.actions': 'Actions',
      'col.approved': 'Approved', 'col.publisher': 'Publisher', 'col.category': 'Category',
      'col.deliveries': 'Deliveries', 'col.reason': 'Rejected for', 'col.detail': 'Detail', 'col.source': 'Source',
      'col.preview': 'Preview', 'col.who': 'Who', 'col.action': 'Action', 'col.target': 'Target',
      'col.version': 'Version',
      'none': 'None', 'none.failures': 'No failed deliveries.', 'none.rejections': 'No rejected messages.',
      'failures.explain': 'These deliveries failed and need a person. Fix the channel first (see the reason), then press Retry.',
      'dlq.explain': 'Rejected messages did not pass validation and were not stored. Replay them after a configuration fix; those rejected again stay here.',
      'dlq.binary': 'binary', 'dlq.replayed': 'replayed',
      'items.search': 'Words in the title', 'items.since': 'Approved from', 'items.until': 'to', 'items.find': 'Search',
      'items.more': 'Load more', 'items.anystate': 'Any state', 'items.anychannel': 'Any channel',
      'item.deliveries': 'Deliveries per channel', 'item.timeline': 'Timeline', 'item.id': 'Id', 'item.version': 'Version',
      'item.publisher': 'Publisher', 'item.column': 'Column', 'item.category': 'Category', 'item.approved': 'Approved',
      'item.retracted': 'retracted',
      'tl.state': '{prev} → {state}', 'tl.new': 'new', 'tl.attempt': '{op}: {outcome}',
      'tl.audit': '{who} {action}',
      'op.send': 'send', 'op.retract': 'retract', 'op.poll': 'poll', 'op.reconcile': 'reconcile',
      'report.year': 'Year', 'report.show': 'Show', 'report.csv': 'Download CSV',
      'report.total': 'Year total', 'report.month': 'By month', 'report.publisher': 'By publishing unit',
      'report.column': 'By portal column', 'report.category': 'By category', 'report.channel': 'By channel',
      'rep.items': 'Published actively', 'rep.published': 'Delivered', 'rep.retracted': 'Retracted',
      'rep.deliveries': 'Deliveries', 'rep.delivered': 'Succeeded', 'rep.failed': 'Failed',
      'rep.inprogress': 'In progress', 'rep.rate': 'Success rate',
      'action.reason': 'Reason (goes to the audit log)', 'action.reason.required': 'Reason (required; goes to the audit log)',
      'action.needreason': 'Please give a reason.',
      'dlg.retry': 'Retry delivery', 'dlg.retry.text': 'Delivery #{id} ({channel}) goes back to the queue.',
      'dlg.cancel': 'Cancel delivery', 'dlg.cancel.text': 'Delivery #{id} ({channel}) will not be sent.',
      'dlg.release': 'Release now', 'dlg.release.text': 'Delivery #{id} stops waiting and is queued now.',
      'dlg.resolve': 'Mark as handled', 'dlg.resolve.text': 'What delivery #{id} needed was done by hand on the platform.',
      'dlg.retract': 'Retract item', 'dlg.retract.text': 'Withdraw “{title}” from every channel.',
      'dlg.pause': 'Pause channel', 'dlg.pause.text': '{channel} stops sending; items wait in its queue.',
      'dlg.resume': 'Resume channel', 'dlg.resume.text': '{channel} starts sending again.',
      'dlg.retryfailed': 'Retry all failed deliveries', 'dlg.retryfailed.text': 'The {n} failed deliveries of {channel} go back to the queue.',
      'dlg.unpark': 'Unpark channel', 'dlg.unpark.text': '{channel} tries again (when the problem was fixed elsewhere).',
      'dlg.credentials': 'New channel credentials', 'dlg.credentials.text': 'Set a new secret for {channel}; it starts sending again.',
      'dlg.replay': 'Replay rejected message', 'dlg.replay.text': 'Message R{id} goes through validation again.',
      'cred.key': 'Secret setting', 'cred.value': 'New value',
      'common.close': 'Close', 'common.cancel': 'Cancel', 'common.confirm': 'Confirm',
      'err.forbidden': 'Your token does not allow this.', 'err.generic': 'Failed: {msg}',
      'alert.channel_parked': 'Channel {channel} needs an operator (usually re-authorization)', 'alert.channel_down': 'Channel {channel} is not answering',
      'alert.deliveries_failed': '{count} deliveries failed and wait for an operator', 'alert.messages_rejected': '{count} messages were rejected (dead letters)',
      'alert.intake_paused': 'Intake is paused (store trouble or backlog); new items wait in Kafka', 'alert.not_joined': 'Not in the Kafka consumer group yet',
    },
  };
  const STATE_ZH = {
    pending: '排队中', held: '暂缓', sending: '发送中', waiting_retry: '等待重试', publishing: '平台处理中',
    reconciling: '核对中', parked: '等待人工', retracting: '撤回中', delivered: '已发布', failed: '失败',
    superseded: '已被新版本取代', retracted: '已撤回', expired: '已过期', cancelled: '已取消',
    removed_externally: '平台已删除', manual_action: '需人工处理',
  };
  const HEALTH = {
    zh: { ok: '正常', degraded: '异常', down: '中断', paused: '已暂停', parked: '需重新授权' },
    en: { ok: 'healthy', degraded: 'degraded', down: 'down', paused: 'paused', parked: 'needs re-authorization' },
  };
  const BREAKER = {
    zh: { closed: '正常', half_open: '试探恢复中', open: '已熔断（暂停发送）' },
    en: { closed: 'closed', half_open: 'half-open (probing)', open: 'open (not sending)' },
  };
  const CATEGORY_ZH = {
    normative_document: '规范性文件', policy_document: '政策文件', policy_interpretation: '政策解读',
    press_conference: '新闻发布会', gazette: '政府公报', notice: '通知公告', work_news: '工作动态',
    personnel: '人事信息', consultation: '征求意见', emergency: '应急信息',
  };
  const ADAPTER_ZH = {
    website: '门户网站', wechat: '微信公众号', weibo: '政务微博', ejiatong: 'e家通',
    display_board: '电子显示屏', webhook: 'Webhook 推送',
  };
  const OUTCOME_ZH = {
    delivered: '成功', accepted: '平台已受理', retry: '暂时失败', retry_after: '被限流', refresh_credentials: '凭据需刷新',
    needs_operator: '需人工处理', rejected: '被拒绝', unknown: '结果未知', cancelled: '已取消',
  };
  const ACTION_ZH = {
    retry: '重试', cancel: '取消', release: '立即发布', resolve: '标记已处理', pause: '暂停', resume: '恢复',
    unpark: '解除等待', credentials: '更新凭据', retract: '撤回', replay: '重放',
  };

  let lang = localStorage.getItem('herald.lang') === 'en' ? 'en' : 'zh';
  const t = (key, vars) => {
    let s = STR[lang][key] ?? STR.zh[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  };
  const stateName = (s) => (lang === 'zh' ? STATE_ZH[s] || s : (s || '').replace(/_/g, ' '));
  const categoryName = (c) => (lang === 'zh' ? CATEGORY_ZH[c] || c : (c || '').replace(/_/g, ' '));
  const adapterName = (a) => (lang === 'zh' ? ADAPTER_ZH[a] || a : a);
  const actionName = (a) => (lang === 'zh' ? ACTION_ZH[a] || a : a);
  const outcomeName = (o) => (lang === 'zh' ? OUTCOME_ZH[o] || o : (o || '').replace(/_/g, ' '));

  // ---- DOM -----------------------------------------------------------------------------
  const $ = (sel) => document.querySelector(sel);
  /* Elements from data: text only (append(String) makes a text node). */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'data') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const fmtTime = (s) => (s ? s.slice(0, 10) + ' ' + s.slice(11, 19) : '—');
  const fmtShort = (s) => (s ? s.slice(5, 10) + ' ' + s.slice(11, 19) : '—');
  const badge = (cls, text) => h('span', { class: 'badge ' + cls, text });
  const stateBadge = (s) => badge('s-' + s, stateName(s));
  function table(el, heads, rows, emptyText) {
    el.replaceChildren(h('thead', null, h('tr', null, heads.map((x) => h('th', { text: x })))));
    const body = h('tbody');
    if (!rows.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: heads.length, text: emptyText || t('none') })));
    for (const r of rows) body.append(r);
    el.append(body);
  }
  function toast(msg) {
    const el = $('#toast');
    el.textContent = msg;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 3500);
  }

  // ---- API -----------------------------------------------------------------------------
  const state = { token: sessionStorage.getItem('herald.token'), who: null, view: 'overview', status: null, cursor: null, openItem: null, busy: false };
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ('HTTP ' + status));
      this.status = status;
    }
  }
  async function api(method, path, body, token) {
    const headers = { Authorization: 'Bearer ' + (token || state.token), Accept: 'application/json' };
    const opt = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch('/api/v1' + path, opt);
    const ct = r.headers.get('Content-Type') || '';
    const data = ct.startsWith('application/json') ? await r.json() : await r.text();
    if (r.status === 401 && !token) logout(t('login.expired'));
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
  const enc = encodeURIComponent;
  const canOperate = () => state.who && state.who.role !== 'viewer';
  const canAdmin = () => state.who && state.who.role === 'admin';

  // ---- login ---------------------------------------------------------------------------
  function applyStatic() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = 'herald · ' + t('app.title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
    $('#lang').textContent = lang === 'zh' ? 'English' : '中文';
    if (state.who) $('#who').textContent = t('who', { name: state.who.name, role: t('role.' + state.who.role) });
  }
  function showLogin(msg) {
    $('#app').hidden = true;
    $('#login').hidden = false;
    $('#logout').hidden = true;
    $('#who').hidden = true;
    const err = $('#login-error');
    err.hidden = !msg;
    err.textContent = msg || '';
    $('#token').focus();
  }
  function logout(msg) {
    sessionStorage.removeItem('herald.token');
    state.token = null;
    state.who = null;
    state.view = 'overview';
    clearInterval(state.timer);
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    showLogin(msg);
  }
  async function login(token) {
    try {
      state.who = await api('GET', '/whoami', undefined, token);
    } catch (e) {
      showLogin(e.status === 401 ? t('login.bad') : t('login.unreachable'));
      return;
    }
    state.token = token;
    sessionStorage.setItem('herald.token', token);
    $('#token').value = '';
    $('#login').hidden = true;
    $('#app').hidden = false;
    $('#logout').hidden = false;
    $('#who').hidden = false;
    applyStatic();
    show(state.view);
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
  }

  // ---- actions -------------------------------------------------------------------------
  /* Ask for a reason (and a credential); resolves to the answers, or null when cancelled. */
  function ask({ title, text, reasonRequired, cred }) {
    const dlg = $('#action-dialog');
    $('#action-title').textContent = title;
    $('#action-text').textContent = text;
    $('#action-cred').hidden = !cred;
    $('#cred-key').value = cred ? 'secret' : '';
    $('#cred-value').value = '';
    $('#action-reason').value = '';
    $('#action-reason').required = !!reasonRequired;
    $('#action-reason-label').textContent = t(reasonRequired ? 'action.reason.required' : 'action.reason');
    $('#action-error').hidden = true;
    return new Promise((resolve) => {
      const done = (v) => {
        $('#action-form').onsubmit = null;
        $('#action-cancel').onclick = null;
        dlg.onclose = null;
        if (dlg.open) dlg.close();
        resolve(v);
      };
      $('#action-form').onsubmit = (ev) => {
        ev.preventDefault();
        const reason = $('#action-reason').value.trim();
        if (reasonRequired && !reason) {
          $('#action-error').textContent = t('action.needreason');
          $('#action-error').hidden = false;
          return;
        }
        const out = { reason };
        if (cred) {
          out.key = $('#cred-key').value.trim();
          out.value = $('#cred-value').value;
          $('#cred-value').value = '';
        }
        done(out);
      };
      $('#action-cancel').onclick = () => done(null);
      dlg.onclose = () => done(null);
      dlg.showModal();
      (cred ? $('#cred-value') : $('#action-reason')).focus();
    });
  }
  async function act(dialog, path, reasonRequired, extra) {
    const answer = await ask({ ...dialog, reasonRequired });
    if (!answer) return false;
    const body = answer.reason ? { reason: answer.reason } : {};
    if (extra) Object.assign(body, extra(answer));
    try {
      const r = await api('POST', path, body);
      toast(t('act.done', { what: dialog.title }) + (r.result ? ' — ' + r.result : ''));
    } catch (e) {
      toast(e.status === 403 ? t('err.forbidden') : t('err.generic', { msg: e.message }));
    }
    await refresh();
    return true;
  }
  const deliveryActions = (d, after) => {
    if (!canOperate()) return null;
    const v = { id: d.id, channel: d.channel };
    const btn = (cls, label, verb, dlg, required) =>
      h('button', { type: 'button', class: 'btn btn-small ' + cls, text: t(label), onclick: async (ev) => {
        ev.stopPropagation();
        if (await act({ title: t(dlg), text: t(dlg + '.text', v) }, '/deliveries/' + d.id + '/' + verb, required) && after) after();
      } });
    const out = [];
    if (['failed', 'expired', 'cancelled', 'manual_action', 'waiting_retry', 'parked'].includes(d.state))
      out.push(btn('btn-primary act-retry', 'act.retry', 'retry', 'dlg.retry', false));
    if (d.state === 'held') out.push(btn('act-release', 'act.release', 'release', 'dlg.release', false));
    if (d.state === 'manual_action') out.push(btn('act-resolve', 'act.resolve', 'resolve', 'dlg.resolve', false));
    if (['pending', 'held', 'waiting_retry', 'parked', 'failed', 'manual_action'].includes(d.state))
      out.push(btn('btn-danger act-cancel', 'act.cancel', 'cancel', 'dlg.cancel', true));
    return h('span', { class: 'acts' }, out.flatMap((b, i) => (i ? [' ', b] : [b])));
  };
  function why(d) {
    const a = d.last_attempt;
    if (d.state === 'delivered' && d.url) {
      let shown = d.url;
      try { shown = decodeURI(d.url); } catch (e) { /* keep it encoded */ }
      return h('a', { class: 'link url', href: d.url, target: '_blank', rel: 'noopener noreferrer', title: shown, text: shown });
    }
    let s = d.detail ? (d.reason ? d.reason + ': ' : '') + d.detail : d.reason || '';
    if (a && d.state !== 'delivered' && a.message) s = (a.http_status && !String(a.message).startsWith('HTTP') ? 'HTTP ' + a.http_status + ': ' : '') + a.message;
    return s || '—';
  }
  const itemLink = (id, title) => h('a', { class: 'link item-link', data: { item: id }, text: title || id, onclick: (ev) => { ev.preventDefault(); openItem(id); } });

  // ---- overview ------------------------------------------------------------------------
  function renderAlerts(st) {
    $('#alerts').replaceChildren(...(st.alerts || []).map((a) =>
      h('div', { class: 'alert ' + a.level, data: { code: a.code } },
        STR[lang]['alert.' + a.code] ? t('alert.' + a.code, { channel: a.channel || '', count: a.count || 0 }) : a.message)));
    const failed = (st.deliveries && st.deliveries.failed) || 0;
    const rej = st.rejections_waiting || 0;
    for (const [view, n] of [['failures', failed], ['deadletters', rej]]) {
      const tab = document.querySelector('.tab[data-view="' + view + '"]');
      tab.replaceChildren(t('tab.' + view), n ? h('span', { class: 'count', text: n }) : '');
    }
  }
  function renderTiles(st) {
    const backlog = (st.channels || []).reduce((n, c) => n + (c.backlog || 0), 0);
    const tile = (label, n, bad) => h('div', { class: 'card tile' }, h('div', { class: 'num' + (bad && n ? ' bad' : ''), text: n ?? 0 }), h('div', { class: 'lbl', text: t(label) }));
    $('#tiles').replaceChildren(
      tile('tile.items', st.items), tile('tile.backlog', backlog), tile('tile.inflight', st.in_flight),
      tile('tile.failed', (st.deliveries && st.deliveries.failed) || 0, true), tile('tile.rejected', st.rejections_waiting, true));
  }
  function channelCard(c) {
    const kv = (k, v) => [h('dt', { text: t(k) }), h('dd', null, v)];
    const rate = c.rate && c.rate.per_second > 0 ? (c.rate.per_second >= 1 ? c.rate.per_second.toFixed(1) + '/s' : (c.rate.per_second * 3600).toFixed(0) + '/h') : t('ch.unlimited');
    const acts = [];
    const chanBtn = (cls, label, verb, dlg, required, vars) => h('button', { type: 'button', class: 'btn btn-small ' + cls, text: t(label, vars), onclick: () =>
      act({ title: t(dlg), text: t(dlg + '.text', { channel: c.id, n: c.failed }) }, '/channels/' + enc(c.id) + '/' + verb, required) });
    if (canOperate()) {
      acts.push(c.paused ? chanBtn('act-resume', 'act.resume', 'resume', 'dlg.resume', false) : chanBtn('act-pause', 'act.pause', 'pause', 'dlg.pause', false));
      if (c.failed > 0) acts.push(chanBtn('btn-primary act-retry-failed', 'act.retryfailed', 'retry-failed', 'dlg.retryfailed', false, { n: c.failed }));
      if (c.parked) acts.push(chanBtn('act-unpark', 'act.unpark', 'unpark', 'dlg.unpark', true));
    }
    if (canAdmin() && c.parked)
      acts.push(h('button', { type: 'button', class: 'btn btn-small btn-primary act-credentials', text: t('act.credentials'), onclick: () =>
        act({ title: t('dlg.credentials'), text: t('dlg.credentials.text', { channel: c.id }), cred: true }, '/channels/' + enc(c.id) + '/credentials', true,
          (a) => ({ key: a.key, value: a.value })) }));
    const err = c.parked ? t('ch.reauth', { reason: c.parked_reason || c.last_error || '' }) : c.health !== 'ok' ? c.last_error : null;
    return h('div', { class: 'card channel h-' + c.health, data: { channel: c.id, health: c.health } },
      h('div', { class: 'channel-head' },
        h('div', null, h('div', { class: 'channel-name', text: adapterName(c.adapter) }), h('div', { class: 'channel-adapter mono', text: c.id })),
        badge('b-' + c.health + ' health', HEALTH[lang][c.health] || c.health)),
      h('dl', { class: 'kv' },
        kv('ch.backlog', String(c.backlog)), kv('ch.inflight', c.in_flight + ' / ' + c.max_in_flight),
        kv('ch.failed', h('span', { class: c.failed ? 'error' : '', text: String(c.failed) })), kv('ch.d24', String(c.delivered_24h ?? 0)),
        kv('ch.breaker', BREAKER[lang][c.breaker] || c.breaker), kv('ch.rate', rate), kv('ch.lastok', fmtShort(c.last_success_at))),
      err ? h('div', { class: 'lasterr', text: err }) : null,
      acts.length ? h('div', { class: 'channel-actions' }, acts) : null);
  }
  async function loadOverview() {
    const d = await api('GET', '/deliveries?limit=15');
    const rows = d.deliveries.map((x) => h('tr', { data: { delivery: x.id, state: x.state } },
      h('td', { class: 'time', text: fmtShort(x.updated_at) }), h('td', null, itemLink(x.item_id, x.title)),
      h('td', { class: 'mono', text: x.channel + (x.target ? '/' + x.target : '') }), h('td', null, stateBadge(x.state)),
      h('td', { class: 'num', text: x.attempts }), h('td', { class: x.state === 'delivered' ? 'preview' : 'why' }, why(x))));
    table($('#recent'), [t('col.updated'), t('col.item'), t('col.channel'), t('col.state'), t('col.attempts'), t('col.why')], rows);
  }

  // ---- failures, dead letters, items, audit, report ---------------------------------------
  async function loadFailures() {
    const d = await api('GET', '/dead-letters/deliveries?limit=200');
    const rows = d.deliveries.map((x) => h('tr', { data: { delivery: x.id, state: x.state } },
      h('td', { class: 'time', text: fmtShort(x.updated_at) }), h('td', null, itemLink(x.item_id, x.title)),
      h('td', { class: 'mono', text: x.channel + (x.target ? '/' + x.target : '') }), h('td', { class: 'num', text: x.attempts }),
      h('td', { class: 'why', text: why(x) }), h('td', { class: 'actions' }, deliveryActions(x))));
    table($('#failures'), [t('col.updated'), t('col.item'), t('col.channel'), t('col.attempts'), t('col.why'), t('col.actions')], rows, t('none.failures'));
  }
  async function loadDeadLetters() {
    const d = await api('GET', '/dead-letters/rejections?limit=200');
    const rows = d.rejections.map((r) => h('tr', { data: { rejection: r.id } },
      h('td', { class: 'time', text: fmtShort(r.rejected_at) }), h('td', null, badge('s-failed', r.reason)),
      h('td', { class: 'preview', text: r.detail || '' }),
      h('td', { class: 'mono', text: r.topic + '[' + r.partition + ']@' + r.offset }),
      h('td', { class: 'preview' }, r.binary ? badge('', t('dlq.binary')) : null, ' ', r.preview || ''),
      h('td', { class: 'actions' }, r.replayed_at ? badge('s-delivered', t('dlq.replayed')) : null, ' ',
        canOperate() ? h('button', { type: 'button', class: 'btn btn-small act-replay', text: t('act.replay'), onclick: () =>
          act({ title: t('dlg.replay'), text: t('dlg.replay.text', { id: r.id }) }, '/dead-letters/rejections/' + r.id + '/replay', false) }) : null)));
    table($('#rejections'), [t('col.time'), t('col.reason'), t('col.detail'), t('col.source'), t('col.preview'), t('col.actions')], rows, t('none.rejections'));
  }
  function summary(counts) {
    return Object.entries(counts || {}).sort().map(([s, n]) => [badge('s-' + s, stateName(s) + ' ' + n), ' ']);
  }
  async function loadItems(more) {
    const q = new URLSearchParams();
    const v = (id) => $(id).value.trim();
    if (v('#f-q')) q.set('q', v('#f-q'));
    if (v('#f-state')) q.set('state', v('#f-state'));
    if (v('#f-channel')) q.set('channel', v('#f-channel'));
    if (v('#f-since')) q.set('since', v('#f-since'));
    if (v('#f-until')) q.set('until', v('#f-until'));
    if (more && state.cursor) q.set('cursor', state.cursor);
    const d = await api('GET', '/items?' + q.toString());
    const rows = d.items.map((x) => h('tr', { class: 'clickable', data: { item: x.id }, onclick: () => openItem(x.id) },
      h('td', { class: 'time', text: fmtTime(x.approved_at) }),
      h('td', null, h('div', { text: x.title || x.id }), h('div', { class: 'muted mono', text: x.id + ' v' + x.version + (x.action === 'retract' ? ' · ' + t('item.retracted') : '') })),
      h('td', { text: x.publisher || '' }), h('td', { text: categoryName(x.category) }), h('td', null, summary(x.deliveries))));
    if (more) {
      const body = $('#items tbody');
      for (const r of rows) body.append(r);
    } else {
      table($('#items'), [t('col.approved'), t('col.item'), t('col.publisher'), t('col.category'), t('col.deliveries')], rows);
    }
    state.cursor = d.next_cursor;
    $('#items-more').hidden = !d.next_cursor;
  }
  async function loadAudit() {
    const d = await api('GET', '/audit?limit=200');
    const rows = d.entries.map((e) => h('tr', null,
      h('td', { class: 'time', text: fmtTime(e.at) }), h('td', { text: e.who }), h('td', { text: actionName(e.action) }),
      h('td', null, e.item_id ? itemLink(e.item_id, e.item_id) : '—'),
      h('td', { class: 'mono', text: (e.channel || '') + (e.delivery_id ? ' #' + e.delivery_id : '') }), h('td', { text: e.reason || '' })));
    table($('#audit'), [t('col.time'), t('col.who'), t('col.action'), t('col.item'), t('col.channel'), t('col.reason')], rows);
  }
  async function loadReport() {
    const year = $('#r-year').value;
    const r = await api('GET', '/report?year=' + enc(year));
    const heads = (first) => [first, t('rep.items'), t('rep.published'), t('rep.retracted'), t('rep.deliveries'), t('rep.delivered'), t('rep.failed'), t('rep.inprogress'), t('rep.rate')];
    const pct = (x) => (x === null || x === undefined ? '—' : (x * 100).toFixed(1) + '%');
    const row = (label, x) => h('tr', null, h('td', { text: label }),
      ...['items', 'published', 'retracted', 'deliveries', 'delivered', 'failed', 'in_progress'].map((k) => h('td', { class: 'num', text: x[k] ?? '' })),
      h('td', { class: 'num', text: pct(x.success_rate) }));
    const section = (title, first, rows) => {
      const tb = h('table', { class: 'grid' });
      table(tb, heads(first), rows);
      return h('div', { class: 'card table-card' }, h('h3', { text: title }), tb);
    };
    $('#report').replaceChildren(
      section(t('report.total') + ' ' + r.year, '', [row(String(r.year), r.totals)]),
      h('div', { class: 'report-grid' },
        section(t('report.month'), '', r.by_month.map((x) => row(x.month, x))),
        section(t('report.category'), '', r.by_category.map((x) => row(categoryName(x.category), x))),
        section(t('report.publisher'), '', r.by_publisher.map((x) => row(x.publisher || x.publisher_code, x))),
        section(t('report.column'), '', r.by_column.map((x) => row(x.column, x)))),
      section(t('report.channel'), '', r.by_channel.map((x) => row(x.channel, x))));
  }
  async function downloadCsv(ev) {
    ev.preventDefault();
    const year = $('#r-year').value;
    const r = await fetch('/api/v1/report?format=csv&bom=1&year=' + enc(year), { headers: { Authorization: 'Bearer ' + state.token }, cache: 'no-store', credentials: 'omit' });
    if (!r.ok) return toast(t('err.generic', { msg: 'HTTP ' + r.status }));
    const url = URL.createObjectURL(new Blob([await r.arrayBuffer()], { type: 'text/csv' }));
    const a = h('a', { href: url, download: 'herald-report-' + year + '.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  // ---- one item ------------------------------------------------------------------------
  function timelineEntry(e) {
    const chan = e.channel ? e.channel + (e.target ? '/' + e.target : '') : '';
    let what;
    let extra = '';
    if (e.kind === 'state') {
      what = [e.previous ? stateBadge(e.previous) : badge('', t('tl.new')), ' → ', stateBadge(e.state)];
      extra = [e.reason, e.detail].filter(Boolean).join(': ');
    } else if (e.kind === 'attempt') {
      what = h('span', { text: t('tl.attempt', { op: t('op.' + e.op), outcome: outcomeName(e.outcome) }) + (e.http_status ? ' · HTTP ' + e.http_status : '') + (e.duration_ms !== null ? ' · ' + e.duration_ms + ' ms' : '') });
      extra = [e.platform_code, e.message].filter(Boolean).join(' ');
    } else {
      what = h('span', { class: 't-who', text: t('tl.audit', { who: e.who, action: actionName(e.action) }) });
      extra = e.reason || '';
    }
    return h('li', { class: 'k-' + e.kind + (e.state ? ' st-' + e.state : ''), data: { kind: e.kind, state: e.state || '' } },
      h('span', { class: 't-time', text: fmtTime(e.at) }), chan ? h('span', { class: 't-chan mono', text: chan }) : null,
      what, extra ? h('span', { class: 'muted', text: ' — ' + extra }) : null);
  }
  async function renderItem(id) {
    const r = await api('GET', '/items/' + enc(id));
    const it = r.item;
    $('#item-title').textContent = it.title || it.id;
    const meta = (k, v) => h('span', null, t(k) + '：', h('b', { text: v || '—' }));
    $('#item-meta').replaceChildren(meta('item.id', it.id), meta('item.version', String(it.latest_version) + (it.retracted_version ? ' (' + t('item.retracted') + ')' : '')),
      meta('item.publisher', it.publisher), meta('item.column', it.column), meta('item.category', categoryName(it.category)), meta('item.approved', fmtTime(it.approved_at)),
      canOperate() && !it.retracted_version ? h('button', { type: 'button', class: 'btn btn-small btn-danger act-retract', text: t('act.retract'), onclick: () =>
        act({ title: t('dlg.retract'), text: t('dlg.retract.text', { title: it.title || it.id }) }, '/items/' + enc(it.id) + '/retract', true) }) : null);
    const rows = r.deliveries.map((d) => h('tr', { data: { delivery: d.id, state: d.state } },
      h('td', { class: 'mono', text: d.channel }), h('td', { text: d.target || '—' }), h('td', { class: 'num', text: d.version }),
      h('td', null, stateBadge(d.state)), h('td', { class: 'num', text: d.attempts }), h('td', { class: 'time', text: fmtShort(d.updated_at) }),
      h('td', { class: d.state === 'delivered' ? 'preview' : 'why' }, why(d)), h('td', { class: 'actions' }, deliveryActions(d))));
    table($('#item-deliveries'), [t('col.channel'), t('col.target'), t('col.version'), t('col.state'), t('col.attempts'), t('col.updated'), t('col.why'), t('col.actions')], rows);
    $('#item-timeline').replaceChildren(...r.timeline.map(timelineEntry));
  }
  async function openItem(id) {
    state.openItem = id;
    try {
      await renderItem(id);
      if (!$('#item-dialog').open) $('#item-dialog').showModal();
    } catch (e) {
      state.openItem = null;
      toast(t('err.generic', { msg: e.message }));
    }
  }

  // ---- views and refresh ---------------------------------------------------------------
  const LOADERS = { overview: loadOverview, failures: loadFailures, deadletters: loadDeadLetters, items: () => loadItems(false), audit: loadAudit, report: loadReport };
  const LIVE = { overview: true, failures: true, deadletters: true };
  async function refresh(full) {
    if (!state.token || state.busy) return;
    state.busy = true;
    try {
      const st = await api('GET', '/status');
      state.status = st;
      renderAlerts(st);
      if (state.view === 'overview') {
        renderTiles(st);
        $('#channels').replaceChildren(...st.channels.map(channelCard));
      }
      if (full || LIVE[state.view]) await LOADERS[state.view]();
      if (state.openItem && $('#item-dialog').open) await renderItem(state.openItem);
      $('#refreshed').textContent = t('refreshed', { time: fmtTime(st.now).slice(11) });
    } catch (e) {
      if (e.status !== 401) $('#refreshed').textContent = t('err.generic', { msg: e.message });
    } finally {
      state.busy = false;
    }
  }
  function fillFilters() {
    const states = ['', 'failed', 'pending', 'waiting_retry', 'held', 'parked', 'manual_action', 'delivered', 'retracted'];
    $('#f-state').replaceChildren(...states.map((s) => h('option', { value: s, text: s ? stateName(s) : t('items.anystate') })));
    const chans = ((state.status && state.status.channels) || []).map((c) => c.id);
    $('#f-channel').replaceChildren(h('option', { value: '', text: t('items.anychannel') }), ...chans.map((c) => h('option', { value: c, text: c })));
  }
  async function show(view) {
    state.view = view;
    for (const el of document.querySelectorAll('.view')) el.hidden = el.id !== 'view-' + view;
    for (const el of document.querySelectorAll('.tab')) el.classList.toggle('active', el.dataset.view === view);
    if (view === 'items') fillFilters();
    if (view === 'report' && !$('#r-year').value) $('#r-year').value = new Date().getFullYear();
    await refresh(true);
  }

  // ---- wiring --------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', () => {
    applyStatic();
    $('#login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const tok = $('#token').value.trim();
      if (tok) login(tok);
    });
    $('#logout').addEventListener('click', () => logout(null));
    $('#lang').addEventListener('click', () => {
      lang = lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem('herald.lang', lang);
      applyStatic();
      if (state.token) show(state.view);
    });
    for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => show(tab.dataset.view));
    $('#item-search').addEventListener('submit', (ev) => { ev.preventDefault(); loadItems(false); });
    $('#items-more').addEventListener('click', () => loadItems(true));
    $('#report-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadReport().catch((e) => toast(t('err.generic', { msg: e.message }))); });
    $('#report-csv').addEventListener('click', downloadCsv);
    $('#item-close').addEventListener('click', () => $('#item-dialog').close());
    $('#item-dialog').addEventListener('close', () => { state.openItem = null; });
    if (state.token) login(state.token);
    else showLogin(null);
  });
})();
