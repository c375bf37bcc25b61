export * from './config/index.ts';
export * from './auth/index.ts';
export * from './errors/index.ts';
export * from './logging/index.ts';
export * from './redis/index.ts';
export * from './schemas/index.ts';
export * from './metrics/metrics.ts';
export * from './telemetry/index.ts';
