# A real Redis Sentinel set for the tests that need one: a master and a replica (helper-redis.R's
# start_redis_server) and three sentinels (quorum 2, a master is down after 1 s without answers).
# Killed when the test run ends, like every server.

start_redis_sentinels <- function(name = "switchyard") {
  master <- start_redis_server()
  replica <- start_redis_server(extra_args = c("--replicaof", "127.0.0.1", master$port))
  direct <- redis_connect(replica$url, use_redux = FALSE)
  withr::defer(direct$close(), envir = testthat::teardown_env())
  wait_for(function() grepl("master_link_status:up", as_text(direct$command(list("INFO", "replication")))), timeout = 10, what = "the replica to sync")
  ports <- vapply(1:3, function(i) free_port(), numeric(1))
  # Kept in a list: a processx process no longer referenced is killed when it is garbage collected.
  processes <- lapply(ports, function(port) {
    dir <- tempfile("sentinel-")
    dir.create(dir)
    file <- file.path(dir, "sentinel.conf")
    writeLines(c(
      sprintf("port %d", port), "bind 127.0.0.1", sprintf("dir %s", dir),
      sprintf("sentinel monitor %s 127.0.0.1 %d 2", name, master$port),
      sprintf("sentinel down-after-milliseconds %s 1000", name),
      sprintf("sentinel failover-timeout %s 10000", name)
    ), file)
    process <- processx::process$new("redis-server", c(file, "--sentinel"), stdout = NULL, stderr = NULL, cleanup = TRUE)
    withr::defer(if (process$is_alive()) process$kill(), envir = testthat::teardown_env())
    process
  })
  sentinels <- sprintf("127.0.0.1:%d", as.integer(ports))
  wait_for(function() {
    all(vapply(sentinels, function(address) {
      client <- new_resp_client(address_target(address), 1)
      on.exit(client$close())
      known <- tryCatch(client$command(list("SENTINEL", "sentinels", name)), error = function(e) list())
      length(known) == 2
    }, logical(1)))
  }, timeout = 20, what = "the sentinels to know each other")
  list(master = master, replica = replica, sentinels = sentinels, name = name, processes = processes)
}
