import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullQueueName, PROVIDER_JOB_NAME, providerQueueName } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { allPanels, familyOf, loadAlertRules, loadDashboard, packExpressions, packProblems, readExpression, servedFamilies, type Dashboard, type Family } from './harness/operator-pack.ts';

/**
 * Families this flow cannot give a series (so their labels are not checked, only that they are
 * served): they need a provider's batch API (`sluice_deferred_jobs`, `sluice_provider_batches`,
 * `sluice_wasted_usd_total`).
 */
const NO_SERIES_IN_THIS_FLOW = new Set(['sluice_deferred_jobs', 'sluice_provider_batches', 'sluice_wasted_usd_total']);

/** A webhook receiver that refuses the first delivery (500) and answers the others 200 after `delayMs`: deliveries overlap. */
async function startSlowReceiver(delayMs: number): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    received += 1;
    if (received === 1) res.writeHead(500).end();
    else setTimeout(() => res.writeHead(200).end(), delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: () => received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('the operator pack (examples/operator): a Grafana dashboard and Prometheus alert rules over what /metrics serves', () => {
  const dashboard = loadDashboard();
  const rules = loadAlertRules();
  const expressions = packExpressions(dashboard, rules);

  it('the dashboard imports into Grafana: a Prometheus datasource input that every panel and query uses, unique ids, a place for each', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(dashboard).toMatchObject({ title: 'Sluice', uid: expect.stringMatching(/^[a-z0-9-]{1,40}$/) });
    const panels = allPanels(dashboard);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.gridPos, panel.title).toMatchObject({ w: expect.any(Number), h: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
  });

  it('the alert rules are Prometheus rule groups: each alert has an expression, a severity and a summary', () => {
    expect(rules.groups.length).toBeGreaterThan(0);
    const alerts = rules.groups.flatMap((group) => group.rules);
    expect(alerts.map((rule) => rule.alert)).toEqual(expect.arrayContaining(['SluiceCircuitOpen', 'SluiceOldestWaitHigh', 'SluiceDeadLettersGrowing', 'SluiceWebhookFailures', 'SluiceRedisMemoryHigh']));
    for (const rule of alerts) {
      expect(rule.expr, rule.alert).toEqual(expect.any(String));
      expect(rule.for ?? '0m', rule.alert).toMatch(/^\d+[smhd]$/);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toEqual(expect.any(String));
    }
  });

  it('every expression parses as PromQL', () => {
    expect(expressions.length).toBeGreaterThan(40);
    expect(expressions.flatMap(({ where, expr }) => readExpression(expr).errors.map((error) => `${where}: ${error}`))).toEqual([]);
  });

  describe('after a job flow (successes, a failover, a dead letter, webhooks, a cache hit, a stream)', () => {
    let gateway: Gateway;
    let receiver: Awaited<ReturnType<typeof startSlowReceiver>>;
    let families: Map<string, Family>;
    beforeAll(async () => {
      receiver = await startSlowReceiver(800);
      gateway = await startGateway(
        makeConfig({
          providers: {
            flaky: { type: 'mock', latency_ms: 1, failure_rate: 1, retry: { attempts: 1, backoff_ms: 1, max_backoff_ms: 1 } },
            steady: { type: 'mock', latency_ms: 1 },
          },
          routes: { default: ['flaky/echo', 'steady/echo'], doomed: ['flaky/echo'], direct: ['steady/echo'] },
          pricing: { 'steady/echo': { input: 1, output: 2 } },
          breaker: { min_requests: 1_000_000 },
          jobs: { max_attempts: 2 },
          webhooks: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allow_private_networks: true, retry_schedule_s: [0.1], max_in_flight_per_tenant: 1 },
        }),
      );
      const api = client(gateway.url);
      const submit = async (body: Record<string, unknown>) => (await api.post('/v1/jobs', { messages: userMessage('pack'), ...body })).body.id as string;
      const hooked = await Promise.all([1, 2, 3].map((n) => submit({ model: 'default', metadata: { n: String(n) }, webhook: { url: receiver.url } })));
      const doomed = await submit({ model: 'doomed' });
      const cached = await submit({ model: 'direct', cache: { ttl_s: 60 } });
      for (const id of hooked) expect(await api.waitForJob(id)).toMatchObject({ status: 'succeeded', provider: 'steady', routing: { failovers: [expect.objectContaining({ from: 'flaky', to: 'steady' })] } });
      expect((await api.waitForJob(doomed)).status).toBe('failed');
      expect((await api.waitForJob(cached)).status).toBe('succeeded');
      expect((await api.waitForJob(await submit({ model: 'direct', cache: { ttl_s: 60 } }))).cache).toEqual(expect.objectContaining({ hit: true }));
      const streamed = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'direct', messages: userMessage('stream'), stream: true }),
      });
      expect((await streamed.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
      // An entry whose record is gone (what sluice_orphaned_queue_entries_total counts).
      const redis = new Redis(gateway.config.redis.url);
      const queue = new Queue(bullQueueName(providerQueueName('steady')), { connection: redis, prefix: gateway.config.redis.prefix });
      await queue.add(PROVIDER_JOB_NAME, { id: 'job_AAAAAAAAAAAAAAAAAAAAAA' }, { jobId: 'job_AAAAAAAAAAAAAAAAAAAAAA.0' });
      await eventually(async () => gateway.logs.some((line) => line.includes('job record is missing')), 10_000, 'the orphaned entry taken');
      await queue.close();
      redis.disconnect();
      // Three deliveries of one tenant, one slot: the first refused once, the others wait their turn.
      await eventually(async () => receiver.received() >= 4, 15_000, 'every webhook delivered');
      const scrape = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
      expect(scrape.status).toBe(200);
      families = servedFamilies(await scrape.text());
    }, 60_000);
    afterAll(async () => {
      await gateway?.close();
      await receiver?.close();
    });

    it('every metric the dashboard and the rules name is served, with the labels they use', () => {
      expect(packProblems(expressions, families)).toEqual([]);
    });

    it('the flow gave a series to every family but those that need a provider batch API', () => {
      const sluice = [...families].filter(([name]) => name.startsWith('sluice_'));
      expect(sluice.length).toBeGreaterThan(20);
      expect(sluice.filter(([name, family]) => family.samples === 0 && !NO_SERIES_IN_THIS_FLOW.has(name)).map(([name]) => name)).toEqual([]);
    });

    it('the dashboard shows every sluice_* family /metrics serves', () => {
      const shown = new Set(packExpressions(dashboard, { groups: [] }).flatMap(({ expr }) => readExpression(expr).selectors.map((selector) => familyOf(selector.metric, families))));
      expect([...families.keys()].filter((name) => name.startsWith('sluice_') && !shown.has(name))).toEqual([]);
    });

    it('a panel naming a metric that does not exist, a counter read as a histogram, or a label a metric lacks is caught', () => {
      const broken: Dashboard = structuredClone(dashboard);
      broken.panels.push(
        { type: 'timeseries', title: 'typo', targets: [{ expr: 'sum(rate(sluice_job_total[5m]))' }] },
        { type: 'timeseries', title: 'not a histogram', targets: [{ expr: 'histogram_quantile(0.9, sum by (le) (rate(sluice_jobs_total_bucket[5m])))' }] },
        { type: 'timeseries', title: 'no such label', targets: [{ expr: 'sum by (tenant) (rate(sluice_jobs_total{colour="red"}[5m]))' }] },
      );
      expect(packProblems(packExpressions(broken, rules), families)).toEqual([
        'panel "typo" target 0: sluice_job_total is not served',
        'panel "not a histogram" target 0: sluice_jobs_total_bucket is not served',
        'panel "no such label" target 0: sluice_jobs_total has no label "colour"',
        'panel "no such label" target 0: no metric under "by (tenant)" has a label "tenant"',
      ]);
    });
  });
});
