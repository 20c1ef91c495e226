# The Lua scripts are shared/lua's own, expanded exactly as TypeScript's luaSource does: Redis's
# SCRIPT LOAD answers each one's SHA-1, which must be the digest of lua-digests.json.
server <- start_redis_server()

test_that("every script of shared/lua has a digest, and the includes expand", {
  names <- lua_script_names()
  expect_setequal(names, names(contract("lua-digests.json")$scripts))
  claim <- lua_source("finish-claim-10")
  expect_false(grepl("--@include", claim, fixed = TRUE))
  expect_true(grepl("local function promote_due", claim, fixed = TRUE))
  expect_identical(key_count_of("finish-claim-10"), 10L)
  expect_identical(key_count_of("extend-leases-1"), 1L)
})

test_that("SCRIPT LOAD of each expanded script answers the digest of lua-digests.json", {
  redis <- redis_connect(server$url, use_redux = FALSE)
  on.exit(redis$close())
  scripts <- new_lua_scripts()
  expect_identical(scripts$load(redis), character(0))
  digests <- contract("lua-digests.json")$scripts
  for (name in names(digests)) {
    sha <- rawToChar(redis$command(list("SCRIPT", "LOAD", lua_source(name))))
    expect_identical(sha, digests[[name]], label = name)
  }
})

test_that("a repeated include line becomes an empty line, and a fragment's trailing whitespace goes", {
  dir <- tempfile("lua-")
  dir.create(file.path(dir, "includes"), recursive = TRUE)
  writeLines(c("local a = 1", "", ""), file.path(dir, "includes", "frag.lua"))
  writeLines(c("--@include frag", "x", "--@include frag  ", "return 1"), file.path(dir, "t-0.lua"))
  expect_identical(lua_source("t-0", dir), "local a = 1\nx\n\nreturn 1\n")
})

test_that("a script unknown to Redis (it restarted, or SCRIPT FLUSH) runs through EVAL instead", {
  redis <- redis_connect(server$url, use_redux = FALSE)
  on.exit(redis$close())
  scripts <- new_lua_scripts()
  scripts$load(redis)
  redis$command(list("SCRIPT", "FLUSH"))
  reply <- scripts$run(redis, "rate-limit-1", "sy:test:counter", list(1000))
  expect_identical(reply[[1]], 1)
  expect_identical(unlist(redis$command(list("SCRIPT", "EXISTS", scripts$script("rate-limit-1")$sha))), 1)
  expect_error(scripts$run(redis, "rate-limit-1", c("a", "b"), list(1)), "takes 1 keys")
})
