import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig } from '@sluice/shared';
import { ROOT } from './harness/processes.ts';

describe('gateway.example.yaml', () => {
  it('is a valid config once its required variables are set', () => {
    const { config } = loadConfig({ GATEWAY_CONFIG: join(ROOT, 'gateway.example.yaml'), SLUICE_ADMIN_KEY: 'sk-admin' });
    expect(Object.keys(config.providers)).toEqual(['openai', 'local', 'mock']);
    expect(config.routes.cheap).toEqual({ strategy: 'cheapest', targets: ['openai/gpt-4o-mini', 'local/llama3.1'] });
    expect(config.server.port).toBe(8080);
  });
  it('refuses to start without the admin key instead of accepting an empty one', () => {
    expect(() => loadConfig({ GATEWAY_CONFIG: join(ROOT, 'gateway.example.yaml') })).toThrow(/auth\.keys\.0\.key: must not be empty/);
  });
});
