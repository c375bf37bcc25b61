import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.ts';
import { createConnectionErrorLog, exceptConnectionErrors, isConnectionError } from './connection-errors.ts';
import type { Redis } from './connection.ts';

/** A connection as the log sees one: its 'error', 'ready' and 'end' events. */
const connection = (): Redis & EventEmitter => new EventEmitter() as Redis & EventEmitter;

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

function setup() {
  let clock = 0;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  const log = createConnectionErrorLog({ now: () => clock });
  return { log, logger, lines, advance: (ms: number) => void (clock += ms) };
}

describe('connection error log', () => {
  it('logs the first error at once, then its repeats after 1, 2, 4 … s with their count', () => {
    const { log, logger, lines, advance } = setup();
    const [a, b] = [connection(), connection()];
    log.watch(a, logger, { connection: 'a' });
    log.watch(b, logger, { connection: 'b' });
    // Two connections, each retrying every 100 ms for 10 s: 200 errors.
    for (let step = 0; step < 100; step += 1) {
      a.emit('error', refused());
      b.emit('error', refused());
      advance(100);
    }
    expect(lines.map((line) => line.msg)).toEqual(['redis connection error', 'redis connection error repeated', 'redis connection error repeated', 'redis connection error repeated']);
    expect(lines[0]).toMatchObject({ level: 'warn', connection: 'a', err: 'connect ECONNREFUSED 127.0.0.1:6379' });
    // At 1.0 s, 3.0 s and 7.0 s; every error counted once.
    expect(lines.slice(1).map((line) => line.down_ms)).toEqual([1_000, 3_000, 7_000]);
    expect(lines.slice(1).map((line) => line.repeats)).toEqual([20, 40, 80]);
    expect(lines[1]?.connections).toBe(2);
  });

  it('caps the wait between lines at maxRepeatMs', () => {
    let clock = 0;
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const log = createConnectionErrorLog({ now: () => clock, maxRepeatMs: 4_000 });
    const a = connection();
    log.watch(a, logger);
    for (let second = 0; second <= 30; second += 1) {
      a.emit('error', refused());
      clock += 1_000;
    }
    expect(lines.map((line) => line.down_ms)).toEqual([undefined, 1_000, 3_000, 7_000, 11_000, 15_000, 19_000, 23_000, 27_000]);
  });

  it('says once that Redis is back when every failed connection is ready, then starts afresh', () => {
    const { log, logger, lines, advance } = setup();
    const [a, b] = [connection(), connection()];
    log.watch(a, logger);
    log.watch(b, logger);
    a.emit('error', refused());
    b.emit('error', refused());
    advance(2_500);
    a.emit('ready');
    expect(lines).toHaveLength(1);
    b.emit('ready');
    expect(lines[1]).toMatchObject({ msg: 'redis connection recovered', level: 'info', down_ms: 2_500, errors: 2 });
    a.emit('ready');
    expect(lines).toHaveLength(2);
    a.emit('error', refused());
    expect(lines[2]).toMatchObject({ msg: 'redis connection error' });
  });

  it('counts an error a queue re-emits only when its connection is not watched', () => {
    const { log, logger, lines } = setup();
    const [watched, plain] = [connection(), connection()];
    log.watch(watched, logger);
    log.report(watched, logger, refused(), { queue: 'q' });
    expect(lines).toHaveLength(0);
    log.report(plain, logger, refused(), { queue: 'q' });
    expect(lines[0]).toMatchObject({ msg: 'redis connection error', queue: 'q' });
    plain.emit('ready');
    expect(lines[1]).toMatchObject({ msg: 'redis connection recovered' });
  });

  it('never logs the password of a Redis URL', () => {
    const { log, logger, lines } = setup();
    const a = connection();
    log.watch(a, logger);
    a.emit('error', new Error('cannot reach redis://default:hunter2@cache.internal:6379'));
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(lines[0]?.err).toBe('cannot reach redis://***@cache.internal:6379');
  });

  it('tells connection errors from command errors', () => {
    expect(isConnectionError(refused())).toBe(true);
    expect(isConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isConnectionError(new Error('ERR unknown command'))).toBe(false);
  });

  it('sends what a BullMQ queue or worker re-emits to the log when it is a connection error, elsewhere otherwise', () => {
    const { logger, lines } = setup();
    const other: Error[] = [];
    const listener = exceptConnectionErrors(connection(), logger, (error) => other.push(error));
    listener(new Error('ERR Error running script'));
    listener(refused());
    expect(other.map((error) => error.message)).toEqual(['ERR Error running script']);
    expect(lines[0]).toMatchObject({ msg: 'redis connection error', err: 'connect ECONNREFUSED 127.0.0.1:6379' });
  });
});
