import { describe, expect, it } from 'vitest';
import { ProviderError } from '../provider-error.ts';
import { createSseParser, parseSse, type SseEvent } from './sse.ts';

async function* pieces(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

/** The bytes of `text` split at every given offset. */
function splitAt(text: string, offsets: number[]): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const cuts = [0, ...offsets, bytes.length];
  return cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
}

async function events(parts: Uint8Array[], maxEventChars?: number): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for await (const event of parseSse(pieces(parts), { provider: 'p', ...(maxEventChars === undefined ? {} : { maxEventChars }) })) seen.push(event);
  return seen;
}

const STREAM = ': keep-alive\r\n\r\nevent: delta\r\ndata: {"t":"héllo 🌍"}\r\n\r\ndata:first\ndata:  second\n\ndata: [DONE]\n\n';
const EXPECTED: SseEvent[] = [{ event: 'delta', data: '{"t":"héllo 🌍"}' }, { data: 'first\n second' }, { data: '[DONE]' }];

describe('parseSse', () => {
  it('reads events whole: names, joined data lines, one leading space stripped, comments skipped', async () => {
    expect(await events(splitAt(STREAM, []))).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are split (mid-line, mid-\\r\\n, mid-UTF-8 character)', async () => {
    const length = Buffer.byteLength(STREAM);
    for (let cut = 1; cut < length; cut += 1) expect(await events(splitAt(STREAM, [cut]))).toEqual(EXPECTED);
    const everyByte = Array.from({ length: length - 1 }, (_, i) => i + 1);
    expect(await events(splitAt(STREAM, everyByte))).toEqual(EXPECTED);
  });

  it('ends lines at a lone \\r too, and gives an event left open when the body ends', async () => {
    expect(await events(splitAt('data: a\r\rdata: b\rdata: c', [8]))).toEqual([{ data: 'a' }, { data: 'b\nc' }]);
    expect(await events(splitAt('data: x\r', []))).toEqual([{ data: 'x' }]);
  });

  it('skips events without data and fields it does not use', async () => {
    expect(await events(splitAt('event: ping\n\nid: 3\nretry: 10\ndata\n\n', []))).toEqual([{ data: '' }]);
  });

  it('refuses an event over the limit, whether in many lines or one unfinished line', async () => {
    const many = await events(splitAt(`${'data: 0123456789\n'.repeat(20)}\n`, []), 100).catch((error: unknown) => error);
    expect(many).toBeInstanceOf(ProviderError);
    expect(many).toMatchObject({ kind: 'retryable', message: 'p: stream event over 100 characters' });
    const endless = await events(splitAt(`data: ${'x'.repeat(500)}`, [50, 150, 300]), 100).catch((error: unknown) => error);
    expect(endless).toBeInstanceOf(ProviderError);
    expect(await events(splitAt(`data: ${'x'.repeat(90)}\n\n`.repeat(3), []), 100)).toHaveLength(3);
  });

  it('drops a leading byte-order mark, even one split across reads, and only there', async () => {
    const text = '\uFEFFdata: a\n\ndata: \uFEFFb\n\n';
    for (const cut of [1, 2, 3]) expect(await events(splitAt(text, [cut]))).toEqual([{ data: 'a' }, { data: '\uFEFFb' }]);
  });

  it('hands over every event a read completes at once; a refused event still gives the ones before it', () => {
    const parser = createSseParser({ provider: 'p', maxEventChars: 20 });
    const encode = (text: string): Uint8Array => Buffer.from(text, 'utf8');
    expect(parser.push(encode('data: 1\n\ndata: 2\r\n\r\ndata: 3'))).toEqual({ events: [{ data: '1' }, { data: '2' }] });
    expect(parser.push(encode('\r'))).toEqual({ events: [] });
    const refused = parser.push(encode(`\n\ndata: 4\n\ndata: ${'x'.repeat(30)}\n\ndata: 5\n\n`));
    expect(refused.events).toEqual([{ data: '3' }, { data: '4' }]);
    expect(refused.failure).toMatchObject({ kind: 'retryable', message: 'p: stream event over 20 characters' });
  });

  it('gives, at the end, the unterminated line and the event it leaves open', () => {
    const parser = createSseParser({ provider: 'p' });
    expect(parser.push(Buffer.from('event: e\ndata: a\ndata: b'))).toEqual({ events: [] });
    expect(parser.end()).toEqual({ events: [{ event: 'e', data: 'a\nb' }] });
  });
});
