/** A tiny line of a metric's history, for a table cell. Drawn in the theme's brand colour. */
import * as React from 'react';

import { formatNumber } from '../runs/format';

export interface ISparklineProps {
  values: number[];
  /** Used in the accessible description, e.g. the metric key. */
  label: string;
  width?: number;
  height?: number;
}

/** `M x y L x y …` with a new `M` after each gap (NaN/±inf are not drawn). */
export function linePath(
  xs: number[],
  ys: number[],
  x: (v: number) => number,
  y: (v: number) => number
): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(ys[i])) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(xs[i]).toFixed(1)} ${y(ys[i]).toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function Sparkline(props: ISparklineProps): JSX.Element | null {
  const { values, width = 56, height = 16 } = props;
  const finite = values.filter(v => Number.isFinite(v));
  if (finite.length < 2) {
    return null;
  }
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = 1.5;
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, values.length - 1);
  const y = (v: number) =>
    hi === lo ? height / 2 : height - pad - ((v - lo) * (height - 2 * pad)) / (hi - lo);
  const d = linePath(
    values.map((_, i) => i),
    values,
    x,
    y
  );
  const first = finite[0];
  const lastValue = finite[finite.length - 1];
  const summary = `${props.label}: ${values.length} points, from ${formatNumber(first)} to ${formatNumber(lastValue)} (min ${formatNumber(lo)}, max ${formatNumber(hi)})`;
  return (
    <svg
      className="jp-ModelOps-sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={summary}
    >
      <title>{summary}</title>
      <path d={d} fill="none" strokeWidth={1.25} />
    </svg>
  );
}
