-- Shared by the scripts that set a job's status: a job that streams (its record has a `stream`
-- field) gets a `status` entry in its output stream, so a reader sees status changes and deltas in
-- one order. The stream lives as long as the record while the job runs, and `retention_ms` once it
-- has ended. Status entries never trim it (the deltas keep it bounded).
local STREAM_TERMINAL = { succeeded = true, failed = true, canceled = true, expired = true }
local function stream_status(job, stream, status, retention_ms)
  local options = redis.call('HGET', job, 'stream')
  if not options or options == 'null' then return end
  local provider = redis.call('HGET', job, 'provider')
  if not provider or provider == 'null' then provider = '' end
  redis.call('XADD', stream, '*', 'k', 'status', 's', status, 'p', provider)
  if STREAM_TERMINAL[status] then
    redis.call('PEXPIRE', stream, retention_ms)
  else
    local ttl = redis.call('PTTL', job)
    if ttl > 0 then redis.call('PEXPIRE', stream, ttl) end
  end
end
