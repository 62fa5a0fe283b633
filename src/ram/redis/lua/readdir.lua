-- A directory's parent, then (with ARGV[2] '1') every entry: name, '<ino> <kind> <cookie>';
-- or, past ARGV[3] entries, only their count (the caller reads them in parts). One step,
-- so the listing is one moment's; the caller sorts by cookie and pages through it.
-- With at most ARGV[4] entries, the entries come as one array and each one's attributes (as
-- `attr` gives them, in the same order) as a second: a listing with attributes in one step.
local d = redis.call('HMGET', key('i', ARGV[1]), 'k', 'p')
if not d[1] then fail('ENOENT') end
if d[1] ~= 'd' then fail('ENOTDIR') end
if ARGV[2] ~= '1' then return {d[2]} end
local n = redis.call('HLEN', key('d', ARGV[1]))
if n > tonumber(ARGV[3]) then return {d[2], n} end
local out = redis.call('HGETALL', key('d', ARGV[1]))
if n > 0 and n <= tonumber(ARGV[4] or '0') then
  local attrs = {}
  for j = 2, #out, 2 do
    local ino = entry(out[j])
    attrs[#attrs + 1] = ino and attr(ino) or {}
  end
  return {d[2], out, attrs}
end
table.insert(out, 1, d[2])
return out
