import { describe, expect, it } from 'vitest';
import { contentDisposition } from './content-disposition.ts';

describe('contentDisposition', () => {
  it('keeps an ASCII name and adds its filename* twin', () => {
    expect(contentDisposition('batch.jsonl')).toBe(`attachment; filename="batch.jsonl"; filename*=UTF-8''batch.jsonl`);
  });

  it('percent-encodes UTF-8 names (RFC 5987) with an ASCII fallback', () => {
    expect(contentDisposition('données-批量.jsonl')).toBe(`attachment; filename="donn_es-__.jsonl"; filename*=UTF-8''donn%C3%A9es-%E6%89%B9%E9%87%8F.jsonl`);
    expect(decodeURIComponent(contentDisposition('données-批量.jsonl').split("UTF-8''")[1]!)).toBe('données-批量.jsonl');
  });

  it('escapes quotes, backslashes, controls and characters outside attr-char; never throws', () => {
    const header = contentDisposition('a"b\\c\r\nd\u0000e f\'(g)*%.jsonl');
    expect(header).toBe(`attachment; filename="a_b_c__d_e f'(g)*_.jsonl"; filename*=UTF-8''a%22b%5Cc%0D%0Ad%00e%20f%27%28g%29%2A%25.jsonl`);
    expect(() => contentDisposition('\ud800lone')).not.toThrow();
    expect(contentDisposition('')).toBe(`attachment; filename="file"; filename*=UTF-8''file`);
    for (const name of ['\ud800lone', 'tab\there', '😀.jsonl']) expect(contentDisposition(name)).toMatch(/^[\x20-\x7e]+$/);
  });
});
