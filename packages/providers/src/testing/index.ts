export * from './fake-provider-server.ts';
