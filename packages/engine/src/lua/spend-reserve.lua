-- Reserves an estimate against a monthly budget in one step: no two API processes can both pass the
-- check with the last dollar.
-- KEYS: spend month
-- ARGV: amount (USD), budget (USD; -1: none), TTL (s)
-- Returns {1, spent} when reserved, {0, spent} when over budget.
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
if budget >= 0 and spent + amount > budget then return {0, tostring(spent)} end
local total = redis.call('INCRBYFLOAT', KEYS[1], amount)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, total}
