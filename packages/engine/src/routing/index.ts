export * from './resolve-route.ts';
export * from './choose-target.ts';
export * from './plan-job.ts';
/** For the API, which reaches provider types only through the engine. */
export { providerDisabledReason } from '@sluice/providers';
export * from './execution-mode.ts';
