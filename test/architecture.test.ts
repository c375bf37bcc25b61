import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness/processes.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1] ?? '');

/** What each package may import: shared ← providers ← engine ← {api, worker}; nothing imports an app. */
const RULES: Record<string, { dir: string; forbidden: RegExp }> = {
  shared: { dir: 'packages/shared/src', forbidden: /^(@sluice\/(providers|engine|api|worker)|express|bullmq)/ },
  providers: { dir: 'packages/providers/src', forbidden: /^(@sluice\/(engine|api|worker)|bullmq|express|ioredis)/ },
  engine: { dir: 'packages/engine/src', forbidden: /^(@sluice\/(api|worker)|express)/ },
  api: { dir: 'apps/api/src', forbidden: /^(@sluice\/(worker|providers))/ },
  worker: { dir: 'apps/worker/src', forbidden: /^(@sluice\/api|express)/ },
};

describe('imports flow one way', () => {
  it.each(Object.entries(RULES))('%s imports nothing it must not', (_name, rule) => {
    const offending = sourceFiles(join(ROOT, rule.dir)).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => rule.forbidden.test(specifier) || /(^|\/)apps\//.test(specifier) || /^\.\.\/\.\.\/\.\./.test(specifier))
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('finds the imports it checks', () => {
    expect(importsOf(join(ROOT, 'apps/worker/src/worker-runtime.ts'))).toContain('@sluice/providers');
  });
});

/** The folder of a source file inside its package's `src` (a file at the root is its own node). */
const folderOf = (srcDir: string, file: string): string => relative(srcDir, file).split(sep)[0] ?? '';

/** Edges between a package's folders, from each file's relative imports. */
function folderGraph(srcDir: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    for (const specifier of importsOf(file).filter((spec) => spec.startsWith('.'))) {
      const to = folderOf(srcDir, resolve(dirname(file), specifier));
      if (to !== from && !to.startsWith('..')) graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
  }
  return graph;
}

/** Every cycle of folders, each as `a → b → a`, found by depth-first search. */
function folderLoops(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const loops = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    const at = path.indexOf(node);
    if (at !== -1) {
      const cycle = path.slice(at);
      const start = cycle.indexOf([...cycle].sort()[0] ?? '');
      loops.add([...cycle.slice(start), ...cycle.slice(0, start), cycle[start]].join(' → '));
      return;
    }
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
  };
  for (const node of graph.keys()) visit(node, []);
  return [...loops];
}

describe('no import loop between the folders of a package', () => {
  it.each(['packages/shared/src', 'packages/providers/src', 'packages/engine/src', 'apps/api/src', 'apps/worker/src'])('%s', (dir) => {
    expect(folderLoops(folderGraph(join(ROOT, dir)))).toEqual([]);
  });

  it('finds a planted loop', () => {
    const graph = new Map([['jobs', new Set(['queues'])], ['queues', new Set(['routing'])], ['routing', new Set(['jobs'])], ['keys.ts', new Set(['jobs'])]]);
    expect(folderLoops(graph)).toEqual(['jobs → queues → routing → jobs']);
    expect(folderGraph(join(ROOT, 'packages/engine/src')).get('lifecycle')).toContain('jobs');
  });
});

/**
 * Vendor names and wire details (headers, hosts, endpoints, model families) a provider type knows.
 * They belong in its folder of packages/providers; elsewhere they are a second place to update.
 */
const VENDOR_WORDS = /openai|anthropic|gemini|claude|gpt-|x-api-key|x-goog-api-key|generativelanguage|googleapis|generatecontent|azure|mistral|groq|deepseek|openrouter/gi;

/** Outside packages/providers, only these files may name these words in code, each for its reason. */
const VENDOR_ALLOWED: Record<string, { words: string[]; reason: string }> = {
  'packages/shared/src/logging/logger.ts': {
    words: ['x-api-key', 'x-goog-api-key'],
    reason: 'log redaction censors every header that carries a secret, clients\' own included; it calls no provider',
  },
};

/** Comments (vendor names in prose, like "OpenAI-compatible", are fine) become blank lines; strings and code stay. */
const withoutComments = (source: string): string =>
  source.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (match: string, literal?: string) =>
    literal ?? match.replace(/[^\n]/g, ''),
  );

/** `line: word` for each vendor word in the code (identifiers and string literals) of `source`. */
function vendorMentions(source: string, allowed: readonly string[] = []): string[] {
  return withoutComments(source)
    .split('\n')
    .flatMap((line, index) => [...line.matchAll(VENDOR_WORDS)].map((match) => match[0].toLowerCase()).filter((word) => !allowed.includes(word)).map((word) => `${index + 1}: ${word}`));
}

describe('vendor knowledge stays in its provider folder', () => {
  it.each(['packages/engine/src', 'packages/shared/src', 'apps/api/src', 'apps/worker/src'])('%s names no vendor and no wire detail in code', (dir) => {
    const offending = sourceFiles(join(ROOT, dir)).flatMap((file) => {
      const path = relative(ROOT, file);
      return vendorMentions(readFileSync(file, 'utf8'), VENDOR_ALLOWED[path]?.words).map((mention) => `${path}:${mention}`);
    });
    expect(offending).toEqual([]);
  });

  it('catches a planted vendor string or identifier, and lets comments describe', () => {
    const planted = [
      '// An OpenAI-compatible HTTP API; Anthropic and Gemini are provider types.',
      '/** Returns a `chat.completion` object. */',
      "const window = model.startsWith('claude') ? 200_000 : null;",
      "const headers = { 'x-api-key': key, 'anthropic-version': '2023-06-01' };",
      'if (isOpenAIRequestRefusal(body)) return;',
      'const url = `https://generativelanguage.googleapis.com/v1beta/models/${model}:generateContent`;',
    ].join('\n');
    expect(vendorMentions(planted)).toEqual(['3: claude', '4: x-api-key', '4: anthropic', '5: openai', '6: generativelanguage', '6: googleapis', '6: generatecontent']);
    expect(sourceFiles(join(ROOT, 'packages/engine/src')).map((file) => relative(ROOT, file))).toContain('packages/engine/src/pricing/prices.ts');
    expect(vendorMentions("const paths = ['headers[\"x-api-key\"]'];", ['x-api-key'])).toEqual([]);
  });
});
