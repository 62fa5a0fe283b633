-- Up to ARGV[1] slice ids from the gc set (no chunk names them any more). The caller deletes
-- them, then takes them off the set: a failure in between leaves them listed for later.
return redis.call('SRANDMEMBER', T .. ':gc', ARGV[1])
