import { z } from 'zod';
import type { ModelPrice, ProviderConfig, ProviderConfigInput } from '@sluice/shared';
import type { ProviderAdapter } from './provider-adapter.ts';

/** A list price, USD per 1M tokens (standard tier, text, prompts under any long-context threshold), with its cache rates. */
export type { ModelPrice };

/**
 * The version of the bundled prices, across every provider folder's `prices.ts`: bump it when any
 * of them changes. Costs priced from them say `price_source: "bundled:<version>"`.
 */
export const PRICE_TABLE_VERSION = '2026-12-01';

/** An `http(s)` URL, for `base_url`. */
export const HttpUrlSchema = z.url({ protocol: /^https?$/ });

/** The `api_key` of a type that needs one: an empty key (its variable unset) disables the provider instead of failing start-up. */
export const RequiredApiKeySchema = z.string().default('');

/** A provider type's config schema: a strict zod object with a literal `type` (the discriminator). */
type ConfigSchemaOf<C extends ProviderConfig> = z.ZodType<C, ProviderConfigInput> & z.core.$ZodTypeDiscriminable;

/** What a type knows of embedding a model: the largest `dimensions` it takes, or null when it takes none. */
export interface EmbeddingModel {
  maxDimensions: number | null;
}

/** What a provider type knows about embeddings; a type without it has no embeddings call. */
export interface EmbeddingSupport {
  /** Embedding model families, by exact name or name prefix (longest wins). Models the type does not know are tried as asked. */
  models?: Readonly<Record<string, EmbeddingModel>>;
  /** Name prefixes of models the type knows are not embedding models (its chat families); an embedding family that is longer wins. */
  otherModels?: readonly string[];
  /** True when the type takes token arrays as input, not only text. */
  tokenInput: boolean;
}

/** What one provider folder declares about its type; the registry lists one per type. */
export interface ProviderTypeDefinition<C extends ProviderConfig> {
  /** Validates a `providers.<id>` entry of this type and applies its defaults. */
  configSchema: ConfigSchemaOf<C>;
  /** Builds the adapter from a validated entry. */
  createAdapter(id: string, config: C): ProviderAdapter;
  /** True when the type cannot work without an API key: an empty `api_key` disables the provider. Default false. */
  requiresApiKey?: boolean;
  /**
   * Chat-completions parameters the type can honour; a job that needs any other is not routed to it
   * (`unsupported_parameter`) rather than silently losing it. `any` (the default) passes every one through.
   */
  parameters?: ReadonlySet<string> | 'any';
  /** Bundled list prices by model family: an exact name, or one it extends by version suffixes. Config `pricing` overrides. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /** Context windows (prompt + completion tokens) by model-name prefix, longest wins. Config `context_window` overrides. */
  contextWindows?: Readonly<Record<string, number>>;
  /** True when every model costs nothing (the offline mock); its price source is the type's name. Default false. */
  free?: boolean;
  /** True when the type's adapter has a batch API (`adapter.batch`): only then may its entries set `batch.enabled`. Default false. */
  batch?: boolean;
  /** True when the type has a cheaper, slower real-time tier: only then may its entries set `flex.enabled`. Default false. */
  flex?: boolean;
  /** What the type knows of embeddings, when its adapter has `embed`. Default null: it cannot embed. */
  embeddings?: EmbeddingSupport | null;
  /**
   * The vendor in traces: `gen_ai.provider.name` of the OpenTelemetry GenAI conventions (`openai`,
   * `anthropic`, `gcp.gemini`). Default null: a type that speaks to many vendors names its calls by
   * the provider's id from config.
   */
  genAiProviderName?: string | null;
}

/** A registered provider type, its config type erased: `createAdapter` validates the entry with the type's own schema. */
export interface ProviderType extends Required<Omit<ProviderTypeDefinition<ProviderConfig>, 'configSchema' | 'createAdapter'>> {
  configSchema: ConfigSchemaOf<ProviderConfig>;
  createAdapter(id: string, config: ProviderConfig): ProviderAdapter;
}

/** Declares a provider type: fills the defaults and binds the adapter factory to the type's schema. */
export function defineProviderType<C extends ProviderConfig>(definition: ProviderTypeDefinition<C>): ProviderType {
  const { configSchema, createAdapter } = definition;
  return {
    requiresApiKey: false,
    parameters: 'any',
    prices: {},
    contextWindows: {},
    free: false,
    batch: false,
    flex: false,
    embeddings: null,
    genAiProviderName: null,
    ...definition,
    configSchema,
    createAdapter: (id, config) => createAdapter(id, configSchema.parse(config)),
  };
}
