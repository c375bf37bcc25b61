-- Makes partial content a file: content and metadata expire together after `retention` seconds,
-- and the tenant's held bytes count it until then.
--   mode 'upload': the bytes were counted chunk by chunk; the lease ends and the file holds them.
--   mode 'counted': the bytes are counted now, refused past max_bytes (the partial content goes).
--   mode 'uncounted': not counted (batch output files).
-- KEYS: uploads, held, held_bytes, held_total, partial, content, meta, index
-- ARGV: id, now (ms), mode, max_bytes, retention (s), tenant, filename, purpose
-- Returns {'ok', bytes, created_at, expires_at} or {code, retry_after_s}.
--!include includes/file-held.lua
local id, now, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local retention = tonumber(ARGV[5])
local created = math.floor(now / 1000)
local expires = created + retention
if mode == 'upload' then
  if tonumber(redis.call('ZSCORE', KEYS[1], id) or '0') <= now then return {'lease_lost', 0} end
end
if redis.call('EXISTS', KEYS[5]) == 0 then return {'file_not_found', 0} end
local size = redis.call('STRLEN', KEYS[5])
if mode == 'upload' then
  redis.call('ZREM', KEYS[1], id)
  local counted = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  redis.call('HSET', KEYS[3], id, size)
  redis.call('INCRBY', KEYS[4], size - counted)
  redis.call('ZADD', KEYS[2], expires * 1000, id)
elseif mode == 'counted' then
  prune_held(KEYS[2], KEYS[3], KEYS[4], now)
  if held_now(KEYS[4]) + size > tonumber(ARGV[4]) then
    redis.call('DEL', KEYS[5])
    return {'file_storage_limit', seconds_until_freed(KEYS[2], now)}
  end
  redis.call('HSET', KEYS[3], id, size)
  redis.call('INCRBY', KEYS[4], size)
  redis.call('ZADD', KEYS[2], expires * 1000, id)
end
redis.call('RENAME', KEYS[5], KEYS[6])
redis.call('EXPIREAT', KEYS[6], expires)
redis.call('HSET', KEYS[7], 'id', id, 'tenant', ARGV[6], 'bytes', size, 'created_at', created, 'expires_at', expires, 'filename', ARGV[7], 'purpose', ARGV[8])
redis.call('EXPIREAT', KEYS[7], expires)
redis.call('ZADD', KEYS[8], created, id)
-- The listing forgets files past their retention, so it stays bounded.
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. (created - retention))
for _, i in ipairs({2, 3, 4, 8}) do keep_for(KEYS[i], retention * 1000) end
return {'ok', size, created, expires}
