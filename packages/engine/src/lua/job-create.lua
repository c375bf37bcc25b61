-- Writes a new job record with its TTL and indexes in one script (one server only: on a Cluster the
-- keys live in different slots and go as separate commands). The record lives until its deadline
-- plus the retention; the tenant's index keeps a job as long as any record could live.
-- KEYS: job, tenant index, expiry index
-- ARGV: index keep (ms), now (ms), expires_at, id, record TTL (ms), field pairs...
-- Returns 1.
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
