-- Shared by the usage script and the one-script success: adds one job to an hour's usage hash.

-- Fields an hour's hash may reach before models the config does not name are counted as `other`;
-- MAX_USAGE_FIELDS_PER_HOUR in usage/usage-store.ts, kept equal by a test.
local MAX_USAGE_FIELDS_PER_HOUR = 6000

-- base: the job's field base; other: the base to use instead once the hash is full ('' for a model
-- the config names, which always gets its own); completion -1: no usage; cost -1: unpriced; saved:
-- USD below the real-time price (provider batch, flex), 0 for real time.
local function usage_add(key, base, other, prompt, completion, cost, ttl, saved)
  if other ~= '' and redis.call('HEXISTS', key, base .. '|requests') == 0 and redis.call('HLEN', key) >= MAX_USAGE_FIELDS_PER_HOUR then base = other end
  redis.call('HINCRBY', key, base .. '|requests', 1)
  if tonumber(completion) >= 0 then
    redis.call('HINCRBY', key, base .. '|prompt_tokens', prompt)
    redis.call('HINCRBY', key, base .. '|completion_tokens', completion)
  end
  if tonumber(cost) < 0 then redis.call('HINCRBY', key, base .. '|unpriced_requests', 1)
  else redis.call('HINCRBYFLOAT', key, base .. '|cost_usd', cost) end
  if saved ~= nil and tonumber(saved) > 0 then redis.call('HINCRBYFLOAT', key, base .. '|saved_usd', saved) end
  redis.call('EXPIRE', key, ttl)
end
