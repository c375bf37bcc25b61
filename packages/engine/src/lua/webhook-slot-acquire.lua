-- Takes one of a tenant's webhook delivery slots, or answers how long the delivery should wait for
-- one. A slot is a lease: a worker that dies mid-delivery gives its slots back when they lapse. A
-- refused delivery joins the tenant's waiting line, and its wait is about one slot turn (the
-- tenant's average hold over its limit) per delivery ahead of it, so a long line comes back at the
-- pace slots free up instead of all at once. One refused again keeps its place.
-- KEYS: held, waiting, hold
-- ARGV: lease id, webhook id, now (ms), lease (ms), limit, hold when none measured (ms), shortest wait (ms), longest wait (ms), jitter factor
-- Returns {1, 0} when the slot is taken, {0, wait_ms} when refused.
--!include includes/keep-for.lua
local lease_id, webhook_id = ARGV[1], ARGV[2]
local now, lease, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- A delivery that has not come back a lease after it was due (removed, or its queue is far behind)
-- stops counting in the line.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - lease)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + lease, lease_id)
  redis.call('ZREM', KEYS[2], webhook_id)
  keep_for(KEYS[1], lease)
  return {1, 0}
end
-- Its place in the line: behind those due before it, or, new to the line, behind every one.
local due = redis.call('ZSCORE', KEYS[2], webhook_id)
local ahead = due and redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. due) or redis.call('ZCARD', KEYS[2])
local hold = tonumber(redis.call('GET', KEYS[3]) or ARGV[6])
local wait = hold * (ahead + 1) / limit * tonumber(ARGV[9])
wait = math.floor(math.min(math.max(wait, tonumber(ARGV[7])), tonumber(ARGV[8])))
redis.call('ZADD', KEYS[2], now + wait, webhook_id)
keep_for(KEYS[2], wait + lease)
return {0, wait}
