-- Shared by the scripts that move a job's status: the guard that lets two processes never both
-- finish a job (a cancel racing a success, say), nor a stale worker write over a requeued job.
-- Reads the job's status and live queue entry, and refuses unless the status is one of `allowed`
-- (comma-separated) and, given a `guard` (a queue job id; '' for none), the record still names it.
-- Returns the status found and, when refused, the script's reply: false (no such job) or {0, status}.
local function check_job_guard(key, allowed, guard)
  local current = redis.call('HMGET', key, 'status', 'queue_job_id')
  if not current[1] then return nil, false end
  if not string.find(',' .. allowed .. ',', ',' .. current[1] .. ',', 1, true) then return current[1], {0, current[1]} end
  if guard ~= '' and guard ~= current[2] then return current[1], {0, current[1]} end
  return current[1], nil
end
