// `npx tsx bench/provider-stream.ts`: chunks per second through the OpenAI-format adapter's
// `stream()` against bench/fake-provider.ts, one stream and 8 at once, beside a bare undici reader
// that only splits the same body on blank lines (the baseline, measured in the same run). Warm:
// several rounds, the last ones reported. No Redis, no worker: the provider path alone.
import { request } from 'undici';
import { createAdapter, parseConfig, type ProviderAdapter } from '../packages/providers/src/index.ts';
import { runTs } from './lib/processes.ts';

const CHUNKS = 2_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const REPORTED = 5;
const CONCURRENCY = 8;
const body = { model: 'bench', messages: [{ role: 'user' as const, content: 'x' }], params: { max_tokens: CHUNKS } };

/** One stream read through the adapter; resolves to its chunk count. */
async function viaAdapter(adapter: ProviderAdapter): Promise<number> {
  let count = 0;
  for await (const chunk of adapter.stream!(body)) count += chunk.choices.length > 0 || chunk.usage ? 1 : 0;
  return count;
}

/** The same stream read bare: bytes decoded and cut at blank lines, nothing parsed. */
async function viaBareReader(url: string): Promise<number> {
  const payload = JSON.stringify({ model: 'bench', messages: body.messages, max_tokens: CHUNKS, stream: true, stream_options: { include_usage: true } });
  const response = await request(`${url}/chat/completions`, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } });
  const decoder = new TextDecoder();
  let buffer = '';
  let count = 0;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    let cut = buffer.indexOf('\n\n');
    for (let start = 0; ; cut = buffer.indexOf('\n\n', start)) {
      if (cut === -1) {
        buffer = buffer.slice(start);
        break;
      }
      if (!buffer.startsWith('data: [DONE]', start)) count += 1;
      start = cut + 2;
    }
  }
  return count;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** This process's CPU per chunk (µs, less noisy than wall time on a shared machine) and chunks per second over `streams` concurrent streams, the medians of the last rounds (and every round's rate). */
async function rate(streams: number, read: () => Promise<number>): Promise<{ median: number; rounds: number[]; cpuMicros: number }> {
  const rounds: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const counts = await Promise.all(Array.from({ length: streams }, read));
    const used = process.cpuUsage(cpuStarted);
    const total = counts.reduce((sum, count) => sum + count, 0);
    rounds.push(Math.round(total / ((performance.now() - started) / 1000)));
    cpu.push((used.user + used.system) / total);
  }
  return { median: median(rounds.slice(-REPORTED)), rounds, cpuMicros: median(cpu.slice(-REPORTED)) };
}

async function main(): Promise<void> {
  const fake = await runTs('bench/fake-provider.ts', {}, /^LISTENING \d+/);
  const port = Number(fake.line.split(' ')[1]);
  const url = `http://127.0.0.1:${port}/v1`;
  const raw = { server: { host: '127.0.0.1' }, auth: { disabled: true }, redis: { url: 'redis://x' }, providers: { fake: { type: 'openai-compatible', base_url: url } }, routes: { d: ['fake/bench'] } };
  const provider = parseConfig(raw, {}, 'bench').config.providers.fake;
  if (!provider) throw new Error('no provider in the bench config');
  const adapter = createAdapter('fake', provider);
  try {
    for (const streams of [1, CONCURRENCY]) {
      const sluice = await rate(streams, () => viaAdapter(adapter));
      const bare = await rate(streams, () => viaBareReader(url));
      console.log(`${streams} stream(s): adapter ${sluice.median} chunks/s, ${sluice.cpuMicros.toFixed(2)} µs CPU/chunk [${sluice.rounds.join(' ')}]`);
      console.log(`  bare reader ${bare.median} chunks/s, ${bare.cpuMicros.toFixed(2)} µs CPU/chunk [${bare.rounds.join(' ')}]; adapter ÷ bare: rate ${(sluice.median / bare.median).toFixed(2)}, CPU ${(sluice.cpuMicros / bare.cpuMicros).toFixed(1)}×`);
    }
  } finally {
    await adapter.close();
    await fake.stop();
  }
}

await main();
