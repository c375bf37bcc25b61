export * from './queues.ts';
export * from './dispatch.ts';
