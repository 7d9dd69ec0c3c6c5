// Summaries of repeated measurements: every figure of the results is the
// median of several runs, shown with the fastest and slowest run.

/** The value at quantile q (0..1) of `values`, by linear interpolation. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** `{ median, min, max, runs }` of the runs. */
export function summarize(runs) {
  return {
    median: quantile(runs, 0.5),
    min: Math.min(...runs),
    max: Math.max(...runs),
    runs,
  };
}
