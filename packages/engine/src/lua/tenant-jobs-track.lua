-- Files a job under the status it just took in its tenant's queued and running jobs: on a Cluster,
-- the step after a transition (whose keys live in another slot).
-- KEYS: tenant's active jobs, tenant's running jobs
-- ARGV: job id, status, deadline (unix s)
-- Returns 1.
--!include includes/tenant-jobs.lua
track_tenant_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1
