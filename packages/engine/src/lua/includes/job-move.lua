-- Shared by the transition scripts: sets a job's status only when the current one is among the
-- allowed ones (and, given a guard, only while that queue entry is the record's live one), writing
-- the other fields (ARGV from `first_field` on) in the same step, and publishes the new status on
-- the job's channel (a streamed job also gets it in its output stream).
-- Returns the status found and, when refused, the script's reply: false (no such job) or {0, status}.
--!include includes/job-guard.lua
--!include includes/stream-status.lua
local function move_job(job, stream, allowed, status, guard, channel, retention_ms, first_field)
  local previous, refused = check_job_guard(job, allowed, guard)
  if refused ~= nil then return previous, refused end
  redis.call('HSET', job, 'status', status, unpack(ARGV, first_field))
  redis.call('PUBLISH', channel, status)
  stream_status(job, stream, status, retention_ms)
  return previous, nil
end
