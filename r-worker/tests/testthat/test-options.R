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

test_that("the R option limits are OPTION_LIMITS from rules.json", {
  limits <- contract("rules.json")$option_limits
  for (name in names(limits)) expect_identical(option_limit(name), limits[[name]])
  expect_identical(option_limit("maxDelaySeconds"), 2592000L)
})

test_that("priority: a whole number 0-9", {
  expect_identical(options_problems('{"priority": 9}')$checked, list(priority = 9))
  expect_identical(options_problems('{"priority": 0}')$checked, list(priority = 0))
  for (bad in c("10", "-1", "1.5", '"3"', "null")) {
    expect_option_fields(sprintf('{"priority": %s}', bad), "options.priority must be a whole number between 0 and 9")
  }
})

test_that("countdown: seconds 0-2592000, not together with eta", {
  expect_identical(options_problems('{"countdown": 1.5}')$checked, list(countdown = 1.5))
  expect_option_fields('{"countdown": -1}', "options.countdown must be at least 0")
  expect_option_fields('{"countdown": 2592001}', "options.countdown must be at most 2592000")
  expect_option_fields('{"countdown": "soon"}', "options.countdown must be a number of seconds")
  expect_option_fields('{"countdown": 5, "eta": "2026-01-01T00:00:00Z"}', "options.countdown must not be given together with eta")
})

test_that("eta: an ISO 8601 date-time with offset, at most 30 days ahead", {
  now <- as.POSIXct("2026-11-22 00:00:00", tz = "UTC")
  problems <- new_problem_list()
  checked <- validate_task_options(list(eta = "2026-12-22T00:00:00Z"), problems, now = now)
  expect_identical(checked, list(eta = "2026-12-22T00:00:00Z"))
  problems <- new_problem_list()
  expect_null(validate_task_options(list(eta = "2026-12-22T00:00:00.001Z"), problems, now = now))
  expect_identical(problems$all(), list(list(field = "options.eta", message = "must be at most 30 days ahead")))
  expect_option_fields('{"eta": "2026-01-01T00:00"}', "options.eta must be an ISO 8601 date-time")
  expect_option_fields('{"eta": 5}', "options.eta must be an ISO 8601 date-time")
})

test_that("as zod does, the rules across fields wait until no field has a value of the wrong kind", {
  both <- '"countdown": 5, "eta": "2026-01-01T00:00:00Z"'
  expect_option_fields(sprintf('{%s, "priority": 10}', both), c(
    "options.priority must be a whole number between 0 and 9", "options.countdown must not be given together with eta"
  ))
  expect_option_fields(sprintf('{%s, "priority": 1.5}', both), "options.priority must be a whole number between 0 and 9")
  expect_option_fields(sprintf('{%s, "backoff": {"type": "x", "delay_ms": 1}}', both), "options.backoff.type must be fixed or exponential")
  expect_option_fields(sprintf('{%s, "extra": 1}', both), c("options.extra is not an allowed field", "options.countdown must not be given together with eta"))
  expect_option_fields(sprintf('{%s, "soft_time_limit_ms": 5, "time_limit_ms": 1}', both), c(
    "options.countdown must not be given together with eta", "options.soft_time_limit_ms must not be longer than time_limit_ms"
  ))
})

test_that("valid options come back as given, with jitter defaulting to true", {
  found <- options_problems('{"max_attempts": 5, "backoff": {"type": "fixed", "delay_ms": 250}, "soft_time_limit_ms": 100, "time_limit_ms": 100, "expires": 60}')
  expect_identical(found$fields, character(0))
  expect_identical(found$checked, list(
    max_attempts = 5, backoff = list(type = "fixed", delay_ms = 250, jitter = TRUE),
    soft_time_limit_ms = 100, time_limit_ms = 100, expires = 60L
  ))
  expect_identical(options_problems('{"priority": 7, "countdown": 2}')$checked, list(priority = 7, countdown = 2))
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

test_that("options resolve against the task's defaults, each option on its own, in TaskOptions order", {
  now <- as.POSIXct("2026-11-22 01:02:03.25", tz = "UTC")
  defaults <- task_defaults("long_task")
  resolved <- resolve_task_options(defaults, list(), now = now)
  expect_identical(resolved, list(
    max_attempts = 3L, backoff = list(type = "exponential", delay_ms = 1000L, jitter = TRUE),
    soft_time_limit_ms = NULL, time_limit_ms = NULL, expires_at = NULL, priority = 5L, eta = NULL
  ))
  resolved <- resolve_task_options(defaults, list(max_attempts = 1, time_limit_ms = 500, expires = 60, priority = 9), now = now)
  expect_identical(resolved$max_attempts, 1L)
  expect_identical(resolved$time_limit_ms, 500)
  expect_null(resolved$soft_time_limit_ms)
  expect_identical(resolved$expires_at, "2026-11-22T01:03:03.250Z")
  expect_identical(resolved$priority, 9L)
  with_backoff <- list(type = "fixed", delay_ms = 10, jitter = FALSE)
  expect_identical(resolve_task_options(task_defaults("lm_fit"), list(backoff = with_backoff))$backoff, with_backoff)
})

test_that("eta comes from eta, or from a countdown > 0 (rounded to the millisecond), else null", {
  now <- as.POSIXct("2026-11-22 01:02:03.25", tz = "UTC")
  resolve <- function(options) resolve_task_options(task_defaults("lm_fit"), options, now = now)$eta
  expect_identical(resolve(list(eta = "2026-11-23T02:00:00+01:00")), "2026-11-23T01:00:00.000Z")
  expect_identical(resolve(list(countdown = 1.2345)), "2026-11-22T01:02:04.485Z")
  expect_identical(resolve(list(countdown = 0.0005)), "2026-11-22T01:02:03.251Z")
  expect_null(resolve(list(countdown = 0)))
  expect_null(resolve(list()))
})

test_that("an expires date-time becomes UTC with milliseconds, as Date#toISOString gives it", {
  resolve <- function(expires) resolve_task_options(task_defaults("lm_fit"), list(expires = expires))$expires_at
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
