import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { exceptConnectionErrors, getMetrics, webhookSecretFor } from '@sluice/shared';
import { bullQueueName, isPrivateAddress, WEBHOOK_QUEUE, webhookBackoff, WebhookJobDataSchema, type Engine, type WebhookDelivery, type WebhookJobData } from '@sluice/engine';
import type { Redis } from '@sluice/shared';

/** What delivering webhooks needs. */
export type DelivererDeps = Pick<Engine, 'config' | 'logger' | 'lifecycle' | 'failedDeliveries'> & { queueRedis: Redis };

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

/**
 * Delivers signed webhooks from the `webhooks` queue: Standard Webhooks headers (`webhook-id` stable
 * across retries), success = 2xx within `timeout_ms`, redirects not followed, 410 stops, anything
 * else retried on `retry_schedule_s`; every attempt is recorded on the job.
 */
export function startWebhookDeliverer(context: DelivererDeps): WebhookDeliverer {
  const { config, lifecycle, logger } = context;
  const settings = config.webhooks;
  const agent = new Agent({
    connect: { lookup: guardedLookup(settings.allow_private_networks), timeout: settings.timeout_ms },
    headersTimeout: settings.timeout_ms,
    bodyTimeout: settings.timeout_ms,
    keepAliveTimeout: 10_000,
  });

  const deliver = async (job: Job<WebhookJobData>): Promise<void> => {
    const data = WebhookJobDataSchema.parse(job.data);
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const startedAt = Date.now();
    const onJob = (data.kind ?? 'job') === 'job';
    // Deliveries of a job's event are recorded on the job; a batch's only in the log and the queue.
    const record = async (delivery: Omit<WebhookDelivery, 'webhook_id' | 'event' | 'attempt' | 'at' | 'latency_ms'>): Promise<void> => {
      getMetrics().webhookDeliveries.inc({ outcome: delivery.outcome });
      if (!onJob) return;
      await lifecycle.noteDelivery(data.job_id, {
        webhook_id: data.webhook_id, event: data.event, attempt, at: Math.floor(startedAt / 1000), latency_ms: Date.now() - startedAt, ...delivery,
      });
    };
    const setStatus = async (status: 'delivered' | 'failed'): Promise<void> => {
      if (onJob) await lifecycle.webhookStatus(data.job_id, status);
    };
    /** No more retries: the delivery is kept, listed and can be sent again. */
    const giveUp = async (reason: string): Promise<void> => {
      await setStatus('failed');
      await context.failedDeliveries.add(data, attempt, reason);
    };
    const fields = { job_id: data.job_id, tenant: data.tenant, webhook_id: data.webhook_id, event: data.event, attempt };
    const secret = webhookSecretFor(config, data.tenant);
    if (secret === null) {
      await record({ status_code: null, outcome: 'refused', error: 'no webhook secret configured' });
      await giveUp('no webhook secret configured');
      throw new UnrecoverableError('no webhook secret configured');
    }
    const url = new URL(data.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!settings.allow_private_networks && isIP(host) !== 0 && isPrivateAddress(host)) {
      // An IP literal never goes through DNS, so it is checked here.
      const error = new WebhookAddressError(host, host);
      await record({ status_code: null, outcome: 'refused', error: error.message });
      await giveUp(error.message);
      logger.warn({ ...fields, outcome: 'refused', reason: error.message }, 'webhook refused');
      throw new UnrecoverableError(error.message);
    }
    const timestamp = new Date();
    let statusCode: number | null = null;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sluice-Webhooks/1',
          'webhook-id': data.webhook_id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(data.webhook_id, timestamp, data.payload),
        },
        body: data.payload,
        signal: AbortSignal.timeout(settings.timeout_ms),
      });
      statusCode = response.statusCode;
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      const refused = error instanceof WebhookAddressError || cause instanceof WebhookAddressError;
      const message = refused ? ((cause as Error | undefined)?.message ?? (error as Error).message) : (error as Error).message;
      await record({ status_code: null, outcome: refused ? 'refused' : 'failed', error: message });
      if (refused || lastAttempt) await giveUp(message);
      logger.warn({ ...fields, outcome: refused ? 'refused' : 'failed', reason: message }, 'webhook delivery failed');
      throw refused ? new UnrecoverableError(message) : error;
    }
    if (statusCode >= 200 && statusCode < 300) {
      await record({ status_code: statusCode, outcome: 'delivered', error: null });
      await setStatus('delivered');
      logger.info({ ...fields, outcome: 'delivered', status_code: statusCode, latency_ms: Date.now() - startedAt }, 'webhook delivered');
      return;
    }
    if (statusCode === 410) {
      await record({ status_code: 410, outcome: 'gone', error: 'receiver answered 410 Gone: no more retries' });
      await giveUp('410 Gone');
      logger.warn({ ...fields, outcome: 'gone', status_code: 410 }, 'webhook receiver is gone; delivery stopped');
      throw new UnrecoverableError('410 Gone');
    }
    const reason = statusCode >= 300 && statusCode < 400 ? `redirect (${statusCode}) not followed` : `receiver answered ${statusCode}`;
    await record({ status_code: statusCode, outcome: 'failed', error: reason });
    if (lastAttempt) await giveUp(reason);
    logger.warn({ ...fields, outcome: 'failed', status_code: statusCode, retries_left: (job.opts.attempts ?? 1) - attempt }, 'webhook delivery failed');
    throw new Error(reason);
  };

  const schedule = settings.retry_schedule_s;
  const worker = new Worker<WebhookJobData>(bullQueueName(WEBHOOK_QUEUE), deliver, {
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
