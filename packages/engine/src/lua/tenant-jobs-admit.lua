-- Admits new jobs against a tenant's cap on jobs queued or running at once, in one step, so no two
-- processes can both take its last place. Entries past their deadline are dropped first (their
-- removal was lost). Admits the ids in order while there is room; one already filed takes none.
-- KEYS: tenant's active jobs
-- ARGV: now (unix s), cap, deadline (unix s), ids...
-- Returns {admitted, active}: how many of the ids (a prefix) are filed, and the tenant's active
-- jobs before the call.
--!include includes/tenant-jobs.lua
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local active = redis.call('ZCARD', KEYS[1])
local room = tonumber(ARGV[2]) - active
local admitted = 0
for index = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[index]) == false then
    if room <= 0 then break end
    room = room - 1
    file_active_job(KEYS[1], ARGV[index], ARGV[3])
  end
  admitted = admitted + 1
end
return {admitted, active}
