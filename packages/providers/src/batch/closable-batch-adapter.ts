import type { BatchAdapter } from '../provider-adapter.ts';

/** A batch adapter with connections of its own, which its provider adapter's `close` releases. */
export type ClosableBatchAdapter = BatchAdapter & { close(): Promise<void> };
