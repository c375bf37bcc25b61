export * from './chat.ts';
export * from './job-request.ts';
export * from './json-depth.ts';
