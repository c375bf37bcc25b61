import type { Cluster, Redis } from 'ioredis';
import { isCluster } from './connection.ts';

/** One Redis server's memory, from `INFO memory`. */
export interface RedisMemory {
  /** `host:port` of the server (each master of a Cluster). */
  node: string;
  /** `used_memory`: bytes Redis has allocated. */
  usedBytes: number;
  /** `maxmemory`: the limit past which Redis evicts or refuses writes; 0 when none is set. */
  maxBytes: number;
}

const field = (info: string, name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);

/** Memory used and allowed on the server, or on each master of a Cluster. */
export async function redisMemory(redis: Redis): Promise<RedisMemory[]> {
  const nodes = isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
  return Promise.all(
    nodes.map(async (node) => {
      const info = await node.info('memory');
      return { node: `${node.options.host ?? ''}:${node.options.port ?? ''}`, usedBytes: field(info, 'used_memory'), maxBytes: field(info, 'maxmemory') };
    }),
  );
}
