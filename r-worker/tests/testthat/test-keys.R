layout <- contract("key-layout.json")

test_that("every key of the contract's example is built from the templates exactly as TypeScript builds it", {
  example <- layout$example
  keys <- new_key_layout(example$prefix)
  q <- keys$queue(example$kind, example$queue)
  built <- list(
    wait = q$wait, task = q$task(example$task_id), locator = keys$locator(example$task_id),
    cancelChannel = keys$cancel_channel(example$kind)
  )
  expect_setequal(names(example$keys), names(built))
  for (name in names(example$keys)) expect_identical(built[[name]], example$keys[[name]], label = name)
})

test_that("every key of a queue shares its hash tag, and the rest follow their templates", {
  keys <- new_key_layout("sy")
  q <- keys$queue("r", "models")
  expect_identical(q$id, "r:models")
  for (key in c(q$wait, q$delayed, q$leases, q$dead, q$paused, q$seq, q$marker, q$task("x"), q$job("x"), q$job_prefix)) {
    expect_true(startsWith(key, "sy:{r:models}:"), label = key)
  }
  expect_identical(paste0(q$job_prefix, "x"), q$job("x"))
  expect_identical(keys$queue_set, "sy:queues")
  expect_identical(keys$worker_set, "sy:workers")
  expect_identical(keys$worker("w1"), "sy:worker:w1")
  expect_identical(keys$wake_channel("r"), "sy:r:wake")
  expect_identical(identical(keys$queue("r", "models"), q), TRUE) # made once per queue
})

test_that("no key string is written by hand in R: the sources hold no ':task:' or ':locator:'", {
  sources <- unlist(lapply(list.files(file.path(r_worker_dir, "R"), full.names = TRUE), readLines))
  expect_length(grep('":(task|job|locator|wait|leases|worker|queues|r:wake|r:cancel)', sources), 0)
})

test_that("a bad queue name or prefix is refused with what it must be", {
  keys <- new_key_layout("sy")
  expect_error(keys$queue("r", "a:b"), contract("rules.json")$queue_name_rule, fixed = TRUE)
  expect_error(new_key_layout("a:b"), "key prefix must be 1-64 characters of letters, digits, '_', '.' or '-'")
  expect_error(new_key_layout(strrep("a", 65)), "1-64 characters")
  expect_error(new_key_layout(""), "1-64 characters")
})
