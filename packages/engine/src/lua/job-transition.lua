-- Sets a job's status only when the current one is among the allowed ones (and, given a guard, only
-- while that queue entry is the record's live one), writing the other fields in the same step, and
-- publishes the new status on the job's channel, which long-polls, SSE streams and synchronous
-- calls wait on (a streamed job also gets the status in its output stream). The status found comes
-- back, so a refused caller knows what won. This is the Cluster's form: the tenant's sets live in
-- another slot, so the caller files the job there after (one server: job-transition-tracked.lua).
-- KEYS: job, job's output stream
-- ARGV: allowed statuses (comma-separated), new status, guard ('' for none), channel,
--   stream retention (ms), field pairs...
-- Returns {1, previous} when moved, {0, current} when refused, false when there is no such job.
--!include includes/job-move.lua
local previous, refused = move_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], 6)
if refused ~= nil then return refused end
return {1, previous}
