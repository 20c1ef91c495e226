# The option rules of TaskOptionsRequest (shared/src/options.ts); tests/r-worker/options.test.ts
# checks the same cases against the zod schema itself.

options_problems <- function(json) {
  problems <- new_problem_list()
  checked <- validate_task_options(jsonlite::parse_json(json, simplifyVector = FALSE), problems)
  list(checked = checked, fields = vapply(problems$all(), function(p) paste(p$field, p$message), ""))
}

expect_option_fields <- function(json, expected) {
  found <- options_problems(json)
  expect_identical(found$fields, expected, label = json)
  expect_null(found$checked)
}

test_that("the R option limits are OPTION_LIMITS from shared/src/options.ts", {
  source_lines <- shared_source("options.ts")
  limit <- function(name) {
    line <- grep(sprintf("^\\s+%s: [0-9_ *]+,", name), source_lines, value = TRUE)
    expect_length(line, 1)
    eval(parse(text = gsub("_", "", sub("^.*: ([0-9_ *]+),.*$", "\\1", line))))
  }
  expect_identical(option_limits$max_attempts, limit("maxAttempts"))
  expect_identical(option_limits$max_backoff_ms, limit("maxBackoffMs"))
  expect_identical(option_limits$max_time_limit_ms, limit("maxTimeLimitMs"))
  expect_identical(option_limits$max_expires_seconds, limit("maxExpiresSeconds"))
})

test_that("valid options come back as given, with jitter defaulting to true", {
  found <- options_problems('{"max_attempts": 5, "backoff": {"type": "fixed", "delay_ms": 250}, "soft_time_limit_ms": 100, "time_limit_ms": 100, "expires": 60}')
  expect_identical(found$fields, character(0))
  expect_identical(found$checked, list(
    max_attempts = 5, backoff = list(type = "fixed", delay_ms = 250, jitter = TRUE),
    soft_time_limit_ms = 100, time_limit_ms = 100, expires = 60L
  ))
  expect_identical(options_problems("{}")$checked, setNames(list(), character(0)))
  expect_identical(options_problems('{"backoff": {"type": "exponential", "delay_ms": 0, "jitter": false}}')$checked$backoff$jitter, FALSE)
})

test_that("options that are not an object are refused", {
  for (json in c('"x"', "[]", "null", "5")) expect_option_fields(json, "options must be an object")
})

test_that("whole-number options say their range", {
  expect_option_fields('{"max_attempts": 0}', "options.max_attempts must be a whole number between 1 and 10")
  expect_option_fields('{"max_attempts": 11}', "options.max_attempts must be a whole number between 1 and 10")
  expect_option_fields('{"max_attempts": 1.5}', "options.max_attempts must be a whole number between 1 and 10")
  expect_option_fields('{"max_attempts": "3"}', "options.max_attempts must be a whole number between 1 and 10")
  expect_option_fields('{"max_attempts": null}', "options.max_attempts must be a whole number between 1 and 10")
  expect_option_fields('{"soft_time_limit_ms": 0}', "options.soft_time_limit_ms must be a whole number between 1 and 86400000")
  expect_option_fields('{"time_limit_ms": 86400001}', "options.time_limit_ms must be a whole number between 1 and 86400000")
})

test_that("backoff needs a known type and a whole delay; jitter must be true or false; nothing else", {
  expect_option_fields('{"backoff": "x"}', "options.backoff must be an object")
  expect_option_fields('{"backoff": []}', "options.backoff must be an object")
  expect_option_fields('{"backoff": {}}', c(
    "options.backoff.type must be fixed or exponential", "options.backoff.delay_ms is required"
  ))
  expect_option_fields('{"backoff": {"type": "linear", "delay_ms": -1, "jitter": "yes"}}', c(
    "options.backoff.type must be fixed or exponential",
    "options.backoff.delay_ms must be a whole number between 0 and 3600000",
    "options.backoff.jitter must be true or false"
  ))
  expect_option_fields('{"backoff": {"type": "fixed", "delay_ms": 3600001}}', "options.backoff.delay_ms must be a whole number between 0 and 3600000")
  expect_option_fields('{"backoff": {"type": "fixed", "delay_ms": 0, "jitter": null}}', "options.backoff.jitter must be true or false")
  expect_option_fields('{"backoff": {"type": "fixed", "delay_ms": 10, "extra": 1}}', "options.backoff.extra is not an allowed field")
})

test_that("unknown option keys are named, after the known ones, as zod orders them", {
  expect_option_fields('{"foo": 1, "max_attempts": 0, "bar": 2}', c(
    "options.max_attempts must be a whole number between 1 and 10",
    "options.foo is not an allowed field",
    "options.bar is not an allowed field"
  ))
})

test_that("a soft limit longer than the hard limit is refused on soft_time_limit_ms", {
  expect_option_fields('{"soft_time_limit_ms": 2000, "time_limit_ms": 1000}', "options.soft_time_limit_ms must not be longer than time_limit_ms")
  expect_option_fields('{"soft_time_limit_ms": 2000, "time_limit_ms": 1000, "foo": 1}', c(
    "options.foo is not an allowed field", "options.soft_time_limit_ms must not be longer than time_limit_ms"
  ))
  expect_option_fields('{"soft_time_limit_ms": 86400001, "time_limit_ms": 1000}', c(
    "options.soft_time_limit_ms must be a whole number between 1 and 86400000",
    "options.soft_time_limit_ms must not be longer than time_limit_ms"
  ))
  expect_identical(options_problems('{"soft_time_limit_ms": 1000, "time_limit_ms": 1000}')$fields, character(0))
})

test_that("expires is an ISO 8601 date-time with seconds and a zone, or a positive number of seconds up to 30 days", {
  for (ok in c(
    '"2026-01-01T00:00:00Z"', '"2026-01-01T00:00:00+02:00"', '"2026-01-01T00:00:00.123456789Z"',
    '"2024-02-29T00:00:00Z"', '"2000-02-29T23:59:59-00:00"', "2592000", "0.5"
  )) {
    expect_identical(options_problems(sprintf('{"expires": %s}', ok))$fields, character(0), label = ok)
  }
  rule <- "options.expires must be an ISO 8601 date-time or a number of seconds"
  for (bad in c(
    '"2020-01-01"', '"2026-01-01T00:00Z"', '"2026-01-01 00:00:00Z"', '"2026-01-01T00:00:00"',
    '"2026-02-30T00:00:00Z"', '"2023-02-29T00:00:00Z"', '"1900-02-29T00:00:00Z"', '"2026-01-01T24:00:00Z"',
    '"2026-01-01T00:00:60Z"', '"2026-01-01T00:00:00+0200"', '"2026-01-01T00:00:00+24:00"',
    '"2026-01-01t00:00:00z"', '"2026-01-01T00:00:00.Z"', '""', "true", "null", "{}", "[]"
  )) {
    expect_option_fields(sprintf('{"expires": %s}', bad), rule)
  }
  expect_option_fields('{"expires": 0}', "options.expires must be greater than 0")
  expect_option_fields('{"expires": -1}', "options.expires must be greater than 0")
  expect_option_fields('{"expires": 2592001}', "options.expires must be at most 2592000")
})

test_that("options resolve against the task's defaults, each option on its own", {
  now <- as.POSIXct("2026-11-22 01:02:03.25", tz = "UTC")
  defaults <- r_tasks$long_task$defaults
  resolved <- resolve_task_options(defaults, list(), now = now)
  expect_identical(resolved, list(
    max_attempts = 3L, backoff = defaults$backoff, soft_time_limit_ms = NULL, time_limit_ms = NULL, expires_at = NULL
  ))
  resolved <- resolve_task_options(defaults, list(max_attempts = 1, time_limit_ms = 500, expires = 60), now = now)
  expect_identical(resolved$max_attempts, 1L)
  expect_identical(resolved$backoff, defaults$backoff)
  expect_identical(resolved$time_limit_ms, 500)
  expect_null(resolved$soft_time_limit_ms)
  expect_identical(resolved$expires_at, "2026-11-22T01:03:03.250Z")
  with_backoff <- list(type = "fixed", delay_ms = 10, jitter = FALSE)
  expect_identical(resolve_task_options(no_retry, list(backoff = with_backoff))$backoff, with_backoff)
})

test_that("an expires date-time becomes UTC with milliseconds, as Date#toISOString gives it", {
  resolve <- function(expires) resolve_task_options(no_retry, list(expires = expires))$expires_at
  expect_identical(resolve("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00.000Z")
  expect_identical(resolve("2026-01-01T02:30:00+02:30"), "2026-01-01T00:00:00.000Z")
  expect_identical(resolve("2025-12-31T23:00:00.987654-01:00"), "2026-01-01T00:00:00.987Z")
  expect_identical(resolve("2024-02-29T12:00:00.5Z"), "2024-02-29T12:00:00.500Z")
})

test_that("the backoff waits fixed, or doubling, with jitter in [delay/2, delay]", {
  fixed <- list(type = "fixed", delay_ms = 1000, jitter = FALSE)
  expect_identical(vapply(1:3, function(r) backoff_delay_ms(fixed, r), 1), c(1000, 1000, 1000))
  exponential <- list(type = "exponential", delay_ms = 1000, jitter = FALSE)
  expect_identical(vapply(1:4, function(r) backoff_delay_ms(exponential, r), 1), c(1000, 2000, 4000, 8000))
  expect_identical(backoff_delay_ms(list(type = "exponential", delay_ms = 3600000, jitter = FALSE), 5), 3600000)
  jittered <- list(type = "exponential", delay_ms = 1000, jitter = TRUE)
  expect_identical(backoff_delay_ms(jittered, 2, random = function(n) 0), 1000)
  expect_identical(backoff_delay_ms(jittered, 2, random = function(n) 1), 2000)
  expect_identical(backoff_delay_ms(jittered, 1, random = function(n) 0.5), 750)
  draws <- vapply(1:200, function(i) backoff_delay_ms(jittered, 1), 1)
  expect_true(all(draws >= 500 & draws <= 1000))
})
