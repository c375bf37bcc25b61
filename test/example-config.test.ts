import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@sluice/providers';
import { ROOT } from './harness/processes.ts';

describe('gateway.example.yaml', () => {
  it('is a valid config once its required variables are set', () => {
    const { config } = loadConfig({ GATEWAY_CONFIG: join(ROOT, 'gateway.example.yaml'), SLUICE_ADMIN_KEY: 'sk-admin' });
    expect(Object.keys(config.providers)).toEqual(['openai', 'anthropic', 'gemini', 'local', 'mock']);
    expect(config.routes.cheap).toEqual({ strategy: 'cheapest', targets: ['openai/gpt-4o-mini', 'local/llama3.1'] });
    expect(config.server.port).toBe(8080);
  });
  it('ships no key that works: the only key comes from the environment', () => {
    const text = readFileSync(join(ROOT, 'gateway.example.yaml'), 'utf8');
    expect(text).not.toMatch(/[0-9a-f]{64}/i);
    const { config } = loadConfig({ GATEWAY_CONFIG: join(ROOT, 'gateway.example.yaml'), SLUICE_ADMIN_KEY: 'sk-admin' });
    expect(config.auth.keys).toHaveLength(1);
    expect(config.auth.keys[0]?.key_sha256).toBe(createHash('sha256').update('sk-admin').digest('hex'));
  });

  it('refuses to start without the admin key instead of accepting an empty one', () => {
    expect(() => loadConfig({ GATEWAY_CONFIG: join(ROOT, 'gateway.example.yaml') })).toThrow(/auth\.keys\.0\.key: must not be empty/);
  });

  it('examples/provider-presets.yaml is valid, and providers without keys are disabled, not fatal', () => {
    const { config, warnings } = loadConfig({ GATEWAY_CONFIG: join(ROOT, 'examples/provider-presets.yaml'), OPENAI_API_KEY: 'sk-1' });
    expect(Object.keys(config.providers)).toEqual(['openai', 'anthropic', 'gemini', 'groq', 'together', 'mistral', 'deepseek', 'openrouter', 'ollama', 'vllm', 'azure-gpt4o']);
    expect(warnings).toEqual([
      'providers.anthropic: api_key is empty; the provider is disabled and routes skip it',
      'providers.gemini: api_key is empty; the provider is disabled and routes skip it',
    ]);
    expect(config.providers['azure-gpt4o']).toMatchObject({ base_url: 'https://myresource.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21' });
  });
});
