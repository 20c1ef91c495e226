# Where Redis is: one server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES) or a master found
# through Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME), the same settings and rules as
# shared/src/config.ts. config.R reads them into `config$redis_url`: the REDIS_URL string for one
# server, or a deployment (redis_cluster_deployment / redis_sentinel_deployment) otherwise, which
# redis_connect() (resp_client.R) takes in a URL's place. The cluster and sentinel clients are the
# base-R RESP client's (redis_cluster.R, redis_sentinel.R); redux is not used for them.

# "host:port,host:port" -> c("host:port", ...) with IPv6 brackets kept; raises an error saying what must be true.
parse_host_port_list <- function(text) {
  entries <- trimws(strsplit(text, ",", fixed = TRUE)[[1]])
  entries <- entries[nzchar(entries)]
  for (entry in entries) {
    address <- split_address(entry)
    if (is.null(address)) stop(sprintf("must be host:port pairs separated by commas (got \"%s\")", entry), call. = FALSE)
  }
  entries
}

# "host:port" or "[v6]:port" -> list(host, port), NULL when it is not one.
split_address <- function(entry) {
  pattern <- "^(\\[[^\\]]+\\]|[^\\[\\]:\\s]+):([0-9]{1,5})$"
  if (!grepl(pattern, entry, perl = TRUE)) {
    return(NULL)
  }
  port <- as.integer(sub(pattern, "\\2", entry, perl = TRUE))
  if (port < 1 || port > 65535) {
    return(NULL)
  }
  list(host = gsub("^\\[|\\]$", "", sub(pattern, "\\1", entry, perl = TRUE)), port = port)
}

redis_cluster_deployment <- function(nodes, username = NULL, password = NULL) {
  list(
    kind = "cluster", nodes = nodes, username = username, password = password,
    where = sprintf("cluster %s", paste(nodes, collapse = ","))
  )
}

redis_sentinel_deployment <- function(sentinels, name, username = NULL, password = NULL, sentinel_password = NULL) {
  list(
    kind = "sentinel", sentinels = sentinels, name = name, username = username, password = password,
    sentinel_password = sentinel_password,
    where = sprintf("master '%s' of sentinels %s", name, paste(sentinels, collapse = ","))
  )
}

# A target of resp_client.R (what parse_redis_url() returns) for the server at "host:port".
address_target <- function(address, username = NULL, password = NULL) {
  parts <- split_address(address)
  if (is.null(parts)) stop(redis_error(sprintf("Redis named an address that is not host:port: %s", address)))
  list(tls = FALSE, host = parts$host, port = parts$port, username = username, password = password, db = 0L, where = address)
}

# For the subscriber (subscriber.R): where to subscribe, asked again on every (re)connect. Pub/sub
# messages reach every node of a cluster, so any node will do (the next one after a failure); with
# sentinels it is the master they name now.
redis_subscriber_target <- function(spec) {
  if (is.character(spec)) {
    return(parse_redis_url(spec))
  }
  if (identical(spec$kind, "cluster")) {
    turn <- 0L
    return(function() {
      turn <<- turn %% length(spec$nodes) + 1L
      address_target(spec$nodes[[turn]], spec$username, spec$password)
    })
  }
  function() address_target(sentinel_master_address(spec), spec$username, spec$password)
}

# For logs: where Redis is, without passwords.
redis_where <- function(spec) {
  if (is.character(spec)) parse_redis_url(spec)$where else spec$where
}
