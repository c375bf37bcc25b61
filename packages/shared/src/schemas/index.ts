export * from './chat.ts';
export * from './job-request.ts';
