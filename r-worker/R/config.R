# Configuration from environment variables, read and validated once at start-up, in the style of
# shared/src/config.ts: every bad variable is named with what it must be, and main.R exits with
# status 2. REDIS_URL is never echoed, since it may hold a password.

config_defaults <- c(
  REDIS_URL = "redis://127.0.0.1:6379", # rediss:// for TLS (needs redux), redis://:password@host:port/db
  KEY_PREFIX = "switchyard", # prefix of every Redis key (shared/src/keys.ts)
  RESULT_TTL_SECONDS = "86400", # how long a status record is kept after its last write
  LOG_LEVEL = "info", # least severe level logged: debug, info, warn or error
  HOST = "0.0.0.0", # interface the HTTP server listens on
  PORT = "8000", # port the HTTP server listens on
  MAX_CONCURRENT_TASKS = "4", # running children at most; one more task gets 429 worker_busy
  LONG_TASK_STEP_MS = "1000", # length of one long_task step
  SHUTDOWN_GRACE_MS = "25000", # on SIGTERM/SIGINT, how long running tasks may still run
  HEARTBEAT_TTL_SECONDS = "15", # life of a held task's heartbeat key; refreshed every third of it
  REDIS_RETRY_SECONDS = "30" # how long a task's child waits for Redis to come back before abandoning the task; 0: not at all
)

secret_variables <- c("REDIS_URL")

read_config <- function(env = Sys.getenv(names(config_defaults), unset = NA)) {
  env <- as.list(env)
  value <- function(name) {
    got <- env[[name]]
    if (is.null(got) || is.na(got)) config_defaults[[name]] else trimws(got)
  }
  problems <- character(0)
  complain <- function(name, rule) {
    got <- env[[name]]
    shown <- if (is.null(got) || is.na(got) || name %in% secret_variables) "" else sprintf(" (got \"%s\")", got)
    problems <<- c(problems, sprintf("  %s %s%s", name, rule, shown))
    NULL
  }
  whole_number <- function(name, min, max) {
    raw_value <- value(name)
    rule <- sprintf("must be a whole number between %s and %s", format_whole(min), format_whole(max))
    if (!grepl("^-?[0-9]+$", raw_value)) {
      return(complain(name, rule))
    }
    number <- as.numeric(raw_value)
    if (number < min || number > max) complain(name, rule) else number
  }
  one_of <- function(name, choices) {
    raw_value <- value(name)
    if (raw_value %in% choices) raw_value else complain(name, sprintf("must be one of: %s", paste(choices, collapse = ", ")))
  }

  redis_url <- value("REDIS_URL")
  redis <- tryCatch(parse_redis_url(redis_url), error = function(e) complain("REDIS_URL", conditionMessage(e)))
  if (!is.null(redis) && redis$tls && !redux_available()) {
    complain("REDIS_URL", "uses rediss:// (TLS), which needs the redux R package, and redux is not installed")
  }
  key_prefix <- value("KEY_PREFIX")
  if (!grepl(key_prefix_pattern, key_prefix)) {
    complain("KEY_PREFIX", "must be 1-64 letters, digits, '_', '.' or '-'")
  }
  host <- value("HOST")
  if (!nzchar(host)) {
    complain("HOST", "must not be empty")
  }
  config <- list(
    redis_url = redis_url,
    key_prefix = key_prefix,
    result_ttl_seconds = whole_number("RESULT_TTL_SECONDS", 60, 30 * 86400),
    log_level = one_of("LOG_LEVEL", names(log_severity)),
    host = host,
    port = whole_number("PORT", 1, 65535),
    max_concurrent_tasks = whole_number("MAX_CONCURRENT_TASKS", 1, 256),
    long_task_step_ms = whole_number("LONG_TASK_STEP_MS", 0, 60000),
    shutdown_grace_ms = whole_number("SHUTDOWN_GRACE_MS", 0, 3600000),
    heartbeat_ttl_seconds = whole_number("HEARTBEAT_TTL_SECONDS", 3, 300),
    redis_retry_seconds = whole_number("REDIS_RETRY_SECONDS", 0, 600)
  )
  if (length(problems) > 0) {
    stop(config_error(paste(c("Invalid configuration:", problems), collapse = "\n")))
  }
  config
}

config_error <- function(message) {
  structure(class = c("config_error", "error", "condition"), list(message = message, call = NULL))
}

format_whole <- function(x) {
  format(x, scientific = FALSE, big.mark = "")
}
