# Configuration from environment variables, read and validated once at start-up, in the style of
# shared/src/config.ts: every bad variable is named with what it must be, and main.R exits with
# status 2. REDIS_URL, the Redis passwords and R_SERVICE_TOKEN are never echoed, since they hold secrets. config_defaults
# is the one list of the variables the R service reads (tests/deploy reads it too).

config_defaults <- c(
  REDIS_URL = "redis://127.0.0.1:6379", # rediss:// for TLS (needs redux), redis://:password@host:port/db; not with the two below
  REDIS_CLUSTER_NODES = "", # a Redis Cluster instead: some of its nodes, host:port,... (redis_deployment.R)
  REDIS_SENTINELS = "", # Redis Sentinel instead: the sentinels, host:port,...; with REDIS_SENTINEL_NAME
  REDIS_SENTINEL_NAME = "", # the name the sentinels monitor the master under
  REDIS_USERNAME = "", # ACL user of the cluster's nodes or the sentinel-managed servers (with REDIS_URL: in the URL)
  REDIS_PASSWORD = "", # password of the cluster's nodes or the sentinel-managed servers (with REDIS_URL: in the URL)
  REDIS_SENTINEL_PASSWORD = "", # password of the sentinels themselves, if they have one
  KEY_PREFIX = "switchyard", # prefix of every Redis key (shared/src/keys.ts)
  RESULT_TTL_SECONDS = "86400", # how long a status record is kept after its last write
  LOG_LEVEL = "info", # least severe level logged: debug, info, warn or error
  HOST = "0.0.0.0", # interface the HTTP server listens on; beyond loopback R_SERVICE_TOKEN is required
  PORT = "8000", # port the HTTP server listens on
  QUEUES = "default", # the R queues this service takes tasks from, comma-separated, in order of preference
  MAX_CONCURRENT_TASKS = "4", # R children at once; tasks beyond it wait in their queue
  LEASE_MS = "30000", # a taken task's lease, renewed every third of it while its child runs
  MAX_DELIVERIES = "20", # a task delivered this often without finishing (its worker keeps dying) is given up
  MAX_QUEUE_LENGTH = "0", # most tasks one queue may hold waiting or delayed; beyond it 429 queue_full; 0: no bound
  LONG_TASK_STEP_MS = "1000", # length of one long_task step
  SHUTDOWN_GRACE_MS = "25000", # on SIGTERM/SIGINT, how long running tasks may still run before they are handed back
  REDIS_RETRY_SECONDS = "30", # how long a task's child waits for Redis to come back before abandoning its attempt; 0: not at all
  R_SERVICE_TOKEN = "", # when set, every route but GET /health needs Authorization: Bearer <token>
  METRICS_PUBLIC = "false", # true: GET /metrics is open without R_SERVICE_TOKEN too (docs/metrics.md)
  R_WORKER_CACHE_DIR = "", # where the compiled SIGTERM handler is cached; empty: the user cache dir
  SWITCHYARD_SHARED_DIR = "" # the repository's shared/ (contracts and Lua scripts); empty: beside r-worker/
)

secret_variables <- c("REDIS_URL", "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD", "R_SERVICE_TOKEN")

# Addresses that only this machine can reach: listening there needs no token.
loopback_hosts <- c("127.0.0.1", "::1", "localhost")

service_token_pattern <- "^[\x21-\x7e]{32,256}$"

read_config_env <- function() {
  Sys.getenv(names(config_defaults), unset = NA)
}

read_config <- function(env = read_config_env()) {
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

  redis_url <- read_redis_settings(env, value, complain)
  key_prefix <- value("KEY_PREFIX")
  if (!grepl(shared_rules()$key_prefix_pattern, key_prefix)) {
    complain("KEY_PREFIX", "must be 1-64 letters, digits, '_', '.' or '-'")
  }
  host <- value("HOST")
  if (!nzchar(host)) {
    complain("HOST", "must not be empty")
  }
  queues <- tryCatch(parse_queue_list(value("QUEUES")), error = function(e) complain("QUEUES", conditionMessage(e)))
  token <- env[["R_SERVICE_TOKEN"]]
  token <- if (is.null(token) || is.na(token)) "" else token
  if (nzchar(token) && !grepl(service_token_pattern, token, perl = TRUE)) {
    complain("R_SERVICE_TOKEN", "must be 32-256 printable characters without spaces")
  } else if (!nzchar(token) && nzchar(host) && !host %in% loopback_hosts) {
    problems <- c(problems, sprintf(
      "  HOST is %s, beyond loopback, and R_SERVICE_TOKEN is not set: anyone who can reach the port could hand tasks to this service. Set R_SERVICE_TOKEN (the gateway's) or listen on 127.0.0.1",
      host
    ))
  }
  config <- list(
    redis_url = redis_url,
    key_prefix = key_prefix,
    result_ttl_seconds = whole_number("RESULT_TTL_SECONDS", 60, 30 * 86400),
    log_level = one_of("LOG_LEVEL", names(log_severity)),
    host = host,
    port = whole_number("PORT", 1, 65535),
    queues = queues,
    max_concurrent_tasks = whole_number("MAX_CONCURRENT_TASKS", 1, 256),
    lease_ms = whole_number("LEASE_MS", 500, 3600000),
    max_deliveries = whole_number("MAX_DELIVERIES", 1, 1000),
    max_queue_length = whole_number("MAX_QUEUE_LENGTH", 0, 100000000),
    long_task_step_ms = whole_number("LONG_TASK_STEP_MS", 0, 60000),
    shutdown_grace_ms = whole_number("SHUTDOWN_GRACE_MS", 0, 3600000),
    redis_retry_seconds = whole_number("REDIS_RETRY_SECONDS", 0, 600),
    service_token = token,
    metrics_public = identical(one_of("METRICS_PUBLIC", c("true", "false")), "true"),
    cache_dir = value("R_WORKER_CACHE_DIR")
  )
  if (length(problems) > 0) {
    stop(config_error(paste(c("Invalid configuration:", problems), collapse = "\n")))
  }
  config
}

# Where Redis is (withRedisTarget in shared/src/config.ts): REDIS_URL, REDIS_CLUSTER_NODES or
# REDIS_SENTINELS, at most one of them. Returns the REDIS_URL string, or a deployment of
# redis_deployment.R, for redis_connect(); complains through `complain` otherwise.
read_redis_settings <- function(env, value, complain) {
  given <- function(name) {
    got <- env[[name]]
    !is.null(got) && !is.na(got) && nzchar(trimws(got))
  }
  secret <- function(name) if (given(name)) env[[name]] else NULL
  addresses <- function(name) {
    if (!given(name)) {
      return(character(0))
    }
    tryCatch(parse_host_port_list(value(name)), error = function(e) {
      complain(name, conditionMessage(e))
      character(0)
    })
  }
  nodes <- addresses("REDIS_CLUSTER_NODES")
  sentinels <- addresses("REDIS_SENTINELS")
  chosen <- c("REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS")[c(given("REDIS_URL"), given("REDIS_CLUSTER_NODES"), given("REDIS_SENTINELS"))]
  if (length(chosen) > 1) {
    complain(chosen[[2]], sprintf("must not be set together with %s: set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS", chosen[[1]]))
  }
  sentinel_mode <- given("REDIS_SENTINELS")
  name <- value("REDIS_SENTINEL_NAME")
  if (sentinel_mode && !nzchar(name)) {
    complain("REDIS_SENTINEL_NAME", "must be set with REDIS_SENTINELS: the name the sentinels monitor the master under")
  } else if (sentinel_mode && !grepl("^[A-Za-z0-9_.-]{1,128}$", name)) {
    complain("REDIS_SENTINEL_NAME", "must be 1-128 letters, digits, '_', '.' or '-'")
  } else if (!sentinel_mode && nzchar(name)) {
    complain("REDIS_SENTINEL_NAME", "is read only with REDIS_SENTINELS")
  }
  if (!sentinel_mode && given("REDIS_SENTINEL_PASSWORD")) complain("REDIS_SENTINEL_PASSWORD", "is read only with REDIS_SENTINELS")
  if (length(nodes) > 0) {
    return(redis_cluster_deployment(nodes, secret("REDIS_USERNAME"), secret("REDIS_PASSWORD")))
  }
  if (length(sentinels) > 0) {
    return(redis_sentinel_deployment(sentinels, name, secret("REDIS_USERNAME"), secret("REDIS_PASSWORD"), secret("REDIS_SENTINEL_PASSWORD")))
  }
  redis_url <- value("REDIS_URL")
  redis <- tryCatch(parse_redis_url(redis_url), error = function(e) complain("REDIS_URL", conditionMessage(e)))
  if (is.null(redis)) {
    return(redis_url)
  }
  if (redis$tls && !redux_available()) {
    complain("REDIS_URL", "uses rediss:// (TLS), which needs the redux R package, and redux is not installed")
  }
  # REDIS_USERNAME and REDIS_PASSWORD go into a URL that names none (compose sets both from one value);
  # a URL naming a different one is refused rather than one silently winning.
  login <- list(username = secret("REDIS_USERNAME"), password = secret("REDIS_PASSWORD"))
  for (part in names(login)) {
    given_value <- login[[part]]
    if (is.null(given_value)) next
    if (!is.null(redis[[part]]) && !identical(redis[[part]], given_value)) {
      complain(sprintf("REDIS_%s", toupper(part)), sprintf("differs from the %s in REDIS_URL: give it in one place", part))
    }
    redis[[part]] <- given_value
  }
  if (is.null(login$username) && is.null(login$password)) {
    return(redis_url)
  }
  encode <- function(text) if (is.null(text)) "" else utils::URLencode(text, reserved = TRUE)
  userinfo <- paste0(encode(redis$username), if (!is.null(redis$password)) paste0(":", encode(redis$password)))
  sub("^(rediss?://)([^@/]*@)?", sprintf("\\1%s@", userinfo), redis_url) # URLencode leaves no backslash
}

# QUEUES (parseQueueList in shared/src/routing.ts): names separated by commas, in order of
# preference, no repeats. Raises an error whose message says what must be true.
parse_queue_list <- function(text) {
  names <- trimws(strsplit(text, ",", fixed = TRUE)[[1]])
  names <- names[nzchar(names)]
  if (length(names) == 0) stop("must name at least one queue", call. = FALSE)
  bad <- names[!vapply(names, is_queue_name, logical(1))]
  if (length(bad) > 0) stop(sprintf("each queue name %s (got \"%s\")", shared_rules()$queue_name_rule, bad[[1]]), call. = FALSE)
  if (anyDuplicated(names)) stop("must not name a queue twice", call. = FALSE)
  names
}

config_error <- function(message) {
  structure(class = c("config_error", "error", "condition"), list(message = message, call = NULL))
}

# A whole number in plain digits (no exponent, no separators). sprintf, not format(): it runs for
# every number of every Redis command, and format() costs ten times as much.
format_whole <- function(x) {
  sprintf("%.0f", as.numeric(x))
}
