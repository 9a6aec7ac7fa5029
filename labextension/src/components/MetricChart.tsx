/**
 * One metric's history for several runs as an SVG line chart: one line per run (colour
 * from the theme and a dash pattern, so lines differ without colour too), min/max on the
 * y axis, the step range on the x axis, and a text summary for screen readers.
 */
import * as React from 'react';

import { formatNumber } from '../runs/format';
import { linePath } from './Sparkline';

export interface IChartSeries {
  /** Run name shown in the legend. */
  label: string;
  steps: number[];
  values: number[];
}

/** Line styles, by series index: theme colours plus dash patterns. */
export const SERIES_STYLES: Array<{ color: string; dash: string }> = [
  { color: 'var(--jp-brand-color1)', dash: '' },
  { color: 'var(--jp-warn-color1)', dash: '6 3' },
  { color: 'var(--jp-success-color1)', dash: '2 2' },
  { color: 'var(--jp-error-color1)', dash: '8 3 2 3' },
  { color: 'var(--jp-accent-color1, var(--jp-brand-color2))', dash: '1 3' },
  { color: 'var(--jp-mirror-editor-keyword-color, var(--jp-ui-font-color1))', dash: '10 4' },
  { color: 'var(--jp-mirror-editor-string-color, var(--jp-ui-font-color2))', dash: '4 4 1 4' },
  { color: 'var(--jp-ui-font-color1)', dash: '3 6' }
];

export function seriesStyle(index: number): { color: string; dash: string } {
  return SERIES_STYLES[index % SERIES_STYLES.length];
}

export interface IMetricChartProps {
  metric: string;
  series: IChartSeries[];
  width?: number;
  height?: number;
}

function describe(metric: string, series: IChartSeries[]): string {
  const parts = series.map(s => {
    const finite = s.values.filter(v => Number.isFinite(v));
    if (!finite.length) {
      return `${s.label}: no values`;
    }
    const steps = s.steps.length;
    return `${s.label}: ${steps} point${steps === 1 ? '' : 's'} from ${formatNumber(finite[0])} to ${formatNumber(finite[finite.length - 1])}`;
  });
  return `Line chart of ${metric} by step for ${series.length} run${series.length === 1 ? '' : 's'}. ${parts.join('; ')}.`;
}

export function MetricChart(props: IMetricChartProps): JSX.Element {
  const { metric, series, width = 320, height = 150 } = props;
  const left = 44;
  const right = 8;
  const top = 8;
  const bottom = 20;
  const steps = series.flatMap(s => s.steps);
  const values = series.flatMap(s => s.values.filter(v => Number.isFinite(v)));
  const summary = describe(metric, series);
  const x0 = steps.length ? Math.min(...steps) : 0;
  const x1 = steps.length ? Math.max(...steps) : 1;
  let y0 = values.length ? Math.min(...values) : 0;
  let y1 = values.length ? Math.max(...values) : 1;
  if (y0 === y1) {
    y0 -= Math.abs(y0) * 0.05 || 0.5;
    y1 += Math.abs(y1) * 0.05 || 0.5;
  }
  const x = (v: number) =>
    x1 === x0 ? left + (width - left - right) / 2 : left + ((v - x0) * (width - left - right)) / (x1 - x0);
  const y = (v: number) => top + ((y1 - v) * (height - top - bottom)) / (y1 - y0);

  return (
    <figure className="jp-ModelOps-chart" data-testid="modelops-compare-chart" data-metric={metric}>
      <figcaption className="jp-ModelOps-chart-title">{metric}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="xMidYMid meet"
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        <g className="jp-ModelOps-chart-axes">
          <line x1={left} y1={top} x2={left} y2={height - bottom} />
          <line x1={left} y1={height - bottom} x2={width - right} y2={height - bottom} />
          <line className="jp-ModelOps-chart-grid" x1={left} y1={top} x2={width - right} y2={top} />
        </g>
        <g className="jp-ModelOps-chart-labels" aria-hidden="true">
          <text x={left - 4} y={top + 4} textAnchor="end">
            {formatNumber(y1)}
          </text>
          <text x={left - 4} y={height - bottom} textAnchor="end">
            {formatNumber(y0)}
          </text>
          <text x={left} y={height - 5} textAnchor="start">
            {`step ${x0}`}
          </text>
          <text x={width - right} y={height - 5} textAnchor="end">
            {String(x1)}
          </text>
        </g>
        {series.map((s, i) => {
          const style = seriesStyle(i);
          const single = s.values.filter(v => Number.isFinite(v)).length === 1;
          const at = s.values.findIndex(v => Number.isFinite(v));
          return (
            <g key={i} style={{ color: style.color }}>
              <path
                d={linePath(s.steps, s.values, x, y)}
                fill="none"
                stroke="currentColor"
                strokeWidth={1.5}
                strokeDasharray={style.dash || undefined}
              />
              {single && at >= 0 ? (
                <circle cx={x(s.steps[at])} cy={y(s.values[at])} r={2.5} fill="currentColor" />
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** The legend shared by the charts: run names with their line style. */
export function ChartLegend(props: { labels: string[] }): JSX.Element {
  return (
    <ul className="jp-ModelOps-legend" aria-label="Runs in the charts">
      {props.labels.map((label, i) => {
        const style = seriesStyle(i);
        return (
          <li key={i}>
            <svg width="24" height="8" aria-hidden="true" style={{ color: style.color }}>
              <line
                x1="0"
                y1="4"
                x2="24"
                y2="4"
                stroke="currentColor"
                strokeWidth={2}
                strokeDasharray={style.dash || undefined}
              />
            </svg>
            <span>{label}</span>
          </li>
        );
      })}
    </ul>
  );
}
