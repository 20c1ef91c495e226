/** Product of lo..hi by binary splitting: balanced operands keep big-integer multiplication fast. */
function productRange(lo: bigint, hi: bigint): bigint {
  if (lo > hi) return 1n;
  if (hi - lo < 16n) {
    let product = lo;
    for (let k = lo + 1n; k <= hi; k++) product *= k;
    return product;
  }
  const mid = (lo + hi) / 2n;
  return productRange(lo, mid) * productRange(mid + 1n, hi);
}

/** n! exactly, as a decimal string because JSON numbers cannot hold it. CPU-bound: runs on a thread. */
export function factorial(n: number): string {
  return productRange(1n, BigInt(n)).toString();
}
