export { SluiceError, type SluiceErrorOptions } from './sluice-error.ts';
export { ConfigError } from './config-error.ts';
