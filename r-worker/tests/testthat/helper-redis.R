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

start_redis_server <- function(password = NULL, port = free_port()) {
  args <- c("--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tempdir())
  if (!is.null(password)) args <- c(args, "--requirepass", password)
  process <- processx::process$new("redis-server", as.character(args), stdout = NULL, stderr = "|", cleanup = TRUE)
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
    stop = function() if (process$is_alive()) {
      process$kill()
      process$wait(2000)
    }
  )
}
