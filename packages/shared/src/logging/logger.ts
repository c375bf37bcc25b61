import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever a log call passes them; the code also never logs config or headers whole. */
const REDACT_PATHS = [
  'api_key', '*.api_key', '*.*.api_key',
  'key', '*.key',
  'secret', '*.secret', 'webhook_secret', '*.webhook_secret',
  'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'headers["api-key"]',
  'req.headers.authorization', 'req.headers["x-api-key"]',
];

export interface LoggerOptions {
  /** pino level. Default `info`. */
  level?: string;
  /** Process role written on every line (`api`, `worker`). */
  name?: string;
  /** Where lines go; default stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
