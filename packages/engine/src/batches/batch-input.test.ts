import { describe, expect, it } from 'vitest';
import { createBatchFileCheck, readBatchLines, type CheckedLine } from './batch-input.ts';

const line = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } });
const limits = { maxLineBytes: 1_000, maxJsonDepth: 8 };

describe('batch file check', () => {
  it('accepts good lines and skips blank ones', () => {
    const check = createBatchFileCheck(limits);
    expect(check.push(Buffer.from(`${line('a')}\n\n${line('b')}`))).toBe(true);
    expect(check.end()).toBe(true);
    expect(check.requests).toBe(2);
  });

  it('names every problem by line: JSON, shape, duplicates, depth', () => {
    const check = createBatchFileCheck(limits);
    check.push(Buffer.from([line('a'), '{oops', line('a'), '{"custom_id":"x","method":"GET","url":"/v1/chat/completions","body":{}}', `{"a":${'['.repeat(20)}${']'.repeat(20)}}`].join('\n')));
    expect(check.end()).toBe(false);
    expect(check.problems).toEqual([
      { line: 2, message: 'not valid JSON' },
      { line: 3, message: 'custom_id "a" is used twice' },
      { line: 4, message: 'method: expected "POST"' },
      { line: 5, message: 'JSON nested deeper than 8 levels (server.max_json_depth)' },
    ]);
    expect(check.stoppedAt).toBeNull();
  });

  it('stops at the 20th invalid line, at the first line too long, and at the first request past the limit', () => {
    const junk = createBatchFileCheck(limits);
    expect(junk.push(Buffer.from('x\n'.repeat(1_000_000)))).toBe(false);
    expect(junk.problems).toHaveLength(20);
    expect(junk.stoppedAt).toBe(20);
    const long = createBatchFileCheck(limits);
    expect(long.push(Buffer.from(`${line('a')}\n${'y'.repeat(1_001)}`))).toBe(false);
    expect(long.problems).toEqual([{ line: 2, message: 'longer than the limit of 1000 bytes (server.body_limit)' }]);
    const many = createBatchFileCheck({ ...limits, maxRequests: 2 });
    expect(many.push(Buffer.from([line('a'), line('b'), line('c'), 'junk'].join('\n')))).toBe(false);
    expect(many.problems).toEqual([{ line: 3, message: 'more than 2 requests' }]);
  });

  it('an empty file holds no requests', () => {
    const check = createBatchFileCheck(limits);
    check.push(Buffer.from('\n\n'));
    expect(check.end()).toBe(false);
    expect(check.problems).toEqual([{ line: 1, message: 'the file holds no requests' }]);
  });

  it('reads a stored file line by line for expansion, bad lines included', async () => {
    async function* chunks() {
      yield Buffer.from(`${line('a')}\n{bad`);
      yield Buffer.from(`}\n${'z'.repeat(1_200)}\n${line('b')}`);
    }
    const seen: CheckedLine[] = [];
    for await (const checked of readBatchLines(chunks(), limits)) seen.push(checked);
    expect(seen.map((checked) => (checked.kind === 'invalid' ? `${checked.line}:${checked.reason}` : `${checked.line}:${checked.kind}`))).toEqual([
      '1:request', '2:invalid', '3:too_long', '4:request',
    ]);
  });
});
