import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../provider-error.ts';
import type { MockProviderConfig } from './config-schema.ts';

/** One simulated call: the caller's signal joined with the call's timeout, which bounds the whole call. */
export interface MockCall {
  signal: AbortSignal;
  timeout: AbortSignal;
}

/** The mock's latency, timeout and failure rate, shared by `complete`, `stream` and `probe`. */
export interface MockSimulation {
  start(signal: AbortSignal | undefined): MockCall;
  /** Waits `ms` (0: only checks the signal), failing as a timed-out or canceled call. */
  pause(call: MockCall, ms: number): Promise<void>;
  /** The latency before an answer, then a retryable 500 on a `failure_rate` share of calls. */
  respond(call: MockCall): Promise<void>;
}

export function createMockSimulation(id: string, config: MockProviderConfig, random: () => number): MockSimulation {
  const failed = (call: MockCall, cause: unknown): ProviderError => {
    if (call.timeout.aborted) return new ProviderError(`${id}: no response within ${config.timeout_ms} ms`, { kind: 'timeout', provider: id, status: null, cause });
    return new ProviderError(`${id}: request aborted`, { kind: 'canceled', provider: id, status: null, cause });
  };
  const pause = async (call: MockCall, ms: number): Promise<void> => {
    if (call.signal.aborted) throw failed(call, call.signal.reason);
    if (ms === 0) return;
    try {
      await sleep(ms, undefined, { signal: call.signal });
    } catch (error) {
      throw failed(call, error);
    }
  };
  return {
    start(signal) {
      const timeout = AbortSignal.timeout(config.timeout_ms);
      return { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, timeout };
    },
    pause,
    async respond(call) {
      await pause(call, config.latency_ms);
      if (random() < config.failure_rate) {
        throw new ProviderError(`${id}: HTTP 500: simulated failure`, { kind: 'retryable', provider: id, status: 500, body: '{"error":{"message":"simulated failure"}}' });
      }
    },
  };
}
