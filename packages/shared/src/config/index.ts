export * from './schema.ts';
export { loadConfig, parseConfig, formatIssues, parseByteSize, BUILTIN_CONFIG, type LoadedConfig } from './load-config.ts';
