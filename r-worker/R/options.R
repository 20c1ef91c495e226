# Delivery options of POST /tasks (`options`): the rules and messages of TaskOptionsRequest in
# shared/src/options.ts, resolution against the task's defaults (resolveOptions) and the retry
# backoff (backoffDelayMs). The gateway checks the same rules first; tests/testthat/test-options.R and
# tests/r-worker/options.test.ts fail when the R rules drift from the TypeScript ones.

option_limits <- list(
  max_attempts = 10,
  max_backoff_ms = 3600000,
  max_time_limit_ms = 86400000,
  max_expires_seconds = 30 * 86400
)

option_fields <- c("max_attempts", "backoff", "soft_time_limit_ms", "time_limit_ms", "expires")
backoff_fields <- c("type", "delay_ms", "jitter")

# zod's z.iso.datetime({ offset: true }): a real calendar date (leap days included), `T`, seconds
# required, any fraction, then `Z` or an offset `+hh:mm` / `-hh:mm`.
iso_datetime_pattern <- paste0(
  "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29",
  "|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)",
  "|(?:02)-(?:0[1-9]|1\\d|2[0-8])))",
  "T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$"
)
expires_rule <- "must be an ISO 8601 date-time or a number of seconds"

# Checks the `options` object of a request, adding every problem to `problems` with its field
# ("options.backoff.delay_ms"), in the order zod reports them. Returns the options as given (jitter
# defaulted to true), or NULL when any is wrong.
validate_task_options <- function(options, problems) {
  if (!is_json_object(options)) {
    problems$add("options", "must be an object")
    return(NULL)
  }
  before <- problems$count()
  whole <- function(name, min, max) {
    if (!has_field(options, name)) {
      return(NULL)
    }
    value <- options[[name]]
    if (!is_whole_number_between(value, min, max)) {
      problems$add(paste0("options.", name), sprintf("must be a whole number between %s and %s", format_whole(min), format_whole(max)))
      return(NULL)
    }
    as.numeric(value)
  }
  checked <- list()
  checked["max_attempts"] <- list(whole("max_attempts", 1, option_limits$max_attempts))
  if (has_field(options, "backoff")) checked["backoff"] <- list(check_backoff(options$backoff, problems))
  checked["soft_time_limit_ms"] <- list(whole("soft_time_limit_ms", 1, option_limits$max_time_limit_ms))
  checked["time_limit_ms"] <- list(whole("time_limit_ms", 1, option_limits$max_time_limit_ms))
  if (has_field(options, "expires")) checked["expires"] <- list(check_expires(options$expires, problems))
  for (extra in setdiff(names(options), option_fields)) {
    problems$add(paste0("options.", extra), "is not an allowed field")
  }
  soft <- options$soft_time_limit_ms
  hard <- options$time_limit_ms
  if (is_json_number(soft) && is_json_number(hard) && is.finite(soft) && is.finite(hard) && soft > hard) {
    problems$add("options.soft_time_limit_ms", "must not be longer than time_limit_ms")
  }
  if (problems$count() > before) {
    return(NULL)
  }
  Filter(Negate(is.null), checked)
}

check_backoff <- function(backoff, problems) {
  if (!is_json_object(backoff)) {
    return(problems$add("options.backoff", "must be an object"))
  }
  if (!is_json_string(backoff$type) || !backoff$type %in% c("fixed", "exponential")) {
    problems$add("options.backoff.type", "must be fixed or exponential")
  }
  if (!has_field(backoff, "delay_ms")) {
    problems$add("options.backoff.delay_ms", "is required")
  } else if (!is_whole_number_between(backoff$delay_ms, 0, option_limits$max_backoff_ms)) {
    problems$add("options.backoff.delay_ms", sprintf("must be a whole number between 0 and %s", format_whole(option_limits$max_backoff_ms)))
  }
  jitter <- if (has_field(backoff, "jitter")) backoff$jitter else TRUE
  if (!(is.logical(jitter) && length(jitter) == 1 && !is.na(jitter))) {
    problems$add("options.backoff.jitter", "must be true or false")
  }
  for (extra in setdiff(names(backoff), backoff_fields)) {
    problems$add(paste0("options.backoff.", extra), "is not an allowed field")
  }
  list(type = backoff$type, delay_ms = as.numeric(backoff$delay_ms), jitter = jitter)
}

# A date-time (kept as given) or a number of seconds from now.
check_expires <- function(expires, problems) {
  field <- "options.expires"
  if (is_json_string(expires)) {
    if (!grepl(iso_datetime_pattern, expires, perl = TRUE)) problems$add(field, expires_rule)
  } else if (is_json_number(expires) && !is.na(expires)) {
    if (expires <= 0) {
      problems$add(field, "must be greater than 0")
    } else if (expires > option_limits$max_expires_seconds) {
      problems$add(field, sprintf("must be at most %s", format_whole(option_limits$max_expires_seconds)))
    }
  } else {
    problems$add(field, expires_rule)
  }
  expires
}

is_whole_number_between <- function(value, min, max) {
  is_json_number(value) && is.finite(value) && value == trunc(value) && value >= min && value <= max
}

`%or%` <- function(value, fallback) if (is.null(value)) fallback else value

# What a task runs with, every option resolved (TaskOptions): max_attempts, backoff,
# soft_time_limit_ms and time_limit_ms (NULL: none), expires_at (an ISO timestamp, or NULL).
resolve_task_options <- function(defaults, requested = list(), now = Sys.time()) {
  expires <- requested$expires
  expires_at <- if (is.null(expires)) {
    NULL
  } else if (is.character(expires)) {
    format_iso_time(parse_iso_datetime(expires))
  } else {
    # As JavaScript's new Date(ms) does: whole milliseconds, the fraction cut off.
    format_iso_time(floor(as.numeric(now) * 1000 + expires * 1000) / 1000)
  }
  list(
    max_attempts = as.integer(requested$max_attempts %or% defaults$max_attempts),
    backoff = requested$backoff %or% defaults$backoff,
    soft_time_limit_ms = requested$soft_time_limit_ms %or% defaults$soft_time_limit_ms,
    time_limit_ms = requested$time_limit_ms %or% defaults$time_limit_ms,
    expires_at = expires_at
  )
}

# Seconds since the epoch of a date-time that matches iso_datetime_pattern, to the millisecond (a
# longer fraction is cut off, as Date.parse does).
parse_iso_datetime <- function(text) {
  stopifnot(grepl(iso_datetime_pattern, text, perl = TRUE))
  base <- as.numeric(as.POSIXct(
    paste(substr(text, 1, 10), substr(text, 12, 19)),
    format = "%Y-%m-%d %H:%M:%S", tz = "UTC"
  ))
  digits <- sub("^\\.", "", regmatches(text, regexpr("\\.[0-9]+", text)))
  ms <- if (length(digits) == 0) 0 else as.numeric(substr(paste0(digits, "00"), 1, 3))
  offset <- 0
  if (!endsWith(text, "Z")) {
    zone <- substr(text, nchar(text) - 5, nchar(text))
    sign <- if (startsWith(zone, "-")) -1 else 1
    offset <- sign * (as.numeric(substr(zone, 2, 3)) * 3600 + as.numeric(substr(zone, 5, 6)) * 60)
  }
  base - offset + ms / 1000
}

# Milliseconds to wait before retry number `retry` (1 = the first retry): fixed waits delay_ms,
# exponential doubles it on each further retry; with jitter, uniform in [delay/2, delay].
backoff_delay_ms <- function(backoff, retry, random = stats::runif) {
  base <- if (identical(backoff$type, "fixed")) backoff$delay_ms else backoff$delay_ms * 2^max(0, retry - 1)
  capped <- min(base, option_limits$max_backoff_ms)
  delay <- if (isTRUE(backoff$jitter)) capped / 2 + random(1) * capped / 2 else capped
  floor(delay + 0.5) # Math.round
}
