# Slot routing of the Redis Cluster client (R/redis_cluster.R) against known vectors and a real
# 3-master cluster (helper-redis-cluster.R): CRC16, hash tags, routing by slot, MOVED and ASK.

test_that("CRC16 is the XMODEM checksum Redis Cluster uses", {
  expect_identical(crc16(charToRaw("123456789")), 0x31C3L)
  expect_identical(crc16(raw(0)), 0L)
})

test_that("key slots match Redis's known values, hash tags included", {
  expect_identical(key_slot("foo"), 12182L)
  expect_identical(key_slot("bar"), 5061L)
  expect_identical(key_slot("hello"), 866L)
  expect_identical(key_slot("{user1000}.following"), key_slot("user1000"))
  expect_identical(key_slot("{user1000}.followers"), key_slot("user1000"))
  expect_identical(key_slot("foo{}{bar}"), crc16(charToRaw("foo{}{bar}")) %% 16384L) # an empty tag: the whole key
  expect_identical(key_slot("foo{{bar}}zap"), key_slot("{bar")) # from the first { to the first } after it
  expect_identical(key_slot("foo{bar}{zap}"), key_slot("bar")) # the first tag only
  expect_identical(key_slot(charToRaw("{node:default}:wait")), key_slot("node:default"))
})

test_that("commands are routed by their key; scripts by their first key; PING anywhere", {
  expect_identical(command_key(list("GET", "k")), "k")
  expect_identical(command_key(list("EVALSHA", "abc", 2, "k1", "k2", "arg")), "k1")
  expect_null(command_key(list("EVAL", "return 1", 0)))
  expect_null(command_key(list("PING")))
  expect_null(command_key(list("SCRIPT", "LOAD", "return 1")))
})

cluster <- start_redis_cluster()
deployment <- redis_cluster_deployment(cluster$addresses[[1]])

# The address of the master serving `slot`, as the cluster itself says.
owner_of_slot <- function(slot) {
  for (range in cluster$direct[[1]]$command(list("CLUSTER", "SLOTS"))) {
    if (slot >= range[[1]] && slot <= range[[2]]) {
      return(sprintf("%s:%d", as_text(range[[3]][[1]]), as.integer(range[[3]][[2]])))
    }
  }
  stop("no owner")
}

test_that("key_slot agrees with CLUSTER KEYSLOT of a real node on Switchyard's keys and random ones", {
  keys <- c(
    "switchyard:{node:default}:wait", "switchyard:{r:models}:job:abc", "switchyard:{wf:123}:workflow",
    "switchyard:locator:abc", "switchyard:queues", vapply(1:100, function(i) paste(sample(c(letters, "{", "}", ":"), 12, TRUE), collapse = ""), "")
  )
  node <- cluster$direct[[1]]
  for (key in keys) expect_equal(key_slot(key), node$command(list("CLUSTER", "KEYSLOT", key)), label = key)
})

test_that("each key is written on the master that serves its slot, found from one configured node", {
  client <- redis_connect(deployment)
  on.exit(client$close(), add = TRUE)
  keys <- sprintf("{q%d}:value", 1:30)
  for (key in keys) expect_identical(client$command(list("SET", key, key, "EX", 60)), "OK")
  owners <- vapply(keys, function(key) owner_of_slot(key_slot(key)), "")
  expect_length(unique(owners), 3) # the keys spread over every master
  for (key in keys) {
    expect_identical(client$node_of(key), owners[[key]])
    expect_identical(as_text(cluster$direct[[owners[[key]]]]$command(list("GET", key))), key)
    expect_identical(as_text(client$get_raw(key)), key)
  }
  # A script runs on its first key's node (its keys share a tag); a keyless command anywhere.
  expect_identical(as_text(client$command(list("EVAL", "return redis.call('GET', KEYS[1])", 1, keys[[5]]))), keys[[5]])
  expect_identical(client$command(list("PING")), "PONG")
})

# Moves `slot` from master `from` to master `to`, migrating `keys` (all of that slot) first.
move_slot <- function(slot, from, to, keys) {
  target <- split_address(to)
  cluster$direct[[to]]$command(list("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster$ids[[from]]))
  cluster$direct[[from]]$command(list("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster$ids[[to]]))
  if (length(keys) > 0) cluster$direct[[from]]$command(c(list("MIGRATE", target$host, target$port, "", 0, 5000, "KEYS"), as.list(keys)))
  for (node in cluster$direct) node$command(list("CLUSTER", "SETSLOT", slot, "NODE", cluster$ids[[to]]))
}

test_that("a MOVED answer is followed, and the client learns the slot's new master", {
  client <- redis_connect(deployment)
  on.exit(client$close(), add = TRUE)
  key <- "{moved-test}:value"
  client$command(list("SET", key, "here", "EX", 600))
  from <- client$node_of(key)
  to <- setdiff(cluster$addresses, from)[[1]]
  move_slot(key_slot(key), from, to, key)
  expect_identical(as_text(client$get_raw(key)), "here") # sent to `from`, which answered MOVED
  expect_identical(client$node_of(key), to)
  expect_identical(client$command(list("SET", key, "again", "EX", 600)), "OK")
  expect_identical(as_text(cluster$direct[[to]]$command(list("GET", key))), "again")
})

test_that("an ASK answer (a slot being migrated) sends ASKING and the command to the importing node, once", {
  client <- redis_connect(deployment)
  on.exit(client$close(), add = TRUE)
  moved <- "{ask-test}:moved"
  stays <- "{ask-test}:stays"
  client$command(list("SET", moved, "on the new node", "EX", 600))
  client$command(list("SET", stays, "on the old node", "EX", 600))
  slot <- key_slot(moved)
  from <- client$node_of(moved)
  to <- setdiff(cluster$addresses, from)[[1]]
  cluster$direct[[to]]$command(list("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster$ids[[from]]))
  cluster$direct[[from]]$command(list("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster$ids[[to]]))
  target <- split_address(to)
  cluster$direct[[from]]$command(list("MIGRATE", target$host, target$port, moved, 0, 5000))
  # The old node answers ASK for the key it no longer has; the new one serves it only after ASKING.
  expect_error(cluster$direct[[from]]$command(list("GET", moved)), "^ASK ")
  expect_error(cluster$direct[[to]]$command(list("GET", moved)), "^MOVED ")
  expect_identical(as_text(client$get_raw(moved)), "on the new node")
  expect_identical(as_text(client$get_raw(stays)), "on the old node")
  expect_identical(client$node_of(moved), from) # ASK does not change the map
  move_slot(slot, from, to, stays) # finish the migration
  expect_identical(as_text(client$get_raw(stays)), "on the old node")
  expect_identical(client$node_of(stays), to)
})

test_that("SCRIPT LOAD reaches every master, so EVALSHA works on any of them", {
  client <- redis_connect(deployment)
  on.exit(client$close(), add = TRUE)
  sha <- as_text(client$command(list("SCRIPT", "LOAD", "return KEYS[1]")))
  for (node in cluster$direct) expect_identical(node$command(list("SCRIPT", "EXISTS", sha))[[1]], 1)
  for (key in sprintf("{s%d}:k", 1:6)) expect_identical(as_text(client$command(list("EVALSHA", sha, 1, key))), key)
})

test_that("a cluster no configured node of which answers is an outage (redis_not_sent), retried for retry_seconds", {
  dead <- redis_cluster_deployment(sprintf("127.0.0.1:%d", free_port()))
  started <- Sys.time()
  error <- tryCatch(redis_connect(dead, retry_seconds = 0.5), error = function(e) e)
  expect_s3_class(error, "redis_unavailable")
  expect_match(conditionMessage(error), "could not be reached for 0.5 s")
  expect_gte(as.numeric(difftime(Sys.time(), started, units = "secs")), 0.5)
})

test_that("a cluster with a password: REDIS_PASSWORD reaches every node; a wrong one is named in the error", {
  secured <- start_redis_cluster(password = "cluster pw")
  client <- redis_connect(redis_cluster_deployment(secured$addresses[[2]], password = "cluster pw"))
  on.exit(client$close(), add = TRUE)
  keys <- sprintf("{pw%d}:k", 1:12)
  for (key in keys) client$command(list("SET", key, key, "EX", 60))
  expect_length(unique(vapply(keys, client$node_of, "")), 3)
  for (key in keys) expect_identical(as_text(client$get_raw(key)), key)
  wrong <- tryCatch(redis_connect(redis_cluster_deployment(secured$addresses[[1]], password = "nope")), error = function(e) e)
  expect_s3_class(wrong, "redis_error")
  expect_match(conditionMessage(wrong), "rejected the password")
  expect_false(grepl("nope", conditionMessage(wrong), fixed = TRUE))
})
