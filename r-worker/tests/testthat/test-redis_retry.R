# The client riding out a Redis outage, against a real redis-server stopped and started again on the
# same port (helper-redis.R); and the retry rules on a stand-in connection.

# A connection that fails `failures` times with `error` (a function of the attempt), then answers "OK".
flaky_link <- function(failures, error = function(i) redis_not_sent_error(sprintf("refused %d", i))) {
  calls <- 0L
  list(
    open = function() NULL,
    is_open = function() FALSE,
    round_trip = function(args) {
      calls <<- calls + 1L
      if (calls <= failures) stop(error(calls))
      "OK"
    },
    calls = function() calls
  )
}

test_that("only what cannot have run, or is idempotent, is sent again", {
  refused <- redis_not_sent_error("refused")
  broke <- redis_error("the connection broke")
  expect_true(redis_error_retryable(refused, idempotent = FALSE))
  expect_false(redis_error_retryable(broke, idempotent = FALSE))
  expect_true(redis_error_retryable(broke, idempotent = TRUE))
  for (reply in c("LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script", "MASTERDOWN Link with MASTER is down", "TRYAGAIN")) {
    expect_true(redis_error_retryable(redis_error(reply, reply = TRUE), idempotent = FALSE), label = reply)
  }
  for (reply in c("ERR unknown command", "NOSCRIPT", "WRONGPASS invalid username-password pair", "OOM command not allowed")) {
    expect_false(redis_error_retryable(redis_error(reply, reply = TRUE), idempotent = TRUE), label = reply)
  }
})

test_that("a command is tried again with a growing wait until it gets through, and the outage is reported once each way", {
  link <- flaky_link(4)
  events <- character(0)
  on_outage <- function(phase, waited, error) events <<- c(events, phase)
  started <- Sys.time()
  expect_identical(send_with_retry(link, list("PING"), FALSE, 10, "here", on_outage), "OK")
  expect_identical(link$calls(), 5L)
  expect_identical(events, c("started", "ended"))
  expect_gte(elapsed_since(started), 0.05 + 0.1 + 0.2 + 0.4 - 0.05) # 50 ms doubling
})

test_that("with retry_seconds 0 a failure is raised at once, as the connection's own error, classed redis_unavailable", {
  link <- flaky_link(1)
  error <- tryCatch(send_with_retry(link, list("PING"), TRUE, 0, "here"), redis_error = function(e) e)
  expect_s3_class(error, "redis_unavailable")
  expect_identical(conditionMessage(error), "refused 1")
  expect_identical(link$calls(), 1L)
})

test_that("an error waiting cannot cure is raised at once, whatever retry_seconds is", {
  link <- flaky_link(1, function(i) redis_error("WRONGPASS invalid username-password pair", reply = TRUE))
  expect_error(send_with_retry(link, list("GET", "k"), TRUE, 30, "here"), "WRONGPASS", class = "redis_reply_error")
  expect_identical(link$calls(), 1L)
  sent <- flaky_link(1, function(i) redis_error("the connection broke"))
  error <- tryCatch(send_with_retry(sent, list("SET", "k", "v", "NX"), FALSE, 30, "here"), redis_error = function(e) e)
  expect_false(inherits(error, "redis_unavailable"))
  expect_identical(sent$calls(), 1L)
})

test_that("a command sent while Redis is down waits for it and goes through once it is back on the same port", {
  server <- start_redis_server(extra_args = c("--appendonly", "yes", "--appendfsync", "always"))
  client <- redis_connect(server$url, use_redux = FALSE, retry_seconds = 20)
  on.exit(client$close(), add = TRUE)
  expect_identical(client$command(list("SET", "kept", "before")), "OK")
  server$stop()
  later <- restart_redis_later(server, 1)
  on.exit(later$kill(), add = TRUE)
  started <- Sys.time()
  # Not idempotent: it is sent again only because the connection attempts never reached Redis.
  expect_identical(client$command(list("SET", "written", "during", "NX")), "OK")
  expect_gte(elapsed_since(started), 0.5)
  expect_identical(client$get_raw("kept"), charToRaw("before"))
  expect_identical(client$get_raw("written"), charToRaw("during"))
})

test_that("an idle connection closed by a restarted Redis is replaced before anything is sent on it", {
  server <- start_redis_server()
  client <- redis_connect(server$url, use_redux = FALSE) # retry_seconds 0: no waiting at all
  on.exit(client$close(), add = TRUE)
  server$stop()
  again <- server$restart()
  on.exit(again$stop(), add = TRUE)
  expect_identical(client$command(list("SET", "k", "v", "NX")), "OK")
  expect_null(client$command(list("SET", "k", "v", "NX")))
})

test_that("it gives up after retry_seconds (REDIS_RETRY_SECONDS) with a redis_unavailable error saying so", {
  server <- start_redis_server()
  client <- redis_connect(server$url, use_redux = FALSE, retry_seconds = 1)
  on.exit(client$close(), add = TRUE)
  server$stop()
  started <- Sys.time()
  error <- tryCatch(client$command(list("PING"), idempotent = TRUE), redis_error = function(e) e)
  waited <- elapsed_since(started)
  expect_s3_class(error, "redis_unavailable")
  expect_match(conditionMessage(error), sprintf("Redis at 127.0.0.1:%d/0 could not be reached for 1 s (REDIS_RETRY_SECONDS): cannot connect", server$port), fixed = TRUE)
  expect_gte(waited, 1)
  expect_lt(waited, 10) # bounded: not a speed, a limit
})

test_that("a command whose answer was lost is sent again only when idempotent", {
  server <- start_redis_server()
  # Counts its runs; the first run outlasts the client's 1 s reply timeout, so its answer is lost.
  slow_first <- paste(
    "local n = redis.call('INCR', KEYS[1])",
    "if n == 1 then",
    "  local t0 = redis.call('TIME')",
    "  repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 1500000",
    "end",
    "return n",
    sep = "\n"
  )
  resend <- redis_connect(server$url, use_redux = FALSE, timeout_seconds = 1, retry_seconds = 10)
  once <- redis_connect(server$url, use_redux = FALSE, timeout_seconds = 1, retry_seconds = 10)
  check <- redis_connect(server$url, use_redux = FALSE, timeout_seconds = 5)
  on.exit({
    resend$close()
    once$close()
    check$close()
  }, add = TRUE)
  expect_identical(resend$command(list("EVAL", slow_first, 1, "runs:idempotent"), idempotent = TRUE), 2)
  expect_error(once$command(list("EVAL", slow_first, 1, "runs:once")), "no complete answer", class = "redis_error")
  expect_identical(check$command(list("GET", "runs:once")), charToRaw("1"))
})
