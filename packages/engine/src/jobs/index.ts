export * from './job-types.ts';
export * from './job-store.ts';
export * from './job-codec.ts';
export * from './ids.ts';
