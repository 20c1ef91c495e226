token <- strrep("s3cr3t-", 6)

test_that("without a token every request passes", {
  expect_null(check_service_token(NULL, ""))
})

test_that("with a token only Authorization: Bearer <token> passes; anything else is 401 unauthorized", {
  expect_null(check_service_token(paste("Bearer", token), token))
  expect_null(check_service_token(paste("bearer ", token), token))
  for (bad in list(NULL, "", token, paste("Bearer", substr(token, 1, 41)), paste0("Bearer ", token, "x"), paste("Basic", token))) {
    answer <- check_service_token(bad, token)
    expect_identical(answer$status, 401L)
    expect_identical(answer$body$error$code, "unauthorized")
    expect_false(grepl(token, http_answer_json(answer), fixed = TRUE))
  }
})

test_that("tokens are compared whole, whatever their lengths", {
  expect_true(tokens_equal("abc", "abc"))
  expect_false(tokens_equal("abd", "abc"))
  expect_false(tokens_equal("ab", "abc"))
  expect_false(tokens_equal("", "abc"))
  expect_false(tokens_equal("abcd", "abc"))
})
