/*
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core): log in, see the
 * channels, find the failed delivery and why it failed, fix the channel (the simulator's fault is
 * cleared), retry it from the page and watch it succeed; the item's timeline shows the operator's
 * action; no cookies, the token only in sessionStorage, no CSP violation, English and Chinese.
 * Run by test_dashboard.py: node dashboard.test.js CONFIG.json (base, tokens, the failed delivery,
 * the simulator's control URL, where screenshots go).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const T = 20000;
const problems = [];

function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(T);
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('response', (r) => {
      if (r.headers()['set-cookie']) problems.push('a cookie was set by ' + r.url());
    });
    // 401s while logging in with a wrong token are expected; others are problems
    page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));

    const resp = await page.goto(cfg.base + '/');
    const csp = resp.headers()['content-security-policy'] || '';
    check(csp.includes("default-src 'self'") && csp.includes("script-src 'self'") &&
      !csp.includes('unsafe-inline'), 'strict Content-Security-Policy on the page');
    check(resp.headers()['x-frame-options'] === 'DENY', 'the page cannot be framed');

    // a wrong token is refused, the right one lets in
    await page.fill('#token', 'definitely-not-a-token-00000');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    check((await page.textContent('#login-error')).includes('令牌无效'), 'a wrong token is refused');
    problems.length = 0; // the 401 above shows as a console error in Chromium
    await page.fill('#token', cfg.tokens.desk);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    check(await page.evaluate(() => sessionStorage.getItem('herald.token')) === cfg.tokens.desk,
      'the token is kept in sessionStorage');
    check(await page.evaluate(() => document.cookie) === '', 'no cookies');
    check((await page.textContent('#who')).includes('desk'), 'the page shows who is logged in');

    // the channels, with health and backlog; the failing one is marked
    const wh = page.locator('.channel[data-channel="webhook:ops"]');
    await wh.waitFor();
    await page.locator('.channel[data-channel="website:portal"][data-health="ok"]').waitFor();
    await page.locator('.channel[data-channel="webhook:ops"][data-health="degraded"]').waitFor();
    check((await wh.textContent()).includes('HTTP 503'), 'the failing channel shows its last error');
    await page.locator('.alert[data-code="deliveries_failed"]').waitFor();
    if (cfg.screenshot_dir) {
      await page.screenshot({ path: path.join(cfg.screenshot_dir, 'dashboard.png'), fullPage: true });
    }

    // the failure with its reason
    await page.click('.tab[data-view="failures"]');
    const row = page.locator('#failures tr[data-delivery="' + cfg.delivery_id + '"]');
    await row.waitFor();
    check((await row.textContent()).includes('HTTP 503'), 'the failed delivery says why it failed');
    check((await row.textContent()).includes(cfg.title), 'the failed delivery names its item');
    if (cfg.screenshot_dir) {
      await page.screenshot({ path: path.join(cfg.screenshot_dir, 'dashboard-failures.png') });
    }

    // the item's timeline across channels
    await row.locator('.item-link').click();
    await page.waitForSelector('#item-dialog[open]');
    await page.locator('#item-timeline li[data-kind="attempt"]').first().waitFor();
    check(await page.locator('#item-deliveries tr[data-state="delivered"]').count() === 1 &&
      await page.locator('#item-deliveries tr[data-state="failed"]').count() === 1,
    'the item shows one channel delivered and one failed');
    await page.click('#item-close');

    // fix the channel, then retry from the page
    const fixed = await fetch(cfg.sim_webhook + '/_sim/faults', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"fail_next":0}',
    });
    check(fixed.ok, 'the channel is fixed (the endpoint answers again)');
    await row.locator('.act-retry').click();
    await page.waitForSelector('#action-dialog[open]');
    await page.fill('#action-reason', cfg.reason);
    await page.click('#action-ok');
    await page.waitForSelector('#toast:not([hidden])');

    // watch it succeed: gone from the failures, delivered in the live list
    await row.waitFor({ state: 'detached' });
    check(true, 'the delivery left the failures list');
    await page.click('.tab[data-view="overview"]');
    await page.locator('#recent tr[data-delivery="' + cfg.delivery_id + '"][data-state="delivered"]').waitFor();
    check(true, 'the retried delivery shows delivered in the live list');
    await page.locator('.channel[data-channel="webhook:ops"][data-health="ok"]').waitFor();
    check(await page.locator('.alert[data-code="deliveries_failed"]').count() === 0, 'the alert is gone');

    // the timeline has the operator's action next to the state changes
    await page.locator('#recent tr[data-delivery="' + cfg.delivery_id + '"] .item-link').click();
    await page.waitForSelector('#item-dialog[open]');
    const audit = page.locator('#item-timeline li[data-kind="audit"]');
    await audit.first().waitFor();
    const text = await audit.first().textContent();
    check(text.includes('desk') && text.includes(cfg.reason), 'the timeline shows who retried and why');
    check(await page.locator('#item-deliveries tr[data-state="delivered"]').count() === 2,
      'both channels delivered');
    if (cfg.screenshot_dir) {
      await page.screenshot({ path: path.join(cfg.screenshot_dir, 'dashboard-timeline.png') });
    }
    await page.click('#item-close');

    // English labels
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('.tab[data-view="overview"]').textContent === 'Overview');
    check((await page.textContent('h2')).includes('Channels'), 'English labels');
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('.tab[data-view="overview"]').textContent === '运行概览');

    // dead letters and the report render
    await page.click('.tab[data-view="deadletters"]');
    await page.locator('#rejections tr[data-rejection]').first().waitFor();
    check(true, 'the dead-letter list shows the rejected message');
    await page.click('.tab[data-view="report"]');
    await page.locator('#report table').first().waitFor();
    check(true, 'the annual report renders');

    // sign out: the token is gone; a viewer sees no action buttons
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    check(await page.evaluate(() => sessionStorage.getItem('herald.token')) === null, 'sign-out forgets the token');
    await page.fill('#token', cfg.tokens.watch);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('.channel[data-channel="webhook:ops"]');
    check(await page.locator('.channel-actions button').count() === 0, 'a viewer gets no action buttons');
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) throw new Error('browser problems:\n' + problems.join('\n'));
}

main().then(() => { console.log('dashboard test passed'); }, (e) => {
  console.error(e && e.stack ? e.stack : e);
  if (problems.length) console.error(problems.join('\n'));
  process.exit(1);
});
