-- Shared by the scripts that create jobs or change their status: each tenant's jobs that have not
-- ended, in two sorted sets by deadline (unix seconds): `active` (queued or running) and `running`.
-- An entry whose removal was lost (a process dying between two commands on a Cluster) stops counting
-- at its deadline. A set lives TENANT_JOBS_KEEP_MS after its last entry was added, longer than any
-- deadline; TENANT_JOBS_KEEP_MS in tenants/tenant-jobs.ts, kept equal by a test.
local TENANT_JOBS_KEEP_MS = 2764800000
local TENANT_JOB_ENDED = { succeeded = true, failed = true, canceled = true, expired = true }

-- Files one job as active (queued or running) until `deadline`.
local function file_active_job(active, id, deadline)
  redis.call('ZADD', active, deadline, id)
  redis.call('PEXPIRE', active, TENANT_JOBS_KEEP_MS)
end

-- Files a job under the status it just took: active and running, active only, or (ended) neither.
local function track_tenant_job(active, running, id, status, deadline)
  if TENANT_JOB_ENDED[status] then
    redis.call('ZREM', active, id)
    redis.call('ZREM', running, id)
    return
  end
  file_active_job(active, id, deadline)
  if status == 'running' then
    redis.call('ZADD', running, deadline, id)
    redis.call('PEXPIRE', running, TENANT_JOBS_KEEP_MS)
  else
    redis.call('ZREM', running, id)
  end
end
