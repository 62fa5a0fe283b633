-- fallocate mode 0: raises the chunks' lengths (the bytes gained read as zeros).
-- ARGV: ino, now, limit, error after the existence check (or ''), '1' to keep the size, end,
-- first chunk, last chunk, bytes wanted in the last chunk.
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[4])
local first, last, lastlen = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local idxs = {}
for idx = first, last do idxs[#idxs + 1] = tostring(idx) end
local cur = chunks_get(ino, idxs)
local growth = 0
local grown = {}
for j = 1, #idxs do
  local want = CHUNK
  if j == #idxs then want = lastlen end
  local len = entry_len(cur[j])
  if len < want then
    growth = growth + want - len
    grown[#grown + 1] = {idxs[j], want, cur[j]}
  end
end
room(growth, ARGV[3])
-- Only the length changes: the slices (and overlays) stay as they are.
for j = 1, #grown do
  local g = grown[j]
  chunk_set(ino, g[1], entry_with_len(g[3], g[2]))
end
charge(ino, growth, 'a')
if ARGV[5] ~= '1' and dgt(ARGV[6], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[6])
end
touch(ino, now)
return 1
