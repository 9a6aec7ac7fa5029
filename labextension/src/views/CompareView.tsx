/**
 * Two or more runs side by side: one line chart per metric key (every selected run's
 * history) and a table of attributes, params and latest metrics with the differing
 * values marked. Opened from the Runs view; everything shown is data, rendered as text.
 */
import * as React from 'react';
import { useState } from 'react';

import { ChartLegend, IChartSeries, MetricChart } from '../components/MetricChart';
import { IPanelContext } from '../context';
import { usePoll } from '../poll';
import { allMetricKeys } from '../runs/filters';
import { formatNumber, formatSeconds, runLabel, shortId, toNumber } from '../runs/format';
import { ICompareFrame, IRun, ISeriesAnswer, WireFloat } from '../runs/types';

/** The series endpoint takes at most 20 keys per call. */
const MAX_CHART_KEYS = 20;
const CHART_POINTS = 300;

export interface ICompareViewProps {
  ctx: IPanelContext;
  runs: IRun[];
  onBack: () => void;
}

interface ICompareData {
  frame: ICompareFrame;
  series: ISeriesAnswer['series'];
  keys: string[];
}

function cellText(kind: string, key: string, value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (kind === 'metric') {
    return formatNumber(toNumber(value as WireFloat));
  }
  if (kind === 'attribute' && key === 'duration' && typeof value === 'number') {
    return formatSeconds(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const KIND_TITLES: Record<string, string> = {
  attribute: 'Run',
  param: 'Params',
  metric: 'Metrics (latest)'
};

export function CompareView(props: ICompareViewProps): JSX.Element {
  const { ctx, runs } = props;
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  const ids = runs.map(r => r.id);
  const keys = allMetricKeys(runs);

  const { data, error, loading } = usePoll<ICompareData>(
    async () => {
      const chartKeys = keys.slice(0, MAX_CHART_KEYS);
      const [frame, answer] = await Promise.all([
        ctx.local.get<ICompareFrame>('/runs/compare', { run_id: ids }),
        chartKeys.length
          ? ctx.local.get<ISeriesAnswer>('/metrics/series', {
              run_id: ids,
              key: chartKeys,
              max_points: CHART_POINTS
            })
          : Promise.resolve({ series: {} })
      ]);
      return { frame, series: answer.series ?? {}, keys: chartKeys };
    },
    [ctx.local, ids.join(',')],
    10000
  );

  const labels = runs.map(runLabel);
  const charts = (data?.keys ?? []).map(key => {
    const series: IChartSeries[] = runs.map((run, i) => {
      const points = data?.series?.[run.id]?.[key] ?? [];
      return {
        label: labels[i],
        steps: points.map(p => p[0]),
        values: points.map(p => toNumber(p[1]) ?? NaN)
      };
    });
    return <MetricChart key={key} metric={key} series={series} />;
  });

  const frame = data?.frame;
  const kindAt = frame ? frame.columns.indexOf('kind') : -1;
  const keyAt = frame ? frame.columns.indexOf('key') : -1;
  const differsAt = frame ? frame.columns.indexOf('differs') : -1;
  const runColumns = frame
    ? frame.columns
        .map((name, index) => ({ name, index }))
        .filter(c => c.index !== kindAt && c.index !== keyAt && c.index !== differsAt)
    : [];
  const rows = frame
    ? frame.data.filter(row => !onlyDiffs || Boolean(row[differsAt]))
    : [];
  const groups: Array<{ kind: string; rows: unknown[][] }> = [];
  for (const row of rows) {
    const kind = String(row[kindAt]);
    if (!groups.length || groups[groups.length - 1].kind !== kind) {
      groups.push({ kind, rows: [] });
    }
    groups[groups.length - 1].rows.push(row);
  }
  const differing = frame ? frame.data.filter(row => Boolean(row[differsAt])).length : 0;

  return (
    <section
      className="jp-ModelOps-compare"
      data-testid="modelops-compare-view"
      aria-label={`Comparison of ${runs.length} runs`}
    >
      <div className="jp-ModelOps-toolbar">
        <button type="button" className="jp-ModelOps-button" onClick={props.onBack}>
          ← Back to runs
        </button>
        <span className="jp-ModelOps-compare-title">Comparing {runs.length} runs</span>
      </div>
      {error ? (
        <div className="jp-ModelOps-error" role="alert">
          {error.message}
        </div>
      ) : null}
      {loading && !data ? <div className="jp-ModelOps-empty">Loading…</div> : null}
      {data ? (
        <>
          <h3 className="jp-ModelOps-compare-heading">Metrics</h3>
          {charts.length ? (
            <>
              <ChartLegend labels={labels} />
              <div className="jp-ModelOps-charts">{charts}</div>
              {keys.length > MAX_CHART_KEYS ? (
                <div className="jp-ModelOps-note">
                  Showing the first {MAX_CHART_KEYS} of {keys.length} metrics.
                </div>
              ) : null}
            </>
          ) : (
            <div className="jp-ModelOps-empty">These runs logged no metrics.</div>
          )}
          <div className="jp-ModelOps-compare-paramsbar">
            <h3 className="jp-ModelOps-compare-heading">Params and values</h3>
            <label className="jp-ModelOps-check">
              <input
                type="checkbox"
                checked={onlyDiffs}
                onChange={event => setOnlyDiffs(event.target.checked)}
              />
              Only differences ({differing})
            </label>
          </div>
          <div className="jp-ModelOps-compare-tablewrap">
            <table className="jp-ModelOps-compare-table" data-testid="modelops-compare-params">
              <caption className="jp-ModelOps-sr-only">
                Attributes, params and latest metrics of the compared runs; rows whose values
                differ are marked “differs”.
              </caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  {runColumns.map((c, i) => (
                    <th scope="col" key={c.index} title={runs[i]?.id}>
                      {c.name}
                      {runs[i] ? (
                        <span className="jp-ModelOps-id"> {shortId(runs[i].id)}</span>
                      ) : null}
                    </th>
                  ))}
                </tr>
              </thead>
              {groups.map(group => (
                <tbody key={group.kind}>
                  <tr className="jp-ModelOps-compare-group">
                    <th scope="rowgroup" colSpan={runColumns.length + 1}>
                      {KIND_TITLES[group.kind] ?? group.kind}
                    </th>
                  </tr>
                  {group.rows.map(row => {
                    const key = String(row[keyAt]);
                    const differs = Boolean(row[differsAt]);
                    return (
                      <tr
                        key={key}
                        className={differs ? 'jp-mod-differs' : undefined}
                        data-differs={differs ? 'true' : 'false'}
                      >
                        <th scope="row">
                          {key}
                          {differs ? (
                            <span className="jp-ModelOps-differs-mark" title="Values differ">
                              {' '}
                              ≠<span className="jp-ModelOps-sr-only"> differs</span>
                            </span>
                          ) : null}
                        </th>
                        {runColumns.map(c => (
                          <td key={c.index}>{cellText(group.kind, key, row[c.index])}</td>
                        ))}
                      </tr>
                    );
                  })}
                </tbody>
              ))}
            </table>
            {!rows.length ? (
              <div className="jp-ModelOps-empty">
                {onlyDiffs ? 'No differences between these runs.' : 'Nothing to compare.'}
              </div>
            ) : null}
          </div>
        </>
      ) : null}
    </section>
  );
}
