-- Shared by the job scripts: appends one entry (an attempt, a webhook delivery) to a record as its
-- own field `<list>:<index>`, so concurrent writers never overwrite each other. Returns its index.
local function append_entry(key, list, entry)
  local index = redis.call('HINCRBY', key, list .. '_count', 1) - 1
  redis.call('HSET', key, list .. ':' .. index, entry)
  return index
end
