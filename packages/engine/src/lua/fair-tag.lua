-- Weighted fair share between tenants inside each priority class of one provider queue: start-time
-- fair queuing, folded into BullMQ's priority number. Every (tenant, class, tier) has a finish tag
-- F; the class has a virtual time V (the tag of its oldest waiting entry, never moving back; or,
-- when none waits, the last tag issued). A new entry starts at S = max(V, F) and moves F on by
-- 1 / weight, so a tenant with nothing waiting starts at the head and a busy one's entries are
-- spread out at its weight's pace. A tenant's tiers keep their own F, so a higher tier is not queued
-- behind the tenant's own lower-tier backlog; but while lower tiers of the tenant have work waiting
-- past S, the tiers share the tenant's weight: the entry's own F moves on by (1 + such tiers) /
-- weight and each of those tiers' F by 1 / weight, so a busy tenant's long-run share is its weight
-- whatever tiers it uses (its tiers take turns, the higher one first within a slot).
--
-- The priority number is base(class) + 3 * (floor(S) - offset) + tier: classes never mix, equal tags
-- go premium, standard, economy, then in arrival order (BullMQ's counter). Tags grow without end but
-- the class's range of priority numbers does not, so once the oldest waiting entry is far up its
-- range the class is shifted down ("rebase"): a few entries per call, oldest first, each keeping
-- its place (the score loses a whole multiple of 2^32, the counter part stays). While it runs, a
-- priority below the cursor M is already shifted by D; new entries land on the side they belong.
-- When it starts, the entries outside the set (running, or delayed for a retry) get their kept
-- priority shifted too, so a rate-limited push-back or a retry returns where it belongs. An entry
-- tagged past the range's end gets the range's last number, which no tagged entry ever gets: it
-- waits behind the class until the range shifts.
--
-- KEYS: fair state (hash), the queue's prioritized set, its active list, its delayed set
-- ARGV: job key prefix, class span, entries moved per call, then per entry: class (0-2), tier (0-2),
--       tenant, weight
-- Returns the priority of each entry.
local state, prioritized, active, delayed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local job_prefix, span, chunk = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local WORD = 4294967296
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local CLASS_TAGS = math.floor(span / 3)

local function num(field, default)
  return tonumber(redis.call('HGET', state, field)) or default
end

-- The class's offset, and the rebase in progress (shift, cursor) if any.
local function layout(class)
  return num('off:' .. class, 0), num('d:' .. class, 0), num('m:' .. class, -1)
end

-- Moves up to `chunk` entries of a rebase in progress; ends it when none is left above the cursor.
local function rebase_step(class, base)
  local off, shift, cursor = layout(class)
  if shift == 0 then return end
  local found = redis.call('ZRANGEBYSCORE', prioritized, cursor * WORD, (base + span) * WORD - 1, 'WITHSCORES', 'LIMIT', 0, chunk)
  for i = 1, #found, 2 do
    local score = tonumber(found[i + 1])
    local priority = math.floor(score / WORD)
    redis.call('ZADD', prioritized, score - shift * WORD, found[i])
    redis.call('HSET', job_prefix .. found[i], 'priority', priority - shift)
    cursor = priority
  end
  if #found < chunk * 2 then
    redis.call('HSET', state, 'off:' .. class, off + shift / 3, 'd:' .. class, 0)
    redis.call('HDEL', state, 'm:' .. class)
  else
    redis.call('HSET', state, 'm:' .. class, cursor)
  end
end

-- The class's virtual time, starting a rebase when its oldest waiting entry is past half its range.
local function virtual_time(class, base)
  local off, shift, cursor = layout(class)
  local v = num('v:' .. class, 0)
  local head = redis.call('ZRANGEBYSCORE', prioritized, base * WORD, (base + span) * WORD - 1, 'WITHSCORES', 'LIMIT', 0, 1)
  if head[2] == nil then
    -- Nothing waits: everything issued was taken, or the last call's entries are still on their way
    -- to the queue (placed, their add not landed: a few milliseconds). Within 50 ms of that call a
    -- newcomer starts where that call started; later, after the last tag issued. Not kept: once
    -- entries land, the head says where the class is.
    if now - num('t:' .. class, 0) < 50 then return math.max(v, num('p:' .. class, 0)) end
    return math.max(v, num('s:' .. class, 0))
  end
  local priority = math.floor(tonumber(head[2]) / WORD)
  local slot = math.floor((priority - base) / 3)
  if shift > 0 and priority < cursor then slot = slot + shift / 3 end
  v = math.max(v, slot + off)
  if shift == 0 and slot > CLASS_TAGS / 2 then
    redis.call('HSET', state, 'd:' .. class, slot * 3, 'm:' .. class, base + slot * 3)
    local outside = redis.call('LRANGE', active, 0, -1)
    for _, id in ipairs(redis.call('ZRANGE', delayed, 0, -1)) do outside[#outside + 1] = id end
    for _, id in ipairs(outside) do
      local kept = tonumber(redis.call('HGET', job_prefix .. id, 'priority'))
      if kept ~= nil and kept >= base and kept < base + span - 1 then
        redis.call('HSET', job_prefix .. id, 'priority', math.max(base, kept - slot * 3))
      end
    end
  end
  redis.call('HSET', state, 'v:' .. class, v)
  return v
end

-- Per class: its virtual time, highest start issued, offset, and rebase in progress (read once per call).
local classes = {}
local function class_of(class, base)
  local c = classes[class]
  if c == nil then
    rebase_step(class, base)
    local v = virtual_time(class, base)
    local off, shift, cursor = layout(class)
    local issued = num('s:' .. class, 0)
    c = { v = v, s = issued, s0 = issued, off = off, shift = shift, cursor = cursor }
    classes[class] = c
  end
  return c
end

local out = {}
for i = 4, #ARGV, 4 do
  local class, tier, tenant, weight = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2], tonumber(ARGV[i + 3])
  local base = 1 + class * span
  local c = class_of(class, base)
  local fields = {}
  for t = tier, 2 do fields[#fields + 1] = 'f:' .. class .. ':' .. t .. ':' .. tenant end
  local tags = redis.call('HMGET', state, unpack(fields))
  local start = math.max(c.v, tonumber(tags[1]) or 0)
  local step = 1 / weight
  local writes = {}
  local sharing = 1
  for k = 2, #fields do
    local lower = tonumber(tags[k]) or 0
    if lower > start then
      sharing = sharing + 1
      writes[#writes + 1] = fields[k]
      writes[#writes + 1] = lower + step
    end
  end
  writes[#writes + 1] = fields[1]
  writes[#writes + 1] = start + sharing * step
  redis.call('HSET', state, unpack(writes))
  if start > c.s then c.s = start end
  local priority = base + (math.floor(start) - c.off) * 3 + tier
  if c.shift > 0 and priority < c.cursor then priority = priority - c.shift end
  -- The range's last number is the overflow's: no tagged entry gets it.
  if priority > base + span - 2 then priority = base + span - 1 end
  out[#out + 1] = math.max(base, priority)
end
for class, c in pairs(classes) do
  redis.call('HSET', state, 's:' .. class, c.s, 'p:' .. class, c.s0, 't:' .. class, now)
end
redis.call('PEXPIRE', state, 2592000000)
return out
