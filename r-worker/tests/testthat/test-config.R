loopback <- c(HOST = "127.0.0.1")
config_problem <- function(env) tryCatch(read_config(env), config_error = function(e) conditionMessage(e))
a_token <- strrep("t0K-", 8)

test_that("defaults apply when no variable is set but HOST (loopback)", {
  config <- read_config(loopback)
  expect_identical(config$redis_url, "redis://127.0.0.1:6379")
  expect_identical(config$key_prefix, "switchyard")
  expect_identical(config$result_ttl_seconds, 86400)
  expect_identical(config$log_level, "info")
  expect_identical(config$host, "127.0.0.1")
  expect_identical(config$port, 8000)
  expect_identical(config$queues, "default")
  expect_identical(config$max_concurrent_tasks, 4)
  expect_identical(config$lease_ms, 30000)
  expect_identical(config$max_deliveries, 20)
  expect_identical(config$max_queue_length, 0)
  expect_identical(config$long_task_step_ms, 1000)
  expect_identical(config$shutdown_grace_ms, 25000)
  expect_identical(config$redis_retry_seconds, 30)
  expect_identical(config$service_token, "")
  expect_identical(config$cache_dir, "")
})

test_that("config_defaults is the one list of variables: every Sys.getenv of the sources reads it", {
  sources <- unlist(lapply(c(file.path(r_worker_dir, "main.R"), list.files(file.path(r_worker_dir, "R"), full.names = TRUE)), readLines))
  code <- sub("#.*$", "", sources)
  expect_length(grep("Sys\\.getenv\\(\\s*[\"']", code), 0)
  expect_false("HEARTBEAT_TTL_SECONDS" %in% names(config_defaults))
  expect_true(all(c("QUEUES", "LEASE_MS", "MAX_DELIVERIES", "MAX_QUEUE_LENGTH", "R_SERVICE_TOKEN", "R_WORKER_CACHE_DIR") %in% names(config_defaults)))
})

test_that("the default HOST 0.0.0.0 without R_SERVICE_TOKEN is refused; loopback or a token is accepted", {
  expect_match(config_problem(c()), "HOST is 0.0.0.0, beyond loopback, and R_SERVICE_TOKEN is not set", fixed = TRUE)
  expect_match(config_problem(c(HOST = "10.0.0.5")), "HOST is 10.0.0.5, beyond loopback", fixed = TRUE)
  for (host in c("127.0.0.1", "::1", "localhost")) expect_identical(read_config(c(HOST = host))$host, host)
  expect_identical(read_config(c(R_SERVICE_TOKEN = a_token))$service_token, a_token)
})

test_that("R_SERVICE_TOKEN must be 32-256 printable characters, and is never echoed", {
  for (bad in c(strrep("a", 31), strrep("a", 257), paste(strrep("a", 20), strrep("b", 20)), paste0(strrep("a", 40), "\u00e9"))) {
    error <- config_problem(c(loopback, R_SERVICE_TOKEN = bad))
    expect_match(error, "R_SERVICE_TOKEN must be 32-256 printable characters without spaces", fixed = TRUE)
    expect_false(grepl(bad, error, fixed = TRUE))
  }
  expect_identical(read_config(c(loopback, R_SERVICE_TOKEN = strrep("~", 256)))$service_token, strrep("~", 256))
})

test_that("QUEUES is a comma-separated list of queue names in order, as parseQueueList reads it", {
  expect_identical(read_config(c(loopback, QUEUES = " cpu, default ,,models.v2 "))$queues, c("cpu", "default", "models.v2"))
  expect_match(config_problem(c(loopback, QUEUES = " , ")), "QUEUES must name at least one queue", fixed = TRUE)
  expect_match(config_problem(c(loopback, QUEUES = "a,b:c")), sprintf("QUEUES each queue name %s (got \"b:c\")", contract("rules.json")$queue_name_rule), fixed = TRUE)
  expect_match(config_problem(c(loopback, QUEUES = "a,b,a")), "QUEUES must not name a queue twice", fixed = TRUE)
})

test_that("LEASE_MS, MAX_DELIVERIES, MAX_QUEUE_LENGTH and REDIS_RETRY_SECONDS have their bounds", {
  expect_identical(read_config(c(loopback, LEASE_MS = "500", MAX_DELIVERIES = "1000", MAX_QUEUE_LENGTH = "100000000"))[c("lease_ms", "max_deliveries", "max_queue_length")], list(lease_ms = 500, max_deliveries = 1000, max_queue_length = 1e8))
  expect_match(config_problem(c(loopback, LEASE_MS = "499")), "LEASE_MS must be a whole number between 500 and 3600000", fixed = TRUE)
  expect_match(config_problem(c(loopback, MAX_DELIVERIES = "0")), "MAX_DELIVERIES must be a whole number between 1 and 1000", fixed = TRUE)
  expect_match(config_problem(c(loopback, MAX_QUEUE_LENGTH = "-1")), "MAX_QUEUE_LENGTH must be a whole number between 0 and 100000000", fixed = TRUE)
  for (bad in c("-1", "601", "2.5", "soon", "")) {
    expect_match(config_problem(c(loopback, REDIS_RETRY_SECONDS = bad)), sprintf('REDIS_RETRY_SECONDS must be a whole number between 0 and 600 (got "%s")', bad), fixed = TRUE)
  }
})

test_that("set variables are read and trimmed", {
  config <- read_config(c(loopback, PORT = " 9001 ", MAX_CONCURRENT_TASKS = "2", LOG_LEVEL = "debug", KEY_PREFIX = "sy.test-1"))
  expect_identical(config$port, 9001)
  expect_identical(config$max_concurrent_tasks, 2)
  expect_identical(config$log_level, "debug")
  expect_identical(config$key_prefix, "sy.test-1")
})

test_that("every bad variable is named with what it must be", {
  error <- tryCatch(
    read_config(c(
      PORT = "80a", RESULT_TTL_SECONDS = "59", LOG_LEVEL = "loud", MAX_CONCURRENT_TASKS = "0",
      LONG_TASK_STEP_MS = "60001", KEY_PREFIX = "a:b", SHUTDOWN_GRACE_MS = "-1", HOST = " "
    )),
    config_error = function(e) conditionMessage(e)
  )
  expect_match(error, "^Invalid configuration:")
  expect_match(error, 'PORT must be a whole number between 1 and 65535 (got "80a")', fixed = TRUE)
  expect_match(error, 'RESULT_TTL_SECONDS must be a whole number between 60 and 2592000 (got "59")', fixed = TRUE)
  expect_match(error, 'LOG_LEVEL must be one of: debug, info, warn, error (got "loud")', fixed = TRUE)
  expect_match(error, "MAX_CONCURRENT_TASKS must be a whole number between 1 and 256", fixed = TRUE)
  expect_match(error, "LONG_TASK_STEP_MS must be a whole number between 0 and 60000", fixed = TRUE)
  expect_match(error, "KEY_PREFIX must be 1-64 letters, digits, '_', '.' or '-'", fixed = TRUE)
  expect_match(error, "SHUTDOWN_GRACE_MS must be a whole number between 0 and 3600000", fixed = TRUE)
  expect_match(error, "HOST must not be empty", fixed = TRUE)
})

test_that("a bad REDIS_URL is reported without echoing it, since it may hold a password", {
  error <- tryCatch(read_config(c(loopback, REDIS_URL = "http://:hunter2@x")), config_error = function(e) conditionMessage(e))
  expect_match(error, "REDIS_URL must be a URL starting with redis:// or rediss://", fixed = TRUE)
  expect_false(grepl("hunter2", error, fixed = TRUE))
})

test_that("rediss:// without redux installed is refused with a message saying TLS needs redux", {
  skip_if(redux_available(), "redux is installed here, so rediss:// is accepted")
  error <- tryCatch(read_config(c(loopback, REDIS_URL = "rediss://:pw@redis.example:6380")), config_error = function(e) conditionMessage(e))
  expect_match(error, "REDIS_URL uses rediss:// (TLS), which needs the redux R package", fixed = TRUE)
  expect_false(grepl("pw@", error, fixed = TRUE))
})

test_that("main.R exits with status 2 and names the variable when the configuration is bad", {
  result <- processx::run(
    "Rscript", file.path(r_worker_dir, "main.R"),
    env = c("current", PORT = "99999", REDIS_URL = "redis://:topsecret@127.0.0.1:1"),
    error_on_status = FALSE, timeout = 60
  )
  expect_identical(result$status, 2L)
  expect_match(result$stderr, "PORT must be a whole number between 1 and 65535", fixed = TRUE)
  expect_false(grepl("topsecret", paste(result$stdout, result$stderr), fixed = TRUE))
})

test_that("main.R refuses to start on 0.0.0.0 without R_SERVICE_TOKEN: exit 2 and a clear message", {
  result <- processx::run(
    "Rscript", file.path(r_worker_dir, "main.R"),
    env = c("current", HOST = "0.0.0.0", R_SERVICE_TOKEN = "", REDIS_URL = "redis://127.0.0.1:1"),
    error_on_status = FALSE, timeout = 60
  )
  expect_identical(result$status, 2L)
  expect_match(result$stderr, "HOST is 0.0.0.0, beyond loopback, and R_SERVICE_TOKEN is not set", fixed = TRUE)
})

test_that("main.R finds shared/ at SWITCHYARD_SHARED_DIR, and says so when it is not there", {
  result <- processx::run(
    "Rscript", file.path(r_worker_dir, "main.R"),
    env = c("current", HOST = "127.0.0.1", SWITCHYARD_SHARED_DIR = tempfile("no-shared-")),
    error_on_status = FALSE, timeout = 60
  )
  expect_identical(result$status, 2L)
  expect_match(result$stderr, "rules.json is missing (is SWITCHYARD_SHARED_DIR right?)", fixed = TRUE)
})

test_that("REDIS_CLUSTER_NODES makes a cluster deployment, its password from REDIS_PASSWORD", {
  config <- read_config(c(loopback, REDIS_CLUSTER_NODES = " 127.0.0.1:7000, [::1]:7001 ", REDIS_PASSWORD = "s3cret"))
  expect_identical(config$redis_url$kind, "cluster")
  expect_identical(config$redis_url$nodes, c("127.0.0.1:7000", "[::1]:7001"))
  expect_identical(config$redis_url$password, "s3cret")
  expect_identical(redis_where(config$redis_url), "cluster 127.0.0.1:7000,[::1]:7001")
})

test_that("REDIS_SENTINELS with REDIS_SENTINEL_NAME makes a sentinel deployment", {
  config <- read_config(c(loopback, REDIS_SENTINELS = "10.0.0.1:26379,10.0.0.2:26379", REDIS_SENTINEL_NAME = "switchyard", REDIS_SENTINEL_PASSWORD = "spw"))
  expect_identical(config$redis_url[c("kind", "sentinels", "name", "sentinel_password")], list(kind = "sentinel", sentinels = c("10.0.0.1:26379", "10.0.0.2:26379"), name = "switchyard", sentinel_password = "spw"))
})

test_that("the Redis settings follow the TypeScript side's rules, in the same words", {
  expect_match(config_problem(c(loopback, REDIS_URL = "redis://127.0.0.1:6379", REDIS_CLUSTER_NODES = "127.0.0.1:7000")), "REDIS_CLUSTER_NODES must not be set together with REDIS_URL: set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS")
  expect_match(config_problem(c(loopback, REDIS_CLUSTER_NODES = "127.0.0.1:7000", REDIS_SENTINELS = "127.0.0.1:26379", REDIS_SENTINEL_NAME = "m")), "REDIS_SENTINELS must not be set together with REDIS_CLUSTER_NODES")
  expect_match(config_problem(c(loopback, REDIS_CLUSTER_NODES = "127.0.0.1")), "REDIS_CLUSTER_NODES must be host:port pairs separated by commas \\(got \"127.0.0.1\"\\)")
  expect_match(config_problem(c(loopback, REDIS_SENTINELS = "127.0.0.1:26379")), "REDIS_SENTINEL_NAME must be set with REDIS_SENTINELS")
  expect_match(config_problem(c(loopback, REDIS_SENTINEL_NAME = "m")), "REDIS_SENTINEL_NAME is read only with REDIS_SENTINELS")
  problem <- config_problem(c(loopback, REDIS_URL = "redis://:hunter1@h:6379", REDIS_PASSWORD = "hunter2"))
  expect_match(problem, "REDIS_PASSWORD differs from the password in REDIS_URL: give it in one place")
  expect_false(grepl("hunter", problem, fixed = TRUE))
})

test_that("REDIS_PASSWORD and REDIS_USERNAME go into a REDIS_URL that names none, as on the TypeScript side", {
  expect_identical(read_config(c(loopback, REDIS_PASSWORD = "p@ss word"))$redis_url, "redis://:p%40ss%20word@127.0.0.1:6379")
  expect_identical(read_config(c(loopback, REDIS_URL = "redis://app@h:6379/2", REDIS_PASSWORD = "pw"))$redis_url, "redis://app:pw@h:6379/2")
  expect_identical(read_config(c(loopback, REDIS_URL = "redis://:same@redis:6379/0", REDIS_PASSWORD = "same"))$redis_url, "redis://:same@redis:6379/0")
  expect_identical(parse_redis_url(read_config(c(loopback, REDIS_PASSWORD = "p@ss word"))$redis_url)$password, "p@ss word")
})
