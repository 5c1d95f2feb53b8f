// The dashboard page (SPEC §7, `GET /`) in headless Chromium against a real daemon: readings
// published with MQTT.js show up as the ingest rate, a rule's alert in the alerts table and
// its counts in the rules table; events by type, errors, latencies and a row per sensor with
// its sparkline, read from the rendered DOM; with http.token set the page opens as `/?token=…`.
// Needs Chromium (Debian package `chromium`); without it this file fails, it never skips.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { hotRule } from '../helpers/rules.js';
import { tempDir } from '../helpers/tmp.js';

// The browser globals used by the functions evaluated in the page (no DOM lib in this project).
interface PageElement { textContent: string | null; getAttribute(name: string): string | null }
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  documentElement: { scrollWidth: number };
  querySelector(selector: string): PageElement | null;
};
declare const window: { innerWidth: number };

const CHROMIUM = process.env.EDGEBUS_CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 15_000;

// A message with markup: the page must show it as text.
const HOT = hotRule({ count: 3, message: '{group} <b>hot</b>: max {max(value)}', clear: true });

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set EDGEBUS_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

async function daemonIn(dir: string, overrides: Record<string, unknown> = {}): Promise<RunningDaemon> {
  mkdirSync(join(dir, 'rules'), { recursive: true });
  writeFileSync(join(dir, 'rules', 'hot.yaml'), HOT);
  // Sample every 100 ms (tests and demos only): the page then refreshes every 500 ms.
  process.env.EDGEBUS_HISTORY_MS = '100';
  try {
    return await startDaemon(dir, overrides);
  } finally {
    delete process.env.EDGEBUS_HISTORY_MS;
  }
}

/** A phone-sized page that records console errors and uncaught exceptions. */
async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

const text = (page: Page, selector: string) => page.locator(selector).first().textContent({ timeout: TIMEOUT });

describe('dashboard page', () => {
  // Launched by the first test that needs it: without Chromium every test fails with the reason.
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launch());
  after(async () => { await (await launched?.catch(() => undefined))?.close(); });

  it('charts the ingest rate, backlog and link, and lists alerts and rule counts as readings arrive', async () => {
    const { page, errors } = await openPage(await browser());
    const tmp = tempDir();
    const d = await daemonIn(tmp.dir);
    let device: MqttClient | undefined;
    try {
      const res = await page.goto(`${d.httpUrl}/`);
      assert.equal(res?.status(), 200);
      const h = res!.headers();
      assert.equal(h['content-type'], 'text/html; charset=utf-8');
      assert.equal(h['cache-control'], 'no-store');
      assert.match(h['content-security-policy'], /default-src 'none'/);
      assert.match(h['content-security-policy'], /connect-src 'self'/);

      await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null, { timeout: TIMEOUT });
      for (const id of ['chart-ingest', 'chart-backlog', 'chart-link']) {
        await page.waitForFunction((sel) => {
          const p = document.querySelector(sel);
          return p !== null && Number(p.getAttribute('data-points')) > 0 && (p.getAttribute('d') ?? '').startsWith('M');
        }, `svg#${id} path[data-points]`, { timeout: TIMEOUT });
      }
      assert.equal(await text(page, '#link .value'), 'store-only');
      assert.equal(await text(page, '#backlog .value'), '0');
      assert.equal(await text(page, '#rules-loaded'), '1');

      device = await connect(d.brokerUrl);
      for (const v of [31, 32, 33]) await publish(device, 'sensors/gh-1/temperature', { value: v });
      await page.waitForFunction(() => Number(document.querySelector('#ingest-rate .value')?.textContent) > 0, null, { timeout: TIMEOUT });

      const raised = page.locator('#alerts tbody tr[data-rule="hot"][data-state="raised"]');
      await raised.waitFor({ timeout: TIMEOUT });
      assert.equal(await raised.locator('td.msg').textContent(), 'gh-1 <b>hot</b>: max 33', 'shown as text, not markup');
      assert.equal(await page.locator('#alerts b').count(), 0);
      await page.waitForFunction(() => document.querySelector('#rules tbody tr[data-rule="hot"] .raised')?.textContent === '1', null, { timeout: TIMEOUT });
      assert.equal(await text(page, '#rules tbody tr[data-rule="hot"] .cleared'), '0');

      // More readings: the figures move on (the clear is counted, the rate and chart change).
      const before = {
        rate: await text(page, '#ingest-rate .value'),
        points: Number(await page.locator('svg#chart-ingest path').getAttribute('data-points')),
      };
      for (const v of [29, 27, 26]) await publish(device, 'sensors/gh-1/temperature', { value: v });
      await page.locator('#alerts tbody tr[data-rule="hot"][data-state="cleared"]').waitFor({ timeout: TIMEOUT });
      await page.waitForFunction(() => document.querySelector('#rules tbody tr[data-rule="hot"] .cleared')?.textContent === '1', null, { timeout: TIMEOUT });
      await page.waitForFunction((b) => document.querySelector('#ingest-rate .value')?.textContent !== b.rate
        && Number(document.querySelector('svg#chart-ingest path')?.getAttribute('data-points')) > b.points, before, { timeout: TIMEOUT });
      assert.equal(await page.locator('#alerts tbody tr').count(), 2, 'newest first: cleared, raised');
      assert.equal(await page.locator('#alerts tbody tr').first().getAttribute('data-state'), 'cleared');

      assert.equal(await text(page, '#error'), '');
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'fits a phone-sized screen');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await page.close();
      await device?.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });

  it('shows events by type, the error rate, latencies and a row per sensor with its last value and sparkline', async () => {
    const { page, errors } = await openPage(await browser());
    const tmp = tempDir();
    const d = await daemonIn(tmp.dir);
    let device: MqttClient | undefined;
    try {
      await page.goto(`${d.httpUrl}/`);
      await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null, { timeout: TIMEOUT });
      assert.equal(await text(page, '#sensors tbody td.empty'), 'none', 'no sensor before the first reading');

      device = await connect(d.brokerUrl);
      for (const v of [31, 32, 33]) await publish(device, 'sensors/gh-1/temperature', { value: v, unit: 'C' });
      await publish(device, 'sensors/gh-2/humidity', { value: 40, unit: '%' });
      await publish(device, 'sensors/gh-2/humidity', 'not a reading');

      const gh1 = '#sensors tbody tr[data-device="gh-1"][data-sensor="temperature"]';
      await page.waitForFunction((sel) => document.querySelector(`${sel} .value`)?.textContent === '33', gh1, { timeout: TIMEOUT });
      assert.equal(await text(page, `${gh1} .unit`), 'C');
      assert.equal(await text(page, `${gh1} .readings`), '3');
      assert.match((await text(page, `${gh1} .time`)) ?? '', /\d/);
      const spark = page.locator(`${gh1} svg.spark path`);
      assert.equal(await spark.getAttribute('data-points'), '3');
      assert.match((await spark.getAttribute('d')) ?? '', /^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/, 'one line through three values');
      const gh2 = '#sensors tbody tr[data-device="gh-2"][data-sensor="humidity"]';
      assert.equal(await text(page, `${gh2} .value`), '40');
      assert.equal(await text(page, `${gh2} .unit`), '%');
      assert.equal(await text(page, '#sensors-count'), '2');

      // The alert of the third reading over 30 and the rejected payload, on the same refresh or a later one.
      await page.waitForFunction(() => document.querySelector('#event-types tbody tr[data-type="Alert"] .total')?.textContent === '1'
        && document.querySelector('#errors .value')?.textContent === '1', null, { timeout: TIMEOUT });
      assert.equal(await text(page, '#event-types tbody tr[data-type="DeviceData"] .total'), '4');
      assert.equal(await text(page, '#event-types tbody tr[data-type="DeviceData"] .minute'), '4');
      assert.equal(await page.locator('#event-types tbody tr[data-type="Command"]').count(), 0, 'types not seen are left out');
      assert.match((await text(page, '#errors .rejected')) ?? '', /^1 \(1 since start\)$/);
      assert.equal(await page.locator('#errors').getAttribute('data-errors'), 'true');

      await page.waitForFunction(() => document.querySelector('#latency tbody tr[data-latency="reading-to-alert"] .count')?.textContent === '1', null, { timeout: TIMEOUT });
      for (const stage of ['ack', 'reading-to-alert']) {
        const row = `#latency tbody tr[data-latency="${stage}"]`;
        for (const cell of ['p50', 'p99', 'p50-all', 'p99-all']) assert.match((await text(page, `${row} .${cell}`)) ?? '', /^[\d.]+ ms$/, `${stage} ${cell}`);
      }
      assert.ok(Number(await text(page, '#latency tbody tr[data-latency="ack"] .count')) >= 5, 'every publish acknowledged');
      assert.equal(await text(page, '#latency tbody tr[data-latency="forward"] .p50'), '-', 'store-only: nothing forwarded');

      assert.equal(await text(page, '#error'), '');
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'fits a phone-sized screen');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await page.close();
      await device?.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });

  it('with http.token: / without it is a 401, /?token=… serves a page whose fetches succeed', async () => {
    const { page, errors } = await openPage(await browser());
    const tmp = tempDir();
    const token = 'dash-token-0123456789';
    const d = await daemonIn(tmp.dir, { http: { token } });
    try {
      const bare = await fetch(`${d.httpUrl}/`);
      assert.equal(bare.status, 401);
      assert.match(bare.headers.get('content-type') ?? '', /application\/json/);
      assert.ok(((await bare.json()) as { error: string }).error);
      assert.equal((await fetch(`${d.httpUrl}/?token=wrong`)).status, 401);
      assert.equal((await fetch(`${d.httpUrl}/api/history?token=${token}`)).status, 401, '?token= is for the page only');
      assert.equal((await fetch(`${d.httpUrl}/api/history`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await fetch(`${d.httpUrl}/healthz`)).status, 200);

      const res = await page.goto(`${d.httpUrl}/?token=${token}`);
      assert.equal(res?.status(), 200);
      await page.waitForFunction(() => Number(document.body.dataset.updates) >= 2, null, { timeout: TIMEOUT });
      assert.equal(await text(page, '#error'), '');
      assert.match((await text(page, '#gw')) ?? '', /^test-gw /);
      await page.locator('svg#chart-ingest path[data-points]:not([data-points="0"])').waitFor({ state: 'attached', timeout: TIMEOUT });
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await page.close();
      await d.stop();
      tmp.cleanup();
    }
  });
});
