export { createRedis, waitUntilReady, pingRedis, type Redis, type RedisConnectionOptions } from './connection.ts';
export { startEmbeddedRedis, redisServerOnPath, type EmbeddedRedis } from './embedded-redis.ts';
