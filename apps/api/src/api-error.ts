import { SluiceError } from '@sluice/shared';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'api_error';

export interface ApiErrorOptions {
  status: number;
  type: ApiErrorType;
  code: string;
  param?: string | null;
  /** Every problem, for validation errors: `[{param, message}]`. */
  issues?: { param: string | null; message: string }[];
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
}

/** An error with its HTTP answer; rendered in OpenAI's error shape by the error middleware. */
export class ApiError extends SluiceError {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly issues: { param: string | null; message: string }[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(message: string, options: ApiErrorOptions) {
    super(message, { code: options.code });
    this.name = 'ApiError';
    this.status = options.status;
    this.type = options.type;
    this.param = options.param ?? null;
    this.issues = options.issues;
    this.retryAfter = options.retryAfter;
  }
}

export const notFound = (what: string, id: string): ApiError =>
  new ApiError(`No ${what} found with id "${id}"`, { status: 404, type: 'not_found_error', code: `${what}_not_found`, param: 'id' });
