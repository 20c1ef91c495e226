# Forked children: each task runs in a child made with parallel::mcparallel, so long work never runs on
# the HTTP thread and a task that crashes takes only its own process down.
#
# Facts measured on Linux that shape this file:
# - A child inherits every open descriptor: the listening socket, clients' sockets and the parent's
#   Redis socket. Left open, a client can hang until the child ends and a restarted service cannot
#   bind its port, so the child closes every inherited socket first (keeping 0-2 and its pipe to the
#   parent). The child never uses the parent's Redis client: it opens its own.
# - The parent learns that a child is gone when the child's pipe reaches end-of-file, however it ended
#   (normal exit, error, SIGKILL, segfault, OOM kill). The exit status is not kept by parallel, so the
#   signal that killed a child is not known.
# - Forking costs a few milliseconds; CPU-heavy children lower their priority (nice 10).
# - A child outlives a service that dies: it finishes its task, writes its record and exits.

new_child_pool <- function() {
  pool <- new.env(parent = emptyenv())
  pool$children <- list() # by pid (as a string): whatever the caller keeps about that child
  pool
}

running_count <- function(pool) {
  length(pool$children)
}

# Runs `work()` in a forked child and returns its pid; `info` is kept in the pool until the child is gone.
# What work() returns is sent back to the parent and handed over as `info$report` when the child has
# ended (NULL if it died first, a "try-error" if work() failed). The child is not `detached`: a
# detached child has no pipe to the parent, and the pipe is how its end is noticed.
fork_child <- function(pool, work, info = list(), niceness = 10) {
  job <- parallel::mcparallel(run_child(work, niceness), mc.set.seed = TRUE, silent = FALSE)
  info$pid <- job$pid
  pool$children[[as.character(job$pid)]] <- info
  job$pid
}

run_child <- function(work, niceness) {
  on.exit(allow_exit_without_parent(), add = TRUE)
  close_inherited_sockets()
  if (niceness > 0) tools::psnice(value = niceness)
  work()
}

# parallel's child, after sending its result, sleeps in mcexit() until the parent sends SIGUSR1 (once
# it has read the child's end-of-file). If the service has died meanwhile that signal never comes and
# the finished child would sleep forever, so the child gives itself the go-ahead: parallel's SIGUSR1
# handler in a child only records that it may exit.
allow_exit_without_parent <- function() {
  tools::pskill(Sys.getpid(), tools::SIGUSR1)
}

close_inherited_sockets <- function() {
  fd_dir <- "/proc/self/fd"
  if (!dir.exists(fd_dir)) {
    return(invisible(integer(0))) # not Linux: nothing to close by this route
  }
  fds <- suppressWarnings(as.integer(list.files(fd_dir)))
  fds <- fds[!is.na(fds) & fds > 2]
  targets <- vapply(fds, function(fd) {
    target <- suppressWarnings(Sys.readlink(file.path(fd_dir, fd)))
    if (is.na(target)) "" else target
  }, character(1))
  sockets <- fds[startsWith(targets, "socket:")]
  if (length(sockets) > 0) close_fds(sockets)
  invisible(sockets)
}

# parallel's own helper: closes descriptors by number, without touching R connection objects.
close_fds <- function(fds) {
  get("closeFD", envir = asNamespace("parallel"))(fds)
}

# Returns the info of every child that has ended since the last call (and forgets them).
reap_children <- function(pool) {
  ended <- list()
  finish <- function(pid) {
    key <- as.character(pid)
    ended[[length(ended) + 1L]] <<- pool$children[[key]]
    pool$children[[key]] <- NULL
  }
  known <- as.integer(names(pool$children))
  still_tracked <- known %in% parallel_children_pids()
  for (pid in known[!still_tracked]) finish(pid)
  repeat {
    pids <- as.integer(names(pool$children))
    if (length(pids) == 0) break
    ready <- select_children(pids, timeout = 0)
    if (!is.integer(ready) || length(ready) == 0) break
    for (pid in ready) {
      message <- read_child(pid)
      if (is.raw(message)) {
        report <- tryCatch(unserialize(message), error = function(e) NULL)
        pool$children[[as.character(pid)]]["report"] <- list(report)
      } else {
        finish(pid) # end-of-file: the child is gone
      }
    }
  }
  ended
}

kill_children <- function(pool, signal = tools::SIGKILL) {
  pids <- as.integer(names(pool$children))
  if (length(pids) > 0) tools::pskill(pids, signal)
  invisible(pids)
}

# parallel's internals for watching children without collecting them all at once (mccollect would
# wait, or warn about children that delivered no result).
parallel_children_pids <- function() {
  internal <- asNamespace("parallel")
  as.integer(get("processID", envir = internal)(get("children", envir = internal)()))
}

select_children <- function(pids, timeout) {
  get("selectChildren", envir = asNamespace("parallel"))(pids, timeout)
}

read_child <- function(pid) {
  get("readChild", envir = asNamespace("parallel"))(pid)
}
