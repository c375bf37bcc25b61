export * from './breaker.ts';
export * from './rate-limiter.ts';
export * from './spend.ts';
export * from './circuit-view.ts';
