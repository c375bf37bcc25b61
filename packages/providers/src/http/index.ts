export * from './http-client.ts';
export * from './classify-error.ts';
export * from './retry-after.ts';
export * from './json-call.ts';
export * from './sse.ts';
export * from './stream-call.ts';
