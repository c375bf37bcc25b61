-- Moves a tenant's month of spend by a delta: the real cost minus the reservation, or minus the
-- reservation alone.
-- KEYS: spend month
-- ARGV: delta (USD), TTL (s)
-- Returns 1.
--!include includes/spend-adjust.lua
spend_adjust(KEYS[1], ARGV[1], ARGV[2])
return 1
