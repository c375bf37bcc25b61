export { startApi, type ApiOptions, type ApiRuntime } from './api-runtime.ts';
export { createApp } from './app.ts';
export type { ApiDeps } from './deps.ts';
