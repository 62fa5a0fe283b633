-- Punch hole and zero range: the range's slices are cut away (it reads as zeros); whole
-- chunks and chunk tails are freed. ARGV: ino, now, error after the existence check (or ''),
-- '1' to grow the size to the end, offset, end, then the range in chunks (computed exactly
-- by the caller: offsets past 2^53 do not fit a double): first chunk, offset in it, last
-- chunk, end in it. Returns {the slices no longer used, the chunks kept in part}.
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[3])
local gc, cut = {}, {}
if dgt(ARGV[6], ARGV[5]) then
  local first, fromfirst = tonumber(ARGV[7]), tonumber(ARGV[8])
  local last, tolast = tonumber(ARGV[9]), tonumber(ARGV[10])
  local all = chunks_all(ino)
  local freed = 0
  for i = 1, #all, 2 do
    local idx = tonumber(all[i])
    if idx >= first and idx <= last then
      local len, list = chunk_parse(all[i + 1])
      local from, to = 0, CHUNK
      if idx == first then from = fromfirst end
      if idx == last then to = tolast end
      if to > len then to = len end
      if from == 0 and to >= len then
        freed = freed + len
        chunk_put(ino, all[i], 0, list, {}, gc)
      elseif to >= len and from < len then
        freed = freed + len - from
        chunk_put(ino, all[i], from, list, chunk_cut(list, from, CHUNK), gc)
        cut[#cut + 1] = all[i]
      elseif from < to then
        chunk_put(ino, all[i], len, list, chunk_cut(list, from, to), gc)
        cut[#cut + 1] = all[i]
      end
    end
  end
  charge(ino, -freed, 'a')
end
if ARGV[4] == '1' and dgt(ARGV[6], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[6])
end
touch(ino, now)
return {gc, cut}
