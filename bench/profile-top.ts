// `npx tsx bench/profile-top.ts <file.cpuprofile> [count]`: the functions that took the most CPU
// themselves (self time) in a V8 CPU profile, such as `npm run bench -- --profile <scenario>` writes.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = '25'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: npx tsx bench/profile-top.ts <file.cpuprofile> [count]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const frame = nodes.get(id)?.callFrame;
  const micros = profile.timeDeltas[index] ?? 0;
  const where = frame === undefined ? '?' : `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-3).join('/')}:${frame.lineNumber + 1}`;
  selfMicros.set(where, (selfMicros.get(where) ?? 0) + micros);
  total += micros;
});
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled; (idle) is time the process waited`);
for (const [where, micros] of [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  console.log(`${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${where}`);
}
