function randomMatrix(rows: number, cols: number): Float64Array {
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.random();
  return values;
}

/** A (m×n) × B (n×m) for random A and B; returns the m×m product as rows. CPU-bound: runs on a thread. */
export function matmul(rows: number, inner: number): number[][] {
  const a = randomMatrix(rows, inner);
  const b = randomMatrix(inner, rows);
  const product: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const row = new Array<number>(rows).fill(0);
    for (let k = 0; k < inner; k++) {
      const aik = a[i * inner + k] as number;
      for (let j = 0; j < rows; j++) row[j] = (row[j] as number) + aik * (b[k * rows + j] as number);
    }
    product.push(row);
  }
  return product;
}
