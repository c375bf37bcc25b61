export * from './fake-provider-server.ts';
export * from './fake-batch-store.ts';
export * from './fake-embeddings.ts';
export * from './fake-stream.ts';
export * from './fake-openai-stream.ts';
export * from './fake-sse-stream.ts';
export { ANTHROPIC_OVERLOADED_EVENT } from './fake-anthropic-stream.ts';
export { GEMINI_OVERLOADED_EVENT } from './fake-gemini-stream.ts';
