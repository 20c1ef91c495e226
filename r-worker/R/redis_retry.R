# Riding out a short Redis outage (a restart, a failover): how a client's command() is sent again on
# a new connection, and when it gives up. Both clients of resp_client.R send their commands through
# send_with_retry(), so they behave alike.
#
# A command is sent again only when that cannot change what it does:
# - nothing of it reached Redis (the connection could not be opened, or Redis answered LOADING, BUSY,
#   MASTERDOWN, TRYAGAIN or CLUSTERDOWN: it did not run the command): any command;
# - it was sent and no answer came (the connection broke or timed out): only an `idempotent` one,
#   since Redis may have run it. SET NX and the like are never marked so.
# A connection that worked before and fails is replaced at once, once (Redis restarted since the last
# command); after that, with `retry_seconds` > 0, the command is tried again with a backoff (50 ms
# doubling to 1 s) until `retry_seconds` have passed since the first failure, then fails with a
# `redis_unavailable` error. With `retry_seconds` 0 it fails at once, with the connection's own error
# (also classed `redis_unavailable`). Errors that waiting cannot cure (a refused password, an error
# reply, a lost answer to a non-idempotent command) are raised at once, as they are.
#
# The service itself uses 0, so that an HTTP request never waits for Redis (503 at once) and its
# upkeep loop simply tries again on its next round; its forked children use REDIS_RETRY_SECONDS, so a
# running task's writes wait for Redis to come back.

redis_retry_first_delay_seconds <- 0.05
redis_retry_max_delay_seconds <- 1

# Redis error replies that mean the command was not run and may run later.
# CLUSTERDOWN: a Redis Cluster without a master for some slot (during a failover in the cluster).
redis_transient_reply_pattern <- "^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)( |$)"

# An error raised before anything of the command was sent: safe to send again whatever it is.
redis_not_sent_error <- function(message) {
  structure(class = c("redis_not_sent", "redis_error", "error", "condition"), list(message = message, call = NULL))
}

redis_unavailable_error <- function(message) {
  structure(class = c("redis_unavailable", "redis_error", "error", "condition"), list(message = message, call = NULL))
}

is_transient_reply <- function(e) {
  inherits(e, "redis_reply_error") && grepl(redis_transient_reply_pattern, conditionMessage(e))
}

# May the command that failed with `e` be sent again?
redis_error_retryable <- function(e, idempotent) {
  if (inherits(e, "redis_not_sent") || is_transient_reply(e)) {
    return(TRUE)
  }
  idempotent && !inherits(e, "redis_reply_error")
}

# `link` is one client's connection: open() (raises redis_not_sent when it cannot), is_open(),
# round_trip(args) (raises redis_error; redis_reply_error for an error reply). `on_outage(phase,
# waited_seconds, error)` hears "started" when the first wait begins and "ended" when a command gets
# through after waiting (for logs). Returns the reply.
send_with_retry <- function(link, args, idempotent, retry_seconds, where, on_outage = NULL) {
  failed_at <- NULL
  delay <- redis_retry_first_delay_seconds
  waits <- 0L
  repeat {
    reused <- link$is_open()
    outcome <- tryCatch(
      {
        if (!reused) link$open()
        list(reply = link$round_trip(args))
      },
      redis_error = function(e) e
    )
    if (!inherits(outcome, "redis_error")) {
      if (waits > 0 && !is.null(on_outage)) on_outage("ended", elapsed_since(failed_at), NULL)
      return(outcome$reply)
    }
    if (!redis_error_retryable(outcome, idempotent)) {
      # An error reply after a wait (NOSCRIPT from a restarted Redis): Redis is back all the same.
      if (waits > 0 && !is.null(on_outage) && inherits(outcome, "redis_reply_error")) on_outage("ended", elapsed_since(failed_at), NULL)
      stop(outcome)
    }
    if (is.null(failed_at)) {
      failed_at <- Sys.time()
      if (reused && !is_transient_reply(outcome)) next # a dead connection from before: a new one, at once
    }
    waited <- elapsed_since(failed_at)
    if (waited >= retry_seconds) {
      if (retry_seconds <= 0) stop(structure(outcome, class = c("redis_unavailable", class(outcome))))
      stop(redis_unavailable_error(sprintf(
        "Redis at %s could not be reached for %s s (REDIS_RETRY_SECONDS): %s",
        where, as.character(retry_seconds), conditionMessage(outcome)
      )))
    }
    if (waits == 0L && !is.null(on_outage)) on_outage("started", waited, outcome)
    waits <- waits + 1L
    Sys.sleep(min(delay, retry_seconds - waited))
    delay <- min(delay * 2, redis_retry_max_delay_seconds)
  }
}

elapsed_since <- function(time) {
  as.numeric(difftime(Sys.time(), time, units = "secs"))
}

# The client every RESP driver returns (one server, a cluster, a master found through sentinels):
# `command(args, idempotent)` goes through `link` with send_with_retry, `get_raw(key)` is an
# idempotent GET; `close` and the driver's own functions (`extra`, for tests and logs) are its own.
# idempotent: the command may be sent again after its answer was lost. Never set it for SET ... NX
# and the like.
retrying_client <- function(link, where, retry_seconds, on_outage, close, extra = list()) {
  command <- function(args, idempotent = FALSE) {
    send_with_retry(link, args, idempotent, retry_seconds, where, on_outage)
  }
  c(
    list(
      driver = "resp",
      where = where,
      command = command,
      get_raw = function(key) command(list("GET", key), idempotent = TRUE),
      close = close
    ),
    extra
  )
}
