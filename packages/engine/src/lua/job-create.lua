-- Writes a new job record with its TTL and indexes in one script (one server only: on a Cluster the
-- keys live in different slots and go as separate commands). The record lives until its deadline
-- plus the retention; the tenant's index keeps a job as long as any record could live. A streamed
-- job's output stream starts with its first status. A job that has not ended (all but one answered
-- from the response cache) is filed under its tenant's active jobs.
-- KEYS: job, tenant index, expiry index, job's output stream, tenant's active jobs
-- ARGV: index keep (ms), now (ms), expires_at, id, record TTL (ms), stream retention (ms), field pairs...
-- Returns 1.
--!include includes/stream-status.lua
--!include includes/tenant-jobs.lua
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local status = redis.call('HGET', KEYS[1], 'status')
stream_status(KEYS[1], KEYS[4], status, ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
if not TENANT_JOB_ENDED[status] then file_active_job(KEYS[5], ARGV[4], ARGV[3]) end
return 1
