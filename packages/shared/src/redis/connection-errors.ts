import type { Logger } from '../logging/logger.ts';
import type { Redis } from './connection.ts';

/** Connection-level failures (the socket, not a command): what BullMQ also treats as transient. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const CONNECTION_MESSAGES = /^(Connection is closed\.?|connect ETIMEDOUT|Stream isn't writeable|Reached the max retries per request limit)/;

/** True for an error about the connection to Redis rather than about a command. */
export function isConnectionError(error: Error): boolean {
  const code = (error as Error & { code?: unknown }).code;
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(error.message);
}

/** An error message without the credentials a `redis://user:password@host` URL in it would carry. */
const withoutCredentials = (message: string): string => message.replace(/(rediss?:\/\/)[^@\s/]*@/gi, '$1***@');

export interface ConnectionErrorLogOptions {
  /** Wait before the first line about repeats of an error. Default 1000 ms; each later wait doubles. */
  firstRepeatMs?: number;
  /** Longest wait between two lines about repeats of one error. Default 60000 ms. */
  maxRepeatMs?: number;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
}

export interface ConnectionErrorLog {
  /** Logs `connection`'s 'error' events through this log, and its recovery when it is ready again. */
  watch(connection: Redis, logger: Logger, fields?: Record<string, unknown>): void;
  /**
   * Reports a connection error of `connection` heard elsewhere (a BullMQ queue on it re-emits each
   * one); ignored when `watch` already hears that connection's errors.
   */
  report(connection: Redis, logger: Logger, error: Error, fields?: Record<string, unknown>): void;
}

interface Repeats {
  /** When a line about this error may next be written. */
  nextAt: number;
  waitMs: number;
  /** Occurrences since the last line about it. */
  unlogged: number;
}

/**
 * Logs Redis connection errors with backoff. ioredis emits an error on every reconnect attempt of
 * every connection, and a process has several (its own, subscribers, BullMQ's blocking ones), all
 * failing together for the same reason: the first occurrence of an error is logged at once, its
 * repeats (on any connection of the process) are counted and logged after 1 s, 2 s, 4 s … up to
 * 60 s with how many there were, and once every failed connection is ready again one line says
 * Redis is back and for how long it was not.
 */
export function createConnectionErrorLog(options: ConnectionErrorLogOptions = {}): ConnectionErrorLog {
  const firstRepeatMs = options.firstRepeatMs ?? 1_000;
  const maxRepeatMs = options.maxRepeatMs ?? 60_000;
  const now = options.now ?? Date.now;
  const repeats = new Map<string, Repeats>();
  /** Connections that failed and are not ready again; the outage ends when it empties. */
  const down = new Set<Redis>();
  const followed = new WeakSet<Redis>();
  const watched = new WeakSet<Redis>();
  let outageSince: number | null = null;
  let errors = 0;

  const reset = (): void => {
    repeats.clear();
    outageSince = null;
    errors = 0;
  };

  const recovered = (connection: Redis, logger: Logger): void => {
    if (!down.delete(connection) || down.size > 0 || outageSince === null) return;
    logger.info({ down_ms: now() - outageSince, errors }, 'redis connection recovered');
    reset();
  };

  const follow = (connection: Redis, logger: Logger): void => {
    if (followed.has(connection)) return;
    followed.add(connection);
    connection.on('ready', () => recovered(connection, logger));
    // A connection closed while down never comes back: the outage is then over for it.
    connection.on('end', () => {
      if (down.delete(connection) && down.size === 0) reset();
    });
  };

  const count = (connection: Redis, logger: Logger, error: Error, fields: Record<string, unknown>): void => {
    const at = now();
    follow(connection, logger);
    down.add(connection);
    outageSince ??= at;
    errors += 1;
    const message = withoutCredentials(error.message);
    const seen = repeats.get(message);
    if (seen === undefined) {
      repeats.set(message, { nextAt: at + firstRepeatMs, waitMs: firstRepeatMs, unlogged: 0 });
      logger.warn({ ...fields, err: message }, 'redis connection error');
      return;
    }
    seen.unlogged += 1;
    if (at < seen.nextAt) return;
    // `repeats`: occurrences since the last line about this error, on `connections` failed connections.
    logger.warn({ err: message, repeats: seen.unlogged, connections: down.size, down_ms: at - outageSince }, 'redis connection error repeated');
    seen.waitMs = Math.min(seen.waitMs * 2, maxRepeatMs);
    seen.nextAt = at + seen.waitMs;
    seen.unlogged = 0;
  };

  return {
    report(connection, logger, error, fields = {}) {
      if (!watched.has(connection)) count(connection, logger, error, fields);
    },
    watch(connection, logger, fields = {}) {
      watched.add(connection);
      connection.on('error', (error: Error) => count(connection, logger, error, fields));
      follow(connection, logger);
    },
  };
}

/** The process's one connection error log: every connection of a process shares its backoff. */
export const connectionErrors: ConnectionErrorLog = createConnectionErrorLog();

/** Logs the 'error' events of `connection` with backoff, through the process's connection error log. */
export function logConnectionErrors(connection: Redis, logger: Logger, fields?: Record<string, unknown>): void {
  connectionErrors.watch(connection, logger, fields);
}

/**
 * An 'error' listener for a BullMQ Queue or Worker on `connection`: the connection errors it
 * re-emits (those of `connection` and of the duplicates BullMQ makes of it) go to the process's
 * connection error log, any other error to `otherwise`.
 */
export function exceptConnectionErrors(connection: Redis, logger: Logger, otherwise: (error: Error) => void): (error: Error) => void {
  return (error) => (isConnectionError(error) ? connectionErrors.report(connection, logger, error) : otherwise(error));
}
