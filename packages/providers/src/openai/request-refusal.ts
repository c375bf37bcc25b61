import type { RequestRefusalTest } from '../http/classify-error.ts';
import { isOpenAICompatibleRequestRefusal } from '../openai-compatible/request-refusal.ts';

/**
 * OpenAI answers 403 `model_not_found`, "Project `proj_…` does not have access to model `…`", when
 * the project may not use the model the request names; tenants can name any `openai/<model>`, so it
 * fails the job alone. `unsupported_country_region_territory` and a restricted key missing a scope
 * are about the key. The phrase comes before the model name, which the tenant chose.
 */
const MODEL_ACCESS = /does not have access to model/;

/** Whether an OpenAI 403 is about the request (a model it names, flagged input) rather than the key. */
export const isOpenAIRequestRefusal: RequestRefusalTest = (bodyStart) => MODEL_ACCESS.test(bodyStart) || isOpenAICompatibleRequestRefusal(bodyStart);
