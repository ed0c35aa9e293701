/**
 * The two Lua scripts of the Redis store and the key layout they work on. Each call is one
 * atomic step on one stream key, so head, range and epoch always come from the same snapshot.
 *
 * Per stream key K (base64url, inside a hash tag so every key of a stream shares a Cluster slot):
 *   <prefix>{K}:log          Stream, entry ids `<offset>-0`, fields d (data), t (ms), e (event, optional)
 *   <prefix>{K}:meta         Hash: ep (epoch), top (last offset), rid (server run id when guarded)
 *   <prefix>{K}:idem:<key>   String with a TTL: `<ep>:<offset>:<ts>` of an applied append
 *   <prefix>{K}:ch           Pub/Sub channel
 *
 * Offsets go through string.format('%d') because Lua prints large numbers in exponent form.
 */
import { createHash } from 'node:crypto'

export interface StreamKeys {
  log: string
  meta: string
  /** Prefix of the idempotency keys; the caller's key is appended. */
  idem: string
  channel: string
}

export function streamKeys (prefix: string, key: string): StreamKeys {
  const base = prefix + '{' + Buffer.from(key, 'utf8').toString('base64url') + '}:'
  return { log: base + 'log', meta: base + 'meta', idem: base + 'idem:', channel: base + 'ch' }
}

// Shared by both scripts. The epoch is created when the meta is missing and replaced when the
// server's run id changed since it was written (a restart or failover may have rolled the log
// back, so old offsets could be handed out again for other events). The old log goes with it:
// a new epoch never shares entries with an old one. A bare `<ep>:<top>` frame tells every
// instance at once instead of at their next position check.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure_meta(log, meta, candidate, guard, meta_ttl, channel)
  local m = redis.call('HMGET', meta, 'ep', 'top', 'rid')
  local rid = ''
  if guard == '1' then
    rid = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or ''
  end
  if m[1] and m[2] and (guard ~= '1' or m[3] == rid) then
    return m[1], tonumber(m[2])
  end
  redis.call('DEL', log)
  redis.call('HSET', meta, 'ep', candidate, 'top', 0, 'rid', rid)
  redis.call('PEXPIRE', meta, meta_ttl)
  redis.call('PUBLISH', channel, candidate .. ':0')
  return candidate, 0
end
`

/**
 * KEYS: log, meta, idem. ARGV: candidate epoch, guard, meta ttl, channel, max events, log ttl,
 * idem ttl, deadline (server ms, 0 = none), event tag ('-' or the event's length), event, data.
 * Returns {'ok', ep, offset, ts} | {'dup', '<ep>:<offset>:<ts>'} | {'expired'}.
 */
const APPEND = PRELUDE + `
local now = now_ms()
local deadline = tonumber(ARGV[8])
if deadline > 0 and now > deadline then return {'expired'} end
local seen = redis.call('GET', KEYS[3])
if seen then return {'dup', seen} end
local ep = ensure_meta(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local id = string.format('%d', redis.call('HINCRBY', KEYS[2], 'top', 1))
local ts = string.format('%d', now)
local fields = {'d', ARGV[11], 't', ts}
if ARGV[9] ~= '-' then
  fields[5] = 'e'
  fields[6] = ARGV[10]
end
local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], id .. '-0', unpack(fields))
if type(added) == 'table' and added.err then
  -- The log is ahead of the meta (evicted or rolled back separately): reusing offsets would
  -- be a silent wrong replay, so start a new epoch instead.
  ep = ARGV[1]
  id = '1'
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'ep', ep, 'top', 1)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '1-0', unpack(fields))
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ep .. ':' .. id .. ':' .. ts .. ':' .. ARGV[9] .. ':' .. ARGV[10] .. ARGV[11])
redis.call('SET', KEYS[3], ep .. ':' .. id .. ':' .. ts, 'PX', ARGV[7])
return {'ok', ep, id, ts}
`

/**
 * KEYS: log, meta. ARGV: candidate epoch, guard, meta ttl, channel, cursor epoch ('' = head
 * only), first wanted offset, cursor offset, count, max age ms (0 = none), max data bytes.
 * Returns {'head', head} | {'gap', reason, head} | {'ok', head, entries?}.
 *
 * Entries are taken a few at a time and the answer stops before `max bytes` of data (after
 * the first entry whatever its size): one read of a log of large events is bounded in the
 * script's memory and in the reply, not only in count.
 */
const READ = PRELUDE + `
local ep, top = ensure_meta(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local head = ep .. ':' .. string.format('%d', top)
if ARGV[5] == '' then return {'head', head} end
if ARGV[5] ~= ep then return {'gap', 'epoch', head} end
local last = tonumber(ARGV[7])
if last > top then return {'gap', 'ahead', head} end
if last == top then return {'ok', head} end
local start = ARGV[6] .. '-0'
local count = tonumber(ARGV[8])
local max_bytes = tonumber(ARGV[10])
local entries = {}
local bytes = 0
local from = start
local full = false
while not full and #entries < count do
  local wanted = math.min(count - #entries, 8)
  local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', wanted)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local f = entry[2]
    local size = 0
    for i = 1, #f, 2 do
      if f[i] == 'd' then size = #f[i + 1] end
    end
    if #entries > 0 and bytes + size > max_bytes then
      full = true
      break
    end
    bytes = bytes + size
    entries[#entries + 1] = entry
  end
  if #batch < wanted then break end
  local last_id = batch[#batch][1]
  from = string.format('%d', tonumber(string.sub(last_id, 1, string.find(last_id, '-') - 1)) + 1) .. '-0'
end
local first = entries[1]
if not first or first[1] ~= start then return {'gap', 'trimmed', head} end
local max_age = tonumber(ARGV[9])
if max_age > 0 then
  local f = first[2]
  for i = 1, #f, 2 do
    if f[i] == 't' and tonumber(f[i + 1]) < now_ms() - max_age then return {'gap', 'trimmed', head} end
  end
end
return {'ok', head, entries}
`

export interface Script {
  source: string
  sha: string
}

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

export const appendScript = script(APPEND)
export const readScript = script(READ)
