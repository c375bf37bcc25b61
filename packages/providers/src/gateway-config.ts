import { z } from 'zod';
import { createGatewayConfigSchema, loadConfigWith, parseConfigWith, type ConfigRules, type LoadedConfig } from '@sluice/shared';
import { PROVIDER_TYPES, providerDisabledReason, providerType } from './registry.ts';
import type { ProviderType } from './provider-type.ts';

type ConfigSchema = ProviderType['configSchema'];

const schemas = Object.values(PROVIDER_TYPES).map((type) => type.configSchema);

/**
 * One `providers.<id>` entry: the registered types' schemas, told apart by `type`. An entry may turn
 * on `batch` or `flex` only when its type declares the capability: a switch that silently does
 * nothing would leave an operator believing work runs at half price when it does not.
 */
export const ProviderConfigSchema = z.discriminatedUnion('type', schemas as [ConfigSchema, ...ConfigSchema[]]).superRefine((entry, ctx) => {
  const type = providerType(entry.type);
  if (entry.batch.enabled && type?.batch !== true) {
    ctx.addIssue({ code: 'custom', path: ['batch', 'enabled'], message: `the ${entry.type} type has no batch API` });
  }
  if (entry.flex.enabled && type?.flex !== true) {
    ctx.addIssue({ code: 'custom', path: ['flex', 'enabled'], message: `the ${entry.type} type has no flex tier` });
  }
});

/** The whole gateway config, each provider entry validated by its own type's schema. */
export const GatewayConfigSchema = createGatewayConfigSchema(ProviderConfigSchema);

/** What config loading needs from the registry. */
export const CONFIG_RULES: ConfigRules = { schema: GatewayConfigSchema, disabledReason: providerDisabledReason };

/**
 * Loads the gateway config: the file named by `GATEWAY_CONFIG`, else `./gateway.yaml` when present,
 * else the built-in config (the offline mock). Throws ConfigError listing every problem by path.
 * Every entry point loads config through this (the processes through `bootstrap` of `@sluice/engine`).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): LoadedConfig {
  return loadConfigWith(CONFIG_RULES, env, cwd);
}

/** Validates an already-parsed config tree (env expansion included) and applies defaults. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv, source: string): LoadedConfig {
  return parseConfigWith(CONFIG_RULES, raw, env, source);
}
