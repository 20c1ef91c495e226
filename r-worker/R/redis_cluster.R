# A Redis Cluster client on the base-R RESP client (resp_client.R): each command goes to the master
# that serves its key's slot, as ioredis's Cluster does for the TypeScript side.
#
# - The slot of a key is CRC16 (XMODEM) of the key, or of its hash tag (`{...}`, the first non-empty
#   one) when it has one, modulo 16384. Every key of one queue shares the tag `{<kind>:<queue>}`, so
#   every Lua script runs on one node: EVAL/EVALSHA go to the node of their first key.
# - The slot map comes from CLUSTER SLOTS of any node that answers (the configured ones first, then any
#   learnt). A MOVED answer updates the slot and sends the command where it says (and the whole map is
#   read again before the next command); ASK sends ASKING and the command to the node it names, once,
#   without changing the map. At most `cluster_max_redirects` hops.
# - A node that cannot be reached makes the next try read the slot map again (its slots may have moved
#   to a replica); retries and what may be sent again are redis_retry.R's, as for one server.
# - SCRIPT LOAD goes to every master; commands without a key (PING) to any of them.

cluster_slot_count <- 16384L
cluster_max_redirects <- 8L

crc16_table <- local({
  table <- integer(256)
  for (i in 0:255) {
    crc <- bitwShiftL(i, 8L)
    for (bit in 1:8) {
      crc <- if (bitwAnd(crc, 0x8000L) != 0L) bitwXor(bitwShiftL(crc, 1L), 0x1021L) else bitwShiftL(crc, 1L)
      crc <- bitwAnd(crc, 0xFFFFL)
    }
    table[[i + 1L]] <- crc
  }
  table
})

# CRC16-CCITT (XMODEM) of raw bytes, the checksum Redis Cluster uses; crc16(charToRaw("123456789")) is 0x31C3.
crc16 <- function(bytes) {
  crc <- 0L
  for (byte in as.integer(bytes)) {
    crc <- bitwAnd(bitwXor(bitwShiftL(crc, 8L), crc16_table[[bitwXor(bitwShiftR(crc, 8L), byte) + 1L]]), 0xFFFFL)
  }
  crc
}

# The slot of `key` (a string or raw vector), as CLUSTER KEYSLOT answers it.
key_slot <- function(key) {
  bytes <- resp_arg_bytes(key)
  open <- match(as.raw(0x7b), bytes) # {
  if (!is.na(open)) {
    after <- if (open < length(bytes)) bytes[(open + 1L):length(bytes)] else raw(0)
    close <- match(as.raw(0x7d), after) # }
    if (!is.na(close) && close > 1L) bytes <- after[seq_len(close - 1L)]
  }
  crc16(bytes) %% cluster_slot_count
}

# Commands the worker sends that name no key: any master will do.
keyless_commands <- c("PING", "SCRIPT", "PUBLISH", "INFO", "CLUSTER", "ECHO", "TIME", "ROLE", "ASKING")

# The key a command is routed by, or NULL for a command without one.
command_key <- function(args) {
  name <- toupper(as_text(args[[1]]))
  if (name %in% c("EVAL", "EVALSHA")) {
    return(if (length(args) >= 4 && as.numeric(as_text(args[[3]])) > 0) args[[4]] else NULL)
  }
  if (name %in% keyless_commands || length(args) < 2) NULL else args[[2]]
}

new_cluster_client <- function(deployment, timeout_seconds, retry_seconds = 0, on_outage = NULL) {
  state <- new.env(parent = emptyenv())
  state$nodes <- list() # "host:port" -> resp client
  state$slots <- rep(NA_character_, cluster_slot_count) # slot + 1 -> "host:port" of its master
  state$map_ok <- FALSE

  node <- function(address) {
    client <- state$nodes[[address]]
    if (is.null(client)) {
      client <- new_resp_client(address_target(address, deployment$username, deployment$password), timeout_seconds)
      state$nodes[[address]] <- client
    }
    client
  }
  masters <- function() unique(stats::na.omit(state$slots))

  read_slot_map <- function() {
    last_error <- NULL
    for (address in unique(c(deployment$nodes, masters(), names(state$nodes)))) {
      reply <- tryCatch(node(address)$command(list("CLUSTER", "SLOTS"), idempotent = TRUE), redis_error = function(e) e)
      if (inherits(reply, "redis_reply_error") && !is_transient_reply(reply)) stop(reply) # a wrong password: say so
      if (inherits(reply, "redis_error")) {
        last_error <- reply
        next
      }
      slots <- rep(NA_character_, cluster_slot_count)
      for (range in reply) {
        host <- as_text(range[[3]][[1]])
        if (!nzchar(host) || identical(host, "?")) host <- split_address(address)$host
        master <- if (grepl(":", host, fixed = TRUE)) sprintf("[%s]:%d", host, as.integer(range[[3]][[2]])) else sprintf("%s:%d", host, as.integer(range[[3]][[2]]))
        slots[(as.integer(range[[1]]):as.integer(range[[2]])) + 1L] <- master
      }
      if (anyNA(slots)) {
        last_error <- redis_error(sprintf("Redis Cluster node %s does not serve every slot yet (CLUSTERDOWN)", address))
        next
      }
      state$slots <- slots
      state$map_ok <- TRUE
      return(invisible(NULL))
    }
    stop(redis_not_sent_error(sprintf(
      "cannot read the slot map of the Redis Cluster at %s: %s", deployment$where,
      if (is.null(last_error)) "no node answered" else conditionMessage(last_error)
    )))
  }

  address_for <- function(args) {
    key <- command_key(args)
    if (is.null(key)) masters()[[1]] else state$slots[[key_slot(key) + 1L]]
  }

  # One command on its node, following MOVED and ASK.
  routed <- function(args) {
    address <- address_for(args)
    asking <- FALSE
    for (hop in seq_len(cluster_max_redirects)) {
      reply <- tryCatch(
        {
          client <- node(address)
          if (asking) client$command(list("ASKING"))
          client$command(args)
        },
        redis_reply_error = function(e) e,
        redis_error = function(e) {
          state$map_ok <- FALSE # the node may be gone and its slots served elsewhere: read the map again
          stop(e)
        }
      )
      if (!inherits(reply, "redis_reply_error")) {
        return(reply)
      }
      redirect <- strsplit(conditionMessage(reply), " ", fixed = TRUE)[[1]]
      if (length(redirect) == 3 && redirect[[1]] %in% c("MOVED", "ASK")) {
        address <- redirect[[3]]
        asking <- redirect[[1]] == "ASK"
        if (!asking) {
          state$slots[[as.integer(redirect[[2]]) + 1L]] <- address
          state$map_ok <- FALSE # slots moved: the next command reads the whole map again
        }
        next
      }
      if (startsWith(conditionMessage(reply), "CLUSTERDOWN")) state$map_ok <- FALSE
      stop(reply)
    }
    stop(redis_error(sprintf("Redis Cluster at %s redirected a command more than %d times", deployment$where, cluster_max_redirects)))
  }

  round_trip <- function(args) {
    if (identical(toupper(as_text(args[[1]])), "SCRIPT")) {
      replies <- lapply(masters(), function(address) node(address)$command(args, idempotent = TRUE))
      return(replies[[1]])
    }
    routed(args)
  }

  link <- list(open = read_slot_map, is_open = function() state$map_ok, round_trip = round_trip)
  retrying_client(link, deployment$where, retry_seconds, on_outage,
    close = function() {
      for (client in state$nodes) client$close()
      state$nodes <- list()
      state$map_ok <- FALSE
    },
    # For tests and logs: the master serving `key`.
    extra = list(node_of = function(key) {
      if (!state$map_ok) read_slot_map()
      state$slots[[key_slot(key) + 1L]]
    })
  )
}
