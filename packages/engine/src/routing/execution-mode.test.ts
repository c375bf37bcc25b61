import { describe, expect, it } from 'vitest';
import { parseConfig } from '@sluice/providers';
import { chooseExecution } from './execution-mode.ts';

const { config } = parseConfig({
  providers: {
    batched: { type: 'openai', api_key: 'k', batch: { enabled: true, min_lead_s: 7200 }, flex: { enabled: true, models: ['o4-mini'] } },
    'flex-only': { type: 'openai', api_key: 'k', flex: { enabled: true, models: ['o4-mini'] } },
    plain: { type: 'openai', api_key: 'k' },
  },
  routes: { default: ['plain/gpt-4o'] },
  auth: { disabled: true },
}, {}, 'test');
const candidate = (provider: string, model = 'o4-mini') => ({ provider, model, est_cost_usd: null, eligible: true, reason: null });
const now = 1_800_000_000;

describe('execution mode', () => {
  it('sends work that can wait to the batch API when the deadline leaves min_lead_s, else to flex, else real time', () => {
    const economy = { tier: 'economy' as const, batchChild: false, now, expiresAt: now + 48 * 3600 };
    expect(chooseExecution(config, candidate('batched'), economy)?.mode).toBe('provider_batch');
    expect(chooseExecution(config, candidate('batched'), { ...economy, expiresAt: now + 1800 })?.mode).toBe('flex');
    expect(chooseExecution(config, candidate('batched', 'gpt-4o'), { ...economy, expiresAt: now + 1800 })).toBeNull();
    expect(chooseExecution(config, candidate('flex-only'), economy)?.mode).toBe('flex');
    expect(chooseExecution(config, candidate('plain'), economy)).toBeNull();
  });

  it('runs standard and premium jobs in real time unless they are batch children', () => {
    const standard = { tier: 'standard' as const, batchChild: false, now, expiresAt: now + 48 * 3600 };
    expect(chooseExecution(config, candidate('batched'), standard)).toBeNull();
    expect(chooseExecution(config, candidate('batched'), { ...standard, batchChild: true })?.mode).toBe('provider_batch');
  });
});
