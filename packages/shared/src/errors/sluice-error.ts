/** Options every Sluice error accepts. */
export interface SluiceErrorOptions {
  /** Machine-readable code, e.g. `invalid_config`, `provider_timeout`. */
  code: string;
  /** Whether running the same operation again may succeed. Default false. */
  retryable?: boolean;
  cause?: unknown;
}

/** The one error base: every error Sluice raises on purpose carries a code and says if it is retryable. */
export class SluiceError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(message: string, options: SluiceErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = options.code;
    this.retryable = options.retryable ?? false;
  }
}
