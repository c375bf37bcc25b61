import type { RequestRefusalTest } from '../http/classify-error.ts';

/**
 * OpenRouter (an OpenAI-compatible config entry) answers 403 when a model it moderates flags the
 * input: `{"error": {"code": 403, "message": "… Your input was flagged for …", "metadata": {"reasons":
 * […], "flagged_input": "…"}}}`. Both markers come before the echoed input, which OpenRouter cuts to
 * 100 characters. Other 403s from OpenAI-shaped APIs are about the key.
 */
const FLAGGED_INPUT = /input was flagged|"flagged_input"\s*:/i;

/** Whether a 403 from an OpenAI-shaped API is a moderation refusal of this request's input. */
export const isOpenAICompatibleRequestRefusal: RequestRefusalTest = (bodyStart) => FLAGGED_INPUT.test(bodyStart);
