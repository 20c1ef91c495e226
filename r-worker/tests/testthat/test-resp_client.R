# Against a real redis-server started for this file (helper-redis.R).
server <- start_redis_server()
secured <- start_redis_server(password = "p@ss w/rd")

test_that("the base-R RESP client is used when redux is not asked for", {
  client <- redis_connect(server$url, use_redux = FALSE)
  on.exit(client$close(), add = TRUE)
  expect_identical(client$driver, "resp")
  expect_identical(client$command(list("PING")), "PONG")
})

test_that("bytes with NUL, CR LF and high bytes survive a SET/GET round trip", {
  client <- redis_connect(server$url, use_redux = FALSE)
  on.exit(client$close(), add = TRUE)
  bytes <- as.raw(c(0x00, 0x0d, 0x0a, 0xff, 0x00, 0x24, 0x2a, 0x0d, 0x0a))
  expect_identical(client$command(list("SET", "binary", bytes, "EX", 60)), "OK")
  expect_identical(client$get_raw("binary"), bytes)
  big <- as.raw(rep(c(0:255, 13, 10), 4000))
  client$command(list("SET", "big", big))
  expect_identical(client$get_raw("big"), big)
  client$command(list("SET", "empty", raw(0)))
  expect_identical(client$get_raw("empty"), raw(0))
})

test_that("integer, nil, array and NX replies come back as R values", {
  client <- redis_connect(server$url, use_redux = FALSE)
  on.exit(client$close(), add = TRUE)
  client$command(list("SET", "here", "1", "EX", 60))
  expect_identical(client$command(list("EXISTS", "here", "nowhere")), 1)
  expect_null(client$get_raw("nowhere"))
  expect_null(client$command(list("SET", "here", "2", "NX")))
  ttl <- client$command(list("TTL", "here"))
  expect_true(ttl > 0 && ttl <= 60)
  client$command(list("RPUSH", "list", "a", "b"))
  expect_identical(client$command(list("LRANGE", "list", 0, -1)), list(charToRaw("a"), charToRaw("b")))
  expect_identical(client$command(list("DEL", "here", "list")), 2)
})

test_that("an error reply raises a redis_reply_error and leaves the connection usable", {
  client <- redis_connect(server$url, use_redux = FALSE)
  on.exit(client$close(), add = TRUE)
  expect_error(client$command(list("NOSUCHCOMMAND")), class = "redis_reply_error")
  expect_identical(client$command(list("PING")), "PONG")
})

test_that("AUTH is sent with the URL's password, percent-encoding decoded", {
  client <- redis_connect(secured$url, use_redux = FALSE)
  on.exit(client$close(), add = TRUE)
  expect_identical(client$command(list("PING")), "PONG")
})

test_that("a wrong password gives a clear error that does not contain the password", {
  url <- sprintf("redis://:wrong-secret@127.0.0.1:%d", secured$port)
  error <- tryCatch(redis_connect(url, use_redux = FALSE), redis_error = function(e) conditionMessage(e))
  expect_match(error, sprintf("Redis at 127.0.0.1:%d/0 rejected the password", secured$port), fixed = TRUE)
  expect_false(grepl("wrong-secret", error, fixed = TRUE))
})

test_that("no password where one is required gives Redis's NOAUTH error", {
  client <- redis_connect(sprintf("redis://127.0.0.1:%d", secured$port), use_redux = FALSE, connect_now = FALSE)
  on.exit(client$close(), add = TRUE)
  expect_error(client$command(list("GET", "x")), "NOAUTH", class = "redis_reply_error")
})

test_that("the URL's database number is selected on connect", {
  in_db3 <- redis_connect(paste0(server$url, "/3"), use_redux = FALSE)
  in_db0 <- redis_connect(server$url, use_redux = FALSE)
  on.exit({
    in_db3$close()
    in_db0$close()
  }, add = TRUE)
  in_db3$command(list("SET", "where", "three"))
  expect_identical(in_db3$get_raw("where"), charToRaw("three"))
  expect_null(in_db0$get_raw("where"))
})

test_that("connecting where nothing listens fails at once with a clear error", {
  port <- free_port()
  error <- tryCatch(
    redis_connect(sprintf("redis://127.0.0.1:%d", port), use_redux = FALSE, timeout_seconds = 1),
    redis_error = function(e) conditionMessage(e)
  )
  expect_match(error, sprintf("cannot connect to Redis at 127.0.0.1:%d/0", port), fixed = TRUE)
  expect_match(error, "is redis-server running there?", fixed = TRUE)
})

test_that("Redis URLs are parsed into host, port, credentials and database", {
  parsed <- parse_redis_url("redis://:s%40cret@cache.internal:6380/2")
  expect_identical(parsed[c("tls", "host", "port", "password", "db")], list(tls = FALSE, host = "cache.internal", port = 6380L, password = "s@cret", db = 2L))
  expect_null(parsed$username)
  expect_identical(parsed$where, "cache.internal:6380/2")
  expect_identical(parse_redis_url("redis://127.0.0.1")[c("port", "db")], list(port = 6379L, db = 0L))
  expect_identical(parse_redis_url("rediss://user:pw@[::1]:7000")[c("tls", "host", "username", "password")], list(tls = TRUE, host = "::1", username = "user", password = "pw"))
  expect_error(parse_redis_url("http://localhost"), "must be a URL starting with redis:// or rediss://")
  expect_error(parse_redis_url("redis://host:99999"), "port between 1 and 65535")
})
