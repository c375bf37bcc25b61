export * from './provider-adapter.ts';
export * from './provider-error.ts';
export * from './provider-type.ts';
export * from './registry.ts';
export * from './gateway-config.ts';
export * from './http/index.ts';
export { createMockAdapter } from './mock/adapter.ts';
export { createOpenAICompatibleAdapter } from './openai-compatible/adapter.ts';
