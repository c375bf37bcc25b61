-- Gives up a duty's lock only when this holder still has it (a lock that lapsed and was taken by
-- another process stays theirs).
-- KEYS: lock
-- ARGV: the holder's token
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
