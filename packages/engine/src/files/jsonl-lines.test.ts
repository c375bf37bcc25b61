import { describe, expect, it } from 'vitest';
import { createLineSplitter, readLines, type JsonlLine } from './jsonl-lines.ts';

function split(chunks: string[], max = 16): JsonlLine[] {
  const splitter = createLineSplitter(max);
  return [...chunks.flatMap((chunk) => [...splitter.push(Buffer.from(chunk))]), ...splitter.end()];
}

describe('line splitter', () => {
  it('numbers lines as split("\\n") does, across chunk boundaries, multi-byte characters included', () => {
    expect(split(['ab\nc', 'd\n\nfé', '\u00e9\n', 'last'])).toEqual([
      { number: 1, text: 'ab' }, { number: 2, text: 'cd' }, { number: 3, text: '' }, { number: 4, text: 'féé' }, { number: 5, text: 'last' },
    ]);
    const bytes = Buffer.from('日本\n語');
    const splitter = createLineSplitter(16);
    const lines = [...bytes.subarray(0, 2), ...bytes.subarray(2)].flatMap((byte) => [...splitter.push(Buffer.from([byte]))]);
    expect([...lines, ...splitter.end()].map((line) => line.text)).toEqual(['日本', '語']);
  });

  it('drops a byte-order mark and keeps \\r for JSON.parse to ignore', () => {
    expect(split(['\ufeff{}\r\n{}'])).toEqual([{ number: 1, text: '{}\r' }, { number: 2, text: '{}' }]);
  });

  it('reports a line past the limit once, as soon as it passes, and skips the rest of it', () => {
    expect(split(['ok\n0123456789', 'abcdefghij', 'klm\nnext\n'], 16)).toEqual([
      { number: 1, text: 'ok' }, { number: 2, tooLong: true }, { number: 3, text: 'next' },
    ]);
    const splitter = createLineSplitter(4);
    expect([...splitter.push(Buffer.from('toolong'))]).toEqual([{ number: 1, tooLong: true }]);
    expect([...splitter.push(Buffer.from('still going'))]).toEqual([]);
    expect([...splitter.end()]).toEqual([]);
  });

  it('reads lines from an async source of chunks', async () => {
    async function* chunks() {
      yield Buffer.from('a\nb');
      yield Buffer.from('c\n');
    }
    const lines: JsonlLine[] = [];
    for await (const line of readLines(chunks(), 10)) lines.push(line);
    expect(lines).toEqual([{ number: 1, text: 'a' }, { number: 2, text: 'bc' }]); // a final newline ends the last line
  });
});
