-- Everything a succeeded job writes, in one script on one server: the guarded status change with
-- its attempt and result, the status publish, the hour's usage totals, the tenant's spend and the
-- deadline-index cleanup (and, for a streamed job, the status entry in its output stream); the job
-- leaves its tenant's queued and running jobs. A job that asked for caching stores its answer in the
-- response cache before its end is announced, so a client repeating the request at once finds it.
-- KEYS: job, usage hour, spend month, deadline index, job's output stream, tenant's active jobs, tenant's running jobs, cache entry, tenant's cache entries by time stored, tenant's cache entries by lapse time
-- ARGV: guard, channel, attempt, usage base, prompt, completion (-1: none), cost (-1: none),
--   spend delta, usage ttl, spend ttl, job id, usage base past the hour's cap ('' when none), USD saved,
--   stream retention (ms), cache digest ('' when nothing is cached; then the cache keys are unused),
--   cache value, cache ttl (ms), now (ms), cache cap, cache index TTL (ms), cache entry key prefix,
--   field pairs...
-- Returns {1, previous} when it succeeded the job, {0, current} when refused, false when there is no such job.
--!include includes/job-guard.lua
--!include includes/append-entry.lua
--!include includes/usage-add.lua
--!include includes/spend-adjust.lua
--!include includes/stream-status.lua
--!include includes/tenant-jobs.lua
--!include includes/cache-put.lua
local previous, refused = check_job_guard(KEYS[1], 'running', ARGV[1])
if refused ~= nil then return refused end
append_entry(KEYS[1], 'attempt', ARGV[3])
redis.call('HSET', KEYS[1], 'status', 'succeeded', unpack(ARGV, 22))
if ARGV[15] ~= '' then
  -- One server only (as this whole script): evicted entries share the tenant's hash tag.
  for _, digest in ipairs(cache_put(KEYS[8], KEYS[9], KEYS[10], ARGV[15], ARGV[16], ARGV[17], tonumber(ARGV[18]), ARGV[19], ARGV[20])) do
    redis.call('DEL', ARGV[21] .. digest)
  end
end
-- Whoever waits on this job (a synchronous call, a long-poll) gets the record with the news, and
-- need not read it back; with nobody listening, only the status goes out. So does a record whose
-- result passes 1 MiB (many long embedding vectors): encoding it here would hold the server, and a
-- message that size could pass a subscriber's output buffer limit; waiters read it back instead.
if redis.call('PUBSUB', 'NUMSUB', ARGV[2])[2] > 0 and redis.call('HSTRLEN', KEYS[1], 'result') <= 1048576 then
  redis.call('PUBLISH', ARGV[2], 'succeeded\n' .. cjson.encode(redis.call('HGETALL', KEYS[1])))
else
  redis.call('PUBLISH', ARGV[2], 'succeeded')
end
stream_status(KEYS[1], KEYS[5], 'succeeded', ARGV[14])
usage_add(KEYS[2], ARGV[4], ARGV[12], ARGV[5], ARGV[6], ARGV[7], ARGV[9], ARGV[13])
spend_adjust(KEYS[3], ARGV[8], ARGV[10])
redis.call('ZREM', KEYS[4], ARGV[11])
track_tenant_job(KEYS[6], KEYS[7], ARGV[11], 'succeeded', 0)
return {1, previous}
