# The scripts themselves; test-status_record.R runs them through the functions that call them.

test_that("each script's name ends with its number of keys, and its header lists each KEYS and ARGV it uses", {
  for (name in names(redis_scripts)) {
    lua <- redis_scripts[[name]]
    header <- sub("\\]\\].*$", "", lua)
    key_count <- sub("^.*_", "", name)
    used_keys <- unique(regmatches(lua, gregexpr("KEYS\\[[0-9]+\\]", lua))[[1]])
    used_args <- unique(regmatches(lua, gregexpr("ARGV\\[[0-9]+\\]", lua))[[1]])
    if (key_count == "n") {
      expect_match(header, "KEYS[1..n]", fixed = TRUE)
    } else {
      expect_setequal(used_keys, sprintf("KEYS[%d]", seq_len(as.integer(key_count))))
    }
    for (token in c(used_keys, used_args)) expect_match(header, token, fixed = TRUE, label = sprintf("%s header", name))
    expect_match(header, "Returns", fixed = TRUE)
  }
})

test_that("write_record_4 reads the state and started_at of records written by the Node side too (the contract vectors)", {
  server <- start_redis_server()
  redis <- redis_connect(server$url, use_redux = FALSE)
  on.exit({
    redis$close()
    server$stop()
  }, add = TRUE)
  for (vector in Filter(function(v) grepl("_record$", v$name), contract("status-vectors.json")$vectors)) {
    key <- paste0("script-test:", vector$name)
    redis$command(list("SET", key, hex_to_raw(vector$msgpack_hex)))
    keys <- c(key, paste0(key, ":hb"), paste0(key, ":request"), paste0(key, ":dead"))
    same_attempt <- list(charToRaw("new"), 60, "PROGRESS", vector$value$started_at %or% "", "id")
    written <- run_redis_script(redis, "write_record_4", keys, same_attempt)
    terminal <- vector$value$state %in% terminal_states
    expect_identical(written, if (terminal) 0 else 1, label = vector$name)
  }
})
