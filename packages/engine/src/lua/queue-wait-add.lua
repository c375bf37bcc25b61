-- Adds a worker's queue waits of one minute to that minute's totals: per tenant, how many jobs were
-- first claimed, their summed wait and the longest (fields `tenant|count`, `tenant|sum_ms`, `tenant|max_ms`).
-- KEYS: minute's queue waits
-- ARGV: TTL (s), then per tenant: tenant, count, summed wait (ms), longest wait (ms)
-- Returns 1.
for index = 2, #ARGV, 4 do
  local tenant = ARGV[index]
  redis.call('HINCRBY', KEYS[1], tenant .. '|count', ARGV[index + 1])
  redis.call('HINCRBY', KEYS[1], tenant .. '|sum_ms', ARGV[index + 2])
  local longest = tonumber(redis.call('HGET', KEYS[1], tenant .. '|max_ms') or '0')
  if tonumber(ARGV[index + 3]) > longest then redis.call('HSET', KEYS[1], tenant .. '|max_ms', ARGV[index + 3]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
