import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseByteSize } from '@sluice/shared';
import { loadConfig, parseConfig } from './gateway-config.ts';

const writeConfig = (text: string): { dir: string; file: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  return { dir, file };
};

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('uses the built-in mock config when no file exists', () => {
    const { config, source } = loadConfig({}, mkdtempSync(join(tmpdir(), 'sluice-empty-')));
    expect(source).toBe('built-in');
    expect(config.auth.disabled).toBe(true);
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(Object.keys(config.providers)).toEqual(['mock']);
    expect(config.routes.default).toEqual(['mock/echo']);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
  });

  it('leaves tracing off with no telemetry section and no OTEL_* variables', () => {
    const { config } = loadConfig({}, mkdtempSync(join(tmpdir(), 'sluice-empty-')));
    expect(config.telemetry).toEqual({ headers: {}, sample_ratio: 1, disabled: false });
  });

  it('turns tracing on from the standard OTEL_* variables when the file names no endpoint', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok,x-tenant=ops',
      OTEL_SERVICE_NAME: 'gateway-eu',
    };
    const { config } = loadConfig(env, mkdtempSync(join(tmpdir(), 'sluice-empty-')));
    expect(config.telemetry).toMatchObject({ otlp_endpoint: 'http://collector:4318', service_name: 'gateway-eu', headers: { authorization: 'Bearer tok', 'x-tenant': 'ops' } });
    const traces = loadConfig({ ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom/traces' }, mkdtempSync(join(tmpdir(), 'sluice-empty-'))).config;
    expect(traces.telemetry).toMatchObject({ otlp_traces_endpoint: 'http://collector:4318/custom/traces' });
    expect(traces.telemetry.otlp_endpoint).toBeUndefined();
    expect(loadConfig({ ...env, OTEL_SDK_DISABLED: 'true' }, mkdtempSync(join(tmpdir(), 'sluice-empty-'))).config.telemetry.disabled).toBe(true);
  });

  it('keeps the file\'s telemetry settings over the OTEL_* variables', () => {
    const { file, dir } = writeConfig(
      'auth: { disabled: true }\nproviders: { mock: { type: mock } }\n' +
        'telemetry: { otlp_endpoint: "http://file:4318", service_name: from-file, sample_ratio: 0.25, headers: { authorization: own } }\n',
    );
    const env = { GATEWAY_CONFIG: file, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_SERVICE_NAME: 'from-env', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=env,x-extra=1' };
    const { config } = loadConfig(env, dir);
    expect(config.telemetry).toMatchObject({ otlp_endpoint: 'http://file:4318', service_name: 'from-file', sample_ratio: 0.25, headers: { authorization: 'own', 'x-extra': '1' } });
    expect(problemsOf(() => parseConfig({ providers: { mock: { type: 'mock' } }, auth: { disabled: true }, telemetry: { sample_ratio: 2, otlp_endpoint: 'grpc://x:4317' } }, {}, 'test'))).toEqual([
      expect.stringMatching(/^telemetry\.otlp_endpoint: /),
      expect.stringMatching(/^telemetry\.sample_ratio: /),
    ]);
  });

  it('honours REDIS_URL when the config names no Redis URL', () => {
    const { config } = loadConfig({ REDIS_URL: 'redis://127.0.0.1:7777' }, mkdtempSync(join(tmpdir(), 'sluice-empty-')));
    expect(config.redis.url).toBe('redis://127.0.0.1:7777');
  });

  it('reads ./gateway.yaml, expands ${VAR} and ${VAR:-default}, and applies defaults', () => {
    const { dir } = writeConfig(`
server: { port: "\${PORT:-9090}", host: 127.0.0.1 }
auth:
  keys:
    - { key: "\${ADMIN_KEY}", tenant: ops, role: admin }
providers:
  local: { type: openai-compatible, base_url: "http://127.0.0.1:\${LOCAL_PORT}/v1", api_key: "\${LOCAL_KEY}", rpm: 60 }
routes:
  default: [local/llama3.1]
`);
    const { config, unsetVariables } = loadConfig({ ADMIN_KEY: 'k#1: not yaml', LOCAL_PORT: '11434' }, dir);
    expect(config.server.port).toBe(9090);
    // The key survived YAML intact (its hash is of the exact text), and only its hash is kept.
    expect(config.auth.keys[0]?.key_sha256).toBe(createHash('sha256').update('k#1: not yaml').digest('hex'));
    expect(config.auth.keys[0]).not.toHaveProperty('key');
    expect(JSON.stringify(config)).not.toContain('k#1');
    const local = config.providers.local;
    expect(local).toMatchObject({ type: 'openai-compatible', base_url: 'http://127.0.0.1:11434/v1', rpm: 60, concurrency: 8, timeout_ms: 60000 });
    expect(local?.retry).toEqual({ attempts: 3, backoff_ms: 1000, max_backoff_ms: 60000 });
    expect(unsetVariables).toEqual(['LOCAL_KEY']);
    expect(config.breaker.cooldown_s).toBe(30);
  });

  it('names every mistake by path in one error', () => {
    const { file } = writeConfig(`
server: { port: eighty }
auth: { keys: [{ key: abc, tenant: acme, role: superuser }] }
providers:
  openai: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1", rpm: "lots" }
routes:
  default: [openai/gpt-4o-mini]
`);
    const problems = problemsOf(() => loadConfig({ GATEWAY_CONFIG: file }));
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: expected number/),
        expect.stringMatching(/^auth\.keys\.0\.role: /),
        expect.stringMatching(/^providers\.openai\.rpm: expected number/),
      ]),
    );
  });

  it('refuses auth.disabled off loopback, routes to unknown providers, unknown keys and bad YAML', () => {
    expect(problemsOf(() => parseConfig({ server: { host: '0.0.0.0' }, auth: { disabled: true }, providers: { mock: { type: 'mock' } } }, {}, 't'))).toEqual([
      'auth.disabled: true is only allowed when server.host is 127.0.0.1, ::1 or localhost',
    ]);
    expect(problemsOf(() => parseConfig({ auth: { disabled: true }, providers: { mock: { type: 'mock' } }, routes: { default: ['mock/a', 'mokc/b'] } }, {}, 't'))).toEqual([
      'routes.default.1: unknown provider "mokc"',
    ]);
    expect(problemsOf(() => parseConfig({ auth: { disabled: true }, providers: { mock: { type: 'mock', colour: 'red' } } }, {}, 't'))[0]).toMatch(/^providers\.mock: Unrecognized key/);
    expect(problemsOf(() => parseConfig({ providers: { mock: { type: 'mock' } } }, {}, 't'))).toEqual([
      'auth.keys: no API keys configured (add keys, or set auth.disabled on a loopback host)',
    ]);
    expect(problemsOf(() => parseConfig({ auth: { keys: [{ key: '', tenant: 'a' }] }, providers: { mock: { type: 'mock' } } }, {}, 't'))[0]).toMatch(/^auth\.keys\.0\.key: must not be empty/);
    const { file } = writeConfig('providers: [unclosed\n');
    expect(problemsOf(() => loadConfig({ GATEWAY_CONFIG: file }))[0]).toMatch(/^YAML: /);
    expect(problemsOf(() => loadConfig({ GATEWAY_CONFIG: '/nonexistent/gateway.yaml' }))[0]).toMatch(/^cannot read the file/);
  });

  it('lets only types with a batch API enable batch, and only openai enable flex, naming the field', () => {
    const entries = {
      local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1', batch: { enabled: true }, flex: { enabled: true } },
      mock: { type: 'mock', batch: { enabled: true } },
      claude: { type: 'anthropic', api_key: 'k', batch: { enabled: true }, flex: { enabled: true } },
      gem: { type: 'gemini', api_key: 'k', batch: { enabled: true }, flex: { enabled: true, models: ['gemini-2.5-flash'] } },
    };
    expect(problemsOf(() => parseConfig({ auth: { disabled: true }, providers: entries }, {}, 't')).sort()).toEqual([
      'providers.claude.flex.enabled: the anthropic type has no flex tier',
      'providers.gem.flex.enabled: the gemini type has no flex tier',
      'providers.local.batch.enabled: the openai-compatible type has no batch API',
      'providers.local.flex.enabled: the openai-compatible type has no flex tier',
      'providers.mock.batch.enabled: the mock type has no batch API',
    ]);
    const capable = {
      openai: { type: 'openai', api_key: 'k', batch: { enabled: true }, flex: { enabled: true, models: ['o3'] } },
      claude: { type: 'anthropic', api_key: 'k', batch: { enabled: true } },
      gem: { type: 'gemini', api_key: 'k', batch: { enabled: true } },
      local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1', batch: { enabled: false } },
    };
    const { config } = parseConfig({ auth: { disabled: true }, providers: capable }, {}, 't');
    expect(config.providers.openai).toMatchObject({ batch: { enabled: true, poll_interval_s: 30 }, flex: { enabled: true, models: ['o3'] } });
    expect(config.providers.local?.batch.enabled).toBe(false);
  });

  it('parses byte sizes', () => {
    expect(parseByteSize('1mb')).toBe(1_048_576);
    expect(parseByteSize('16kb')).toBe(16_384);
    expect(parseByteSize(100)).toBe(100);
  });
});
