-- Appends one entry (an attempt, a webhook delivery) to an existing record.
-- KEYS: job
-- ARGV: list ('attempt', 'delivery'), entry (JSON)
-- Returns the entry's index, or -1 when there is no such job.
--!include includes/append-entry.lua
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return append_entry(KEYS[1], ARGV[1], ARGV[2])
