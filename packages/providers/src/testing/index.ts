export * from './fake-provider-server.ts';
export * from './fake-batch-store.ts';
export * from './fake-stream.ts';
export * from './fake-openai-stream.ts';
