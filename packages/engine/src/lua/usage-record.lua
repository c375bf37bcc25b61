-- Adds one succeeded job to its hour's usage totals.
-- KEYS: usage hour
-- ARGV: field base, prompt tokens, completion tokens (-1: no usage), cost (-1: unpriced), TTL (s),
--   field base past the hour's cap ('' when none), USD saved against the real-time price
-- Returns 1.
--!include includes/usage-add.lua
usage_add(KEYS[1], ARGV[1], ARGV[6], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[7])
return 1
