# Delivery options of POST /tasks (`options`): the rules and messages of TaskOptionsRequest in
# shared/src/options.ts (limits from rules.json), resolution against the task's defaults
# (resolveOptions) and the retry backoff (backoffDelayMs). The gateway checks the same rules first;
# tests/testthat/test-options.R and tests/r-worker/options.test.ts fail when the R rules drift.
#
# As zod does, the rules across fields (countdown with eta, eta at most 30 days ahead, soft limit
# within the hard one) are checked only when no field had a value of the wrong kind (a wrong type, a
# fraction where a whole number belongs, an unknown backoff type): an out-of-range value or an
# unknown field does not stop them.

# OPTION_LIMITS of options.ts, from rules.json (option_limits).
option_limit <- function(name) shared_rules()$option_limits[[name]]

option_fields <- c("max_attempts", "backoff", "soft_time_limit_ms", "time_limit_ms", "expires", "priority", "countdown", "eta")
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

eta_rule <- "must be an ISO 8601 date-time"

# Checks the `options` object of a submission, adding every problem to `problems` with its field
# ("options.backoff.delay_ms"), in the order zod reports them. Returns the options as given (jitter
# defaulted to true), or NULL when any is wrong. `now`: seconds since the epoch (for eta's bound).
validate_task_options <- function(options, problems, now = Sys.time()) {
  if (!is_json_object(options)) {
    problems$add("options", "must be an object")
    return(NULL)
  }
  before <- problems$count()
  wrong_kind <- FALSE # a problem after which zod skips the rules across fields
  whole <- function(name, min, max) {
    if (!has_field(options, name)) {
      return(NULL)
    }
    value <- options[[name]]
    if (!is_whole_number_between(value, min, max)) {
      if (!is_json_number(value) || !is.finite(value) || value != trunc(value)) wrong_kind <<- TRUE
      problems$add(paste0("options.", name), sprintf("must be a whole number between %s and %s", format_whole(min), format_whole(max)))
      return(NULL)
    }
    as.numeric(value)
  }
  checked <- list()
  checked["max_attempts"] <- list(whole("max_attempts", 1, option_limit("maxAttempts")))
  if (has_field(options, "backoff")) {
    backoff <- check_backoff(options$backoff, problems)
    if (isTRUE(attr(backoff, "wrong_kind"))) wrong_kind <- TRUE
    attr(backoff, "wrong_kind") <- NULL
    checked["backoff"] <- list(backoff)
  }
  checked["soft_time_limit_ms"] <- list(whole("soft_time_limit_ms", 1, option_limit("maxTimeLimitMs")))
  checked["time_limit_ms"] <- list(whole("time_limit_ms", 1, option_limit("maxTimeLimitMs")))
  if (has_field(options, "expires")) {
    if (!is_json_string(options$expires) && !is_json_number(options$expires)) wrong_kind <- TRUE
    checked["expires"] <- list(check_expires(options$expires, problems))
  }
  checked["priority"] <- list(whole("priority", option_limit("minPriority"), option_limit("maxPriority")))
  if (has_field(options, "countdown")) {
    countdown <- options$countdown
    field <- "options.countdown"
    if (!is_json_number(countdown) || !is.finite(countdown)) {
      wrong_kind <- TRUE
      problems$add(field, "must be a number of seconds")
    } else if (countdown < 0) {
      problems$add(field, "must be at least 0")
    } else if (countdown > option_limit("maxDelaySeconds")) {
      problems$add(field, sprintf("must be at most %s", format_whole(option_limit("maxDelaySeconds"))))
    } else {
      checked["countdown"] <- list(as.numeric(countdown))
    }
  }
  eta_valid <- FALSE
  if (has_field(options, "eta")) {
    eta <- options$eta
    if (!is_json_string(eta)) {
      wrong_kind <- TRUE
      problems$add("options.eta", eta_rule)
    } else if (!grepl(iso_datetime_pattern, eta, perl = TRUE)) {
      problems$add("options.eta", eta_rule)
    } else {
      eta_valid <- TRUE
      checked["eta"] <- list(eta)
    }
  }
  for (extra in setdiff(names(options), option_fields)) {
    problems$add(paste0("options.", extra), "is not an allowed field")
  }
  if (!wrong_kind) {
    if (has_field(options, "countdown") && has_field(options, "eta")) {
      problems$add("options.countdown", "must not be given together with eta")
    }
    if (eta_valid && parse_iso_datetime(options$eta) > as.numeric(now) + option_limit("maxDelaySeconds")) {
      problems$add("options.eta", "must be at most 30 days ahead")
    }
    soft <- options$soft_time_limit_ms
    hard <- options$time_limit_ms
    if (is_json_number(soft) && is_json_number(hard) && soft > hard) {
      problems$add("options.soft_time_limit_ms", "must not be longer than time_limit_ms")
    }
  }
  if (problems$count() > before) {
    return(NULL)
  }
  Filter(Negate(is.null), checked)
}

check_backoff <- function(backoff, problems) {
  if (!is_json_object(backoff)) {
    problems$add("options.backoff", "must be an object")
    return(structure(list(), wrong_kind = TRUE))
  }
  wrong_kind <- FALSE
  if (!is_json_string(backoff$type) || !backoff$type %in% c("fixed", "exponential")) {
    wrong_kind <- TRUE
    problems$add("options.backoff.type", "must be fixed or exponential")
  }
  max_backoff <- option_limit("maxBackoffMs")
  if (!has_field(backoff, "delay_ms")) {
    wrong_kind <- TRUE
    problems$add("options.backoff.delay_ms", "is required")
  } else if (!is_whole_number_between(backoff$delay_ms, 0, max_backoff)) {
    delay <- backoff$delay_ms
    if (!is_json_number(delay) || !is.finite(delay) || delay != trunc(delay)) wrong_kind <- TRUE
    problems$add("options.backoff.delay_ms", sprintf("must be a whole number between 0 and %s", format_whole(max_backoff)))
  }
  jitter <- if (has_field(backoff, "jitter")) backoff$jitter else TRUE
  if (!(is.logical(jitter) && length(jitter) == 1 && !is.na(jitter))) {
    wrong_kind <- TRUE
    problems$add("options.backoff.jitter", "must be true or false")
  }
  for (extra in setdiff(names(backoff), backoff_fields)) {
    problems$add(paste0("options.backoff.", extra), "is not an allowed field")
  }
  structure(list(type = backoff$type, delay_ms = as.numeric(backoff$delay_ms), jitter = jitter), wrong_kind = wrong_kind)
}

# A date-time (kept as given) or a number of seconds from now.
check_expires <- function(expires, problems) {
  field <- "options.expires"
  if (is_json_string(expires)) {
    if (!grepl(iso_datetime_pattern, expires, perl = TRUE)) problems$add(field, expires_rule)
  } else if (is_json_number(expires) && !is.na(expires)) {
    if (expires <= 0) {
      problems$add(field, "must be greater than 0")
    } else if (expires > option_limit("maxExpiresSeconds")) {
      problems$add(field, sprintf("must be at most %s", format_whole(option_limit("maxExpiresSeconds"))))
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

# What a task runs with, every option resolved (TaskOptions), in TypeScript's field order:
# max_attempts, backoff, soft_time_limit_ms and time_limit_ms (NULL: none), expires_at (an ISO
# timestamp, or NULL), priority (0-9), eta (an ISO timestamp from eta, or from a countdown > 0; NULL).
resolve_task_options <- function(defaults, requested = list(), now = Sys.time()) {
  now_ms <- floor(as.numeric(now) * 1000) # Date.now(): whole milliseconds
  expires <- requested$expires
  expires_at <- if (is.null(expires)) {
    NULL
  } else if (is.character(expires)) {
    format_iso_time(parse_iso_datetime(expires))
  } else {
    # As JavaScript's new Date(ms) does: whole milliseconds, the fraction cut off.
    format_iso_time(floor(now_ms + expires * 1000) / 1000)
  }
  eta <- if (!is.null(requested$eta)) {
    format_iso_time(parse_iso_datetime(requested$eta))
  } else if (!is.null(requested$countdown) && requested$countdown > 0) {
    format_iso_time((now_ms + floor(requested$countdown * 1000 + 0.5)) / 1000) # Math.round
  } else {
    NULL
  }
  backoff <- requested$backoff %or% defaults$backoff
  list(
    max_attempts = as.integer(requested$max_attempts %or% defaults$max_attempts),
    backoff = list(type = backoff$type, delay_ms = backoff$delay_ms, jitter = isTRUE(backoff$jitter)),
    soft_time_limit_ms = requested$soft_time_limit_ms %or% defaults$soft_time_limit_ms,
    time_limit_ms = requested$time_limit_ms %or% defaults$time_limit_ms,
    expires_at = expires_at,
    priority = as.integer(requested$priority %or% option_limit("defaultPriority")),
    eta = eta
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
  capped <- min(base, option_limit("maxBackoffMs"))
  delay <- if (isTRUE(backoff$jitter)) capped / 2 + random(1) * capped / 2 else capped
  floor(delay + 0.5) # Math.round
}
