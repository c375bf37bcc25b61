-- Sets a batch's status only from one of the allowed ones, writing the other fields in the same step.
-- KEYS: batch
-- ARGV: allowed statuses (comma-separated), new status, field pairs...
-- Returns 'OK' when moved, the current status when refused, false when there is no such batch.
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return false end
if not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then return current end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 3))
return 'OK'
