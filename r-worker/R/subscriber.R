# The supervisor's ears: a second connection to Redis, subscribed to the R wake channel (a queue that
# just got work: `r:<queue>`) and the R cancel channel (ids of running tasks to stop). It is a plain
# base-R socket read without blocking (socketSelect with timeout 0) from the upkeep loop, so the
# event loop never waits on it. A broken connection is opened again on a later round. Pub/sub may miss
# a message (while reconnecting): lease renewal catches cancelled tasks and the claim safety net
# finds work, so nothing depends on hearing every one.
#
# Where SUBSCRIBE is impossible (rediss://, which only the redux client speaks) new_subscriber()
# returns NULL and the caller says so once.

subscriber_reconnect_seconds <- 1

# `target`: a target of parse_redis_url(), or a function returning one, asked on every (re)connect (a
# cluster's next node, the master the sentinels name now: redis_subscriber_target()).
new_subscriber <- function(target, channels, logger, timeout_seconds = 2) {
  resolve <- if (is.function(target)) target else function() target
  if (!is.function(target) && isTRUE(target$tls)) {
    return(NULL)
  }
  state <- new.env(parent = emptyenv())
  state$con <- NULL
  state$retry_at <- 0
  state$broken_logged <- FALSE

  state$where <- if (is.function(target)) "Redis" else target$where
  io_failure <- function(message) stop(redis_error(sprintf("Redis at %s (subscriber): %s", state$where, message)))

  drop <- function() {
    if (!is.null(state$con)) try(close(state$con), silent = TRUE)
    state$con <- NULL
  }

  round_trip <- function(args) {
    writeBin(encode_resp_command(args), state$con)
    reply <- read_resp_reply(state$con, io_failure, timeout_seconds)
    if (inherits(reply, "redis_reply_error")) stop(reply)
    reply
  }

  open <- function() {
    target <- resolve()
    state$where <- target$where
    con <- tryCatch(
      suppressWarnings(socketConnection(target$host, target$port, open = "r+b", blocking = TRUE, timeout = timeout_seconds)),
      error = function(e) NULL
    )
    if (is.null(con)) io_failure("cannot connect")
    state$con <- con
    if (!is.null(target$password)) {
      round_trip(c(list("AUTH"), if (!is.null(target$username)) list(target$username), list(target$password)))
    }
    writeBin(encode_resp_command(c(list("SUBSCRIBE"), as.list(channels))), state$con)
    for (i in seq_along(channels)) read_resp_reply(state$con, io_failure, timeout_seconds)
  }

  # Every message that arrived since the last call: a list of list(channel, message). Never blocks
  # (beyond finishing a message whose first bytes are there).
  poll <- function(now = as.numeric(Sys.time())) {
    messages <- list()
    if (is.null(state$con)) {
      if (now < state$retry_at) {
        return(messages)
      }
      opened <- tryCatch({
        open()
        TRUE
      }, error = function(e) {
        drop()
        state$retry_at <- now + subscriber_reconnect_seconds
        if (!state$broken_logged) logger$warn("cannot subscribe to the wake and cancel channels; trying again every second", error = conditionMessage(e))
        state$broken_logged <- TRUE
        FALSE
      })
      if (!opened) {
        return(messages)
      }
      if (state$broken_logged) logger$info("subscribed to the wake and cancel channels again")
      state$broken_logged <- FALSE
      # What was published while we were away is lost: say so with an empty message, which makes the
      # supervisor claim and renew at once.
      messages[[1]] <- list(channel = "", message = "")
    }
    repeat {
      readable <- tryCatch(socketSelect(list(state$con), write = FALSE, timeout = 0), error = function(e) NA)
      if (isFALSE(readable)) break
      reply <- if (isTRUE(readable)) tryCatch(read_resp_reply(state$con, io_failure, timeout_seconds), error = function(e) e) else NULL
      if (is.null(reply) || inherits(reply, "error")) {
        drop()
        state$retry_at <- now + subscriber_reconnect_seconds
        logger$warn("the subscription to the wake and cancel channels broke; reconnecting")
        state$broken_logged <- TRUE
        break
      }
      if (is.list(reply) && length(reply) == 3 && identical(as_text(reply[[1]]), "message")) {
        messages[[length(messages) + 1L]] <- list(channel = as_text(reply[[2]]), message = as_text(reply[[3]]))
      }
    }
    messages
  }

  list(poll = poll, close = drop, connected = function() !is.null(state$con))
}
