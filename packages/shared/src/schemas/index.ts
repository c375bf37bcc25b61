export * from './chat.ts';
export * from './json-depth.ts';
export * from './estimate-tokens.ts';
export * from './assemble-completion.ts';
export * from './embeddings.ts';
