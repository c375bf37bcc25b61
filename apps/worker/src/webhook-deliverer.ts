import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { exceptConnectionErrors, getMetrics, traceIdOf, webhookSecretFor, type GatewayConfig } from '@sluice/shared';
import { bullQueueName, isPrivateAddress, WEBHOOK_QUEUE, webhookBackoff, WebhookJobDataSchema, type DeliverySlot, type Engine, type WebhookDelivery, type WebhookJobData } from '@sluice/engine';
import type { Redis } from '@sluice/shared';
import type { DeliverySpan, DeliverySpans } from './tracing/delivery-spans.ts';

/** What delivering webhooks needs; `spans` is null when tracing is off. */
export type DelivererDeps = Pick<Engine, 'config' | 'logger' | 'lifecycle' | 'failedDeliveries' | 'deliverySlots'> & { queueRedis: Redis; spans: DeliverySpans | null };

/** Refused before any byte is sent: the URL resolves to an address webhooks may not reach. */
export class WebhookAddressError extends Error {
  constructor(host: string, address: string) {
    super(`webhook host ${host} resolves to ${address}, a loopback, private, link-local or reserved address`);
    this.name = 'WebhookAddressError';
  }
}

/**
 * A DNS lookup that refuses private addresses. It runs inside the connection attempt, so the address
 * checked is the address connected to (no gap for DNS rebinding between a check and the connect).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const blocked = allowPrivate ? undefined : addresses.find((entry) => isPrivateAddress(entry.address));
      if (blocked) return callback(new WebhookAddressError(hostname, blocked.address), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface WebhookDeliverer {
  close(): Promise<void>;
}

type WebhookSettings = GatewayConfig['webhooks'];

/** What one attempt records about itself; the rest of a `WebhookDelivery` comes from the attempt. */
type DeliveryOutcome = Omit<WebhookDelivery, 'webhook_id' | 'event' | 'attempt' | 'at' | 'latency_ms'>;

/** What the request came to: the receiver's status code, or the error that ended it. */
type SendResult = { statusCode: number } | { error: unknown };

/** One HTTP client for every delivery: each connection's DNS lookup refuses private addresses. */
function webhookAgent(settings: WebhookSettings): Agent {
  return new Agent({
    connect: { lookup: guardedLookup(settings.allow_private_networks), timeout: settings.timeout_ms },
    headersTimeout: settings.timeout_ms,
    bodyTimeout: settings.timeout_ms,
    keepAliveTimeout: 10_000,
  });
}

/** The message of a failed request, and whether it was the address guard's refusal (never worth a retry). */
function describeSendError(error: unknown): { refused: boolean; message: string } {
  const cause = (error as { cause?: unknown }).cause;
  const refused = error instanceof WebhookAddressError || cause instanceof WebhookAddressError;
  const message = refused ? ((cause as Error | undefined)?.message ?? (error as Error).message) : (error as Error).message;
  return { refused, message };
}

/**
 * One attempt at one delivery, from the checks before sending to the answer. Each step that ends the
 * attempt records it, and throws unless it was delivered: an `UnrecoverableError` stops retries. The
 * request is sent in one of the tenant's delivery slots; a tenant with none free puts the delivery
 * back to wait, and that is no attempt.
 */
class DeliveryAttempt {
  private readonly context: DelivererDeps;
  private readonly agent: Agent;
  private readonly job: Job<WebhookJobData>;
  /** The worker's lock on the queue entry, which moving it back to wait needs. */
  private readonly token: string | undefined;
  private readonly data: WebhookJobData;
  private readonly attempt: number;
  private readonly attempts: number;
  private readonly startedAt = Date.now();
  /** Deliveries of a job's event are recorded on the job; a batch's only in the log and the queue. */
  private readonly onJob: boolean;
  private readonly fields: Record<string, unknown>;
  /** The attempt's span once its request is about to go (tracing on); `record` ends it. */
  private span: DeliverySpan | null = null;
  /** When the receiver's answer (or the send's failure) came: where the span ends. */
  private sentAt: number | undefined;

  constructor(context: DelivererDeps, agent: Agent, job: Job<WebhookJobData>, token: string | undefined) {
    this.context = context;
    this.agent = agent;
    this.job = job;
    this.token = token;
    this.data = WebhookJobDataSchema.parse(job.data);
    this.attempt = job.attemptsMade + 1;
    this.attempts = job.opts.attempts ?? 1;
    this.onJob = (this.data.kind ?? 'job') === 'job';
    this.fields = { job_id: this.data.job_id, tenant: this.data.tenant, webhook_id: this.data.webhook_id, event: this.data.event, attempt: this.attempt };
    if (this.data.trace !== undefined) this.fields.trace_id = traceIdOf(this.data.trace.traceparent);
  }

  private get lastAttempt(): boolean {
    return this.attempt >= this.attempts;
  }

  async run(): Promise<void> {
    const secret = await this.requireSecret();
    const url = new URL(this.data.url);
    await this.refusePrivateLiteral(url);
    const slot = await this.takeSlot();
    this.span = this.context.spans?.delivery(this.data, this.attempt, url) ?? null;
    const result = await this.send(url, secret);
    this.sentAt = Date.now();
    await this.giveBack(slot);
    if ('error' in result) return this.sendFailed(result.error);
    const { statusCode } = result;
    if (statusCode >= 200 && statusCode < 300) return this.delivered(statusCode);
    if (statusCode === 410) return this.gone();
    return this.answeredOtherwise(statusCode);
  }

  private async requireSecret(): Promise<string> {
    const secret = webhookSecretFor(this.context.config, this.data.tenant);
    if (secret !== null) return secret;
    await this.record({ status_code: null, outcome: 'refused', error: 'no webhook secret configured' });
    await this.giveUp('no webhook secret configured');
    throw new UnrecoverableError('no webhook secret configured');
  }

  /** An IP literal never goes through DNS (where `guardedLookup` checks), so it is checked here. */
  private async refusePrivateLiteral(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (this.context.config.webhooks.allow_private_networks || isIP(host) === 0 || !isPrivateAddress(host)) return;
    const error = new WebhookAddressError(host, host);
    await this.record({ status_code: null, outcome: 'refused', error: error.message });
    await this.giveUp(error.message);
    this.context.logger.warn({ ...this.fields, outcome: 'refused', reason: error.message }, 'webhook refused');
    throw new UnrecoverableError(error.message);
  }

  /**
   * One of the tenant's delivery slots. When it has `max_in_flight_per_tenant` in flight already, the
   * queue entry goes back to wait as it is (its attempts untouched, so the retry schedule is only
   * pushed back by the wait) and this throws `DelayedError`, which tells BullMQ it has moved.
   */
  private async takeSlot(): Promise<DeliverySlot> {
    const answer = await this.context.deliverySlots.acquire(this.data.tenant, this.data.webhook_id);
    if (answer.granted) return answer.slot;
    await this.job.moveToDelayed(Date.now() + answer.waitMs, this.token);
    getMetrics().webhookDeferred.inc({ reason: 'tenant_limit' });
    this.context.logger.debug({ ...this.fields, wait_ms: answer.waitMs }, 'webhook deferred: its tenant has its most deliveries in flight');
    throw new DelayedError();
  }

  /** A slot not given back (Redis away) lapses with its lease. */
  private async giveBack(slot: DeliverySlot): Promise<void> {
    await slot.release().catch((error: unknown) => this.context.logger.warn({ ...this.fields, err: (error as Error).message }, 'webhook slot not given back; it lapses with its lease'));
  }

  /** POSTs the signed payload (redirects are not followed) and answers the status code, the body read and dropped, or the error. */
  private async send(url: URL, secret: string): Promise<SendResult> {
    const { data } = this;
    const timeoutMs = this.context.config.webhooks.timeout_ms;
    const timestamp = new Date();
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sluice-Webhooks/1',
          'webhook-id': data.webhook_id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(data.webhook_id, timestamp, data.payload),
          // The trace context rides beside the signature: Standard Webhooks signs the id, timestamp and body only.
          ...this.span?.headers(),
        },
        body: data.payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return { statusCode: response.statusCode };
    } catch (error) {
      return { error };
    }
  }

  /** No answer: retried, unless the address was refused or this was the last attempt. */
  private async sendFailed(error: unknown): Promise<never> {
    const { refused, message } = describeSendError(error);
    await this.record({ status_code: null, outcome: refused ? 'refused' : 'failed', error: message });
    if (refused || this.lastAttempt) await this.giveUp(message);
    this.context.logger.warn({ ...this.fields, outcome: refused ? 'refused' : 'failed', reason: message }, 'webhook delivery failed');
    throw refused ? new UnrecoverableError(message) : error;
  }

  private async delivered(statusCode: number): Promise<void> {
    await this.record({ status_code: statusCode, outcome: 'delivered', error: null });
    // A delivery listed as failed by a run that died before it was over, then run again, is off the list.
    await Promise.all([this.setStatus('delivered'), this.context.failedDeliveries.remove(this.data)]);
    this.context.logger.info({ ...this.fields, outcome: 'delivered', status_code: statusCode, latency_ms: Date.now() - this.startedAt }, 'webhook delivered');
  }

  /** 410 Gone: the receiver asked for no more deliveries. */
  private async gone(): Promise<never> {
    await this.record({ status_code: 410, outcome: 'gone', error: 'receiver answered 410 Gone: no more retries' });
    await this.giveUp('410 Gone');
    this.context.logger.warn({ ...this.fields, outcome: 'gone', status_code: 410 }, 'webhook receiver is gone; delivery stopped');
    throw new UnrecoverableError('410 Gone');
  }

  /** Any other answer, a redirect included, is a failure retried on the schedule. */
  private async answeredOtherwise(statusCode: number): Promise<never> {
    const reason = statusCode >= 300 && statusCode < 400 ? `redirect (${statusCode}) not followed` : `receiver answered ${statusCode}`;
    await this.record({ status_code: statusCode, outcome: 'failed', error: reason });
    if (this.lastAttempt) await this.giveUp(reason);
    this.context.logger.warn({ ...this.fields, outcome: 'failed', status_code: statusCode, retries_left: this.attempts - this.attempt }, 'webhook delivery failed');
    throw new Error(reason);
  }

  private async record(delivery: DeliveryOutcome): Promise<void> {
    getMetrics().webhookDeliveries.inc({ outcome: delivery.outcome });
    this.span?.end(delivery, this.sentAt);
    if (!this.onJob) return;
    await this.context.lifecycle.noteDelivery(this.data.job_id, {
      webhook_id: this.data.webhook_id, event: this.data.event, attempt: this.attempt, at: Math.floor(this.startedAt / 1000), latency_ms: Date.now() - this.startedAt, ...delivery,
    });
  }

  private async setStatus(status: 'delivered' | 'failed'): Promise<void> {
    if (this.onJob) await this.context.lifecycle.webhookStatus(this.data.job_id, status);
  }

  /** No more retries: the delivery is kept, listed and can be sent again. */
  private async giveUp(reason: string): Promise<void> {
    // Listed first, as dead letters are kept before a job shows `failed`: a client that sees the
    // webhook `failed` finds it in `GET /v1/webhooks/failed`.
    await this.context.failedDeliveries.add(this.data, this.attempt, reason);
    await this.setStatus('failed');
  }
}

/**
 * Delivers signed webhooks from the `webhooks` queue: Standard Webhooks headers (`webhook-id` stable
 * across retries), success = 2xx within `timeout_ms`, redirects not followed, 410 stops, anything
 * else retried on `retry_schedule_s`; every attempt is recorded on the job. Each tenant has at most
 * `max_in_flight_per_tenant` deliveries in flight across every worker process, so one tenant's
 * receiver that never answers cannot hold every slot of the pool.
 */
export function startWebhookDeliverer(context: DelivererDeps): WebhookDeliverer {
  const { config, logger } = context;
  const settings = config.webhooks;
  const agent = webhookAgent(settings);
  const schedule = settings.retry_schedule_s;
  const worker = new Worker<WebhookJobData>(bullQueueName(WEBHOOK_QUEUE), (job, token) => new DeliveryAttempt(context, agent, job, token).run(), {
    connection: context.queueRedis,
    prefix: config.redis.prefix,
    concurrency: settings.concurrency,
    settings: {
      backoffStrategy: webhookBackoff(schedule),
    },
  });
  worker.on('error', exceptConnectionErrors(context.queueRedis, logger, (error) => logger.error({ err: error.message }, 'webhook worker error')));
  return {
    async close() {
      await worker.close();
      await agent.close();
    },
  };
}
