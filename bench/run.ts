// `npm run bench`: Sluice against a bare baseline, measured in the same run on the same Redis and
// the same zero-latency fake provider. Prints a table of figures, baselines and ratios, and writes
// it to bench/results/latest.json. Bounded: a few minutes on 2 cores.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { streamThroughput, timeToFirstChunk } from './lib/event-stream.ts';
import { collectProfiles, profileInto, ROOT, runTs, startBenchRedis, writeConfig, type Child } from './lib/processes.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** `BENCH_TRACING=1`: Sluice's processes trace every request (sample_ratio 1) to a loopback OTLP sink. */
const TRACING = process.env.BENCH_TRACING === '1';
/** The sink's base URL when Sluice's processes trace (`BENCH_TRACING=1`), else null. */
let otlpSink: string | null = null;
const ACCEPT_SECONDS = QUICK ? 3 : 10;
const PIPELINE_JOBS = QUICK ? 3_000 : 20_000;
const SYNC_REQUESTS = QUICK ? 300 : 1_500;
const MEMORY_JOBS = QUICK ? 2_000 : 10_000;
const BATCH_REQUESTS = QUICK ? 2_000 : 10_000;
const DISCOUNT_JOBS = QUICK ? 2_000 : 10_000;
const STREAM_REQUESTS = QUICK ? 300 : 1_000;
const STREAM_SECONDS = QUICK ? 3 : 6;
const STREAM_CONCURRENCY = 8;
const STREAM_CHUNKS = 2_000;
const INFLIGHT_SLOTS = 2_000;
const INFLIGHT_LATENCY_MS = 2_000;
const INFLIGHT_JOBS = QUICK ? 6_000 : 12_000;
const TRACING_JOBS = QUICK ? 3_000 : 10_000;
const TRACING_ROUNDS = QUICK ? 1 : 3;
const KEY = 'sk-bench-tenant-0001';
const CONTENT = 'x'.repeat(1000); // a 1 KB prompt
const body = (index = 0) => JSON.stringify({ model: 'default', messages: [{ role: 'user', content: `${index} ${CONTENT}` }], max_tokens: 16 });

interface Row {
  figure: string;
  sluice: number;
  baseline: number;
  unit: string;
  /** sluice ÷ baseline, or baseline ÷ sluice for lower-is-better figures. */
  ratio: number;
  target: string;
  met: boolean;
}

const rows: Row[] = [];
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const percentile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

async function flush(url: string): Promise<void> {
  const redis = new Redis(url);
  await redis.flushall();
  redis.disconnect();
}

async function load(url: string, options: { path: string; headers?: Record<string, string>; seconds?: number; amount?: number; connections?: number }) {
  const result = await autocannon({
    url: `${url}${options.path}`,
    method: 'POST',
    connections: options.connections ?? 50,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    headers: { 'content-type': 'application/json', ...options.headers },
    body: body(),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ok: result['2xx'], errors: result.non2xx + result.errors, total: result.requests.total };
}

function sluiceConfig(redisUrl: string, providerUrl: string, extra: Record<string, unknown> = {}): string {
  return writeConfig({
    server: { host: '127.0.0.1', port: 0, body_limit: '1mb', sync_timeout_s: 30 },
    redis: { url: redisUrl, prefix: 'sluice' },
    auth: { keys: [{ key: KEY, tenant: 'bench' }] },
    providers: { fake: { type: 'openai-compatible', base_url: `${providerUrl}/v1`, concurrency: 50, timeout_ms: 30_000 } },
    routes: { default: ['fake/bench'] },
    pricing: { 'fake/bench': { input: 0.15, output: 0.6 } },
    log_level: 'info',
    ...(otlpSink === null ? {} : { telemetry: { otlp_endpoint: otlpSink } }),
    ...extra,
  });
}

const apiUrl = (child: { line: string }): string => String((JSON.parse(child.line) as { url: string }).url);

async function startSluice(config: string, parts: { api?: boolean; worker?: boolean }): Promise<{ url: string; children: Child[] }> {
  const children: Child[] = [];
  let url = '';
  if (parts.worker) children.push(await runTs(join(ROOT, 'apps/worker/src/main.ts'), { GATEWAY_CONFIG: config }, /worker pools started/));
  if (parts.api) {
    const api = await runTs(join(ROOT, 'apps/api/src/main.ts'), { GATEWAY_CONFIG: config }, /api listening/);
    children.push(api);
    url = apiUrl(api);
  }
  return { url, children };
}

const stopAll = (children: Child[]) => Promise.all(children.map((child) => child.stop()));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Succeeded jobs so far, from the usage totals the workers keep. */
async function sluiceDone(redis: Redis): Promise<number> {
  const keys = await redis.keys('sluice:usage:*');
  let total = 0;
  for (const key of keys) {
    for (const [field, value] of Object.entries(await redis.hgetall(key))) if (field.endsWith('|requests')) total += Number(value);
  }
  return total;
}

async function accept(redisUrl: string, providerUrl: string): Promise<void> {
  await flush(redisUrl);
  const bare = await runTs(join(ROOT, 'bench/baseline-api.ts'), { REDIS_URL: redisUrl }, /LISTENING/);
  const bareUrl = `http://127.0.0.1:${bare.line.split(' ')[1]}`;
  await load(bareUrl, { path: '/jobs', seconds: 2 });
  const base = await load(bareUrl, { path: '/jobs', seconds: ACCEPT_SECONDS });
  await bare.stop();
  await flush(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true });
  const auth = { authorization: `Bearer ${KEY}` };
  await load(sluice.url, { path: '/v1/jobs', headers: auth, seconds: 2 });
  const ours = await load(sluice.url, { path: '/v1/jobs', headers: auth, seconds: ACCEPT_SECONDS });
  await stopAll(sluice.children);
  if (ours.errors > 0 || base.errors > 0) throw new Error(`accept: errors (sluice ${ours.errors}, baseline ${base.errors})`);
  rows.push({ figure: 'accept POST /v1/jobs, req/s (50 conns)', sluice: round(ours.rps, 0), baseline: round(base.rps, 0), unit: 'req/s', ratio: round(ours.rps / base.rps), target: '≥ 0.7 (aim 0.85)', met: ours.rps / base.rps >= 0.7 });
  rows.push({ figure: 'accept p99 latency', sluice: ours.p99, baseline: base.p99, unit: 'ms', ratio: round(base.p99 / Math.max(ours.p99, 0.001)), target: 'p99 ≤ 20 ms', met: ours.p99 <= 20 });
}

async function pipeline(redisUrl: string, providerUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  await flush(redisUrl);
  const bareWorker = await runTs(join(ROOT, 'bench/baseline-worker.ts'), { REDIS_URL: redisUrl, PROVIDER_URL: providerUrl, CONCURRENCY: '50' }, /LISTENING/);
  const bare = await runTs(join(ROOT, 'bench/baseline-api.ts'), { REDIS_URL: redisUrl }, /LISTENING/);
  const bareUrl = `http://127.0.0.1:${bare.line.split(' ')[1]}`;
  let started = Date.now();
  await load(bareUrl, { path: '/jobs', amount: PIPELINE_JOBS });
  await waitFor(async () => Number(await redis.get('bare:done')) >= PIPELINE_JOBS, 120_000, 'baseline pipeline');
  const baseRate = PIPELINE_JOBS / ((Date.now() - started) / 1000);
  await Promise.all([bare.stop(), bareWorker.stop()]);

  await flush(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true, worker: true });
  started = Date.now();
  await load(sluice.url, { path: '/v1/jobs', headers: { authorization: `Bearer ${KEY}` }, amount: PIPELINE_JOBS });
  await waitFor(async () => (await sluiceDone(redis)) >= PIPELINE_JOBS, 180_000, 'sluice pipeline');
  const ourRate = PIPELINE_JOBS / ((Date.now() - started) / 1000);
  await stopAll(sluice.children);
  redis.disconnect();
  rows.push({ figure: `end-to-end jobs/s (${PIPELINE_JOBS} jobs, HTTP → provider → stored)`, sluice: round(ourRate, 0), baseline: round(baseRate, 0), unit: 'jobs/s', ratio: round(ourRate / baseRate), target: '≥ 0.7 (aim 0.85)', met: ourRate / baseRate >= 0.7 });
}

async function timedPosts(url: string, path: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = process.hrtime.bigint();
    const response = await request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body(index) });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`sync: ${path} answered ${response.statusCode}`);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return latencies;
}

/** The bare synchronous chain: express subscribes and calls `queue.add`, a BullMQ worker posts to the fake and publishes the reply. */
async function bareSync(redisUrl: string, providerUrl: string): Promise<number[]> {
  await flush(redisUrl);
  const worker = await runTs(join(ROOT, 'bench/baseline-worker.ts'), { REDIS_URL: redisUrl, PROVIDER_URL: providerUrl, CONCURRENCY: '50', PUBLISH: '1' }, /LISTENING/);
  const api = await runTs(join(ROOT, 'bench/baseline-api.ts'), { REDIS_URL: redisUrl }, /LISTENING/);
  const url = `http://127.0.0.1:${api.line.split(' ')[1]}`;
  try {
    await timedPosts(url, '/sync', {}, 100);
    return await timedPosts(url, '/sync', {}, SYNC_REQUESTS);
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}

async function sync(redisUrl: string, providerUrl: string): Promise<void> {
  await flush(redisUrl);
  await timedPosts(providerUrl, '/v1/chat/completions', {}, 100);
  const direct = await timedPosts(providerUrl, '/v1/chat/completions', {}, SYNC_REQUESTS);
  const bare = await bareSync(redisUrl, providerUrl);
  await flush(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true, worker: true });
  const auth = { authorization: `Bearer ${KEY}` };
  await timedPosts(sluice.url, '/v1/chat/completions', auth, 100);
  const ours = await timedPosts(sluice.url, '/v1/chat/completions', auth, SYNC_REQUESTS);
  await stopAll(sluice.children);
  const overhead = percentile(ours, 0.5) - percentile(direct, 0.5);
  rows.push({ figure: 'sync /v1/chat/completions p50', sluice: round(percentile(ours, 0.5)), baseline: round(percentile(direct, 0.5)), unit: 'ms', ratio: round(overhead), target: 'adds ≤ 2 ms p50, aim 1 (ratio column: ms added)', met: overhead <= 2 });
  const bareAdded = percentile(bare, 0.5) - percentile(direct, 0.5);
  rows.push({ figure: 'sync p50 added, against the bare queue chain (express → queue.add → worker → fake → publish)', sluice: round(overhead), baseline: round(bareAdded), unit: 'ms', ratio: round(overhead - bareAdded), target: '(ms added by Sluice over the bare chain)', met: true });
  rows.push({ figure: 'sync /v1/chat/completions p99', sluice: round(percentile(ours, 0.99)), baseline: round(percentile(direct, 0.99)), unit: 'ms', ratio: round(percentile(ours, 0.99) - percentile(direct, 0.99)), target: '(ms added)', met: true });
}

/** A streamed chat request whose answer has `tokens` content chunks (the fake streams one per `max_tokens`), with the usage chunk asked for. */
const streamBody = (tokens: number) => (index = 0) => JSON.stringify({ ...(JSON.parse(body(index)) as object), max_tokens: tokens, stream: true, stream_options: { include_usage: true } });

/** Time to first chunk and chunks/s of `stream: true` chat completions, through Sluice and from the fake read directly. */
async function stream(redisUrl: string, providerUrl: string): Promise<void> {
  await flush(redisUrl);
  const short = streamBody(16);
  const long = streamBody(STREAM_CHUNKS)();
  const streams = { concurrency: STREAM_CONCURRENCY, seconds: STREAM_SECONDS };
  const directUrl = `${providerUrl}/v1/chat/completions`;
  await timeToFirstChunk(directUrl, {}, short, 100, 'the fake');
  const directFirst = await timeToFirstChunk(directUrl, {}, short, STREAM_REQUESTS, 'the fake');
  await streamThroughput(directUrl, {}, long, { ...streams, seconds: 1, what: 'the fake' });
  const directRate = await streamThroughput(directUrl, {}, long, { ...streams, what: 'the fake' });

  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true, worker: true });
  const auth = { authorization: `Bearer ${KEY}` };
  const sluiceUrl = `${sluice.url}/v1/chat/completions`;
  let ourFirst: number[];
  let ourRate: Awaited<ReturnType<typeof streamThroughput>>;
  try {
    await timeToFirstChunk(sluiceUrl, auth, short, 100, 'Sluice');
    ourFirst = await timeToFirstChunk(sluiceUrl, auth, short, STREAM_REQUESTS, 'Sluice');
    await streamThroughput(sluiceUrl, auth, long, { ...streams, seconds: 1, what: 'Sluice' });
    ourRate = await streamThroughput(sluiceUrl, auth, long, { ...streams, what: 'Sluice' });
  } finally {
    await stopAll(sluice.children);
  }
  if (ourRate.chunksPerStream !== directRate.chunksPerStream) throw new Error(`stream: Sluice relayed ${ourRate.chunksPerStream} chunks per stream, the fake sent ${directRate.chunksPerStream}`);
  const added = percentile(ourFirst, 0.5) - percentile(directFirst, 0.5);
  rows.push({ figure: 'streaming time to first chunk p50', sluice: round(percentile(ourFirst, 0.5)), baseline: round(percentile(directFirst, 0.5)), unit: 'ms', ratio: round(added), target: 'adds ≤ 3 ms p50, aim 1.5 (ratio column: ms added)', met: added <= 3 });
  rows.push({ figure: 'streaming time to first chunk p99', sluice: round(percentile(ourFirst, 0.99)), baseline: round(percentile(directFirst, 0.99)), unit: 'ms', ratio: round(percentile(ourFirst, 0.99) - percentile(directFirst, 0.99)), target: '(ms added)', met: true });
  const ratio = ourRate.chunksPerSecond / directRate.chunksPerSecond;
  rows.push({ figure: `streamed chunks/s, one API process (${STREAM_CONCURRENCY} streams × ${directRate.chunksPerStream} chunks)`, sluice: round(ourRate.chunksPerSecond, 0), baseline: round(directRate.chunksPerSecond, 0), unit: 'chunks/s', ratio: round(ratio), target: '≥ 0.5 (aim 0.8)', met: ratio >= 0.5 });
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function memory(redisUrl: string, providerUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  await flush(redisUrl);
  const queue = new Queue('bare', { connection: redis, prefix: 'bare' });
  await queue.add('warm', {});
  await queue.obliterate({ force: true });
  let before = await usedMemory(redis);
  for (let start = 0; start < MEMORY_JOBS; start += 500) {
    await queue.addBulk(Array.from({ length: 500 }, (_, offset) => ({ name: 'job', data: JSON.parse(body(start + offset)), opts: { removeOnComplete: true, removeOnFail: true } })));
  }
  const bare = (await usedMemory(redis) - before) / MEMORY_JOBS;
  await queue.close();

  await flush(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true });
  await load(sluice.url, { path: '/v1/jobs', headers: { authorization: `Bearer ${KEY}` }, amount: 50, connections: 1 });
  before = await usedMemory(redis);
  const result = await load(sluice.url, { path: '/v1/jobs', headers: { authorization: `Bearer ${KEY}` }, amount: MEMORY_JOBS, connections: 20 });
  const ours = (await usedMemory(redis) - before) / result.ok;
  await stopAll(sluice.children);
  redis.disconnect();
  rows.push({ figure: 'Redis bytes per waiting job (1 KB prompt)', sluice: round(ours, 0), baseline: round(bare, 0), unit: 'bytes', ratio: round(ours / bare), target: '≤ 1.8 (aim 1.3)', met: ours / bare <= 1.8 });
}

/** Resident set size of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * The bare chain with slow calls in flight: the same jobs bulk-added to a BullMQ queue, then one bare
 * worker process with `concurrency` 2,000 posting them to the same 2 s fake. Returns jobs/s.
 */
async function bareInflight(redis: Redis, redisUrl: string, slowUrl: string): Promise<{ rate: number; rssPerJob: number }> {
  await flush(redisUrl);
  const queue = new Queue('bare', { connection: redis, prefix: 'bare' });
  for (let start = 0; start < INFLIGHT_JOBS; start += 1000) {
    await queue.addBulk(Array.from({ length: 1000 }, (_, offset) => ({ name: 'job', data: JSON.parse(body(start + offset)), opts: { removeOnComplete: true, removeOnFail: true } })));
  }
  await queue.close();
  const worker = await runTs(join(ROOT, 'bench/baseline-worker.ts'), { REDIS_URL: redisUrl, PROVIDER_URL: slowUrl, CONCURRENCY: String(INFLIGHT_SLOTS), CONNECTIONS: String(INFLIGHT_SLOTS) }, /LISTENING/);
  const pid = worker.child.pid ?? 0;
  const rssIdle = rssBytes(pid);
  let rssPeak = rssIdle;
  const sampler = setInterval(() => void (rssPeak = Math.max(rssPeak, rssBytes(pid))), 100);
  const started = Date.now();
  try {
    await waitFor(async () => Number(await redis.get('bare:done')) >= INFLIGHT_JOBS, 120_000, 'baseline inflight');
  } finally {
    clearInterval(sampler);
    await worker.stop();
  }
  return { rate: INFLIGHT_JOBS / ((Date.now() - started) / 1000), rssPerJob: (rssPeak - rssIdle) / INFLIGHT_SLOTS };
}

/**
 * Sluice with slow calls in flight: the jobs accepted first, then one worker process with
 * `concurrency` 2,000 started. Memory is what the worker process and Redis hold per job in flight:
 * Redis sampled while the first 2,000 all wait on the fake (before any answer), the worker's RSS at
 * its peak over the whole run against its RSS when it started.
 */
async function sluiceInflight(redis: Redis, redisUrl: string, slowUrl: string) {
  await flush(redisUrl);
  const config = sluiceConfig(redisUrl, slowUrl, {
    providers: { fake: { type: 'openai-compatible', base_url: `${slowUrl}/v1`, concurrency: INFLIGHT_SLOTS, timeout_ms: 60_000 } },
  });
  const api = await startSluice(config, { api: true });
  const queue = new Queue('{provider-fake}', { connection: redis, prefix: 'sluice' });
  let worker: Child | undefined;
  try {
    const submitted = await load(api.url, { path: '/v1/jobs', headers: { authorization: `Bearer ${KEY}` }, amount: INFLIGHT_JOBS, connections: 20 });
    if (submitted.ok !== INFLIGHT_JOBS) throw new Error(`inflight: ${submitted.ok} of ${INFLIGHT_JOBS} jobs accepted`);
    const memoryQueued = await usedMemory(redis);
    worker = (await startSluice(config, { worker: true })).children[0]!;
    const pid = worker.child.pid ?? 0;
    const rssIdle = rssBytes(pid);
    let rssPeak = rssIdle;
    const sampler = setInterval(() => void (rssPeak = Math.max(rssPeak, rssBytes(pid))), 100);
    const started = Date.now();
    // The first wave: every slot taken, no answer back yet (they come 2 s after each call starts).
    await waitFor(async () => (await queue.getActiveCount()) >= INFLIGHT_SLOTS || Date.now() - started > INFLIGHT_LATENCY_MS * 0.9, 30_000, 'first wave');
    const active = await queue.getActiveCount();
    const redisPerJob = (await usedMemory(redis) - memoryQueued) / Math.max(active, 1);
    // Done when the tenant has no job queued or running (its set of them is kept by the status scripts).
    await waitFor(async () => (await redis.zcard('sluice:{tenant-jobs:bench}:active')) === 0, 120_000, 'inflight jobs');
    clearInterval(sampler);
    return { rate: INFLIGHT_JOBS / ((Date.now() - started) / 1000), rssPerJob: (rssPeak - rssIdle) / INFLIGHT_SLOTS, redisPerJob, active };
  } finally {
    await queue.close();
    await Promise.all([...api.children, ...(worker ? [worker] : [])].map((child) => child.stop()));
  }
}

/** Slow calls in flight: throughput against 2,000 slots ÷ 2 s and against the bare chain, and memory per job in flight. */
async function inflight(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  const slow = await runTs(join(ROOT, 'bench/fake-provider.ts'), { LATENCY_MS: String(INFLIGHT_LATENCY_MS) }, /LISTENING/);
  const slowUrl = `http://127.0.0.1:${slow.line.split(' ')[1]}`;
  try {
    const bare = await bareInflight(redis, redisUrl, slowUrl);
    const ours = await sluiceInflight(redis, redisUrl, slowUrl);
    const ideal = INFLIGHT_SLOTS / (INFLIGHT_LATENCY_MS / 1000);
    const what = `${INFLIGHT_JOBS} jobs, ${INFLIGHT_SLOTS} slots, ${INFLIGHT_LATENCY_MS / 1000} s fake, one worker`;
    rows.push({ figure: `jobs in flight: ${what}`, sluice: round(ours.rate, 0), baseline: ideal, unit: 'jobs/s', ratio: round(ours.rate / ideal), target: '≥ 0.8 of slots ÷ latency (aim 0.95)', met: ours.rate / ideal >= 0.8 });
    rows.push({ figure: 'jobs in flight, against the bare chain', sluice: round(ours.rate, 0), baseline: round(bare.rate, 0), unit: 'jobs/s', ratio: round(ours.rate / bare.rate), target: '(bare BullMQ worker, same slots)', met: true });
    rows.push({ figure: 'worker RSS per in-flight job (peak − start; baseline: the bare worker)', sluice: round(ours.rssPerJob / 1024, 1), baseline: round(bare.rssPerJob / 1024, 1), unit: 'KB', ratio: round(ours.rssPerJob / Math.max(bare.rssPerJob, 1)), target: '≤ 40 KB', met: ours.rssPerJob <= 40 * 1024 });
    rows.push({ figure: `Redis bytes per in-flight job (${ours.active} running, over queued)`, sluice: round(ours.redisPerJob, 0), baseline: 0, unit: 'bytes', ratio: 0, target: '(reported)', met: true });
  } finally {
    await slow.stop();
    redis.disconnect();
  }
}

async function batch(redisUrl: string, providerUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  await flush(redisUrl);
  // Baseline: the same number of requests through the bare chain, bulk-added.
  const bareWorker = await runTs(join(ROOT, 'bench/baseline-worker.ts'), { REDIS_URL: redisUrl, PROVIDER_URL: providerUrl, CONCURRENCY: '50' }, /LISTENING/);
  const queue = new Queue('bare', { connection: redis, prefix: 'bare' });
  let started = Date.now();
  for (let start = 0; start < BATCH_REQUESTS; start += 1000) {
    await queue.addBulk(Array.from({ length: 1000 }, (_, offset) => ({ name: 'job', data: JSON.parse(body(start + offset)), opts: { removeOnComplete: true, removeOnFail: true } })));
  }
  await waitFor(async () => Number(await redis.get('bare:done')) >= BATCH_REQUESTS, 120_000, 'baseline batch');
  const bareSeconds = (Date.now() - started) / 1000;
  await queue.close();
  await bareWorker.stop();

  await flush(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl), { api: true, worker: true });
  const lines = Array.from({ length: BATCH_REQUESTS }, (_, index) => JSON.stringify({ custom_id: `r${index}`, method: 'POST', url: '/v1/chat/completions', body: JSON.parse(body(index)) })).join('\n');
  started = Date.now();
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([lines]), 'bench.jsonl');
  const auth = { authorization: `Bearer ${KEY}` };
  const file = (await (await fetch(`${sluice.url}/v1/files`, { method: 'POST', headers: auth, body: form })).json()) as { id: string };
  const created = (await (await fetch(`${sluice.url}/v1/batches`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) })).json()) as { id: string };
  let outputId = '';
  await waitFor(async () => {
    const current = (await (await fetch(`${sluice.url}/v1/batches/${created.id}`, { headers: auth })).json()) as { status: string; output_file_id: string | null };
    outputId = current.output_file_id ?? '';
    return current.status === 'completed';
  }, 180_000, 'sluice batch');
  const output = await (await fetch(`${sluice.url}/v1/files/${outputId}/content`, { headers: auth })).text();
  const ourSeconds = (Date.now() - started) / 1000;
  const count = output.trim().split('\n').length;
  await stopAll(sluice.children);
  redis.disconnect();
  if (count !== BATCH_REQUESTS) throw new Error(`batch output has ${count} lines, expected ${BATCH_REQUESTS}`);
  rows.push({ figure: `${BATCH_REQUESTS}-request batch, upload → output file`, sluice: round(ourSeconds), baseline: round(bareSeconds), unit: 's', ratio: round(bareSeconds / ourSeconds), target: '≥ 0.6 of the bare chain (aim 0.85)', met: bareSeconds / ourSeconds >= 0.6 });
}

/** CPU time a process has used so far, in µs (Linux: utime + stime of /proc/<pid>/stat, in 100 Hz ticks). */
function cpuMicros(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** CPU µs per job of the API and the worker over `TRACING_JOBS` jobs (after 1,000 to warm up), with `telemetry` as given. */
async function cpuPerJob(redisUrl: string, providerUrl: string, telemetry: Record<string, unknown>): Promise<{ api: number; worker: number }> {
  await flush(redisUrl);
  const redis = new Redis(redisUrl);
  const sluice = await startSluice(sluiceConfig(redisUrl, providerUrl, { telemetry }), { api: true, worker: true });
  const [worker, api] = sluice.children.map((child) => child.child.pid);
  const auth = { authorization: `Bearer ${KEY}` };
  await load(sluice.url, { path: '/v1/jobs', headers: auth, amount: 1_000, connections: 20 });
  await waitFor(async () => (await sluiceDone(redis)) >= 1_000, 60_000, 'warm-up jobs');
  const before = { api: cpuMicros(api), worker: cpuMicros(worker) };
  await load(sluice.url, { path: '/v1/jobs', headers: auth, amount: TRACING_JOBS, connections: 20 });
  await waitFor(async () => (await sluiceDone(redis)) >= 1_000 + TRACING_JOBS, 180_000, 'traced jobs');
  const used = { api: (cpuMicros(api) - before.api) / TRACING_JOBS, worker: (cpuMicros(worker) - before.worker) / TRACING_JOBS };
  await stopAll(sluice.children);
  redis.disconnect();
  return used;
}

/**
 * What tracing costs (`npm run bench -- tracing`, not in the default run): CPU per job of the API and
 * the worker with tracing off and on (every request traced to the loopback sink), run back to back
 * `TRACING_ROUNDS` times; the medians.
 */
async function tracingCost(redisUrl: string, providerUrl: string, sinkUrl: string): Promise<void> {
  const off: { api: number; worker: number }[] = [];
  const on: { api: number; worker: number }[] = [];
  for (let pair = 0; pair < TRACING_ROUNDS; pair += 1) {
    off.push(await cpuPerJob(redisUrl, providerUrl, {}));
    on.push(await cpuPerJob(redisUrl, providerUrl, { otlp_endpoint: sinkUrl }));
  }
  const median = (values: number[]): number => percentile(values, 0.5);
  for (const side of ['api', 'worker'] as const) {
    const [traced, plain] = [median(on.map((run) => run[side])), median(off.map((run) => run[side]))];
    rows.push({ figure: `${side} CPU per job, tracing on (sample 1) vs off`, sluice: round(traced, 0), baseline: round(plain, 0), unit: 'µs', ratio: round(traced / plain), target: '(cost of tracing)', met: true });
  }
}

/** One `/v1/batches` run of `count` economy requests on a batch-capable fake: its USD (from usage) and its wall time. */
async function discountRun(redisUrl: string, fakeUrl: string, deferred: boolean, count: number): Promise<{ usd: number; seconds: number; deferredJobs: number }> {
  await flush(redisUrl);
  const config = sluiceConfig(redisUrl, fakeUrl, {
    providers: {
      openai: {
        type: 'openai', base_url: `${fakeUrl}/v1`, api_key: 'bench-key', concurrency: 50, timeout_ms: 30_000,
        batch: { enabled: deferred, max_wait_s: 1, poll_interval_s: 0.5, min_lead_s: 3600 },
      },
    },
    routes: { default: ['openai/gpt-4o-mini'] },
    pricing: {},
  });
  const sluice = await startSluice(config, { api: true, worker: true });
  const auth = { authorization: `Bearer ${KEY}` };
  const lines = Array.from({ length: count }, (_, index) => JSON.stringify({ custom_id: `r${index}`, method: 'POST', url: '/v1/chat/completions', body: JSON.parse(body(index)) })).join('\n');
  const started = Date.now();
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([lines]), 'discount.jsonl');
  const file = (await (await fetch(`${sluice.url}/v1/files`, { method: 'POST', headers: auth, body: form })).json()) as { id: string };
  const created = (await (await fetch(`${sluice.url}/v1/batches`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) })).json()) as { id: string };
  await waitFor(async () => ((await (await fetch(`${sluice.url}/v1/batches/${created.id}`, { headers: auth })).json()) as { status: string }).status === 'completed', 300_000, 'discount batch');
  const seconds = (Date.now() - started) / 1000;
  const usage = (await (await fetch(`${sluice.url}/v1/usage`, { headers: auth })).json()) as { data: { cost_usd: number; requests: number }[] };
  const providers = await (await fetch(`${sluice.url}/v1/providers`, { headers: auth })).text();
  await stopAll(sluice.children);
  const requests = usage.data.reduce((sum, row) => sum + row.requests, 0);
  if (requests !== count) throw new Error(`usage counts ${requests} requests, expected ${count} (${providers.slice(0, 200)})`);
  return { usd: usage.data.reduce((sum, row) => sum + row.cost_usd, 0), seconds, deferredJobs: deferred ? count : 0 };
}

/** What work that can wait costs through provider batches, against the same jobs in real time, and how long it takes. */
async function discount(redisUrl: string): Promise<void> {
  const fake = await runTs(join(ROOT, 'bench/fake-batch-provider.ts'), {}, /LISTENING/);
  const fakeUrl = `http://127.0.0.1:${fake.line.split(' ')[1]}`;
  try {
    const realtime = await discountRun(redisUrl, fakeUrl, false, DISCOUNT_JOBS);
    const batched = await discountRun(redisUrl, fakeUrl, true, DISCOUNT_JOBS);
    const ratio = batched.usd / realtime.usd;
    rows.push({ figure: `${DISCOUNT_JOBS} economy jobs, USD: provider batches vs real time`, sluice: round(batched.usd, 6), baseline: round(realtime.usd, 6), unit: 'USD', ratio: round(ratio, 3), target: '= 0.5 (the batch price)', met: Math.abs(ratio - 0.5) < 1e-6 });
    rows.push({ figure: `${DISCOUNT_JOBS} economy jobs, submit → all done (batches take 2 s)`, sluice: round(batched.seconds), baseline: round(realtime.seconds), unit: 's', ratio: round(realtime.seconds / batched.seconds), target: '(wall time vs real time)', met: true });
  } finally {
    await fake.stop();
  }
}

const started = Date.now();
const redis = await startBenchRedis();
const provider = await runTs(join(ROOT, 'bench/fake-provider.ts'), {}, /LISTENING/);
const providerUrl = `http://127.0.0.1:${provider.line.split(' ')[1]}`;
const args = process.argv.slice(2);
const sink = TRACING || args.includes('tracing') ? await runTs(join(ROOT, 'bench/otlp-sink.ts'), {}, /LISTENING/) : null;
const sinkUrl = sink === null ? '' : `http://127.0.0.1:${sink.line.split(' ')[1]}`;
if (TRACING) otlpSink = sinkUrl;
// `--profile <scenario>`: that scenario alone, with a CPU profile of every Sluice process it starts.
const profiling = args.indexOf('--profile');
const only = profiling === -1 ? args : [args[profiling + 1] ?? ''];
if (profiling !== -1) {
  const dir = join(ROOT, 'bench/results/profiles', `${only[0]}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  profileInto(dir);
  process.on('exit', () => {
    console.log(`CPU profiles (open in Chrome DevTools → Performance, or VS Code; \`npx tsx bench/profile-top.ts <file>\` lists the costliest functions):`);
    for (const file of collectProfiles()) console.log(`  ${file}`);
  });
}
const scenarios: [string, (redisUrl: string, providerUrl: string) => Promise<void>][] = [
  ['accept', accept], ['pipeline', pipeline], ['sync', sync], ['memory', memory], ['batch', batch], ['discount', (url) => discount(url)],
  ['stream', stream], ['inflight', (url) => inflight(url)], ['tracing', (redisUrl, url) => tracingCost(redisUrl, url, sinkUrl)],
];
/** Scenarios that run only when named. */
const NAMED_ONLY = new Set(['tracing']);
if (profiling !== -1 && !scenarios.some(([name]) => name === only[0])) throw new Error(`--profile needs one of: ${scenarios.map(([name]) => name).join(', ')}`);
// A failed scenario ends the run, after the table of the figures measured before it.
let failure: unknown;
try {
  for (const [name, scenario] of scenarios) {
    if (only.length > 0 ? !only.includes(name) : NAMED_ONLY.has(name)) continue;
    process.stdout.write(`running ${name}…\n`);
    await scenario(redis.url, providerUrl);
  }
} catch (error) {
  failure = error;
} finally {
  await provider.stop();
  await sink?.stop();
  await redis.stop();
}

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
console.table(rows.map((row) => ({ figure: row.figure, sluice: `${row.sluice} ${row.unit}`, baseline: `${row.baseline} ${row.unit}`, ratio: row.ratio, target: row.target, met: row.met ? 'yes' : 'NO' })));
console.log(`machine: ${machine.cpus} × ${machine.cpu}, ${machine.memory_gb} GB, Node ${machine.node}; took ${Math.round((Date.now() - started) / 1000)} s${QUICK ? ' (BENCH_QUICK)' : ''}${TRACING ? ' (BENCH_TRACING: every request traced to a loopback OTLP sink)' : ''}`);
if (failure !== undefined) throw failure;
// A profiled run is slower than a real one: its figures are not kept.
if (profiling !== -1) process.exit(0);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify({ at: new Date().toISOString(), quick: QUICK, tracing: TRACING, machine, rows }, null, 2)}\n`);
