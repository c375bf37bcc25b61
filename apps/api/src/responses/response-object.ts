import { completionChunks, type Usage } from '@sluice/shared';
import { chatResult, type JobRecord, type ResponseSettings } from '@sluice/engine';
import { failureOf } from '../services/job-failure.ts';
import { echoParams } from './chat-params.ts';
import { ResponseEventBuilder, type ItemStatus, type OutputItem, type ResponseEvent } from './response-events.ts';

/** A job made as a response: its record has the response's settings. */
export type ResponseRecord = JobRecord & { response: ResponseSettings };

export const isResponseRecord = (record: JobRecord): record is ResponseRecord => record.response !== null;

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

const finishReasonOf = (record: JobRecord): string | null => chatResult(record.result)?.choices.find((choice) => choice.index === 0)?.finish_reason ?? null;

/** The job's status as a response's: a success cut short by the token limit or a content filter is `incomplete`; an expired job has `failed`. */
export function responseStatus(record: JobRecord): ResponseStatus {
  switch (record.status) {
    case 'queued':
      return 'queued';
    case 'running':
      return 'in_progress';
    case 'succeeded': {
      const finish = finishReasonOf(record);
      return finish === 'length' || finish === 'content_filter' ? 'incomplete' : 'completed';
    }
    case 'canceled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

const itemStatusOf = (status: ResponseStatus): ItemStatus => (status === 'incomplete' ? 'incomplete' : 'completed');
const finished = (status: ResponseStatus): boolean => status === 'completed' || status === 'incomplete';

/** The output a job's result makes, item for item what its event stream makes (same ids, same order). */
export function outputOf(record: JobRecord): OutputItem[] {
  const completion = chatResult(record.result);
  if (completion === null) return [];
  const builder = new ResponseEventBuilder(record.id);
  for (const chunk of completionChunks(completion)) builder.add(chunk);
  const status = responseStatus(record);
  if (finished(status)) builder.close(itemStatusOf(status));
  else builder.abandon();
  return builder.output;
}

function usageOf(usage: Usage | null): Record<string, unknown> | null {
  if (usage === null) return null;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/** The request's `instructions`: the job's first message, when the request had them. */
function instructionsOf(record: ResponseRecord): string | null {
  const first = record.request.messages[0];
  if (!record.response.instructions || first === undefined || typeof first.content !== 'string') return null;
  return first.content;
}

interface ResponseView {
  /** Shown instead of the job's own (the opening events of a stream show the response as it starts). */
  status?: ResponseStatus;
  /** The output items; default: what the job's result makes. */
  output?: OutputItem[];
}

/** The response object of a job made as a response, as it is now. */
export function toResponse(record: ResponseRecord, view: ResponseView = {}): Record<string, unknown> {
  const status = view.status ?? responseStatus(record);
  const ended = view.status === undefined && (finished(status) || status === 'failed' || status === 'cancelled');
  const failed = status === 'failed' && view.status === undefined;
  return {
    id: record.id,
    object: 'response',
    created_at: record.created_at,
    status,
    background: record.response.background,
    completed_at: ended && finished(status) ? record.completed_at : null,
    error: failed ? { code: record.error?.code ?? 'server_error', message: record.error?.message ?? `the response ended ${record.status}` } : null,
    incomplete_details: status === 'incomplete' ? { reason: finishReasonOf(record) === 'length' ? 'max_output_tokens' : 'content_filter' } : null,
    instructions: instructionsOf(record),
    metadata: record.metadata,
    model: record.model,
    output: view.output ?? outputOf(record),
    previous_response_id: record.response.previous_response_id,
    store: record.response.store,
    ...echoParams(record.request.params),
    usage: ended ? usageOf(record.usage) : null,
  };
}

/** The events that open a response's stream: created (queued when in the background), then in progress. */
export function openingEvents(builder: ResponseEventBuilder, record: ResponseRecord): ResponseEvent[] {
  const created = toResponse(record, { status: record.response.background ? 'queued' : 'in_progress', output: [] });
  return builder.opening(created, { ...created, status: 'in_progress' });
}

/**
 * The events that end a response's stream once its job has ended: a finished response closes its
 * open items, then `response.completed` or `.incomplete`; a failed one sends an `error` event then
 * `response.failed`; a cancelled one `response.failed` with status `cancelled`. Each carries the
 * whole response, its output as the stream built it.
 */
export function endingEvents(builder: ResponseEventBuilder, record: ResponseRecord): ResponseEvent[] {
  const status = responseStatus(record);
  const events = finished(status) ? builder.close(itemStatusOf(status)) : [];
  if (!finished(status)) builder.abandon();
  const response = toResponse(record, { output: builder.output });
  if (finished(status)) return [...events, builder.terminal(status === 'completed' ? 'response.completed' : 'response.incomplete', response)];
  if (status === 'cancelled') return [builder.terminal('response.failed', response)];
  const failure = failureOf(record);
  return [builder.error({ type: failure.type, code: record.error?.code ?? failure.code, message: failure.message }), builder.terminal('response.failed', response)];
}
