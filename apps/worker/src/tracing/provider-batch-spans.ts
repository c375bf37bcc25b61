import { genAiProviderName } from '@sluice/providers';
import { ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL } from '@opentelemetry/semantic-conventions/incubating';
import { SLUICE_ATTRIBUTES, type GatewayConfig, type Span, type TraceContext, type Tracing } from '@sluice/shared';
import type { JobRecord, ProviderBatchRecord } from '@sluice/engine';

/** Links of a submission to its members' traces: the first ones (a batch of 50,000 jobs would link each). */
const MAX_MEMBER_LINKS = 128;

export interface ProviderBatchSpans {
  /** `provider_batch submit` (CLIENT): a trace of its own, linked to the traces of its first members. */
  batchSubmit(batch: Pick<ProviderBatchRecord, 'provider' | 'model' | 'key'>, members: readonly JobRecord[]): Span;
  /** `provider_batch poll` (CLIENT): one poll of an open provider batch, and the reading of its results when it ended. */
  batchPoll(batch: Pick<ProviderBatchRecord, 'provider' | 'model' | 'key'>, providerBatchId: string): Span;
}

export function createProviderBatchSpans(tracing: Tracing, config: GatewayConfig): ProviderBatchSpans {
  const attributes = (batch: Pick<ProviderBatchRecord, 'provider' | 'model' | 'key'>) => ({
    [ATTR_GEN_AI_PROVIDER_NAME]: genAiProviderName(batch.provider, config.providers[batch.provider] ?? { type: '' }),
    [ATTR_GEN_AI_REQUEST_MODEL]: batch.model,
    [SLUICE_ATTRIBUTES.provider]: batch.provider,
    [SLUICE_ATTRIBUTES.providerBatchKey]: batch.key,
  });
  return {
    batchSubmit(batch, members) {
      const links = members.flatMap((record): TraceContext[] => (record.trace === null ? [] : [record.trace])).slice(0, MAX_MEMBER_LINKS);
      return tracing.startSpan('provider_batch submit', { kind: 'client', links, attributes: { ...attributes(batch), [SLUICE_ATTRIBUTES.providerBatchSize]: members.length } });
    },
    batchPoll(batch, providerBatchId) {
      return tracing.startSpan('provider_batch poll', { kind: 'client', attributes: { ...attributes(batch), [SLUICE_ATTRIBUTES.providerBatchId]: providerBatchId } });
    },
  };
}
