import type { EmbeddingInput, GatewayConfig } from '@sluice/shared';
import { embeddingRefusal, embedsWith, providerDisabledReason, unsupportedParameters } from '@sluice/providers';
import type { PriceLookup } from '../pricing/prices.ts';
import { bundledContextWindow } from '../pricing/bundled-prices.ts';
import { SluiceError } from '@sluice/shared';
import type { IneligibleReason, RoutingCandidate, RoutingDecision } from '../jobs/job-types.ts';
import type { ChatMessage } from '@sluice/shared';
import { estimateEmbeddingTokens, estimatePromptTokens } from '@sluice/shared';
import type { JobEndpoint, Tier } from '../schemas/job-request.ts';

/** A model name that is neither a route nor a `provider/model` of a configured provider. */
export class UnknownModelError extends SluiceError {
  constructor(model: string, known: string[]) {
    super(`model "${model}" is not a route or a "provider/model" target; routes: ${known.join(', ') || 'none'}`, { code: 'model_not_found' });
    this.name = 'UnknownModelError';
  }
}

/** Splits `provider/model`; the model part may itself contain "/" (e.g. `together/meta-llama/Llama-3`). */
export function parseTarget(target: string): { provider: string; model: string } {
  const slash = target.indexOf('/');
  return { provider: target.slice(0, slash), model: target.slice(slash + 1) };
}

/** True when a `provider/model` target can take embeddings jobs, as its provider type knows (a model it does not know may). */
export function targetEmbeds(config: GatewayConfig, target: string): boolean {
  const { provider, model } = parseTarget(target);
  const settings = config.providers[provider];
  return settings !== undefined && embedsWith(settings.type, model);
}

export interface RouteRequest {
  model: string;
  messages: readonly ChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  tier: Tier;
  fallbacks: readonly string[];
  /** The provider-bound parameters, checked against each target's type. */
  params: Record<string, unknown>;
  /** `/v1/embeddings` for an embeddings job (its targets must embed `input`); chat when absent. */
  endpoint?: JobEndpoint | undefined;
  input?: EmbeddingInput | undefined;
}

/** The tokens a request is estimated to use: prompt and completion (an embeddings job's input, and no completion). */
function estimateTokens(config: GatewayConfig, request: RouteRequest): { prompt: number; completion: number } {
  if (request.endpoint === '/v1/embeddings') return { prompt: estimateEmbeddingTokens(request.input ?? []), completion: 0 };
  return { prompt: estimatePromptTokens(request.messages), completion: request.max_completion_tokens ?? request.max_tokens ?? config.jobs.default_max_tokens };
}


/**
 * Turns a job's `model` into the ordered candidate list: the route's targets, then the request's
 * fallbacks, each with an estimated cost and whether it can take the job.
 */
export function resolveRoute(config: GatewayConfig, request: RouteRequest, price: PriceLookup): RoutingDecision {
  const route = config.routes[request.model];
  let targets: string[];
  let strategy: RoutingDecision['strategy'] = 'ordered';
  if (route !== undefined) {
    targets = Array.isArray(route) ? [...route] : [...route.targets];
    if (!Array.isArray(route)) strategy = route.strategy;
  } else if (request.model.includes('/') && parseTarget(request.model).provider in config.providers) {
    targets = [request.model];
  } else {
    throw new UnknownModelError(request.model, Object.keys(config.routes));
  }
  if (request.tier === 'economy') strategy = 'cheapest';

  const { prompt: promptTokens, completion: completionTokens } = estimateTokens(config, request);
  const seen = new Set<string>();
  const candidates: RoutingCandidate[] = [];
  for (const target of [...targets, ...request.fallbacks]) {
    if (seen.has(target)) continue;
    seen.add(target);
    const { provider, model } = parseTarget(target);
    const reason = ineligibility(config, provider, model, request, promptTokens + completionTokens);
    const prices = reason === 'unknown_provider' ? null : price(provider, model);
    candidates.push({
      provider,
      model,
      est_cost_usd: prices === null ? null : (promptTokens * prices.input + completionTokens * prices.output) / 1_000_000,
      eligible: reason === null,
      reason,
    });
  }
  if (strategy === 'cheapest') {
    // Stable sort: unknown prices last, ties keep route order.
    candidates.sort((a, b) => (a.est_cost_usd ?? Infinity) - (b.est_cost_usd ?? Infinity));
  }
  return { route: request.model, strategy, tier: request.tier, candidates, failovers: [] };
}

/** `context_too_long` when the prompt estimate plus the completion limit pass the model's known window. */
function contextCheck(config: GatewayConfig, provider: string, model: string, tokens: number): IneligibleReason | null {
  const settings = config.providers[provider];
  if (settings === undefined) return null;
  const window = settings.context_window ?? bundledContextWindow(settings.type, model);
  return window !== null && tokens > window ? 'context_too_long' : null;
}

/**
 * Why a target cannot take this request at all, whatever its health: its provider is unknown or
 * disabled; a chat job's parameters or length it cannot honour; an embeddings job's model, input or
 * `dimensions` its type cannot embed (known in the provider type's folder).
 */
function ineligibility(config: GatewayConfig, provider: string, model: string, request: RouteRequest, tokens: number): IneligibleReason | null {
  const settings = config.providers[provider];
  if (settings === undefined) return 'unknown_provider';
  if (providerDisabledReason(settings) !== null) return 'provider_disabled';
  if (request.endpoint === '/v1/embeddings') {
    const dimensions = request.params.dimensions;
    const tokenInput = request.input?.some((item) => typeof item !== 'string') ?? false;
    return embeddingRefusal(settings.type, model, { tokenInput, dimensions: typeof dimensions === 'number' ? dimensions : undefined });
  }
  if (unsupportedParameters(settings.type, request.params).length > 0) return 'unsupported_parameter';
  return contextCheck(config, provider, model, tokens);
}
