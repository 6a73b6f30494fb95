"""The Lua scripts of the Redis fan-out: each presence step is one atomic script.

Keys (``P`` is the prefix): ``P alive:{process}`` expires unless its process refreshes it;
``P procs`` lists the processes; ``P users:{process}`` the users with sockets on a process;
``P online:{user}`` the processes holding a user's sockets. A user is online while that
set is not empty; the script that empties or fills it publishes the transition on
``P p:{user}`` (``1``, or ``0:<last_seen ms>``), so exactly one process announces it.
"""

from __future__ import annotations

# KEYS: users:{process}, online:{user}; ARGV: user, process, presence channel.
# Returns the processes that held the user before (the handshake of redis_sharing.py).
ATTACH = """
redis.call('SADD', KEYS[1], ARGV[1])
local holders = redis.call('SMEMBERS', KEYS[2])
if redis.call('SADD', KEYS[2], ARGV[2]) == 1 and redis.call('SCARD', KEYS[2]) == 1 then
  redis.call('PUBLISH', ARGV[3], '1')
end
return holders
"""

# KEYS: users:{process}, online:{user}; ARGV: user, process, presence channel, stamp.
DETACH = """
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SREM', KEYS[2], ARGV[2]) == 1 and redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('PUBLISH', ARGV[3], '0:' .. ARGV[4])
  return 1
end
return 0
"""

# KEYS: alive:{process}, procs; ARGV: process, ttl ms. Returns 0 if the entry had expired
# (the process was presumed dead and its users reaped: it must register them again).
HEARTBEAT = """
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'XX') then
  return 1
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 0
"""

# KEYS: alive:{dead}, users:{dead}, procs; ARGV: dead process, prefix, stamp.
# Takes the users of a process whose entry expired offline; returns those now offline
# everywhere. Names keys it was not given, so it needs a single (non-cluster) Redis.
REAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {}
end
local gone = {}
for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. 'online:' .. user
  if redis.call('SREM', key, ARGV[1]) == 1 and redis.call('SCARD', key) == 0 then
    redis.call('PUBLISH', ARGV[2] .. 'p:' .. user, '0:' .. ARGV[3])
    gone[#gone + 1] = user
  end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return gone
"""
