-- A job's status change as job-transition.lua makes it, on one server, filing the job under its
-- tenant's queued and running jobs in the same step (by the deadline on its record, which the
-- fields written may have just changed).
-- KEYS: job, job's output stream, tenant's active jobs, tenant's running jobs
-- ARGV: allowed statuses (comma-separated), new status, guard ('' for none), channel, job id,
--   stream retention (ms), field pairs...
-- Returns {1, previous} when moved, {0, current} when refused, false when there is no such job.
--!include includes/job-move.lua
--!include includes/tenant-jobs.lua
local previous, refused = move_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6], 7)
if refused ~= nil then return refused end
track_tenant_job(KEYS[3], KEYS[4], ARGV[5], ARGV[2], redis.call('HGET', KEYS[1], 'expires_at'))
return {1, previous}
