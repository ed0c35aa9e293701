/**
 * The Lua scripts of the Redis store and the key layout they work on. Each call is one atomic
 * step on one stream key, so head, range, epoch and idempotency records always come from the
 * same snapshot.
 *
 * Per stream key K (base64url, inside a hash tag so every key of a stream shares a Cluster slot):
 *   <prefix>{K}:log    Stream, entry ids `<offset>-0`, fields d (data), t (ms), e (event, optional)
 *   <prefix>{K}:meta   Hash: ep (epoch), top (last offset), rid (server run id when guarded),
 *                      ic (oldest offset whose idempotency record may remain), and per append
 *                      i:<idempotency key> = `<offset>:<ts>` and q:<offset> = `<ts>:<idempotency key>`
 *   <prefix>{K}:ch     Pub/Sub channel
 *
 * The idempotency records live in the meta hash, not in keys of their own: Redis evicts or
 * expires a key whole, so a record goes only together with the epoch it belongs to. Under any
 * eviction policy, either the record is there (a retry is answered with the first result), or
 * the meta is gone and the next append starts a new epoch, deleting the old log: the log never
 * holds one idempotency key twice. Separate keys with a short TTL were the first to go under
 * `volatile-ttl`, and any volatile key can go under the other `volatile-*` policies.
 * The q: fields are the records in append order, so each append can drop expired ones without
 * scanning the hash.
 *
 * Every command a script may run is checked against the caller's ACL (`redis.acl_check_cmd`)
 * before the first write: Redis does not roll a script back, so a write refused halfway (a
 * PUBLISH to a channel the user may not use, after the XADD) would leave the event stored for
 * an append that failed.
 *
 * For Redis Cluster: the append and read scripts declare every key they touch in KEYS, all of
 * one stream's slot; the channel carries the same hash tag, so their sharded variants (below)
 * publish with SPUBLISH to that slot's shard. The start-up check touches no key (it only asks
 * the ACL), so it runs on any node.
 *
 * Offsets go through string.format('%d') because Lua prints large numbers in exponent form.
 */
import { createHash } from 'node:crypto'

export interface StreamKeys {
  log: string
  meta: string
  /** The channel as the server names it: the client's own key prefix (which clients do not apply to channels) is included. */
  channel: string
}

/**
 * `keyPrefix` is what the server puts in front of every key name the store sends beyond
 * `prefix` (ioredis's `keyPrefix` option, which it adds to keys itself); `clientAddsPrefix`
 * says whether the client adds it (ioredis) or the store must (node-redis `sendCommand`).
 */
export function streamKeys (prefix: string, key: string, keyPrefix = '', clientAddsPrefix = false): StreamKeys {
  const tail = prefix + '{' + Buffer.from(key, 'utf8').toString('base64url') + '}:'
  const base = (clientAddsPrefix ? '' : keyPrefix) + tail
  return { log: base + 'log', meta: base + 'meta', channel: keyPrefix + tail + 'ch' }
}

// Shared by every script.
//
// The epoch is created when the meta is missing and replaced when the server's run id changed
// since it was written (a restart or failover may have rolled the log back, so old offsets
// could be handed out again for other events). The old log and the old idempotency records
// go with it: a new epoch never shares entries with an old one. A bare `<ep>:<top>` frame
// tells every instance at once instead of at their next position check.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The first command of the list the caller's ACL user may not run (with those keys and that
-- channel), or nil. Checked before anything is written, so a refusal leaves nothing behind.
local function denied(checks)
  for _, c in ipairs(checks) do
    if not redis.acl_check_cmd(unpack(c)) then return c[1] end
  end
  return nil
end
local function noperm(command)
  return redis.error_reply('NOPERM the Redis user may not run ' .. command .. ' on this stream (keys ~' .. KEYS[1] .. ', channel &' .. ARGV[4] .. ')')
end
-- What creating a new epoch writes; checked only when one is needed.
local function epoch_checks(checks)
  checks[#checks + 1] = {'DEL', KEYS[1], KEYS[2]}
  checks[#checks + 1] = {'HSET', KEYS[2], 'ep', ''}
  checks[#checks + 1] = {'PEXPIRE', KEYS[2], '1'}
  checks[#checks + 1] = {'PUBLISH', ARGV[4], ''}
  return checks
end
-- The server's run id when the epoch guard is on ('' otherwise).
local function run_id(guard)
  if guard ~= '1' then return '' end
  return string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or ''
end
-- Whether the meta read into m (ep, top, rid) still holds the stream's epoch.
local function valid(m, guard, rid)
  return m[1] ~= false and m[2] ~= false and (guard ~= '1' or m[3] == rid)
end
local function new_epoch(candidate, rid, meta_ttl, top)
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[2], 'ep', candidate, 'top', top, 'rid', rid, 'ic', top + 1)
  redis.call('PEXPIRE', KEYS[2], meta_ttl)
  redis.call('PUBLISH', ARGV[4], candidate .. ':' .. top)
end
`

/**
 * KEYS: log, meta. ARGV: candidate epoch, guard, meta ttl, channel, max events, log ttl,
 * idem ttl, deadline (server ms, 0 = none), event tag ('-' or the event's length), event, data,
 * idempotency key.
 * Returns {'ok', ep, offset, ts} | {'dup', ep, '<offset>:<ts>'} | {'expired'} | a NOPERM error.
 *
 * `#!lua` without flags: a script that writes is refused whole under `noeviction` when Redis is
 * out of memory, before its first command, instead of failing at some write in the middle.
 *
 * Commands on every call: TIME, HMGET, INFO (epoch guard only), XADD, HSET, HGET (one expired
 * record looked up; HDEL when it has expired), PEXPIRE x2, PUBLISH. A new epoch adds DEL, HSET,
 * PEXPIRE and PUBLISH.
 */
const APPEND = '#!lua\n' + PRELUDE + `
local log, meta, channel, idem = KEYS[1], KEYS[2], ARGV[4], ARGV[12]
local checks = {
  {'TIME'}, {'HMGET', meta, 'ep'}, {'HGET', meta, 'ic'}, {'HSET', meta, 'top', ''}, {'HDEL', meta, 'q'},
  {'XADD', log, '1-0', 'd', ''}, {'PEXPIRE', log, '1'}, {'PEXPIRE', meta, '1'}, {'PUBLISH', channel, ''}
}
if ARGV[2] == '1' then checks[#checks + 1] = {'INFO', 'server'} end
local refused = denied(checks)
if refused then return noperm(refused) end

-- The caller's deadline, on this server's clock: an append that arrives after its caller gave
-- up is refused, never stored.
local now = now_ms()
local deadline = tonumber(ARGV[8])
if deadline > 0 and now > deadline then return {'expired'} end

-- The meta and the record of this idempotency key in one read.
local m = redis.call('HMGET', meta, 'ep', 'top', 'rid', 'ic', 'i:' .. idem)
local rid = run_id(ARGV[2])
local ep, top, ic
if valid(m, ARGV[2], rid) then
  if m[5] then return {'dup', m[1], m[5]} end
  ep, top, ic = m[1], tonumber(m[2]), tonumber(m[4] or (m[2] + 1))
else
  refused = denied(epoch_checks({}))
  if refused then return noperm(refused) end
  ep, top, ic = ARGV[1], 0, 1
  new_epoch(ep, rid, ARGV[3], 0)
end

local id = string.format('%d', top + 1)
local ts = string.format('%d', now)
local fields = {'d', ARGV[11], 't', ts}
if ARGV[9] ~= '-' then
  fields[5] = 'e'
  fields[6] = ARGV[10]
end
local added = redis.pcall('XADD', log, 'MAXLEN', '~', ARGV[5], id .. '-0', unpack(fields))
if type(added) == 'table' and added.err then
  -- Nothing was written yet when the epoch was valid, so any other error leaves no trace.
  if not string.find(added.err, 'equal or smaller', 1, true) then return added end
  -- The log is ahead of the meta (evicted or rolled back separately): reusing offsets would
  -- be a silent wrong replay, so start a new epoch instead.
  refused = denied(epoch_checks({}))
  if refused then return noperm(refused) end
  ep, top, ic, id = ARGV[1], 0, 1, '1'
  new_epoch(ep, rid, ARGV[3], 0)
  redis.call('XADD', log, 'MAXLEN', '~', ARGV[5], '1-0', unpack(fields))
end

-- Records older than the idempotency window go, oldest first, a few per append: each append
-- adds one, so they never pile up on a busy stream. A record is kept until it is dropped here
-- (at least the window), and a key is never recorded twice while its record is there, so
-- q:<offset> always names the record to drop.
local horizon = now - tonumber(ARGV[7])
local last = tonumber(id)
local steps = 0
while ic < last and steps < 4 do
  local q = redis.call('HGET', meta, 'q:' .. string.format('%d', ic))
  if q then
    local sep = string.find(q, ':', 1, true)
    if tonumber(string.sub(q, 1, sep - 1)) > horizon then break end
    redis.call('HDEL', meta, 'q:' .. string.format('%d', ic), 'i:' .. string.sub(q, sep + 1))
  end
  ic = ic + 1
  steps = steps + 1
end
redis.call('HSET', meta, 'top', id, 'ic', string.format('%d', ic), 'i:' .. idem, id .. ':' .. ts, 'q:' .. id, ts .. ':' .. idem)
redis.call('PEXPIRE', log, ARGV[6])
redis.call('PEXPIRE', meta, ARGV[3])
redis.call('PUBLISH', channel, ep .. ':' .. id .. ':' .. ts .. ':' .. ARGV[9] .. ':' .. ARGV[10] .. ARGV[11])
return {'ok', ep, id, ts}
`

/**
 * KEYS: log, meta. ARGV: candidate epoch, guard, meta ttl, channel, cursor epoch ('' = head
 * only), first wanted offset, cursor offset, count, max age ms (0 = none), max data bytes.
 * Returns {'head', head} | {'gap', reason, head} | {'ok', head, entries?} | a NOPERM error.
 *
 * Entries are taken a few at a time and the answer stops before `max bytes` of data (after
 * the first entry whatever its size): one read of a log of large events is bounded in the
 * script's memory and in the reply, not only in count.
 *
 * No `#!lua`: a read writes only when it creates an epoch, and must keep working when Redis is
 * out of memory and the meta is there.
 */
const READ = PRELUDE + `
local checks = {{'HMGET', KEYS[2], 'ep'}, {'XRANGE', KEYS[1], '-', '+'}, {'TIME'}}
if ARGV[2] == '1' then checks[#checks + 1] = {'INFO', 'server'} end
local refused = denied(checks)
if refused then return noperm(refused) end
local m = redis.call('HMGET', KEYS[2], 'ep', 'top', 'rid')
local rid = run_id(ARGV[2])
local ep, top
if valid(m, ARGV[2], rid) then
  ep, top = m[1], tonumber(m[2])
else
  refused = denied(epoch_checks({}))
  if refused then return noperm(refused) end
  ep, top = ARGV[1], 0
  new_epoch(ep, rid, ARGV[3], 0)
end
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

/**
 * The start-up check. No KEYS. ARGV: guard, channel, log, meta (of a probe stream under the
 * store's prefix). Returns the commands the caller's ACL user may not run on the store's keys
 * and channels, beyond EVALSHA/EVAL (which running this script proves): every command the
 * other scripts run, the ones the store sends itself (TIME, HMGET) and its Pub/Sub connection's.
 * It only checks, never touches a key, so the keys go as arguments: declared as KEYS, Redis
 * would refuse the whole script for a user without key access, without saying which command.
 */
const PROBE = `
local channel, log, meta = ARGV[2], ARGV[3], ARGV[4]
local checks = {
  {'TIME'}, {'HMGET', meta, 'ep'}, {'HGET', meta, 'ic'}, {'HSET', meta, 'top', ''}, {'HDEL', meta, 'q'},
  {'DEL', log, meta}, {'XADD', log, '1-0', 'd', ''}, {'XRANGE', log, '-', '+'}, {'PEXPIRE', log, '1'},
  {'PEXPIRE', meta, '1'}, {'PUBLISH', channel, ''}, {'SUBSCRIBE', channel}, {'UNSUBSCRIBE', channel}
}
if ARGV[1] == '1' then checks[#checks + 1] = {'INFO', 'server'} end
local missing = {}
for _, c in ipairs(checks) do
  if not redis.acl_check_cmd(unpack(c)) then missing[#missing + 1] = c[1] end
end
return missing
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
export const probeScript = script(PROBE)

/**
 * The same script for a Redis Cluster, publishing with SPUBLISH: the event then travels only
 * within the shard that owns the stream's slot, to the instances subscribed there. Redis 7.0
 * runs SPUBLISH inside a script when the channel is in the slot of the script's keys (the
 * channel shares the stream's hash tag), so a publish stays one round trip.
 */
function sharded (s: Script): Script {
  // Every Pub/Sub command a script names, whether it runs it or checks a permission for it.
  return script(s.source.replaceAll("'PUBLISH'", "'SPUBLISH'").replaceAll("'SUBSCRIBE'", "'SSUBSCRIBE'").replaceAll("'UNSUBSCRIBE'", "'SUNSUBSCRIBE'"))
}

export const shardedAppendScript = sharded(appendScript)
export const shardedReadScript = sharded(readScript)
export const shardedProbeScript = sharded(probeScript)
