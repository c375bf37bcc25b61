import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors/config-error.ts';
import { expandEnv } from './expand-env.ts';
import { withOtelEnv } from './otel-env.ts';
import type { GatewayConfig, GatewayConfigInput, GatewayConfigSchema, ProviderConfig } from './schema.ts';

/** The config Sluice runs with when no file is found: the offline `mock` provider, auth off on loopback. */
export const BUILTIN_CONFIG: GatewayConfigInput = {
  server: { host: '127.0.0.1' },
  auth: { disabled: true },
  providers: { mock: { type: 'mock' } },
  routes: { default: ['mock/echo'] },
};

export interface LoadedConfig {
  config: GatewayConfig;
  /** The file read, or `built-in`. */
  source: string;
  /** Environment variables referenced without a default and not set. */
  unsetVariables: string[];
  /** Things that work but deserve a look (a provider disabled for want of a key), by path. */
  warnings: string[];
}

/** Formats zod issues as `path: message` lines, one per problem. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const message = issue.message.replace(/^Invalid input: /, '').replace(/^expected (\w+), received undefined$/, 'required ($1)');
    return path === '' ? message : `${path}: ${message}`;
  });
}

/**
 * What loading needs from the providers package, which alone knows the provider types. Built once
 * there (`CONFIG_RULES`); `loadConfig` and `parseConfig` of `@sluice/providers` pass it.
 */
export interface ConfigRules {
  /** The config schema with `providers.*` validated by each type's own schema (`createGatewayConfigSchema`). */
  schema: GatewayConfigSchema;
  /** Why a validated provider cannot take jobs (a keyed type without a key), or null when it can. */
  disabledReason(provider: ProviderConfig): string | null;
}

/** Validates an already-parsed config tree (env expansion included) and applies defaults. */
export function parseConfigWith(rules: ConfigRules, raw: unknown, env: NodeJS.ProcessEnv, source: string): LoadedConfig {
  const unset = new Set<string>();
  const expanded = expandEnv(raw ?? {}, env, unset);
  if (typeof expanded !== 'object' || expanded === null || Array.isArray(expanded)) {
    throw new ConfigError(source, ['expected a YAML mapping at the top level']);
  }
  const tree = expanded as Record<string, unknown>;
  // REDIS_URL is the documented way to point every process at Redis; a file that names no URL honours it.
  const redis = (tree.redis ?? {}) as Record<string, unknown>;
  if (typeof redis === 'object' && redis.url === undefined && env.REDIS_URL) {
    tree.redis = { ...redis, url: env.REDIS_URL };
  }
  // Likewise the standard OTEL_* variables, where the file's `telemetry` says nothing.
  const telemetry = withOtelEnv(tree.telemetry, env);
  if (telemetry !== undefined) tree.telemetry = telemetry;
  const result = rules.schema.safeParse(tree);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  // Plain keys are hashed now and dropped: nothing after loading holds a key in the clear.
  for (const key of result.data.auth.keys) {
    if (key.key === undefined) continue;
    key.key_sha256 = createHash('sha256').update(key.key, 'utf8').digest('hex');
    delete key.key;
  }
  const warnings = Object.entries(result.data.providers).flatMap(([id, provider]) => {
    const reason = rules.disabledReason(provider);
    return reason === null ? [] : [`providers.${id}: ${reason}; the provider is disabled and routes skip it`];
  });
  return { config: result.data, source, unsetVariables: [...unset], warnings };
}

/**
 * Loads the gateway config: the file named by `GATEWAY_CONFIG`, else `./gateway.yaml` when present,
 * else the built-in config. Throws ConfigError listing every problem by path.
 */
export function loadConfigWith(rules: ConfigRules, env: NodeJS.ProcessEnv, cwd: string): LoadedConfig {
  const named = env.GATEWAY_CONFIG;
  const path = named ? resolve(cwd, named) : resolve(cwd, 'gateway.yaml');
  if (!named && !existsSync(path)) return parseConfigWith(rules, BUILTIN_CONFIG, env, 'built-in');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  const document = YAML.parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(path, document.errors.map((error) => `YAML: ${error.message.split('\n')[0]}`));
  }
  return parseConfigWith(rules, document.toJS(), env, path);
}

/** Bytes for sizes such as `1mb` or `512kb`. */
export function parseByteSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i.exec(size);
  if (!match) throw new ConfigError('size', [`"${size}" is not a size`]);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
  return Math.floor(Number(match[1]) * (units[match[2]!.toLowerCase()] ?? 1));
}
