export { closeConnection, corked, createRedis, duplicateConnection, isCluster, subscribe, unsubscribe, multiKey, waitUntilReady, pingRedis, type Redis, type RedisConnectionOptions, type RedisLocation } from './connection.ts';
export { redisMemory, type RedisMemory } from './memory.ts';
export { connectionErrors, createConnectionErrorLog, exceptConnectionErrors, isConnectionError, logConnectionErrors, type ConnectionErrorLog, type ConnectionErrorLogOptions } from './connection-errors.ts';
export { TurnBatches } from './turn-batches.ts';
