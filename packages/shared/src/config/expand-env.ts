import YAML from 'yaml';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_PLACEHOLDER = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree.
 * Expanding after parsing keeps a secret with YAML-special characters intact; a string that was
 * one whole placeholder is re-read as a YAML scalar so `port: ${PORT:-8080}` yields a number.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, unset: Set<string>): unknown {
  if (typeof value === 'string') {
    const expanded = value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const fromEnv = env[name];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      if (fallback === undefined) unset.add(name);
      return fallback ?? '';
    });
    if (WHOLE_PLACEHOLDER.test(value) && expanded !== '') {
      const scalar: unknown = YAML.parse(expanded);
      if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
    }
    return expanded;
  }
  if (Array.isArray(value)) return value.map((item) => expandEnv(item, env, unset));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, unset)]));
  }
  return value;
}
