// `npx tsx bench/profile-top.ts <file.cpuprofile> [count] [--total]`: the functions that took the most
// CPU in a V8 CPU profile, such as `npm run bench -- --profile <scenario>` writes: by self time (in
// the function itself), or with `--total` by total time (the function and everything it called).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const byTotal = args.includes('--total');
const [file, count = '25'] = args.filter((arg) => arg !== '--total');
if (file === undefined) throw new Error('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [count] [--total]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const name = (node: ProfileNode | undefined): string => {
  const frame = node?.callFrame;
  return frame === undefined ? '?' : `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-3).join('/')}:${frame.lineNumber + 1}`;
};
/** The functions a sample is counted for: the one running, or with `--total` every one on its stack (each once). */
const countedFor = (id: number): Set<string> => {
  if (!byTotal) return new Set([name(nodes.get(id))]);
  const names = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) names.add(name(nodes.get(at)));
  return names;
};
const micros = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  for (const where of countedFor(id)) micros.set(where, (micros.get(where) ?? 0) + delta);
  total += delta;
});
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${byTotal ? 'total' : 'self'} time; (idle) is time the process waited`);
for (const [where, spent] of [...micros].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  console.log(`${(spent / 1000).toFixed(0).padStart(8)} ms ${((100 * spent) / total).toFixed(1).padStart(5)} %  ${where}`);
}
