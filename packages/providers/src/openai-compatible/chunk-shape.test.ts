import { describe, expect, it } from 'vitest';
import { isCommonChunk } from './chunk-shape.ts';
import { chunkFromWire } from './normalize-chunk.ts';
import { OpenAIChunkSchema } from './wire-schemas.ts';

const DEFAULTS = { id: 'chatcmpl-default', created: 1_700_000_000, model: 'requested' };
const frame = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_764_000_000, model: 'gpt-x', system_fingerprint: 'fp_1' };

/** Chunks as servers send them: OpenAI's, a tool call's, loose servers' (fields missing, nulls, extra keys). */
const COMMON: unknown[] = [
  { ...frame, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null },
  { ...frame, choices: [{ index: 0, delta: { content: ' token' }, logprobs: null, finish_reason: null }] },
  { ...frame, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
  { ...frame, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, finish_reason: null }] },
  { ...frame, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null }] },
  { ...frame, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], obfuscation: 'abc' },
  { choices: [{ delta: { content: 'x' }, finish_reason: 'eos' }] },
  { id: 'c', created: 1.5, choices: [{ index: 1, delta: { content: null, role: null, tool_calls: null }, logprobs: { content: [{ token: 'x', logprob: -0.1 }] } }] },
  { ...frame, system_fingerprint: null, choices: [{ index: 0, delta: { content: 'a', reasoning_content: 'hm' }, finish_reason: null, extra: 1 }] },
  { ...frame, choices: [] },
  {},
];

/** Values that trip a validator: wrong types, edge numbers (Infinity as JSON.parse gives `1e999`), containers. */
const ODD: unknown[] = [undefined, null, '', 'x', 0, -1, -0, 1.5, 2 ** 53, Number.POSITIVE_INFINITY, true, [], {}, [1], [{}], { a: 1 }];

const PATHS = [
  'id', 'created', 'model', 'system_fingerprint', 'usage', 'choices', 'choices.0', 'choices.0.index', 'choices.0.delta', 'choices.0.finish_reason', 'choices.0.logprobs',
  'choices.0.delta.role', 'choices.0.delta.content', 'choices.0.delta.refusal', 'choices.0.delta.tool_calls', 'choices.0.delta.tool_calls.0',
  'choices.0.delta.tool_calls.0.index', 'choices.0.delta.tool_calls.0.id', 'choices.0.delta.tool_calls.0.type', 'choices.0.delta.tool_calls.0.function',
  'choices.0.delta.tool_calls.0.function.name', 'choices.0.delta.tool_calls.0.function.arguments',
];

/** `base` with the value at `path` replaced (`undefined`: the key removed), or null when the path is not there. */
function withValue(base: unknown, path: string, value: unknown): unknown {
  const copy: unknown = structuredClone(base);
  const keys = path.split('.');
  let node: unknown = copy;
  for (const key of keys.slice(0, -1)) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  if (typeof node !== 'object' || node === null) return null;
  const last = keys.at(-1) ?? '';
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
  return copy;
}

const VARIANTS: unknown[] = [
  ...COMMON,
  ...COMMON.slice(0, 5).flatMap((base) => PATHS.flatMap((path) => ODD.map((value) => withValue(base, path, value)).filter((variant) => variant !== null))),
  null, 'chunk', 42, [], [{ ...frame, choices: [] }],
];

describe('the hand check of the common chunk shape', () => {
  it('passes the chunks servers commonly send', () => {
    for (const chunk of COMMON) expect(isCommonChunk(chunk)).toBe(true);
  });

  it('passes only what the schema accepts, and normalizes it to exactly what the schema path gives (or leaves it to the schema)', () => {
    let passed = 0;
    for (const variant of VARIANTS) {
      if (!isCommonChunk(variant)) continue;
      passed += 1;
      const parsed = OpenAIChunkSchema.safeParse(variant);
      expect(parsed.success, JSON.stringify(variant)).toBe(true);
      if (!parsed.success) continue;
      const fast = chunkFromWire(variant, DEFAULTS);
      const checked = chunkFromWire(parsed.data, DEFAULTS);
      expect(fast).toStrictEqual(checked);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(checked));
    }
    // Not vacuous: hundreds of variants pass, and the odd ones are left to the schema.
    expect(passed).toBeGreaterThan(200);
    expect(passed).toBeLessThan(VARIANTS.length);
  });

  it('leaves a chunk with usage to the schema, which normalizes the totals', () => {
    expect(isCommonChunk({ ...frame, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } })).toBe(false);
  });
});
