# Timestamps as the status record and the logs write them: ISO 8601, UTC, milliseconds, e.g.
# 2026-11-22T01:02:03.456Z (what JavaScript's Date#toISOString gives).

# By arithmetic (days to a civil date as in Howard Hinnant's civil_from_days), not R's POSIXct
# formatting, which costs ~0.4 ms a call: the R service stamps every submission and every progress
# step. test-clock.R checks it against R's own formatting.
format_iso_time <- function(seconds) {
  total_ms <- round(as.numeric(seconds) * 1000)
  days <- total_ms %/% 86400000
  ms_of_day <- total_ms - days * 86400000
  z <- days + 719468
  era <- z %/% 146097
  day_of_era <- z - era * 146097
  year_of_era <- (day_of_era - day_of_era %/% 1460 + day_of_era %/% 36524 - day_of_era %/% 146096) %/% 365
  day_of_year <- day_of_era - (365 * year_of_era + year_of_era %/% 4 - year_of_era %/% 100)
  month_from_march <- (5 * day_of_year + 2) %/% 153
  day <- day_of_year - (153 * month_from_march + 2) %/% 5 + 1
  month <- month_from_march + 3 - 12 * (month_from_march >= 10)
  year <- year_of_era + era * 400 + (month <= 2)
  sprintf(
    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", as.integer(year), as.integer(month), as.integer(day),
    as.integer(ms_of_day %/% 3600000), as.integer(ms_of_day %/% 60000 %% 60), as.integer(ms_of_day %/% 1000 %% 60),
    as.integer(ms_of_day %% 1000)
  )
}

iso_now <- function() {
  format_iso_time(Sys.time())
}
