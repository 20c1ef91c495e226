/**
 * The Node side of the polyglot example workflow: make a data set for R's lm_fit, and turn the fit
 * into a one-line report. Both are quick and deterministic, so workflows that use them are repeatable.
 */

export interface Dataset {
  y: number[];
  predictors: { x: number[] };
}

/** n points x = 1..n, y = intercept + slope·x + noise·(a fixed pseudo-random value in [-1, 1]). */
export function makeDataset(n: number, slope: number, intercept: number, noise = 0.5): Dataset {
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const wobble = (i: number) => {
    const s = Math.sin((i + 1) * 12.9898) * 43_758.5453;
    return 2 * (s - Math.floor(s)) - 1;
  };
  const y = x.map((xi, i) => Math.round((intercept + slope * xi + noise * wobble(i)) * 1e6) / 1e6);
  return { y, predictors: { x } };
}

export interface Fit {
  coefficients: Record<string, number | null>;
  r_squared: number | null;
  n: number;
}

/** "y = 2.01·x + 0.93 (R² 0.998, n = 20)". */
export function fitReport(fit: Fit): string {
  const round = (v: number | null | undefined) =>
    v === null || v === undefined ? 'NA' : String(Math.round(v * 100) / 100);
  const terms = Object.entries(fit.coefficients)
    .filter(([name]) => name !== '(Intercept)')
    .map(([name, value]) => `${round(value)}·${name}`);
  const intercept = fit.coefficients['(Intercept)'];
  const equation = [...terms, ...(intercept === undefined ? [] : [round(intercept)])].join(' + ');
  return `y = ${equation} (R² ${fit.r_squared === null ? 'NA' : (Math.round(fit.r_squared * 1000) / 1000).toString()}, n = ${fit.n})`;
}
