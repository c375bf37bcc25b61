-- Adds a member to a tenant's index and to the index of all tenants (both in one hash-tag slot),
-- then bounds the tenant's: members older than the age limit go, then the oldest past the cap.
-- Both keys expire when nothing was added for the age limit.
-- KEYS: tenant index, all index
-- ARGV: member, now (ms), oldest kept (ms), cap, age (ms)
-- Returns the members dropped.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local dropped = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local over = redis.call('ZCARD', KEYS[1]) - #dropped - tonumber(ARGV[4])
if over > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], #dropped, #dropped + over - 1)) do table.insert(dropped, member) end
end
for _, member in ipairs(dropped) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return dropped
