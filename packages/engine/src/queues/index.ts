export * from './queues.ts';
export * from './payloads.ts';
export * from './dead-letters.ts';
export * from './entries.ts';
export * from './kept-entries.ts';
