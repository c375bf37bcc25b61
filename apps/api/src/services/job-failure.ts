import type { JobRecord } from '@sluice/engine';
import { ApiError } from '../api-error.ts';

/** What a job that did not succeed answers to a synchronous caller, in OpenAI's error shape. */
export function failureOf(record: JobRecord): ApiError {
  const message = record.error?.message ?? `job ${record.id} ended ${record.status}`;
  if (record.status === 'failed' && record.error?.code === 'provider_fatal') {
    return new ApiError(message, { status: 400, type: 'invalid_request_error', code: 'provider_rejected_request' });
  }
  if (record.status === 'failed') return new ApiError(message, { status: 502, type: 'api_error', code: record.error?.code ?? 'provider_error' });
  if (record.status === 'canceled') return new ApiError(message, { status: 409, type: 'invalid_request_error', code: 'job_canceled' });
  if (record.status === 'expired') return new ApiError(message, { status: 504, type: 'api_error', code: 'timeout' });
  return new ApiError(`The job did not finish within server.sync_timeout_s; poll GET /v1/jobs/${record.id} for its result`, {
    status: 504, type: 'api_error', code: 'timeout',
  });
}
