-- One page of a sorted set, highest score first, after a member: the cursor's rank is found and the
-- page read in the same script, so members that share a score (a batch's children are created in
-- the same millisecond) are neither skipped nor repeated, and entries added meanwhile do not shift it.
-- KEYS: sorted set
-- ARGV: cursor member ('' for the top), count
-- Returns the members, or false when the cursor is no longer in the set.
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then return false end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
