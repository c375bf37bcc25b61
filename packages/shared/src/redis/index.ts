export { corked, createRedis, duplicateConnection, isCluster, multiKey, waitUntilReady, pingRedis, type Redis, type RedisConnectionOptions, type RedisLocation } from './connection.ts';
export { startEmbeddedRedis, redisServerOnPath, type EmbeddedRedis } from './embedded-redis.ts';
