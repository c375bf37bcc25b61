-- Shared by the scripts that set a job's status: a job that streams (its record has a `stream`
-- field) gets a `status` entry in its output stream, so a reader sees status changes and deltas in
-- one order. The stream lives as long as the record while the job runs, and `retention_ms` once it
-- has ended; it keeps about `max_entries` entries. On a Redis Cluster the stream is in another slot:
-- the caller passes `max_entries` 0 and writes the entry itself when this returns 1 (the job streams).
local STREAM_TERMINAL = { succeeded = true, failed = true, canceled = true, expired = true }
local function stream_status(job, stream, status, max_entries, retention_ms)
  local options = redis.call('HGET', job, 'stream')
  if not options or options == 'null' then return 0 end
  if max_entries == '0' then return 1 end
  local provider = redis.call('HGET', job, 'provider')
  if not provider or provider == 'null' then provider = '' end
  redis.call('XADD', stream, 'MAXLEN', '~', max_entries, '*', 'k', 'status', 's', status, 'p', provider)
  if STREAM_TERMINAL[status] then
    redis.call('PEXPIRE', stream, retention_ms)
  else
    local ttl = redis.call('PTTL', job)
    if ttl > 0 then redis.call('PEXPIRE', stream, ttl) end
  end
  return 1
end
