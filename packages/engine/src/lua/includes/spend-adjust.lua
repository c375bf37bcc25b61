-- Shared by the spend script and the one-script success: moves a month's spend (USD) by a delta and
-- keeps the counter `ttl` seconds more; a zero delta changes nothing.
local function spend_adjust(key, delta, ttl)
  if tonumber(delta) ~= 0 then
    redis.call('INCRBYFLOAT', key, delta)
    redis.call('EXPIRE', key, ttl)
  end
end
