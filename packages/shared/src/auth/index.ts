export * from './authenticator.ts';
