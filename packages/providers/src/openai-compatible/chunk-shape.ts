import type { OpenAIChunk } from './wire-schemas.ts';

// OpenAIChunkSchema is the definition of a chunk. Checking one with zod costs about as much as
// parsing its JSON, once per token, so the shape nearly every chunk has is checked by hand first.
// Each test here is the schema's test or a stricter one: what passes, the schema accepts unchanged
// (it copies loose objects, but keeps their values), so the chunk normalizes to the same result.
// Anything else (usage, odd values) goes to the schema, which also names what is wrong.

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const isOptionalString = (value: unknown): boolean => value === undefined || typeof value === 'string';
const isNullableString = (value: unknown): boolean => value === undefined || value === null || typeof value === 'string';
/** `z.number().int()`: zod 4 takes safe integers only. */
const isOptionalInt = (value: unknown): boolean => value === undefined || Number.isSafeInteger(value);

function isToolCall(value: unknown): boolean {
  if (!isObject(value)) return false;
  const { index, function: fn } = value;
  if (!Number.isSafeInteger(index) || (index as number) < 0) return false;
  if (!isNullableString(value.id) || !isNullableString(value.type)) return false;
  return fn === undefined || fn === null || (isObject(fn) && isNullableString(fn.name) && isNullableString(fn.arguments));
}

function isDelta(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!isNullableString(value.role) || !isNullableString(value.content) || !isNullableString(value.refusal)) return false;
  const calls = value.tool_calls;
  if (calls === undefined || calls === null) return true;
  if (!Array.isArray(calls)) return false;
  for (const call of calls) if (!isToolCall(call)) return false;
  return true;
}

function isChoice(value: unknown): boolean {
  if (!isObject(value)) return false;
  // `logprobs` is `z.unknown()`: any value passes.
  return isOptionalInt(value.index) && isNullableString(value.finish_reason) && (value.delta === undefined || isDelta(value.delta));
}

/**
 * Whether a parsed `data:` payload has the common chunk shape, checked by hand: when true, it is an
 * OpenAIChunk exactly as the schema would give it (for what `normalizeChunk` reads); when false,
 * the schema decides. A chunk with `usage` (the last one) always goes to the schema.
 */
export function isCommonChunk(json: unknown): json is OpenAIChunk {
  if (!isObject(json)) return false;
  const { created, choices, usage } = json;
  // `z.number()`: zod 4 refuses Infinity, which JSON.parse gives for `1e999`.
  if (!isOptionalString(json.id) || !isOptionalString(json.model) || !isNullableString(json.system_fingerprint)) return false;
  if (created !== undefined && !Number.isFinite(created)) return false;
  if (usage !== undefined && usage !== null) return false;
  if (choices === undefined) return true;
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) if (!isChoice(choice)) return false;
  return true;
}
