test_that("the contracts load from shared/, and a missing one is named", {
  loaded <- load_contracts(file.path(repo_dir, "shared"))
  expect_true(all(c("rules", "key_layout", "tasks", "lua_digests") %in% names(loaded)))
  expect_identical(unlist(loaded$rules$terminal_states), c("SUCCESS", "FAILURE", "REVOKED"))
  expect_error(load_contracts(tempfile("none-")), "rules.json is missing", fixed = TRUE)
})

test_that("shared/ is found beside r-worker/ unless SWITCHYARD_SHARED_DIR says otherwise", {
  expect_identical(shared_dir_for("/app/r-worker"), file.path("/app/r-worker", "..", "shared"))
  expect_identical(shared_dir_for("/app/r-worker", NA), file.path("/app/r-worker", "..", "shared"))
  expect_identical(shared_dir_for("/app/r-worker", "/opt/shared"), "/opt/shared")
})

test_that("the facts R reads come from rules.json: record fields, states, statuses, script codes", {
  rules <- contract("rules.json")
  expect_identical(record_fields(), unlist(rules$record_fields))
  expect_identical(terminal_states(), unlist(rules$terminal_states))
  expect_identical(record_status("released"), rules$record_status$released)
  expect_identical(script_codes()[["lease_lost"]], -1L)
  expect_identical(script_outcome(-3), "queue_full")
  expect_identical(script_outcome(1), "ok")
  expect_error(script_outcome(42), "not a known code")
})
