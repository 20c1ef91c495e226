# Real forks (parallel::mcparallel) of this test process.

# Waits until `pid` is reported ended, and returns what the pool kept about it.
wait_for_end <- function(pool, pid, timeout = 10) {
  info <- wait_for(function() {
    ended <- Filter(function(info) identical(info$pid, pid), reap_children(pool))
    if (length(ended) == 1) ended[[1]] else NULL
  }, timeout = timeout, what = sprintf("child %d to end", pid))
  expect_identical(info$pid, pid)
  info
}

test_that("a forked child runs its work, and is reported once it has ended", {
  pool <- new_child_pool()
  out <- tempfile()
  pid <- fork_child(pool, function() writeLines(as.character(Sys.getpid()), out), info = list(label = "a"))
  expect_identical(running_count(pool), 1L)
  expect_identical(pool$children[[as.character(pid)]]$label, "a")
  wait_for_end(pool, pid)
  expect_identical(readLines(out), as.character(pid))
  expect_identical(running_count(pool), 0L)
  expect_length(reap_children(pool), 0)
})

test_that("a child closes the sockets it inherited, so it holds no client or listening socket open", {
  port <- free_port()
  listener <- serverSocket(port)
  on.exit(close(listener), add = TRUE)
  pool <- new_child_pool()
  out <- tempfile()
  pid <- fork_child(pool, function() {
    # stdin/stdout/stderr (0-2) stay: under a parent like Node they are socketpairs, not inherited clients.
    fds <- list.files("/proc/self/fd")
    fds <- fds[suppressWarnings(as.integer(fds)) > 2]
    targets <- suppressWarnings(Sys.readlink(file.path("/proc/self/fd", fds)))
    writeLines(as.character(sum(startsWith(targets, "socket:"), na.rm = TRUE)), out)
  })
  wait_for_end(pool, pid)
  expect_identical(readLines(out), "0")
  # The parent's own copy is untouched: the listener still accepts.
  client <- socketConnection("127.0.0.1", port, open = "r+b", timeout = 2)
  close(client)
})

test_that("a child runs at lower priority (nice 10)", {
  pool <- new_child_pool()
  out <- tempfile()
  pid <- fork_child(pool, function() writeLines(as.character(tools::psnice()), out))
  wait_for_end(pool, pid)
  expect_identical(readLines(out), "10")
})

test_that("what the child's work returns is handed over as its report when it has ended", {
  pool <- new_child_pool()
  pid <- fork_child(pool, function() TRUE)
  expect_true(wait_for_end(pool, pid)$report)
})

test_that("a child killed with SIGKILL is reported as ended, with no report", {
  pool <- new_child_pool()
  pid <- fork_child(pool, function() Sys.sleep(30))
  Sys.sleep(0.05)
  expect_length(reap_children(pool), 0)
  tools::pskill(pid, tools::SIGKILL)
  expect_null(wait_for_end(pool, pid)$report)
})

test_that("a child whose work fails with an R error is reported as ended, its report the error", {
  pool <- new_child_pool()
  pid <- fork_child(pool, function() stop("boom"))
  expect_s3_class(wait_for_end(pool, pid)$report, "try-error")
})

test_that("kill_children ends every running child", {
  pool <- new_child_pool()
  pids <- c(fork_child(pool, function() Sys.sleep(30)), fork_child(pool, function() Sys.sleep(30)))
  expect_identical(sort(kill_children(pool)), sort(pids))
  ended <- list()
  wait_for(function() {
    ended <<- c(ended, reap_children(pool))
    length(ended) == 2
  }, what = "both children to end")
  expect_identical(running_count(pool), 0L)
})

test_that("a child whose service died finishes its work and exits instead of waiting for the service", {
  out <- tempfile()
  script <- tempfile(fileext = ".R")
  writeLines(c(
    sprintf("source(%s)", deparse(file.path(r_worker_dir, "R", "children.R"))),
    "pool <- new_child_pool()",
    sprintf("pid <- fork_child(pool, function() { Sys.sleep(0.5); writeLines(as.character(Sys.getpid()), %s) })", deparse(out)),
    "Sys.sleep(0.1)",
    "tools::pskill(Sys.getpid(), tools::SIGKILL)"
  ), script)
  processx::run("Rscript", script, error_on_status = FALSE, timeout = 60)
  pid <- as.integer(wait_for(function() if (file.exists(out)) readLines(out) else NULL, what = "the orphan to finish"))
  expect_true(wait_for(function() {
    state <- tryCatch(strsplit(readLines(sprintf("/proc/%d/stat", pid)), " ")[[1]][[3]], error = function(e) "gone")
    state %in% c("gone", "Z", "X") # ended (a zombie until its new parent reaps it)
  }, timeout = 10, what = "the orphan to exit"))
})
