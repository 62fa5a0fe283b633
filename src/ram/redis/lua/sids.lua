-- Takes ARGV[1] slice ids: returns the last one.
alive()
return redis.call('HINCRBY', META, 'next_slice', ARGV[1])
