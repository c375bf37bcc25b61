import { z } from 'zod';

const PartSchema = z
  .object({
    text: z.string().optional(),
    thought: z.boolean().optional(),
    functionCall: z.object({ name: z.string(), args: z.record(z.string(), z.unknown()).optional() }).loose().optional(),
  })
  .loose();

/** A `generateContent` response's fields, as documented; also each event of a `streamGenerateContent` stream. */
export const GeminiResponseFieldsSchema = z
  .object({
    candidates: z
      .array(
        z
          .object({
            content: z.object({ parts: z.array(PartSchema).optional(), role: z.string().optional() }).loose().optional(),
            finishReason: z.string().optional(),
            index: z.number().int().optional(),
          })
          .loose(),
      )
      .optional(),
    promptFeedback: z.object({ blockReason: z.string().optional() }).loose().optional(),
    usageMetadata: z
      .object({
        promptTokenCount: z.number().int().nonnegative().optional(),
        candidatesTokenCount: z.number().int().nonnegative().optional(),
        thoughtsTokenCount: z.number().int().nonnegative().optional(),
        cachedContentTokenCount: z.number().int().nonnegative().optional(),
        totalTokenCount: z.number().int().nonnegative().optional(),
      })
      .loose()
      .optional(),
    modelVersion: z.string().optional(),
    responseId: z.string().optional(),
  })
  .loose();

/** A `generateContent` response; a body with neither candidates nor promptFeedback is not one. */
export const GeminiResponseSchema = GeminiResponseFieldsSchema.refine((body) => body.candidates !== undefined || body.promptFeedback !== undefined, { message: 'neither candidates nor promptFeedback', path: ['candidates'] });
export type GeminiResponse = z.infer<typeof GeminiResponseSchema>;

export type GeminiPart =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { mimeType: string; fileUri: string } }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  | { functionResponse: { name: string; response: Record<string, unknown> } };

export interface GeminiRequest {
  contents: { role: 'user' | 'model'; parts: GeminiPart[] }[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: Record<string, unknown>;
  tools?: { functionDeclarations: { name: string; description?: string; parameters?: Record<string, unknown> }[] }[];
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
}

/** A `batchEmbedContents` response: one embedding per request, in request order. */
export const GeminiBatchEmbedResponseSchema = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) }).loose()) }).loose();
