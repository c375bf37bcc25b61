export * from './batch-input.ts';
export * from './batch-store.ts';
