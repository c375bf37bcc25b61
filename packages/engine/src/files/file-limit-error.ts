import { SluiceError } from '@sluice/shared';

/** Why the file store refused to take more from a tenant. */
export type FileLimit = 'too_many_uploads' | 'file_storage_limit';

/** A tenant is past one of its file limits; it may retry after `retryAfterS` seconds (or after deleting files). */
export class FileLimitError extends SluiceError {
  readonly limit: FileLimit;
  readonly retryAfterS: number;

  constructor(limit: FileLimit, message: string, retryAfterS: number) {
    super(message, { code: limit, retryable: true });
    this.name = 'FileLimitError';
    this.limit = limit;
    this.retryAfterS = retryAfterS;
  }
}
