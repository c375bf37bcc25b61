-- Bills a job that has ended without succeeding, once: writes the fields only while its status is
-- one of `allowed` and it carries no usage yet, so two writers (the worker that held the call, a
-- late success refused by a cancel) never bill it twice.
-- KEYS: job
-- ARGV: allowed statuses (comma-separated), field pairs...
-- Returns 1 when it wrote the charge, 0 otherwise.
local current = redis.call('HMGET', KEYS[1], 'status', 'usage')
if not current[1] then return 0 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. current[1] .. ',', 1, true) then return 0 end
if current[2] and current[2] ~= 'null' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
