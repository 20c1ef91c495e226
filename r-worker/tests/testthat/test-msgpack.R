vectors <- contract("status-vectors.json")$vectors

test_that("the contract file has vectors to check against", {
  expect_gt(length(vectors), 5)
})

for (vector in vectors) {
  local({
    v <- vector
    test_that(sprintf("encoding contract vector '%s' gives exactly its msgpack_hex bytes", v$name), {
      expect_identical(raw_to_hex(msgpack_encode(v$value)), v$msgpack_hex)
    })
    test_that(sprintf("decoding contract vector '%s' gives its value back", v$name), {
      expect_identical(msgpack_decode(hex_to_raw(v$msgpack_hex)), v$value)
    })
  })
}

test_that("length-1 vectors are scalars, I() and length != 1 make arrays, NULL and NA are nil", {
  expect_identical(raw_to_hex(msgpack_encode(5)), "05")
  expect_identical(raw_to_hex(msgpack_encode(I(5))), "9105")
  expect_identical(raw_to_hex(msgpack_encode(c(1, 2))), "920102")
  expect_identical(raw_to_hex(msgpack_encode(numeric(0))), "90")
  expect_identical(raw_to_hex(msgpack_encode(NULL)), "c0")
  expect_identical(raw_to_hex(msgpack_encode(c(NA, 1, NaN))), "93c001c0")
  expect_identical(raw_to_hex(msgpack_encode(NA_character_)), "c0")
  expect_identical(raw_to_hex(msgpack_encode(c(TRUE, NA, FALSE))), "93c3c0c2")
})

test_that("empty list is an empty array and empty named list an empty map", {
  expect_identical(raw_to_hex(msgpack_encode(list())), "90")
  expect_identical(raw_to_hex(msgpack_encode(setNames(list(), character(0)))), "de0000")
})

test_that("numbers at the int/float boundaries encode as msgpackr does", {
  expect_identical(raw_to_hex(msgpack_encode(2^32 - 1)), "ceffffffff")
  expect_identical(raw_to_hex(msgpack_encode(2^32)), "cb41f0000000000000")
  expect_identical(raw_to_hex(msgpack_encode(-2^31)), "d280000000")
  expect_identical(raw_to_hex(msgpack_encode(-2^31 - 1)), "cbc1e0000000200000")
  expect_identical(raw_to_hex(msgpack_encode(1.5)), "cb3ff8000000000000")
  expect_identical(raw_to_hex(msgpack_encode(Inf)), "cb7ff0000000000000")
  expect_identical(raw_to_hex(msgpack_encode(7L)), "07")
})

test_that("a list with only some names is refused rather than guessed", {
  expect_error(msgpack_encode(list(a = 1, 2)), "some names missing")
})

test_that("decoding reads fixmap, float32, uint64 and int64 forms too", {
  expect_identical(msgpack_decode(hex_to_raw("81a16101")), list(a = 1L))
  expect_identical(msgpack_decode(hex_to_raw("ca3fc00000")), 1.5)
  expect_identical(msgpack_decode(hex_to_raw("cf0000000100000000")), 2^32)
  expect_identical(msgpack_decode(hex_to_raw("d3ffffffffffffffff")), -1L)
  expect_identical(msgpack_decode(hex_to_raw("d3fffffffeffffffff")), -2^32 - 1)
  expect_identical(msgpack_decode(hex_to_raw("c403010203")), as.raw(1:3))
})

test_that("decoding refuses truncated input, trailing bytes and unsupported types", {
  expect_error(msgpack_decode(hex_to_raw("9201")), "ends in the middle")
  expect_error(msgpack_decode(hex_to_raw("0101")), "1 bytes after the value")
  expect_error(msgpack_decode(hex_to_raw("d40100")), "unsupported MessagePack type 0xd4")
})

test_that("a long numeric vector with ints, floats and NA round-trips", {
  values <- c(seq(-70000, 70000, by = 7), runif(1000) * 1e9, NA, 2^40)
  decoded <- msgpack_decode(msgpack_encode(values))
  expect_length(decoded, length(values))
  as_numbers <- vapply(decoded, function(v) if (is.null(v)) NA_real_ else as.numeric(v), numeric(1))
  expect_identical(as_numbers, values)
})

test_that("non-ASCII strings are encoded as UTF-8 bytes", {
  expect_identical(raw_to_hex(msgpack_encode("\u00fc")), "a2c3bc")
  expect_identical(Encoding(msgpack_decode(hex_to_raw("a2c3bc"))), "UTF-8")
})
