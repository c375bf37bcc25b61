export { admitJob, type Admission, type AdmitDeps } from './admit-job.ts';
export { cacheTtlOf, responseCacheKey } from './cache-key.ts';
export { createResponseCache, CachedResponseSchema, type CacheWrite, type CachedResponse, type ResponseCache } from './response-cache.ts';
