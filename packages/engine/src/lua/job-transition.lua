-- Sets a job's status only when the current one is among the allowed ones (and, given a guard, only
-- while that queue entry is the record's live one), writing the other fields in the same step, and
-- publishes the new status on the job's channel, which long-polls, SSE streams and synchronous
-- calls wait on (a streamed job also gets the status in its output stream). The status found comes
-- back, so a refused caller knows what won.
-- KEYS: job, job's output stream
-- ARGV: allowed statuses (comma-separated), new status, guard ('' for none), channel,
--   stream retention (ms), field pairs...
-- Returns {1, previous} when moved, {0, current} when refused, false when there is no such job.
--!include includes/job-guard.lua
--!include includes/stream-status.lua
local previous, refused = check_job_guard(KEYS[1], ARGV[1], ARGV[3])
if refused ~= nil then return refused end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 6))
redis.call('PUBLISH', ARGV[4], ARGV[2])
stream_status(KEYS[1], KEYS[2], ARGV[2], ARGV[5])
return {1, previous}
