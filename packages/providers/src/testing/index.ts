export * from './fake-provider-server.ts';
export * from './fake-batch-store.ts';
