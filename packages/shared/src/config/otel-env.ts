/**
 * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS`: `key=value` pairs separated by
 * commas, values percent-encoded. A pair without `=` or with an empty key is skipped.
 */
export function parseOtelHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, Math.max(at, 0)).trim();
    if (at === -1 || key === '') continue;
    const raw = pair.slice(at + 1).trim();
    try {
      headers[key] = decodeURIComponent(raw);
    } catch {
      headers[key] = raw;
    }
  }
  return headers;
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim());

/**
 * The `telemetry` section with the standard OpenTelemetry variables filled in where the file says
 * nothing, as `REDIS_URL` is for `redis.url`: an endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 * else `OTEL_EXPORTER_OTLP_ENDPOINT`) when the file names none, which alone turns tracing on; the
 * export headers (the file's win per name); `OTEL_SERVICE_NAME`; `OTEL_SDK_DISABLED=true`.
 */
export function withOtelEnv(section: unknown, env: NodeJS.ProcessEnv): unknown {
  if (section !== undefined && (typeof section !== 'object' || section === null || Array.isArray(section))) return section; // the schema says why
  const telemetry = { ...((section ?? {}) as Record<string, unknown>) };
  if (telemetry.otlp_endpoint === undefined && telemetry.otlp_traces_endpoint === undefined) {
    const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
    const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
    if (traces !== undefined) telemetry.otlp_traces_endpoint = traces;
    else if (base !== undefined) telemetry.otlp_endpoint = base;
  }
  const envHeaders = { ...parseOtelHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtelHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  if (Object.keys(envHeaders).length > 0) {
    const own = telemetry.headers;
    telemetry.headers = typeof own === 'object' && own !== null && !Array.isArray(own) ? { ...envHeaders, ...own } : own ?? envHeaders;
  }
  const service = nonEmpty(env.OTEL_SERVICE_NAME);
  if (telemetry.service_name === undefined && service !== undefined) telemetry.service_name = service;
  if (telemetry.disabled === undefined && env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') telemetry.disabled = true;
  return Object.keys(telemetry).length === 0 && section === undefined ? undefined : telemetry;
}
