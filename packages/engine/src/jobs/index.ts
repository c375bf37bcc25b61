export * from './job-types.ts';
export * from './job-store.ts';
export * from './ids.ts';
export * from './plan-job.ts';
