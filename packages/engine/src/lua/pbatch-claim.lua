-- Moves up to ARGV[1] jobs waiting for a provider batch into a new submission, in one step: they
-- leave the waiting set and are written as the submission's members together, so a crash at any
-- point loses none and runs none twice. Returns the member ids (none when nothing waits).
-- KEYS: deferred set of the target, the submission's hash, open submissions, targets with waiting jobs
-- ARGV: most jobs, now (ms), provider, model, the submission's key
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local target = ARGV[3] .. '/' .. ARGV[4]
if #ids == 0 then
  redis.call('SREM', KEYS[4], target)
  return ids
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #ids - 1)
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[4], target) end
redis.call('HSET', KEYS[2], 'key', ARGV[5], 'provider', ARGV[3], 'model', ARGV[4], 'state', 'submitting', 'claimed_at', ARGV[2], 'count', #ids, 'members', cjson.encode(ids))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
return ids
