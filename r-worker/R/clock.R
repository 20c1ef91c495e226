# Timestamps as the status record and the logs write them: ISO 8601, UTC, milliseconds, e.g.
# 2026-11-22T01:02:03.456Z (what JavaScript's Date#toISOString gives).

format_iso_time <- function(seconds) {
  total_ms <- round(as.numeric(seconds) * 1000)
  whole <- total_ms %/% 1000
  stamp <- format(as.POSIXct(whole, origin = "1970-01-01", tz = "UTC"), "%Y-%m-%dT%H:%M:%S", tz = "UTC")
  sprintf("%s.%03dZ", stamp, as.integer(total_ms %% 1000))
}

iso_now <- function() {
  format_iso_time(Sys.time())
}
