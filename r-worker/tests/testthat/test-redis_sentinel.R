# The sentinel client (R/redis_sentinel.R) against a real master, replica and three sentinels
# (helper-redis-sentinel.R): it finds the master, and after the master is SIGKILLed it rides out the
# failover and writes to the promoted replica.

set <- start_redis_sentinels()
deployment <- redis_sentinel_deployment(set$sentinels, set$name)

test_that("the sentinels name the master, and the client writes there", {
  expect_identical(sentinel_master_address(deployment), sprintf("127.0.0.1:%d", as.integer(set$master$port)))
  client <- redis_connect(deployment)
  on.exit(client$close(), add = TRUE)
  expect_identical(client$command(list("SET", "sentinel-test", "before", "EX", 600)), "OK")
  expect_identical(client$master_address(), sprintf("127.0.0.1:%d", as.integer(set$master$port)))
})

test_that("a name the sentinels do not monitor is an outage that says so", {
  wrong <- redis_sentinel_deployment(set$sentinels, "nosuchmaster")
  error <- tryCatch(redis_connect(wrong), error = function(e) e)
  expect_s3_class(error, "redis_unavailable")
  expect_match(conditionMessage(error), "knows no master named 'nosuchmaster' \\(REDIS_SENTINEL_NAME\\)")
})

test_that("after the master is SIGKILLed, a command waits for the promotion and reaches the new master", {
  client <- redis_connect(deployment, retry_seconds = 30)
  on.exit(client$close(), add = TRUE)
  wait_for(function() grepl("master_repl_offset", as_text(client$command(list("INFO", "replication")))), timeout = 5, what = "replication info")
  set$master$process$kill()
  expect_identical(client$command(list("SET", "sentinel-test", "after", "EX", 600), idempotent = TRUE), "OK")
  expect_identical(client$master_address(), sprintf("127.0.0.1:%d", as.integer(set$replica$port)))
  expect_identical(as_text(client$get_raw("sentinel-test")), "after")
})
