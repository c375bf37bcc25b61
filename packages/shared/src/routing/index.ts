export * from './resolve-route.ts';
