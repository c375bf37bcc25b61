-- Stores one response cache entry with its TTL and bounds the tenant's entries (includes/cache-put.lua).
-- KEYS: the entry, the tenant's entries by time stored, the tenant's entries by lapse time
-- ARGV: digest, value, ttl (ms), now (ms), cap, index TTL (ms)
-- Returns the digests evicted by the cap (the caller deletes their entries).
--!include includes/cache-put.lua
return cache_put(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6])
