/** A scripted failure of one batch line. */
export interface FakeLineError {
  /** The HTTP status a real-time call would have answered (each fake words it in its vendor's shape). */
  status: number;
  /** Default `scripted error <status>`. */
  message?: string;
  /** The vendor-shaped error body, instead of one built from `status` and `message`. */
  body?: unknown;
}

/** How one fake batch behaves. Every field is optional; the default completes on the second poll with every line echoed. */
export interface FakeBatchScript {
  /** Reads of the batch (GETs, the results' included) that still see it in progress. Default 1. */
  pollsUntilDone?: number;
  /** Instead of counting polls: it finishes this many ms after it was created. */
  delayMs?: number;
  /** How it ends when it finishes on its own. Default `completed`. */
  outcome?: 'completed' | 'expired' | 'failed';
  /** With `expired`, or when canceled: how many lines (in input order) ran before. Default 0. */
  finishedLines?: number;
  /** With `failed`: the provider's message. Default `scripted batch failure`. */
  failure?: string;
  /** Lines that fail, by custom_id: the id as submitted, or its end (an adapter may prefix ids, as Anthropic's does with the key's tag). */
  lineErrors?: Record<string, FakeLineError>;
  /** The create call answers this long after the batch exists (a submitter can die in between). Default 0. */
  createReplyDelayMs?: number;
  /** Gemini: results in a downloadable file instead of inline. Default false. */
  resultsFile?: boolean;
}

export type FakeBatchState = 'in_progress' | 'canceling' | 'completed' | 'expired' | 'failed' | 'canceled';

/** One line of a fake batch: its custom_id and the request body the vendor would run (what `complete()` posts). */
export interface FakeBatchLine {
  custom_id: string;
  body: unknown;
}

/** A batch the fake holds. */
export interface FakeBatch {
  id: string;
  /** What the submission labelled it with (metadata key, display name), or null. */
  label: string | null;
  model: string | null;
  lines: FakeBatchLine[];
  script: FakeBatchScript;
  createdAt: number;
  polls: number;
  state: FakeBatchState;
}

/** What became of one line once its batch finished. */
export type FakeLineOutcome =
  | { custom_id: string; kind: 'succeeded'; body: Record<string, unknown> }
  | { custom_id: string; kind: 'errored'; error: FakeLineError & { message: string } }
  | { custom_id: string; kind: 'expired' | 'canceled' };

/** The scripting side of a fake's batch API (`fake.batches`). */
export interface FakeBatchApi {
  /** Scripts for the next batches created, one each, in order; after them `setDefault`'s applies. */
  script(...scripts: FakeBatchScript[]): void;
  /** The script of batches created when no `script` is queued. */
  setDefault(script: FakeBatchScript): void;
  /** Every batch submitted, oldest first: what the fake saw. */
  readonly all: readonly FakeBatch[];
  get(id: string): FakeBatch | undefined;
}

/** The store behind a fake's batch endpoints: creation, scripted progress, cancel, and each line's outcome. */
export interface FakeBatchStore extends FakeBatchApi {
  create(prefix: string, label: string | null, model: string | null, lines: FakeBatchLine[]): FakeBatch;
  /** One page of the batches, newest first as vendors list them, after the batch `afterId` (null: from the newest). */
  page(afterId: string | null, limit: number): { items: FakeBatch[]; hasMore: boolean };
  /** One read of the batch: counts as a poll, and moves it on when its script says. */
  poll(batch: FakeBatch): FakeBatch;
  /** Asks to stop it: `canceling` now, `canceled` at the next read. */
  cancel(batch: FakeBatch): void;
  /** The lines' outcomes of a finished batch, each echoing its request like the chat fake (usage included). */
  outcomes(batch: FakeBatch, echo: (line: FakeBatchLine) => Record<string, unknown>): FakeLineOutcome[];
}

function scriptedError(script: FakeBatchScript, customId: string): FakeLineError | undefined {
  const match = Object.keys(script.lineErrors ?? {}).find((id) => customId === id || customId.endsWith(`_${id}`));
  return match === undefined ? undefined : script.lineErrors?.[match];
}

export function createFakeBatchStore(): FakeBatchStore {
  const batches: FakeBatch[] = [];
  const queued: FakeBatchScript[] = [];
  let fallback: FakeBatchScript = {};
  let counter = 0;
  const finishes = (batch: FakeBatch): boolean =>
    batch.script.delayMs !== undefined ? Date.now() - batch.createdAt >= batch.script.delayMs : batch.polls > (batch.script.pollsUntilDone ?? 1);

  return {
    all: batches,
    script: (...scripts) => void queued.push(...scripts),
    setDefault: (script) => void (fallback = script),
    get: (id) => batches.find((batch) => batch.id === id),
    create(prefix, label, model, lines) {
      counter += 1;
      const batch: FakeBatch = { id: `${prefix}${counter}`, label, model, lines, script: queued.shift() ?? fallback, createdAt: Date.now(), polls: 0, state: 'in_progress' };
      batches.push(batch);
      return batch;
    },
    page(afterId, limit) {
      const newest = [...batches].reverse();
      const start = afterId === null ? 0 : newest.findIndex((batch) => batch.id === afterId) + 1;
      const items = start === 0 && afterId !== null ? [] : newest.slice(start, start + limit);
      return { items, hasMore: start + items.length < newest.length };
    },
    poll(batch) {
      batch.polls += 1;
      if (batch.state === 'canceling') batch.state = 'canceled';
      else if (batch.state === 'in_progress' && finishes(batch)) batch.state = batch.script.outcome ?? 'completed';
      return batch;
    },
    cancel(batch) {
      if (batch.state === 'in_progress') batch.state = 'canceling';
    },
    outcomes(batch, echo) {
      if (batch.state === 'failed' || batch.state === 'in_progress' || batch.state === 'canceling') return [];
      const ran = batch.state === 'completed' ? batch.lines.length : (batch.script.finishedLines ?? 0);
      return batch.lines.map((line, index): FakeLineOutcome => {
        if (index >= ran) return { custom_id: line.custom_id, kind: batch.state === 'expired' ? 'expired' : 'canceled' };
        const error = scriptedError(batch.script, line.custom_id);
        if (error) return { custom_id: line.custom_id, kind: 'errored', error: { ...error, message: error.message ?? `scripted error ${error.status}` } };
        return { custom_id: line.custom_id, kind: 'succeeded', body: echo(line) };
      });
    },
  };
}

/** A request to the fake as an echo function reads one: the line's body, posted now. */
export const asEchoRequest = (body: unknown, path = '/') => ({ method: 'POST', path, headers: {}, body, receivedAt: Date.now(), aborted: false, answered: true });

/** The fake's answer to one request of a batch endpoint, or null when the path is not one. */
export type BatchRoutes = (request: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: unknown }) => { status?: number; body?: unknown; headers?: Record<string, string> } | null;

/** The lines of a JSONL text, each parsed. */
export const jsonl = (lines: readonly unknown[]): string => lines.map((line) => JSON.stringify(line)).join('\n');

/** A 404 in the shape most vendors share. */
export const notFound = (what: string) => ({ status: 404, body: { error: { message: `no such ${what}`, type: 'not_found_error' } } });
