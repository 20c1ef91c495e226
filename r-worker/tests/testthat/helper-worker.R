# Loaded by testthat before the tests (it runs them from this directory): the worker's code, the
# repository's paths, and small helpers shared by the test files.

r_worker_dir <- normalizePath(file.path(getwd(), "..", ".."))
repo_dir <- normalizePath(file.path(r_worker_dir, ".."))

for (file in sort(list.files(file.path(r_worker_dir, "R"), pattern = "[.]R$", full.names = TRUE))) {
  sys.source(file, envir = environment())
}
use_contracts(load_contracts(file.path(repo_dir, "shared")))
test_scripts <- new_lua_scripts()

contract <- function(name) {
  jsonlite::read_json(file.path(repo_dir, "shared", "contracts", name), simplifyVector = FALSE)
}

shared_source <- function(name) {
  readLines(file.path(repo_dir, "shared", "src", name), warn = FALSE)
}

# Every line of shared/src/*.ts, for declarations that may move between files.
all_shared_sources <- function() {
  files <- list.files(file.path(repo_dir, "shared", "src"), pattern = "[.]ts$", full.names = TRUE)
  unlist(lapply(files, readLines, warn = FALSE))
}

hex_to_raw <- function(hex) {
  if (!nzchar(hex)) {
    return(raw(0))
  }
  as.raw(strtoi(substring(hex, seq(1, nchar(hex), 2), seq(2, nchar(hex), 2)), 16L))
}

raw_to_hex <- function(bytes) {
  paste(as.character(bytes), collapse = "")
}

# A logger that keeps its lines (as parsed JSON) instead of printing them.
new_test_logger <- function(level = "debug") {
  lines <- list()
  logger <- new_logger(level, write = function(line) lines[[length(lines) + 1L]] <<- jsonlite::parse_json(line))
  logger$lines <- function() lines
  logger
}

silent_logger <- new_logger("error", write = function(line) NULL)

# Polls `check` until it returns something other than NULL/FALSE, for at most `timeout` seconds.
wait_for <- function(check, timeout = 10, interval = 0.02, what = "condition") {
  deadline <- Sys.time() + timeout
  repeat {
    value <- check()
    if (!is.null(value) && !isFALSE(value)) {
      return(value)
    }
    if (Sys.time() > deadline) stop(sprintf("timed out after %s s waiting for %s", timeout, what), call. = FALSE)
    Sys.sleep(interval)
  }
}

new_task_id <- function() {
  hex <- function(n) paste(sample(c(0:9, letters[1:6]), n, replace = TRUE), collapse = "")
  sprintf("%s-%s-4%s-%s%s-%s", hex(8), hex(4), hex(3), sample(c("8", "9", "a", "b"), 1), hex(3), hex(12))
}

new_test_prefix <- function() {
  paste0("rtest-", paste(sample(c(0:9, letters), 8, replace = TRUE), collapse = ""))
}
