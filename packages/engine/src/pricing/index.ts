export * from './prices.ts';
export * from './bundled-prices.ts';
