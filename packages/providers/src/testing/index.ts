export * from './fake-openai-server.ts';
