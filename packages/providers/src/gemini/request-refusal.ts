import type { RequestRefusalTest } from '../http/classify-error.ts';

/**
 * Gemini's refusal of a `fileData` URI the key does not own, or one that expired: 403
 * PERMISSION_DENIED, "You do not have permission to access the File xyz or it may not exist." A
 * tenant can name any file, so this fails the job alone. Gemini's other 403s (a suspended or leaked
 * key, an unregistered caller, the API disabled in the project) are about the key. The phrase comes
 * before the file name, so a long name cannot push it out of the scanned prefix.
 */
const FILE_REFUSAL = /You do not have permission to access the File /;

/** Whether a Gemini 403 is about the request (a file it names) rather than the key. */
export const isGeminiRequestRefusal: RequestRefusalTest = (bodyStart) => FILE_REFUSAL.test(bodyStart);
