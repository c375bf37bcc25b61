/** RFC 5987 `attr-char`: the bytes that stay as they are in `filename*`. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+.^_`|~-]$/;

/**
 * `Content-Disposition` for downloading a file under its stored name, whatever that name holds
 * (RFC 6266): `filename` is an ASCII stand-in for old clients, `filename*` the exact name as
 * percent-encoded UTF-8 (RFC 5987). Never throws, and never yields a byte Node refuses in a header.
 */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'file';
  let encoded = '';
  // Buffer.from turns lone surrogates into U+FFFD, so every name has a UTF-8 form.
  for (const byte of Buffer.from(filename || 'file', 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
