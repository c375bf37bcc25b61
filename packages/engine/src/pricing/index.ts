export * from './prices.ts';
export * from './price-table.ts';
