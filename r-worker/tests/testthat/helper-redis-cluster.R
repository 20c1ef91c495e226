# A real Redis Cluster for the tests that need one: `masters` redis-servers with --cluster-enabled yes
# on free loopback ports (helper-redis.R's start_redis_server, each in its own directory), joined by
# redis-cli --cluster create without replicas. Killed when the test run ends, like every server.

# A node also binds its cluster bus on port + 10000: both must be free, and the bus port below the
# ephemeral range (32768+), where any outgoing connection may take it. A port found free can still be
# taken before redis-server binds it (other tests start servers too): a node that exits early is
# started again on other ports, a few times at most.
free_cluster_port <- function() {
  for (attempt in 1:50) {
    port <- sample(20000:22767, 1)
    probes <- lapply(c(port, port + 10000), function(p) tryCatch(serverSocket(p), error = function(e) NULL))
    for (probe in probes) if (!is.null(probe)) close(probe)
    if (all(!vapply(probes, is.null, logical(1)))) {
      return(port)
    }
  }
  stop("no free port pair found for a cluster node", call. = FALSE)
}

start_cluster_node <- function(password) {
  for (attempt in 1:3) {
    started <- tryCatch(
      start_redis_server(password = password, port = free_cluster_port(), extra_args = c(
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
        if (!is.null(password)) c("--masterauth", password)
      )),
      error = function(e) if (attempt < 3 && grepl("exited early", conditionMessage(e), fixed = TRUE)) NULL else stop(e)
    )
    if (!is.null(started)) {
      return(started)
    }
  }
}

start_redis_cluster <- function(masters = 3, password = NULL) {
  servers <- lapply(seq_len(masters), function(i) start_cluster_node(password))
  addresses <- vapply(servers, function(s) sprintf("127.0.0.1:%d", s$port), character(1))
  created <- processx::run("redis-cli", c("--cluster", "create", addresses, "--cluster-replicas", "0", "--cluster-yes", if (!is.null(password)) c("-a", password, "--no-auth-warning")), error_on_status = FALSE, timeout = 30)
  if (created$status != 0) stop(sprintf("redis-cli --cluster create failed: %s", created$stderr), call. = FALSE)
  direct <- lapply(servers, function(s) redis_connect(s$url, use_redux = FALSE))
  withr::defer(for (client in direct) client$close(), envir = testthat::teardown_env())
  wait_for(function() {
    all(vapply(direct, function(client) grepl("cluster_state:ok", as_text(client$command(list("CLUSTER", "INFO")))), logical(1)))
  }, timeout = 20, what = "cluster_state:ok on every node")
  list(
    servers = servers,
    addresses = addresses,
    # A plain client of each node, by address ("127.0.0.1:port").
    direct = stats::setNames(direct, addresses),
    ids = stats::setNames(vapply(direct, function(client) as_text(client$command(list("CLUSTER", "MYID"))), character(1)), addresses)
  )
}
