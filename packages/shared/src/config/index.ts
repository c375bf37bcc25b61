export * from './model-price.ts';
export * from './schema.ts';
export { loadConfigWith, parseConfigWith, formatIssues, parseByteSize, BUILTIN_CONFIG, type ConfigRules, type LoadedConfig } from './load-config.ts';
