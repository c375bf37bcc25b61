import type { ChatMessage } from '@sluice/shared';
import { RESPONSE_ID_PATTERN, type Engine, type JobRecord, type ResponseSettings } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { toChatParams } from './chat-params.ts';
import { outputAsInput, toChatMessages } from './input-items.ts';
import { parseItemId } from './item-ids.ts';
import type { CreateResponse, InputItem } from './request-schema.ts';
import { isResponseRecord, outputOf, responseStatus, type ResponseRecord } from './response-object.ts';

/** What translating a response request reads: earlier responses' records. */
export type TranslateDeps = Pick<Engine, 'store'>;

/** A response request as a chat job: the job request's fields (validated by the caller) and what the record keeps for the response. */
export interface TranslatedRequest {
  job: Record<string, unknown>;
  settings: ResponseSettings;
}

const previousNotFound = (id: string, why: string): ApiError =>
  new ApiError(`Previous response with id '${id}' ${why}`, { status: 400, type: 'invalid_request_error', code: 'previous_response_not_found', param: 'previous_response_id' });

/** The tenant's response of that id, or null (another tenant's, a chat job's or an unknown id alike). */
async function loadResponse(deps: TranslateDeps, id: string, tenant: string): Promise<ResponseRecord | null> {
  const record: JobRecord | null = RESPONSE_ID_PATTERN.test(id) ? await deps.store.getForTenant(id, tenant) : null;
  return record !== null && isResponseRecord(record) ? record : null;
}

/**
 * The conversation so far of the response a request continues: its input (without its
 * instructions, which a new request gives anew) and its output. Its record is the store: it lives
 * the job's deadline plus `jobs.retention_s`; one made with `store: false` cannot be continued.
 */
async function previousTurns(deps: TranslateDeps, id: string, tenant: string): Promise<ChatMessage[]> {
  const previous = await loadResponse(deps, id, tenant);
  if (previous === null) throw previousNotFound(id, 'not found (unknown, expired after jobs.retention_s, or another tenant\'s)');
  if (!previous.response.store) throw previousNotFound(id, 'was created with store: false, so it cannot be continued');
  const status = responseStatus(previous);
  if (status !== 'completed' && status !== 'incomplete') {
    throw new ApiError(`Previous response with id '${id}' is ${status}: only a completed (or incomplete) response can be continued`, {
      status: 400, type: 'invalid_request_error', code: 'previous_response_not_completed', param: 'previous_response_id',
    });
  }
  const input = previous.request.messages.slice(previous.response.instructions ? 1 : 0);
  return [...input, ...toChatMessages(outputOf(previous).map(outputAsInput))];
}

const itemNotFound = (id: string, at: number): ApiError =>
  new ApiError(`Item with id '${id}' not found: Sluice resolves references to output items of the tenant's stored responses (not store: false ones) while their records are kept`, {
    status: 404, type: 'invalid_request_error', code: 'item_not_found', param: `input.${at}.id`,
  });

/** The input with each `item_reference` replaced by the output item it names. */
async function resolveReferences(deps: TranslateDeps, items: readonly InputItem[], tenant: string): Promise<Exclude<InputItem, { type: 'item_reference' }>[]> {
  const responses = new Map<string, Promise<ResponseRecord | null>>();
  return Promise.all(
    items.map(async (item, at) => {
      if (item.type !== 'item_reference') return item;
      const place = parseItemId(item.id);
      if (place === null) throw itemNotFound(item.id, at);
      const loading = responses.get(place.responseId) ?? loadResponse(deps, place.responseId, tenant);
      responses.set(place.responseId, loading);
      const response = await loading;
      const found = response?.response.store ? outputOf(response)[place.outputIndex] : undefined;
      if (found === undefined || found.id !== item.id) throw itemNotFound(item.id, at);
      return outputAsInput(found);
    }),
  );
}

/**
 * A response request as a chat job: `[instructions as a system message] + the previous response's
 * turns + the input`, the parameters mapped (`chat-params.ts`), and Sluice's job fields as sent.
 */
export async function toJobRequest(deps: TranslateDeps, tenant: string, body: CreateResponse): Promise<TranslatedRequest> {
  const previous = body.previous_response_id == null ? [] : await previousTurns(deps, body.previous_response_id, tenant);
  const input = toChatMessages(await resolveReferences(deps, body.input, tenant));
  const instructions = body.instructions != null && body.instructions !== '' ? body.instructions : null;
  const messages: ChatMessage[] = [...(instructions === null ? [] : [{ role: 'system' as const, content: instructions }]), ...previous, ...input];
  const job: Record<string, unknown> = { model: body.model, messages, ...toChatParams(body) };
  for (const name of ['priority', 'tier', 'deadline_s', 'webhook', 'fallbacks', 'cache'] as const) if (body[name] !== undefined) job[name] = body[name];
  if (body.metadata != null) job.metadata = body.metadata;
  if (body.stream === true) job.stream = true;
  return {
    job,
    settings: { instructions: instructions !== null, store: body.store ?? true, background: body.background ?? false, previous_response_id: body.previous_response_id ?? null },
  };
}
