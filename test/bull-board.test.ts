import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { ROOT } from './harness/processes.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const QUEUES = ['provider-mock', 'provider-broken', 'dead-letter', 'webhooks', 'batches'];

/** Bull Board's page of one queue, listing the entries in one state. */
const queuePage = (gateway: Gateway, queue: string, status: string): string => `${gateway.url}/admin/queues/queue/${encodeURIComponent(`{${queue}}`)}?status=${status}`;

/** The count Bull Board shows beside a state in a queue's state tabs (0 when it shows none). */
async function stateCount(page: Page, state: 'COMPLETED' | 'FAILED'): Promise<number> {
  const tab = page.locator(`a:has(span[data-text="${state}"])`).first();
  await tab.waitFor({ timeout: 15_000 });
  const badge = tab.locator('[class^="badge"]');
  return (await badge.count()) === 0 ? 0 : Number(await badge.innerText());
}

describe('Bull Board shows what happened: finished entries, clean queue names, the way to each job', () => {
  let gateway: Gateway;
  let browser: Browser;
  const succeeded: string[] = [];
  const failed: string[] = [];
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        providers: {
          mock: { type: 'mock', latency_ms: 1 },
          broken: { type: 'mock', latency_ms: 1, failure_rate: 1, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } },
        },
        routes: { default: ['mock/echo'], doomed: ['broken/x'] },
        breaker: { min_requests: 1000 },
        jobs: { max_attempts: 2 },
      }),
    );
    const api = client(gateway.url);
    for (const [model, ids] of [['default', succeeded], ['default', succeeded], ['default', succeeded], ['doomed', failed], ['doomed', failed]] as const) {
      ids.push((await api.post('/v1/jobs', { model, messages: userMessage(`history ${model}`) })).body.id);
    }
    for (const id of succeeded) expect((await api.waitForJob(id)).status).toBe('succeeded');
    for (const id of failed) expect((await api.waitForJob(id)).status).toBe('failed');
    // An entry finishes just after the job it ran ended.
    const queues = gateway.api!.deps.queues;
    await eventually(async () => (await queues.get('mock')!.getJobCounts('completed')).completed === succeeded.length, 5_000, 'entries completed');
    await eventually(async () => (await queues.get('broken')!.getJobCounts('failed')).failed === failed.length, 5_000, 'entries failed');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('lists completed and failed entries under queue names without hash-tag braces, and the screenshot shows them', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: KEYS.admin }, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    expect((await page.goto(`${gateway.url}/admin/queues`))?.status()).toBe(200);
    const sidebar = page.locator('#bull-board-sidebar nav');
    await sidebar.getByText('provider-mock', { exact: true }).waitFor({ timeout: 15_000 });
    const names = (await sidebar.innerText()).split('\n').map((line) => line.trim()).filter((line) => line !== '');
    expect([...names].sort()).toEqual([...QUEUES].sort());

    // The successes' entries completed; the failures' last entries failed, with the job's error.
    await page.goto(queuePage(gateway, 'provider-mock', 'completed'));
    // The page draws its tabs first, then the counts and entries as they load.
    await expect.poll(() => stateCount(page, 'COMPLETED'), { timeout: 15_000 }).toBe(succeeded.length);
    expect(await page.locator('h1').first().innerText()).toBe('provider-mock');
    await expect.poll(() => page.locator('main').innerText(), { timeout: 15_000 }).toContain(`${succeeded.at(-1)}.0`);
    const completed = await page.locator('main').innerText();
    for (const id of succeeded) {
      expect(completed).toContain(`${id}.0`); // the entry's id
      expect(completed).toContain(`id:"${id}"`); // its data: the job
    }
    await page.goto(queuePage(gateway, 'provider-broken', 'failed'));
    await expect.poll(() => stateCount(page, 'FAILED'), { timeout: 15_000 }).toBe(failed.length);
    expect(await stateCount(page, 'COMPLETED')).toBeGreaterThan(0); // the first call of each, which went on to a retry
    await expect.poll(() => page.locator('main').innerText(), { timeout: 15_000 }).toContain(`job ${failed.at(-1)} failed`);
    const failures = await page.locator('main').innerText();
    for (const id of failed) expect(failures).toContain(`job ${id} failed: max_attempts_exceeded`);
    expect(failures).not.toMatch(/\{provider-/);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'bull-board-history.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBeGreaterThan(10_000);
    await context.close();
  }, 60_000);

  it("from an entry to its job: the data's id is the job, which GET /v1/jobs/{id} shows to an admin key and to its tenant only", async () => {
    const [id] = failed;
    const admin = await client(gateway.url, KEYS.admin).get(`/v1/jobs/${id}`);
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ id, status: 'failed', error: { code: 'max_attempts_exceeded' } });
    expect((await client(gateway.url, KEYS.admin).get(`/v1/jobs/${id}?wait=1`)).body).toMatchObject({ id, status: 'failed' });
    expect((await client(gateway.url, KEYS.acme).get(`/v1/jobs/${id}`)).status).toBe(200);
    expect((await client(gateway.url, KEYS.globex).get(`/v1/jobs/${id}`)).status).toBe(404);
  });
});
