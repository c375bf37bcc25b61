import { describe, expect, it } from 'vitest';
import { BODY_SCAN_CHARS, classifyHttpError } from './classify-error.ts';

const forbidden = (body: string) => ({ status: 403, headers: {}, body });

describe('classifyHttpError', () => {
  it('shows a refusal test only the start of the body', () => {
    const seen: number[] = [];
    const refused = classifyHttpError('p', forbidden(`{"error":"flagged"}${' '.repeat(100_000)}`), (start) => {
      seen.push(start.length);
      return start.includes('flagged');
    });
    expect(seen).toEqual([BODY_SCAN_CHARS]);
    expect(refused).toMatchObject({ kind: 'fatal', code: 'provider_refused_request', message: 'p: HTTP 403: flagged' });
  });

  it('without a refusal test every 403 is about the key, and neither its text nor its body is kept', () => {
    const error = classifyHttpError('p', forbidden('{"error":{"message":"key sk-...wxyz is suspended"}}'));
    expect(error).toMatchObject({ kind: 'auth', code: 'provider_auth', body: undefined });
    expect(error.message).toBe("p: HTTP 403: permission denied (the provider's message is withheld: it may echo the key)");
  });

  it('never asks the refusal test about a 401', () => {
    const error = classifyHttpError('p', { status: 401, headers: {}, body: 'flagged' }, () => true);
    expect(error).toMatchObject({ kind: 'auth', status: 401, body: undefined });
    expect(error.message).toMatch(/^p: HTTP 401: authentication failed \(/);
  });

  it('reads a 429 saying the flex tier has no capacity as flex_unavailable, retryable, and any other 429 as a rate limit', () => {
    const flex = classifyHttpError('p', { status: 429, headers: {}, body: '{"error":{"message":"Resource Unavailable","type":"resource_unavailable","code":null}}' });
    expect(flex).toMatchObject({ kind: 'flex_unavailable', code: 'provider_flex_unavailable', retryable: true, status: 429 });
    for (const body of ['{"error":{"message":"resource unavailable, try again later"}}', '{"error":{"code":"RESOURCE_UNAVAILABLE"}}']) {
      expect(classifyHttpError('p', { status: 429, headers: {}, body }).kind, body).toBe('flex_unavailable');
    }
    expect(classifyHttpError('p', { status: 429, headers: {}, body: '{"error":{"message":"Rate limit reached for requests"}}' }).kind).toBe('rate_limited');
    expect(classifyHttpError('p', { status: 429, headers: {}, body: '{"error":{"status":"RESOURCE_EXHAUSTED"}}' }).kind).toBe('rate_limited');
    expect(classifyHttpError('p', { status: 429, headers: {}, body: '{"error":{"code":"insufficient_quota","message":"resource unavailable"}}' }).kind).toBe('auth');
    expect(classifyHttpError('p', { status: 503, headers: {}, body: '{"error":{"message":"Resource Unavailable"}}' }).kind).toBe('retryable');
  });
});
