# The one Redis interface the rest of the worker uses, whichever client is underneath:
#
#   client <- redis_connect("redis://:password@127.0.0.1:6379/0", retry_seconds = 30)
#   client$command(list("SET", key, bytes, "EX", 60))  # replies: status/bulk -> character or raw, integer -> numeric
#   client$command(list("EVAL", ...), idempotent = TRUE) # may be sent again if its answer is lost
#   client$get_raw(key)                                 # the value's bytes (raw), or NULL when there is no key
#   client$close()
#
# redux (hiredis) is used when it is installed (it is in the Docker image, and it is the only way to
# speak TLS, rediss://). Otherwise a small RESP2 client in base R: a binary-mode socket, bulk strings
# as raw vectors so MessagePack bytes survive, AUTH and SELECT on every (re)connect, a timeout on
# connect and on each reply. A broken connection is dropped and the next command opens a new one;
# with `retry_seconds` > 0 a command rides out a Redis outage of up to that long (redis_retry.R).
#
# One client is one connection and is not shared across processes: a forked child opens its own
# (two processes reading replies from one socket get each other's answers).

redux_available <- function() {
  requireNamespace("redux", quietly = TRUE)
}

# `retry_seconds` and `on_outage`: see send_with_retry() in redis_retry.R. With connect_now, the first
# PING rides out an outage too.
#
# `url` may also be a deployment of redis_deployment.R (a Redis Cluster, or a master found through
# sentinels; config$redis_url holds one when REDIS_CLUSTER_NODES or REDIS_SENTINELS is set): then the
# cluster or sentinel client of the base-R RESP client, whichever `use_redux` says.
redis_connect <- function(url, timeout_seconds = 2, use_redux = redux_available(), connect_now = TRUE,
                          retry_seconds = 0, on_outage = NULL) {
  if (is.list(url)) {
    new_client <- if (identical(url$kind, "cluster")) new_cluster_client else new_sentinel_client
    client <- new_client(url, timeout_seconds, retry_seconds, on_outage)
    if (connect_now) client$command(list("PING"), idempotent = TRUE)
    return(client)
  }
  target <- parse_redis_url(url)
  client <- if (use_redux) {
    new_redux_client(url, target, retry_seconds, on_outage)
  } else {
    new_resp_client(target, timeout_seconds, retry_seconds, on_outage)
  }
  if (connect_now) {
    client$command(list("PING"), idempotent = TRUE)
  }
  client
}

# redis[s]://[[username]:password@]host[:port][/db]; the password may be percent-encoded.
parse_redis_url <- function(url) {
  pattern <- "^(rediss?)://(([^@/]*)@)?(\\[[^]]+\\]|[^:/@]+)(:([0-9]+))?(/([0-9]*))?/?$"
  if (!is.character(url) || length(url) != 1 || !grepl(pattern, url)) {
    stop("must be a URL starting with redis:// or rediss:// (redis://[:password@]host[:port][/db])", call. = FALSE)
  }
  part <- function(i) sub(pattern, sprintf("\\%d", i), url)
  userinfo <- part(3)
  username <- NULL
  password <- NULL
  if (nzchar(userinfo)) {
    colon <- regexpr(":", userinfo, fixed = TRUE)
    if (colon > 0) {
      username <- utils::URLdecode(substr(userinfo, 1, colon - 1))
      password <- utils::URLdecode(substr(userinfo, colon + 1, nchar(userinfo)))
    } else {
      username <- utils::URLdecode(userinfo)
    }
    if (identical(username, "")) username <- NULL
    if (identical(password, "")) password <- NULL
  }
  port <- if (nzchar(part(6))) as.numeric(part(6)) else 6379
  if (port < 1 || port > 65535) {
    stop("must have a port between 1 and 65535", call. = FALSE)
  }
  db <- if (nzchar(part(8))) as.integer(part(8)) else 0L
  host <- gsub("^\\[|\\]$", "", part(4))
  list(
    tls = part(1) == "rediss",
    host = host,
    port = as.integer(port),
    username = username,
    password = password,
    db = db,
    # Where, for messages and logs: never the password.
    where = sprintf("%s:%d/%d", host, as.integer(port), db)
  )
}

redis_error <- function(message, reply = FALSE) {
  classes <- c(if (reply) "redis_reply_error", "redis_error", "error", "condition")
  structure(class = classes, list(message = message, call = NULL))
}

new_resp_client <- function(target, timeout_seconds, retry_seconds = 0, on_outage = NULL) {
  state <- new.env(parent = emptyenv())
  state$con <- NULL

  drop_connection <- function() {
    if (!is.null(state$con)) try(close(state$con), silent = TRUE)
    state$con <- NULL
  }
  io_failure <- function(message) {
    drop_connection()
    stop(redis_error(sprintf("Redis at %s: %s", target$where, message)))
  }

  # Redis sends nothing unasked on a RESP2 connection, so an idle one that has something to read was
  # closed by the server (it restarted): drop it before sending anything on it.
  is_open <- function() {
    if (!is.null(state$con)) {
      readable <- tryCatch(socketSelect(list(state$con), write = FALSE, timeout = 0), error = function(e) TRUE)
      if (!isFALSE(readable)) drop_connection()
    }
    !is.null(state$con)
  }

  open_connection <- function() {
    con <- tryCatch(
      suppressWarnings(socketConnection(
        host = target$host, port = target$port, open = "r+b", blocking = TRUE, timeout = timeout_seconds
      )),
      error = function(e) NULL
    )
    if (is.null(con)) {
      stop(redis_not_sent_error(sprintf(
        "cannot connect to Redis at %s: the connection was refused or not made within %s s (is redis-server running there?)",
        target$where, timeout_seconds
      )))
    }
    state$con <- con
    handshake <- list()
    if (!is.null(target$password)) {
      handshake <- c(handshake, list(c(list("AUTH"), if (!is.null(target$username)) list(target$username), list(target$password))))
    }
    if (target$db != 0) {
      handshake <- c(handshake, list(list("SELECT", target$db)))
    }
    # Nothing of the caller's command has been sent yet, whatever goes wrong here.
    for (args in handshake) {
      tryCatch(round_trip(args), redis_error = function(e) {
        drop_connection()
        if (!inherits(e, "redis_reply_error") || is_transient_reply(e)) stop(redis_not_sent_error(conditionMessage(e)))
        what <- if (identical(args[[1]], "AUTH")) "rejected the password" else sprintf("refused SELECT %d", target$db)
        stop(redis_error(sprintf("Redis at %s %s: %s", target$where, what, conditionMessage(e))))
      })
    }
  }

  round_trip <- function(args) {
    con <- state$con
    payload <- encode_resp_command(args)
    sent <- tryCatch({
      writeBin(payload, con)
      TRUE
    }, error = function(e) FALSE, warning = function(w) FALSE)
    if (!sent) io_failure("the connection broke while sending a command")
    reply <- read_resp_reply(con, io_failure, timeout_seconds)
    if (inherits(reply, "redis_reply_error")) stop(reply)
    reply
  }

  link <- list(open = open_connection, is_open = is_open, round_trip = round_trip)
  retrying_client(link, target$where, retry_seconds, on_outage, close = drop_connection)
}

encode_resp_command <- function(args) {
  parts <- lapply(args, function(arg) {
    bytes <- resp_arg_bytes(arg)
    c(charToRaw(sprintf("$%d\r\n", length(bytes))), bytes, charToRaw("\r\n"))
  })
  c(charToRaw(sprintf("*%d\r\n", length(args))), unlist(parts, use.names = FALSE))
}

resp_arg_bytes <- function(arg) {
  if (is.raw(arg)) {
    return(arg)
  }
  if (length(arg) != 1 || is.na(arg)) {
    stop("each Redis command argument must be one string, number or raw vector", call. = FALSE)
  }
  if (is.numeric(arg)) {
    text <- if (arg == trunc(arg)) format_whole(arg) else format(arg, digits = 17)
    return(charToRaw(text))
  }
  charToRaw(enc2utf8(as.character(arg)))
}

# One reply. Errors inside arrays are returned as condition objects; a top-level error reply is
# returned too, for the caller to raise, so the connection stays in step either way.
read_resp_reply <- function(con, io_failure, timeout_seconds) {
  line <- read_resp_line(con, io_failure, timeout_seconds)
  type <- substr(line, 1, 1)
  rest <- substr(line, 2, nchar(line))
  switch(
    type,
    "+" = rest,
    "-" = redis_error(rest, reply = TRUE),
    ":" = as.numeric(rest),
    "$" = {
      n <- as.numeric(rest)
      if (n < 0) {
        return(NULL)
      }
      bytes <- read_resp_bytes(con, n + 2, io_failure, timeout_seconds)
      bytes[seq_len(n)]
    },
    "*" = {
      n <- as.numeric(rest)
      if (n < 0) {
        return(NULL)
      }
      items <- vector("list", n)
      for (i in seq_len(n)) {
        item <- read_resp_reply(con, io_failure, timeout_seconds)
        if (!is.null(item)) items[[i]] <- item
      }
      items
    },
    io_failure(sprintf("answered something that is not RESP2 (a line starting %s)", encodeString(type, quote = "'")))
  )
}

# Every RESP line is at least 3 bytes (its type and CRLF): those are read at once, then a byte at a
# time up to the CRLF (a blocking socket cannot be asked for what has arrived so far), all under one
# tryCatch, which in R costs more than the read itself.
read_resp_line <- function(con, io_failure, timeout_seconds) {
  cr <- as.raw(0x0d)
  lf <- as.raw(0x0a)
  bytes <- tryCatch({
    got <- readBin(con, "raw", 3L)
    n <- length(got)
    if (n == 3L) {
      while (!(got[[n]] == lf && got[[n - 1L]] == cr)) {
        byte <- readBin(con, "raw", 1L)
        if (length(byte) == 0L) break
        got <- c(got, byte)
        n <- n + 1L
      }
    }
    got
  }, error = function(e) raw(0), warning = function(w) raw(0))
  n <- length(bytes)
  if (n < 3L || bytes[[n]] != lf || bytes[[n - 1L]] != cr) {
    io_failure(sprintf("no complete answer within %s s (connection closed or timed out)", timeout_seconds))
  }
  rawToChar(bytes[seq_len(n - 2L)])
}

read_resp_bytes <- function(con, n, io_failure, timeout_seconds) {
  bytes <- tryCatch(readBin(con, "raw", n), error = function(e) raw(0), warning = function(w) raw(0))
  if (length(bytes) < n) {
    io_failure(sprintf("no complete answer within %s s (connection closed or timed out)", timeout_seconds))
  }
  bytes
}

# hiredis returns bulk strings as C strings (cut at the first NUL), so binary values are read as hex
# made by a one-line Lua script; arguments, raw vectors included, are sent binary-safe. redux turns an
# error reply into an R error carrying Redis's text, a broken connection into "Failure communicating
# with the Redis server" and a failed connect into "Failed to create context: ...". It cannot tell
# that an idle connection was closed by the server, so a non-idempotent command sent on one fails once.
new_redux_client <- function(url, target, retry_seconds = 0, on_outage = NULL) {
  state <- new.env(parent = emptyenv())
  state$con <- NULL
  get_hex_script <- paste(
    "local v = redis.call('GET', KEYS[1])",
    "if not v then return false end",
    "return (v:gsub('.', function(c) return string.format('%02x', string.byte(c)) end))",
    sep = "\n"
  )
  io_pattern <- "^(Failure communicating|Context is not connected)"
  open <- function() {
    state$con <- tryCatch(redux::hiredis(url = url), error = function(e) {
      message <- conditionMessage(e)
      text <- sprintf("cannot connect to Redis at %s: %s", target$where, message)
      # AUTH or SELECT refused is a setting to fix, not an outage.
      if (grepl("^Failed to create context", message) || grepl(io_pattern, message) || grepl(redis_transient_reply_pattern, message)) {
        stop(redis_not_sent_error(text))
      }
      stop(redis_error(text))
    })
  }
  round_trip <- function(args) {
    tryCatch(state$con$command(args), error = function(e) {
      message <- conditionMessage(e)
      if (grepl(io_pattern, message)) {
        state$con <- NULL
        stop(redis_error(sprintf("Redis at %s: %s", target$where, message)))
      }
      stop(redis_error(message, reply = TRUE))
    })
  }
  link <- list(open = open, is_open = function() !is.null(state$con), round_trip = round_trip)
  command <- function(args, idempotent = FALSE) {
    send_with_retry(link, args, idempotent, retry_seconds, target$where, on_outage)
  }
  list(
    driver = "redux",
    where = target$where,
    command = command,
    get_raw = function(key) {
      hex <- command(list("EVAL", get_hex_script, 1, key), idempotent = TRUE)
      if (is.null(hex)) {
        return(NULL)
      }
      hex <- as.character(hex)
      if (!nzchar(hex)) {
        return(raw(0))
      }
      as.raw(strtoi(substring(hex, seq(1, nchar(hex), 2), seq(2, nchar(hex), 2)), 16L))
    },
    close = function() state$con <- NULL
  )
}
