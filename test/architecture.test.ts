import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
