# MessagePack for the subset the status record uses, in base R, byte-compatible with the TypeScript
# codec (shared/src/codec.ts: msgpackr with useRecords: false). Checked byte for byte against
# shared/contracts/status-vectors.json by tests/testthat/test-msgpack.R.
#
# How R values are encoded:
#   NULL                                  -> nil
#   NA of any type, NaN                   -> nil
#   named list (also an empty named list) -> map, keys in list order, always with a map16 (0xde)
#                                            header below 65536 keys, as msgpackr writes objects
#   unnamed list (also list())            -> array
#   atomic vector of length 1             -> scalar (a bare string, number or boolean)
#   atomic vector of length != 1          -> array; wrap a vector in I() to force an array at length 1
#   raw vector                            -> bin
# Names on atomic vectors are ignored: use as.list() to get a map. Factors are encoded as strings.
#
# Numbers follow msgpackr: a number that is whole and -2^31 <= x < 2^32 takes the smallest int form
# (positive fixint up to 0x7f, uint8/16/32, negative fixint down to -32, int8/16/32); every other
# number, Inf included, is a float64. Strings: fixstr below 32 bytes, then str8/16/32. Arrays:
# fixarray below 16 items, then array16/32.
#
# Decoding gives the same shapes back: map -> named list, array -> unnamed list, nil -> NULL,
# int -> integer (double when outside R's integer range), float32/float64 -> double, str -> UTF-8
# character, bin -> raw. It also reads fixmap, uint64/int64 (as doubles) and float32.

msgpack_encode <- function(x) {
  if (is.null(x)) {
    return(as.raw(0xc0))
  }
  if (is.factor(x)) {
    x <- as.character(x)
  }
  if (is.raw(x)) {
    return(c(length_header(length(x), c(0xc4, 0xc5, 0xc6)), x))
  }
  if (is.list(x)) {
    return(encode_list(x))
  }
  if (!is.atomic(x)) {
    stop(sprintf("cannot encode an R object of type '%s' as MessagePack", typeof(x)), call. = FALSE)
  }
  if (length(x) == 1 && !inherits(x, "AsIs")) {
    return(encode_atomic_elements(x))
  }
  c(array_header(length(x)), encode_atomic_elements(x))
}

msgpack_decode <- function(bytes) {
  if (!is.raw(bytes)) {
    stop("MessagePack input must be a raw vector", call. = FALSE)
  }
  reader <- new_byte_reader(bytes)
  value <- decode_value(reader)
  if (reader$pos <= length(bytes)) {
    stop(sprintf("MessagePack input has %d bytes after the value", length(bytes) - reader$pos + 1L), call. = FALSE)
  }
  value
}

encode_list <- function(x) {
  keys <- names(x)
  if (is.null(keys)) {
    items <- lapply(x, msgpack_encode)
    return(c(array_header(length(x)), unlist(items, use.names = FALSE)))
  }
  if (anyNA(keys) || any(keys == "")) {
    stop("cannot encode a list with some names missing: name every element (map) or none (array)", call. = FALSE)
  }
  pairs <- lapply(seq_along(x), function(i) c(encode_string(keys[[i]]), msgpack_encode(x[[i]])))
  c(map_header(length(x)), unlist(pairs, use.names = FALSE))
}

# Every element of an atomic vector, concatenated, without an array header.
encode_atomic_elements <- function(x) {
  if (length(x) == 0) {
    return(raw(0))
  }
  if (is.character(x)) {
    return(unlist(lapply(x, encode_string), use.names = FALSE))
  }
  if (is.logical(x)) {
    out <- rep(as.raw(0xc0), length(x))
    out[!is.na(x) & x] <- as.raw(0xc3)
    out[!is.na(x) & !x] <- as.raw(0xc2)
    return(out)
  }
  if (is.numeric(x)) {
    return(encode_numbers(as.double(x)))
  }
  stop(sprintf("cannot encode an R vector of type '%s' as MessagePack", typeof(x)), call. = FALSE)
}

encode_string <- function(s) {
  if (is.na(s)) {
    return(as.raw(0xc0))
  }
  bytes <- charToRaw(enc2utf8(s))
  n <- length(bytes)
  if (n < 32) {
    return(c(as.raw(0xa0 + n), bytes))
  }
  c(length_header(n, c(0xd9, 0xda, 0xdb)), bytes)
}

# Vectorised: each number becomes 1 to 9 bytes, laid out in the columns of a 9 x n matrix, then the
# used bytes are read out column by column. Long numeric vectors (lm_fit's arguments) stay fast.
encode_numbers <- function(x) {
  # One small whole number or a nil (a record's priority, attempts, current, total; most numbers a
  # record holds) skips the matrix below, which costs ~50x more for a single value (bench/r).
  if (length(x) == 1L) {
    if (is.na(x)) {
      return(as.raw(0xc0))
    }
    if (x == trunc(x) && x < 0x80 && x >= -32) {
      return(as.raw(if (x < 0) x + 256 else x))
    }
  }
  n <- length(x)
  out <- matrix(as.raw(0), nrow = 9, ncol = n)
  used <- integer(n)
  is_nil <- is.na(x)
  is_int <- !is_nil & is.finite(x) & x == trunc(x) & x >= -2^31 & x < 2^32

  put_ints <- function(selected, header, width) {
    idx <- which(selected)
    if (length(idx) == 0) {
      return(invisible())
    }
    out[1, idx] <<- as.raw(header)
    out[2:(width + 1), idx] <<- int_bytes(x[idx], width)
    used[idx] <<- width + 1L
  }

  out[1, is_nil] <- as.raw(0xc0)
  used[is_nil] <- 1L
  fixint <- which(is_int & x < 0x80 & x >= -32)
  out[1, fixint] <- int_bytes(x[fixint], 1)
  used[fixint] <- 1L
  put_ints(is_int & x >= 0x80 & x < 0x100, 0xcc, 1)
  put_ints(is_int & x >= 0x100 & x < 0x10000, 0xcd, 2)
  put_ints(is_int & x >= 0x10000, 0xce, 4)
  put_ints(is_int & x < -32 & x >= -128, 0xd0, 1)
  put_ints(is_int & x < -128 & x >= -32768, 0xd1, 2)
  put_ints(is_int & x < -32768, 0xd2, 4)
  float <- which(!is_nil & !is_int)
  if (length(float) > 0) {
    out[1, float] <- as.raw(0xcb)
    out[2:9, float] <- writeBin(x[float], raw(), size = 8, endian = "big")
    used[float] <- 9L
  }
  out[row(out) <= rep(used, each = 9)]
}

# Big-endian two's-complement bytes of whole numbers, one column per number.
int_bytes <- function(values, width) {
  unsigned <- ifelse(values < 0, values + 2^(8 * width), values)
  divisors <- 256^((width - 1):0)
  as.raw(outer(divisors, unsigned, function(d, u) (u %/% d) %% 256))
}

length_header <- function(n, codes) {
  if (n < 0x100) {
    return(c(as.raw(codes[[1]]), int_bytes(n, 1)))
  }
  if (n < 0x10000) {
    return(c(as.raw(codes[[2]]), int_bytes(n, 2)))
  }
  c(as.raw(codes[[3]]), int_bytes(n, 4))
}

array_header <- function(n) {
  if (n < 16) {
    return(as.raw(0x90 + n))
  }
  if (n < 0x10000) {
    return(c(as.raw(0xdc), int_bytes(n, 2)))
  }
  c(as.raw(0xdd), int_bytes(n, 4))
}

# msgpackr writes every object with a map16 header, even a small one (it reserves the header before it
# counts the keys), so fixmap is never produced; the contract vectors pin this down.
map_header <- function(n) {
  if (n < 0x10000) {
    return(c(as.raw(0xde), int_bytes(n, 2)))
  }
  c(as.raw(0xdf), int_bytes(n, 4))
}

new_byte_reader <- function(bytes) {
  reader <- new.env(parent = emptyenv())
  reader$bytes <- bytes
  reader$pos <- 1L
  reader
}

take_bytes <- function(reader, n) {
  force(n) # n may itself read the length bytes: read them before taking the position
  end <- reader$pos + n - 1L
  if (end > length(reader$bytes)) {
    stop("MessagePack input ends in the middle of a value", call. = FALSE)
  }
  out <- reader$bytes[seq.int(reader$pos, length.out = n)]
  reader$pos <- end + 1L
  out
}

# 64-bit forms are read as two 32-bit halves so that small values (e.g. int64 -1) stay exact.
read_uint <- function(reader, width) {
  if (width == 8) {
    high <- read_uint(reader, 4)
    return(high * 2^32 + read_uint(reader, 4))
  }
  bytes <- as.integer(take_bytes(reader, width))
  sum(bytes * 256^((width - 1):0))
}

read_int <- function(reader, width) {
  if (width == 8) {
    high <- read_int(reader, 4)
    return(high * 2^32 + read_uint(reader, 4))
  }
  value <- read_uint(reader, width)
  if (value >= 2^(8 * width - 1)) value - 2^(8 * width) else value
}

as_r_number <- function(value) {
  if (abs(value) <= .Machine$integer.max) as.integer(value) else value
}

read_string <- function(reader, n) {
  s <- rawToChar(take_bytes(reader, n))
  Encoding(s) <- "UTF-8"
  s
}

read_array <- function(reader, n) {
  out <- vector("list", n)
  for (i in seq_len(n)) {
    value <- decode_value(reader)
    if (!is.null(value)) out[[i]] <- value
  }
  out
}

read_map <- function(reader, n) {
  out <- vector("list", n)
  keys <- character(n)
  for (i in seq_len(n)) {
    key <- decode_value(reader)
    if (!is.character(key) || length(key) != 1) {
      stop("MessagePack map keys must be strings", call. = FALSE)
    }
    keys[[i]] <- key
    value <- decode_value(reader)
    if (!is.null(value)) out[[i]] <- value
  }
  names(out) <- keys
  out
}

decode_value <- function(reader) {
  type <- as.integer(take_bytes(reader, 1))
  if (type <= 0x7f) return(type)
  if (type >= 0xe0) return(type - 256L)
  if (type <= 0x8f) return(read_map(reader, type - 0x80))
  if (type <= 0x9f) return(read_array(reader, type - 0x90))
  if (type <= 0xbf) return(read_string(reader, type - 0xa0))
  switch(
    sprintf("%02x", type),
    "c0" = NULL,
    "c2" = FALSE,
    "c3" = TRUE,
    "c4" = take_bytes(reader, read_uint(reader, 1)),
    "c5" = take_bytes(reader, read_uint(reader, 2)),
    "c6" = take_bytes(reader, read_uint(reader, 4)),
    "ca" = readBin(take_bytes(reader, 4), "double", size = 4, endian = "big"),
    "cb" = readBin(take_bytes(reader, 8), "double", size = 8, endian = "big"),
    "cc" = as_r_number(read_uint(reader, 1)),
    "cd" = as_r_number(read_uint(reader, 2)),
    "ce" = as_r_number(read_uint(reader, 4)),
    "cf" = as_r_number(read_uint(reader, 8)),
    "d0" = as_r_number(read_int(reader, 1)),
    "d1" = as_r_number(read_int(reader, 2)),
    "d2" = as_r_number(read_int(reader, 4)),
    "d3" = as_r_number(read_int(reader, 8)),
    "d9" = read_string(reader, read_uint(reader, 1)),
    "da" = read_string(reader, read_uint(reader, 2)),
    "db" = read_string(reader, read_uint(reader, 4)),
    "dc" = read_array(reader, read_uint(reader, 2)),
    "dd" = read_array(reader, read_uint(reader, 4)),
    "de" = read_map(reader, read_uint(reader, 2)),
    "df" = read_map(reader, read_uint(reader, 4)),
    stop(sprintf("unsupported MessagePack type 0x%02x", type), call. = FALSE)
  )
}
