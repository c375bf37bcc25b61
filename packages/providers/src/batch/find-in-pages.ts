import { z } from 'zod';

/** One page of a provider's list of batches, newest first, and the cursor of the next page (null at the end). */
export interface BatchPage<T> {
  items: readonly T[];
  next: string | null;
}

/**
 * How many pages `find(key)` reads at most. Sluice looks a batch up right after submitting it (a
 * crash before its id was stored), so it is among the newest; a bound keeps one lookup cheap even
 * on an account with a long history, at the price of not finding batches older than the bound.
 */
export const FIND_MAX_PAGES = 5;

/**
 * The first item, in list order, that `matches`, reading at most `maxPages` pages (one HTTP attempt
 * each); null when none of them holds one. `matches` may be async (Anthropic reads results to tell).
 */
export async function findInPages<T>(
  fetchPage: (cursor: string | null) => Promise<BatchPage<T>>,
  matches: (item: T) => boolean | Promise<boolean>,
  maxPages: number = FIND_MAX_PAGES,
): Promise<T | null> {
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page += 1) {
    const { items, next } = await fetchPage(cursor);
    for (const item of items) if (await matches(item)) return item;
    if (next === null || items.length === 0) return null;
    cursor = next;
  }
  return null;
}

/**
 * A list page in the cursor shape OpenAI and Anthropic share (`data`, `has_more`, `last_id`), its
 * items read with `item`.
 */
export const cursorListSchema = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), has_more: z.boolean().optional(), last_id: z.string().nullable().optional() }).loose();

/** Such a page as a `BatchPage`: the next cursor is the last item's id while `has_more` says so. */
export function cursorPage<T extends { id: string }>(list: { data: T[]; has_more?: boolean | undefined; last_id?: string | null | undefined }): BatchPage<T> {
  return { items: list.data, next: list.has_more === true ? (list.last_id ?? list.data.at(-1)?.id ?? null) : null };
}
