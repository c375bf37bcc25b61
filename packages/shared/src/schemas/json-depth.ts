/**
 * The nesting depth of JSON text, counted in one pass over its bytes (brackets inside strings are
 * skipped), stopping as soon as it passes `max`. Run before JSON.parse: a document nested hundreds
 * of thousands deep parses, but everything recursive after it (validation, JSON.stringify) overflows
 * the stack.
 *
 * Returns true when some array or object is nested deeper than `max`.
 */
export function exceedsJsonDepth(text: Uint8Array | string, max: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index];
    if (inString) {
      if (byte === 0x5c) index += 1; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      depth += 1;
      if (depth > max) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth -= 1;
  }
  return false;
}
