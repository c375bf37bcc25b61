-- Sets a job's status only when the current one is among the allowed ones (and, given a guard, only
-- while that queue entry is the record's live one), writing the other fields in the same step, and
-- publishes the new status on the job's channel, which long-polls, SSE streams and synchronous
-- calls wait on. The status found comes back, so a refused caller knows what won.
-- KEYS: job
-- ARGV: allowed statuses (comma-separated), new status, guard ('' for none), channel, field pairs...
-- Returns {1, previous} when moved, {0, current} when refused, false when there is no such job.
--!include includes/job-guard.lua
local previous, refused = check_job_guard(KEYS[1], ARGV[1], ARGV[3])
if refused ~= nil then return refused end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 5))
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, previous}
