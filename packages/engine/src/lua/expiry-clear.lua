-- Forgets jobs in the deadline index whose deadline there is still at or before ARGV[1] (seconds).
-- A job given a later deadline since it was read (a dead letter replayed, a stream's first chunk)
-- keeps its place, so the sweep still expires it on time.
-- KEYS: the deadline index
-- ARGV: the deadline, then job ids. Returns how many were forgotten.
local due = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= due then removed = removed + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return removed
