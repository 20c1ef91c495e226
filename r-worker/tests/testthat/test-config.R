test_that("defaults apply when no variable is set", {
  config <- read_config(c())
  expect_identical(config$redis_url, "redis://127.0.0.1:6379")
  expect_identical(config$key_prefix, "switchyard")
  expect_identical(config$result_ttl_seconds, 86400)
  expect_identical(config$log_level, "info")
  expect_identical(config$host, "0.0.0.0")
  expect_identical(config$port, 8000)
  expect_identical(config$max_concurrent_tasks, 4)
  expect_identical(config$long_task_step_ms, 1000)
  expect_identical(config$shutdown_grace_ms, 25000)
  expect_identical(config$heartbeat_ttl_seconds, 15)
  expect_identical(config$redis_retry_seconds, 30)
})

test_that("REDIS_RETRY_SECONDS is read, and must be a whole number between 0 and 600", {
  expect_identical(read_config(c(REDIS_RETRY_SECONDS = "0"))$redis_retry_seconds, 0)
  expect_identical(read_config(c(REDIS_RETRY_SECONDS = "600"))$redis_retry_seconds, 600)
  for (bad in c("-1", "601", "2.5", "soon", "")) {
    error <- tryCatch(read_config(c(REDIS_RETRY_SECONDS = bad)), config_error = function(e) conditionMessage(e))
    expect_match(error, sprintf('REDIS_RETRY_SECONDS must be a whole number between 0 and 600 (got "%s")', bad), fixed = TRUE)
  }
})

test_that("HEARTBEAT_TTL_SECONDS is read, and must be a whole number between 3 and 300", {
  expect_identical(read_config(c(HEARTBEAT_TTL_SECONDS = "3"))$heartbeat_ttl_seconds, 3)
  expect_identical(read_config(c(HEARTBEAT_TTL_SECONDS = "300"))$heartbeat_ttl_seconds, 300)
  for (bad in c("2", "301", "1.5", "ten", "")) {
    error <- tryCatch(read_config(c(HEARTBEAT_TTL_SECONDS = bad)), config_error = function(e) conditionMessage(e))
    expect_match(error, sprintf('HEARTBEAT_TTL_SECONDS must be a whole number between 3 and 300 (got "%s")', bad), fixed = TRUE)
  }
})

test_that("set variables are read and trimmed", {
  config <- read_config(c(PORT = " 9001 ", MAX_CONCURRENT_TASKS = "2", LOG_LEVEL = "debug", KEY_PREFIX = "sy.test-1"))
  expect_identical(config$port, 9001)
  expect_identical(config$max_concurrent_tasks, 2)
  expect_identical(config$log_level, "debug")
  expect_identical(config$key_prefix, "sy.test-1")
})

test_that("every bad variable is named with what it must be", {
  error <- tryCatch(
    read_config(c(
      PORT = "80a", RESULT_TTL_SECONDS = "59", LOG_LEVEL = "loud", MAX_CONCURRENT_TASKS = "0",
      LONG_TASK_STEP_MS = "60001", KEY_PREFIX = "a:b", SHUTDOWN_GRACE_MS = "-1", HOST = " "
    )),
    config_error = function(e) conditionMessage(e)
  )
  expect_match(error, "^Invalid configuration:")
  expect_match(error, 'PORT must be a whole number between 1 and 65535 (got "80a")', fixed = TRUE)
  expect_match(error, 'RESULT_TTL_SECONDS must be a whole number between 60 and 2592000 (got "59")', fixed = TRUE)
  expect_match(error, 'LOG_LEVEL must be one of: debug, info, warn, error (got "loud")', fixed = TRUE)
  expect_match(error, "MAX_CONCURRENT_TASKS must be a whole number between 1 and 256", fixed = TRUE)
  expect_match(error, "LONG_TASK_STEP_MS must be a whole number between 0 and 60000", fixed = TRUE)
  expect_match(error, "KEY_PREFIX must be 1-64 letters, digits, '_', '.' or '-'", fixed = TRUE)
  expect_match(error, "SHUTDOWN_GRACE_MS must be a whole number between 0 and 3600000", fixed = TRUE)
  expect_match(error, "HOST must not be empty", fixed = TRUE)
})

test_that("a bad REDIS_URL is reported without echoing it, since it may hold a password", {
  error <- tryCatch(read_config(c(REDIS_URL = "http://:hunter2@x")), config_error = function(e) conditionMessage(e))
  expect_match(error, "REDIS_URL must be a URL starting with redis:// or rediss://", fixed = TRUE)
  expect_false(grepl("hunter2", error, fixed = TRUE))
})

test_that("rediss:// without redux installed is refused with a message saying TLS needs redux", {
  skip_if(redux_available(), "redux is installed here, so rediss:// is accepted")
  error <- tryCatch(read_config(c(REDIS_URL = "rediss://:pw@redis.example:6380")), config_error = function(e) conditionMessage(e))
  expect_match(error, "REDIS_URL uses rediss:// (TLS), which needs the redux R package", fixed = TRUE)
  expect_false(grepl("pw@", error, fixed = TRUE))
})

test_that("main.R exits with status 2 and names the variable when the configuration is bad", {
  result <- processx::run(
    "Rscript", file.path(r_worker_dir, "main.R"),
    env = c("current", PORT = "99999", REDIS_URL = "redis://:topsecret@127.0.0.1:1"),
    error_on_status = FALSE, timeout = 60
  )
  expect_identical(result$status, 2L)
  expect_match(result$stderr, "PORT must be a whole number between 1 and 65535", fixed = TRUE)
  expect_false(grepl("topsecret", paste(result$stdout, result$stderr), fixed = TRUE))
})
