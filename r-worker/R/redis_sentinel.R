# A client of the master that Redis Sentinel names, on the base-R RESP client (resp_client.R). The
# master's address is asked of the sentinels (SENTINEL get-master-addr-by-name, each in turn until one
# answers) when the client connects and again whenever the connection to the master fails, so after a
# failover the next try reaches the promoted replica. A server that is not (or no longer) a master
# (ROLE, or a READONLY answer) is treated as not reached: nothing was written there, and the sentinels
# are asked again. Retries and what may be sent again are redis_retry.R's, as for one server.

# "host:port" of the master the sentinels of `deployment` name now; redis_not_sent_error when none answers.
sentinel_master_address <- function(deployment, timeout_seconds = 2) {
  problems <- character(0)
  for (sentinel in deployment$sentinels) {
    client <- new_resp_client(address_target(sentinel, password = deployment$sentinel_password), timeout_seconds)
    reply <- tryCatch(client$command(list("SENTINEL", "get-master-addr-by-name", deployment$name)), redis_error = function(e) e)
    client$close()
    if (inherits(reply, "redis_error")) {
      problems <- c(problems, sprintf("%s: %s", sentinel, conditionMessage(reply)))
    } else if (is.null(reply)) {
      problems <- c(problems, sprintf("%s knows no master named '%s' (REDIS_SENTINEL_NAME)", sentinel, deployment$name))
    } else {
      host <- as_text(reply[[1]])
      return(if (grepl(":", host, fixed = TRUE)) sprintf("[%s]:%s", host, as_text(reply[[2]])) else sprintf("%s:%s", host, as_text(reply[[2]])))
    }
  }
  stop(redis_not_sent_error(sprintf("no sentinel named the master '%s': %s", deployment$name, paste(problems, collapse = "; "))))
}

new_sentinel_client <- function(deployment, timeout_seconds, retry_seconds = 0, on_outage = NULL) {
  state <- new.env(parent = emptyenv())
  state$master <- NULL # resp client of the master named last
  state$address <- NULL

  forget_master <- function() {
    if (!is.null(state$master)) state$master$close()
    state$master <- NULL
  }

  open <- function() {
    forget_master()
    address <- sentinel_master_address(deployment, timeout_seconds)
    client <- new_resp_client(address_target(address, deployment$username, deployment$password), timeout_seconds)
    role <- tryCatch(client$command(list("ROLE")), redis_error = function(e) e)
    if (inherits(role, "redis_error") || !identical(as_text(role[[1]]), "master")) {
      client$close()
      why <- if (inherits(role, "redis_error")) conditionMessage(role) else sprintf("it is a %s", as_text(role[[1]]))
      stop(redis_not_sent_error(sprintf("the sentinels name %s as master '%s', but %s", address, deployment$name, why)))
    }
    state$master <- client
    state$address <- address
  }

  round_trip <- function(args) {
    tryCatch(state$master$command(args), redis_error = function(e) {
      if (startsWith(conditionMessage(e), "READONLY")) {
        forget_master() # demoted since: it ran nothing; ask the sentinels again
        stop(redis_not_sent_error(sprintf("Redis at %s is no longer master '%s': %s", state$address, deployment$name, conditionMessage(e))))
      }
      if (!inherits(e, "redis_reply_error")) forget_master()
      stop(e)
    })
  }

  link <- list(open = open, is_open = function() !is.null(state$master), round_trip = round_trip)
  retrying_client(link, deployment$where, retry_seconds, on_outage,
    close = forget_master,
    # For tests and logs: the master's address as last named ("host:port"), NULL before the first command.
    extra = list(master_address = function() state$address)
  )
}
