import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An attribute value as OTLP/JSON encodes it. */
interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}

interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

/** One span as OTLP/JSON sends it (trace and span ids in hex, times as nanosecond strings). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpKeyValue[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
}

/** A received span with its attributes decoded and its service named. */
export interface ReceivedSpan extends OtlpSpan {
  service: string;
  attrs: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** The base URL to configure as `telemetry.otlp_endpoint`. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body, as sent, to search for text that must not be there. */
  bodies: string[];
  /** Request headers of each export. */
  headers: IncomingHttpHeaders[];
  /** Answers each export with this status from now on (200 by default). */
  answer(status: number): void;
  /** Resolves once spans that `match` number `count`, else fails after `timeoutMs`. */
  waitFor(match: (span: ReceivedSpan) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

/** An OTLP/JSON value as plain JS (64-bit ints as numbers: the values here are small). */
function decode(value: OtlpAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decode);
  return null;
}

const attributesOf = (list: OtlpKeyValue[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((entry) => [entry.key, decode(entry.value)]));

interface ExportRequest {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** The spans of one OTLP/JSON export request. */
function spansOf(request: ExportRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) => (scope.spans ?? []).map((span) => ({ ...span, service, attrs: attributesOf(span.attributes) })));
  });
}

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1: it takes what `@opentelemetry/exporter-trace-otlp-http`
 * sends (`POST /v1/traces`, JSON) and keeps every span, decoded, and every body as sent.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  let status = 200;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    bodies.push(body);
    headers.push(req.headers);
    if (status === 200) spans.push(...spansOf(JSON.parse(body) as ExportRequest));
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"message":"refused"}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    headers,
    answer: (next) => void (status = next),
    async waitFor(match, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = spans.filter(match);
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`receiver got ${found.length} of ${count} matching spans in ${timeoutMs} ms (${spans.map((span) => span.name).join(', ')})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
