export * from './model-price.ts';
export * from './schema.ts';
export { parseOtelHeaders } from './otel-env.ts';
export { loadConfigWith, parseConfigWith, formatIssues, parseByteSize, BUILTIN_CONFIG, type ConfigRules, type LoadedConfig } from './load-config.ts';
