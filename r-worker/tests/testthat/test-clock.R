test_that("timestamps are ISO 8601 UTC with milliseconds, like Date#toISOString", {
  seconds <- as.numeric(as.POSIXct("2026-11-22 01:02:03", tz = "UTC")) + 0.456
  expect_identical(format_iso_time(seconds), "2026-11-22T01:02:03.456Z")
  expect_identical(format_iso_time(as.numeric(as.POSIXct("2026-11-22 01:02:03", tz = "UTC")) + 0.9996), "2026-11-22T01:02:04.000Z")
  expect_match(iso_now(), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$")
})

test_that("timestamps agree with R's own UTC formatting over four centuries, leap days and the epoch included", {
  by_posixct <- function(seconds) {
    total_ms <- round(seconds * 1000)
    stamp <- format(as.POSIXct(total_ms %/% 1000, origin = "1970-01-01", tz = "UTC"), "%Y-%m-%dT%H:%M:%S", tz = "UTC")
    sprintf("%s.%03dZ", stamp, as.integer(total_ms %% 1000))
  }
  set.seed(7)
  instants <- c(
    0, 0.001, 86399.999, 951782400, 951868799.5, 4107542400, 4107628799, 1709164800, 1735689599.999,
    runif(2000, 0, as.numeric(as.POSIXct("2400-01-01", tz = "UTC")))
  )
  expect_identical(vapply(instants, format_iso_time, ""), vapply(instants, by_posixct, ""))
})
