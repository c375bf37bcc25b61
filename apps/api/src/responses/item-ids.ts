import { RESPONSE_ID_PATTERN } from '@sluice/engine';

/**
 * Output item ids are made from the response's id and the item's place in its output
 * (`msg_<id>_<n>`, `fc_<id>_<n>`), so every reader of a response, and every replay of its stream,
 * gives the same ids, and an `item_reference` finds its item in the response's record.
 */
const ITEM_ID = /^(msg|fc)_([A-Za-z0-9_-]{22})_(\d{1,5})$/;

const suffixOf = (responseId: string): string => responseId.slice('resp_'.length);

export const messageItemId = (responseId: string, outputIndex: number): string => `msg_${suffixOf(responseId)}_${outputIndex}`;
export const functionCallItemId = (responseId: string, outputIndex: number): string => `fc_${suffixOf(responseId)}_${outputIndex}`;

/** The response an output item id belongs to and the item's index in its output, or null for an id Sluice did not make. */
export function parseItemId(id: string): { responseId: string; outputIndex: number } | null {
  const match = ITEM_ID.exec(id);
  if (match === null) return null;
  const responseId = `resp_${match[2] as string}`;
  return RESPONSE_ID_PATTERN.test(responseId) ? { responseId, outputIndex: Number(match[3]) } : null;
}
