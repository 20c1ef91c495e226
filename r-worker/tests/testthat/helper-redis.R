# A real redis-server on a free loopback port, for the tests that talk to Redis. No mocks: replies,
# AUTH, SELECT and TTLs come from Redis itself. Every server is killed when the test run ends.

free_port <- function() {
  for (attempt in 1:50) {
    # Below the ephemeral range (32768+), where outgoing connections never take a port.
    port <- sample(20000:31999, 1)
    probe <- tryCatch(serverSocket(port), error = function(e) NULL)
    if (!is.null(probe)) {
      close(probe)
      return(port)
    }
  }
  stop("no free port found", call. = FALSE)
}

# `extra_args` go last, so they win: e.g. c("--appendonly", "yes", "--appendfsync", "always") keeps the
# data across a restart (each server has its own directory, which a restart on the same port reuses).
start_redis_server <- function(password = NULL, port = free_port(), extra_args = character(0), dir = tempfile("redis-")) {
  dir.create(dir, showWarnings = FALSE)
  args <- c("--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
  if (!is.null(password)) args <- c(args, "--requirepass", password)
  args <- as.character(c(args, extra_args))
  process <- processx::process$new("redis-server", args, stdout = NULL, stderr = "|", cleanup = TRUE)
  withr::defer(if (process$is_alive()) process$kill(), envir = testthat::teardown_env())
  wait_for(function() {
    if (!process$is_alive()) stop(sprintf("redis-server exited early: %s", process$read_all_error()), call. = FALSE)
    con <- tryCatch(suppressWarnings(socketConnection("127.0.0.1", port, open = "r+b", timeout = 1)), error = function(e) NULL)
    if (is.null(con)) {
      return(FALSE)
    }
    close(con)
    TRUE
  }, timeout = 10, what = sprintf("redis-server on port %d", port))
  auth <- if (is.null(password)) "" else paste0(":", utils::URLencode(password, reserved = TRUE), "@")
  list(
    port = port,
    url = sprintf("redis://%s127.0.0.1:%d", auth, port),
    process = process,
    args = args,
    dir = dir,
    stop = function() if (process$is_alive()) {
      process$kill()
      process$wait(2000)
    },
    # Starts it again on the same port and directory (a crash: the server must be stopped first).
    restart = function() start_redis_server(password, port, extra_args, dir)
  )
}

# Starts a stopped `server` again on its port and directory `after_seconds` from now, without
# waiting: for code that must ride out the outage meanwhile. Killed when the test run ends.
restart_redis_later <- function(server, after_seconds) {
  script <- sprintf("sleep %s; exec redis-server \"$@\"", after_seconds)
  process <- processx::process$new("sh", c("-c", script, "redis-server", server$args), stdout = NULL, stderr = NULL, cleanup = TRUE)
  withr::defer(if (process$is_alive()) process$kill(), envir = testthat::teardown_env())
  process
}
