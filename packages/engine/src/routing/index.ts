export * from './resolve-route.ts';
export * from './parameter-support.ts';
export * from './choose-target.ts';
export * from './plan-job.ts';
