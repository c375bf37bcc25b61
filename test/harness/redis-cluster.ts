import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pingRedis } from '@sluice/shared';

const SLOTS = 16_384;

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A loopback port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
}

export interface TestCluster {
  /** `redis://127.0.0.1:<port>` of every node. */
  nodes: string[];
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `size` masters started from `redis-server --cluster-enabled yes` on loopback,
 * slots split evenly, joined with CLUSTER MEET; resolves once every node says cluster_state:ok.
 */
export async function startRedisCluster(size = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let index = 0; index < size; index += 1) {
    const port = await clusterPort(taken);
    ports.push(port);
    children.push(
      spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no',
      ], { stdio: 'ignore' }),
    );
  }
  const nodes = ports.map((port) => `redis://127.0.0.1:${port}`);
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }) : undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const url of nodes) {
      const deadline = Date.now() + 10_000;
      while (!(await pingRedis(url, 300))) {
        if (Date.now() > deadline) throw new Error(`cluster node ${url} did not start`);
        await sleep(50);
      }
    }
    const clients = nodes.map((url) => new Redis(url));
    try {
      const share = Math.ceil(SLOTS / size);
      await Promise.all(clients.map((client, index) => client.call('CLUSTER', 'ADDSLOTSRANGE', String(index * share), String(Math.min(SLOTS, (index + 1) * share) - 1))));
      for (const port of ports.slice(1)) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port));
      const deadline = Date.now() + 20_000;
      for (;;) {
        const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO') as Promise<string>));
        if (infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`))) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok after 20 s:\n${infos.join('\n')}`);
        await sleep(100);
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}
