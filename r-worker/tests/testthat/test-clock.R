test_that("timestamps are ISO 8601 UTC with milliseconds, like Date#toISOString", {
  seconds <- as.numeric(as.POSIXct("2026-11-22 01:02:03", tz = "UTC")) + 0.456
  expect_identical(format_iso_time(seconds), "2026-11-22T01:02:03.456Z")
  expect_identical(format_iso_time(as.numeric(as.POSIXct("2026-11-22 01:02:03", tz = "UTC")) + 0.9996), "2026-11-22T01:02:04.000Z")
  expect_match(iso_now(), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$")
})
