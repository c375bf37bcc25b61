import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';
import { SLUICE_ATTRIBUTES, type Tracing } from '@sluice/shared';
import type { WebhookDelivery, WebhookJobData } from '@sluice/engine';
import { serverAttributes } from './server-attributes.ts';

/** How one delivery attempt ended, as the job records it. */
export type DeliveryEnd = Pick<WebhookDelivery, 'status_code' | 'outcome' | 'error'>;

/** The span of one webhook delivery attempt (`webhook <event>`, CLIENT), a child of the job's request span. */
export interface DeliverySpan {
  /** What the webhook request carries beside its signature headers: this span's trace context. */
  headers(): Record<string, string>;
  /** Ends the span at `at` (epoch ms: when the answer came, before the slot is given back), or now. */
  end(ended: DeliveryEnd, at?: number): void;
}

export interface DeliverySpans {
  delivery(data: WebhookJobData, attempt: number, url: URL): DeliverySpan;
}

/** The URL without credentials or query (either may carry a receiver's token). */
const urlWithoutSecrets = (url: URL): string => `${url.protocol}//${url.host}${url.pathname}`;

export function createDeliverySpans(tracing: Tracing): DeliverySpans {
  return {
    delivery(data, attempt, url) {
      const span = tracing.startSpan(`webhook ${data.event}`, {
        kind: 'client',
        parent: data.trace ?? null,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: 'POST',
          [ATTR_URL_FULL]: urlWithoutSecrets(url),
          ...serverAttributes(url),
          [SLUICE_ATTRIBUTES.jobId]: data.job_id,
          [SLUICE_ATTRIBUTES.tenant]: data.tenant,
          [SLUICE_ATTRIBUTES.webhookId]: data.webhook_id,
          [SLUICE_ATTRIBUTES.webhookEvent]: data.event,
          [SLUICE_ATTRIBUTES.webhookAttempt]: attempt,
        },
      });
      return {
        headers: () => span.headers(),
        end(ended, at) {
          span.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: ended.status_code ?? undefined, [SLUICE_ATTRIBUTES.webhookOutcome]: ended.outcome });
          if (ended.outcome !== 'delivered') span.fail(ended.status_code === null ? ended.outcome : String(ended.status_code), ended.error ?? undefined);
          span.end(at);
        },
      };
    },
  };
}
