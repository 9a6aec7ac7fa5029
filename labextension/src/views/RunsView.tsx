/**
 * The Runs view: runs of the current notebook or of any experiment in a virtualised,
 * server-sorted, server-filtered table that pages in as the user scrolls. Select two or
 * more runs to compare them; a run links back to the cell that produced it.
 *
 * Speed: opening the view costs one request for one page of rows; the total, the
 * experiment list and the sparklines (for the rows in view only, one batched request)
 * follow once the rows are on screen.
 */
import * as React from 'react';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';

import { Sparkline } from '../components/Sparkline';
import { VirtualTable } from '../components/VirtualTable';
import { IViewProps } from '../context';
import {
  allMetricKeys,
  combineFilters,
  commonMetricKeys,
  metricField,
  notebookFilter,
  quoteString,
  sameNotebook
} from '../runs/filters';
import {
  formatAbsolute,
  formatDuration,
  formatNumber,
  formatRelative,
  runLabel,
  shortId,
  toNumber
} from '../runs/format';
import { SeriesCache } from '../runs/series';
import {
  IExperiment,
  IRun,
  ISort,
  TAG_CELL_ID,
  TAG_EXECUTION_COUNT,
  TAG_OUT_OF_ORDER
} from '../runs/types';
import { IRunQuery, useRuns } from '../runs/useRuns';
import { CompareView } from './CompareView';

/** Must match `.jp-ModelOps-runs-table tbody tr` height in style/runs.css. */
export const ROW_HEIGHT = 30;
const OVERSCAN = 6;
const METRIC_COLUMNS = 3;
const FILTER_DELAY = 600;
/**
 * Below this table width (JupyterLab's default sidebar is narrower) the table turns
 * compact: status as a symbol, no sparklines, so a run's name, status and first metric
 * fit without scrolling; the other columns scroll horizontally.
 */
const COMPACT_WIDTH = 400;
/** Widest the run name gets while other columns are scrolled out of view. */
const NAME_CAP = 220;
/** Poll ticks between re-reads of the experiment list when no row asks for one. */
const EXPERIMENTS_EVERY = 6;
/** Symbols of the statuses in the compact table (the status is also its text for AT). */
const STATUS_SYMBOL: Record<string, string> = {
  FINISHED: '✓',
  RUNNING: '●',
  FAILED: '✕',
  KILLED: '■',
  SCHEDULED: '○'
};
const DEFAULT_SORT: ISort = { field: 'start_time', descending: true };

type Scope = 'notebook' | 'all';

const OUT_OF_ORDER_TIP =
  'Out of order: when this cell ran, it used variables defined by cells below it, ' +
  'so re-running the notebook from the top may not reproduce this run.';

interface IColumn {
  id: string;
  label: string;
  /** Server sort field; undefined: not sortable. */
  sort?: string;
  /** Direction of the first click. */
  firstDescending?: boolean;
  width: number;
  className?: string;
  /** Header text for screen readers only (the column is too narrow to show it). */
  quiet?: boolean;
}

export function RunsView(props: IViewProps): JSX.Element {
  const { ctx } = props;
  const api = ctx.local;
  const notebookPath = ctx.notebookPath;
  const wantedRun = props.params?.runId;

  // Until the user picks, the scope follows whether a notebook is open.
  const [scopeChoice, setScope] = useState<Scope | null>(null);
  const scope: Scope = scopeChoice ?? (notebookPath ? 'notebook' : 'all');
  const [experimentId, setExperimentId] = useState('');
  const [filterText, setFilterText] = useState('');
  const [appliedFilter, setAppliedFilter] = useState('');
  const [sort, setSort] = useState<ISort>(DEFAULT_SORT);
  const [chosenKeys, setChosenKeys] = useState<string[] | null>(null);
  const [selected, setSelected] = useState<Map<string, IRun>>(() => new Map());
  const [comparing, setComparing] = useState(false);
  const [focusIndex, setFocusIndex] = useState(0);
  const [notice, setNotice] = useState('');
  const [experiments, setExperiments] = useState<IExperiment[]>();
  const [, setSparkVersion] = useState(0);
  const [tableWidth, setTableWidth] = useState(0);
  const compact = tableWidth > 0 && tableWidth < COMPACT_WIDTH;
  const scrollRef = useRef<HTMLDivElement | null>(null);

  const inNotebook = scope === 'notebook' && !!notebookPath;
  const query: IRunQuery = useMemo(
    () => ({
      filter: combineFilters(appliedFilter, inNotebook ? notebookFilter(notebookPath!) : ''),
      userFilter: appliedFilter.trim(),
      experimentId: experimentId || undefined,
      sort
    }),
    [appliedFilter, inNotebook, notebookPath, experimentId, sort]
  );
  const runs = useRuns(api, query);
  const rows = runs.rows;

  // Another query shows another list: start at its top.
  const queryKey = JSON.stringify(query);
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
    setFocusIndex(0);
  }, [queryKey]);

  // ------------------------------------------------------------------ filter input
  useEffect(() => {
    if (filterText === appliedFilter) {
      return;
    }
    const timer = setTimeout(() => setAppliedFilter(filterText), FILTER_DELAY);
    return () => clearTimeout(timer);
  }, [filterText, appliedFilter]);

  // ------------------------------------------------------------------ metric columns
  const autoKeys = useMemo(
    () => commonMetricKeys(rows.slice(0, 100), METRIC_COLUMNS),
    [rows]
  );
  const metricKeys = chosenKeys ?? autoKeys;
  const knownKeys = useMemo(() => {
    const keys = new Set(allMetricKeys(rows.slice(0, 2000)));
    metricKeys.forEach(k => keys.add(k));
    return [...keys].sort();
  }, [rows, metricKeys]);

  // ------------------------------------------------------------------ experiments (after the rows)
  const experimentsLoading = useRef(false);
  const askedExperiments = useRef(new Set<string>());
  const loadExperiments = useCallback(() => {
    if (experimentsLoading.current) {
      return;
    }
    experimentsLoading.current = true;
    api
      .get<IExperiment[]>('/experiments')
      .then(answer => {
        const list = Array.isArray(answer) ? answer : [];
        // An unchanged list keeps its identity: no re-render of the picker.
        setExperiments(prev =>
          prev && JSON.stringify(prev) === JSON.stringify(list) ? prev : list
        );
      })
      .catch(() => undefined)
      .finally(() => {
        experimentsLoading.current = false;
      });
  }, [api]);
  useEffect(() => {
    if (runs.loaded && experiments === undefined) {
      loadExperiments();
    }
  }, [runs.loaded, experiments, loadExperiments]);
  // New experiments show up with the poll at no extra cost: re-read the list when a row
  // names an experiment the picker lacks, and now and then for ones without runs in view.
  useEffect(() => {
    if (!runs.loaded || experiments === undefined) {
      return;
    }
    const known = new Set(experiments.map(e => e.id));
    // Each unknown id asks once (one the server does not list must not cost every tick).
    const asked = askedExperiments.current;
    const unknown = rows.filter(
      r => r.experiment_id && !known.has(r.experiment_id) && !asked.has(r.experiment_id)
    );
    unknown.forEach(r => asked.add(r.experiment_id));
    if (unknown.length || (runs.ticks > 0 && runs.ticks % EXPERIMENTS_EVERY === 0)) {
      loadExperiments();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runs.ticks]);

  // ------------------------------------------------------------------ sparklines for the rows in view
  const seriesRef = useRef<SeriesCache>();
  if (!seriesRef.current) {
    seriesRef.current = new SeriesCache();
  }
  const series = seriesRef.current;
  const range = useRef({ first: 0, last: 0 });
  const [rangeVersion, setRangeVersion] = useState(0);
  const onRangeChange = useCallback((first: number, last: number) => {
    if (range.current.first !== first || range.current.last !== last) {
      range.current = { first, last };
      setRangeVersion(v => v + 1);
    }
  }, []);
  const keysKey = metricKeys.join('\u0000');

  useEffect(() => {
    runs.ensure(range.current.last + OVERSCAN);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeVersion, rows.length, runs.loaded]);

  // Running runs log new points: forget their cached histories on every poll.
  useEffect(() => {
    const { first, last } = range.current;
    for (const run of rows.slice(Math.max(0, first - OVERSCAN), last + OVERSCAN + 1)) {
      if (run.status === 'RUNNING') {
        series.invalidate(run.id);
      }
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runs.ticks]);

  useEffect(() => {
    // The compact table draws no sparklines: nothing to fetch.
    if (!runs.loaded || !metricKeys.length || compact) {
      return;
    }
    let alive = true;
    const timer = setTimeout(() => {
      const { first, last } = range.current;
      const ids = rows
        .slice(Math.max(0, first - OVERSCAN), last + OVERSCAN + 1)
        .map(r => r.id);
      series
        .load(api, ids, metricKeys)
        .then(changed => {
          if (alive && changed) {
            setSparkVersion(v => v + 1);
          }
        })
        .catch(() => undefined); // sparklines are decoration: the values are in the cells
    }, 120);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeVersion, rows, keysKey, runs.loaded, runs.ticks, api, compact]);

  // ------------------------------------------------------------------ scroll stability across refreshes
  const anchor = useRef<{ id: string; index: number } | null>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const prev = anchor.current;
    if (el && prev && el.scrollTop > 0) {
      const index = rows.findIndex(r => r.id === prev.id);
      if (index >= 0 && index !== prev.index) {
        el.scrollTop += (index - prev.index) * ROW_HEIGHT;
      }
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runs.ticks]);
  useEffect(() => {
    const run = rows[range.current.first];
    anchor.current = run ? { id: run.id, index: range.current.first } : null;
  });

  // Selected runs keep their latest data (names and metrics for the compare view).
  useEffect(() => {
    if (!selected.size) {
      return;
    }
    let changed = false;
    const next = new Map(selected);
    for (const run of rows) {
      if (next.has(run.id) && next.get(run.id) !== run) {
        next.set(run.id, run);
        changed = true;
      }
    }
    if (changed) {
      setSelected(next);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows]);

  // ------------------------------------------------------------------ a run asked for by a command
  const sought = useRef<string | undefined>();
  useEffect(() => {
    if (!wantedRun || sought.current === wantedRun || !runs.loaded) {
      return;
    }
    const index = rows.findIndex(r => r.id === wantedRun);
    if (index >= 0) {
      sought.current = wantedRun;
      setFocusIndex(index);
      scrollToRow(index, true);
    } else if (appliedFilter.trim() !== `run_id = ${quoteString(wantedRun)}`) {
      // Not among the first rows: show it alone (the filter says so and can be cleared).
      const filter = `run_id = ${quoteString(wantedRun)}`;
      setScope('all');
      setExperimentId('');
      setFilterText(filter);
      setAppliedFilter(filter);
    } else {
      sought.current = wantedRun;
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wantedRun, runs.loaded, rows]);

  // ------------------------------------------------------------------ keyboard and focus
  const keyboardMove = useRef(false);
  const headHeight = () =>
    scrollRef.current?.querySelector('thead')?.getBoundingClientRect().height ?? ROW_HEIGHT;

  function scrollToRow(index: number, center = false): void {
    const el = scrollRef.current;
    if (!el) {
      return;
    }
    const head = headHeight();
    const top = head + index * ROW_HEIGHT;
    if (center) {
      el.scrollTop = Math.max(0, top - head - (el.clientHeight - head) / 2);
    } else if (top < el.scrollTop + head) {
      el.scrollTop = top - head;
    } else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
      el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    }
  }

  useEffect(() => {
    if (!keyboardMove.current) {
      return;
    }
    keyboardMove.current = false;
    const row = scrollRef.current?.querySelector<HTMLElement>(
      `tr[data-row-index="${focusIndex}"]`
    );
    row?.focus();
  });

  const rowCount = Math.max(
    runs.total ?? 0,
    rows.length + (runs.hasMore && runs.loaded && rows.length ? 1 : 0)
  );
  const rowCountRef = useRef(rowCount);
  rowCountRef.current = rowCount;
  // The row that takes Tab focus; always an existing one, so the table stays reachable.
  const tabIndexRow = Math.max(0, Math.min(focusIndex, rowCount - 1));

  const moveFocus = (index: number) => {
    const clamped = Math.max(0, Math.min(rowCountRef.current - 1, index));
    keyboardMove.current = true;
    setFocusIndex(clamped);
    scrollToRow(clamped);
  };

  const onTableKey = (event: React.KeyboardEvent<HTMLDivElement>) => {
    const target = event.target as HTMLElement;
    const index = Number(target.closest('tr')?.getAttribute('data-row-index'));
    if (Number.isNaN(index) || target.tagName === 'SELECT') {
      return;
    }
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 300) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      PageDown: index + page,
      PageUp: index - page,
      Home: 0,
      End: rowCountRef.current - 1
    };
    if (event.key in moves) {
      event.preventDefault();
      moveFocus(moves[event.key]);
    }
  };

  // ------------------------------------------------------------------ actions
  const toggle = (run: IRun) => {
    const next = new Map(selected);
    if (next.has(run.id)) {
      next.delete(run.id);
    } else {
      next.set(run.id, run);
    }
    setSelected(next);
  };

  const openCell = async (run: IRun) => {
    const cellId = run.tags?.[TAG_CELL_ID];
    if (!cellId) {
      return;
    }
    const path = sameNotebook(run.source, notebookPath) ? notebookPath! : run.source;
    try {
      const found = await ctx.revealCell(path, cellId);
      setNotice(found ? '' : `The cell of run ${runLabel(run)} is no longer in ${path}.`);
    } catch (err) {
      setNotice(`Cannot open ${path}: ${(err as Error).message}`);
    }
  };

  const onSort = (column: IColumn) => {
    if (!column.sort) {
      return;
    }
    setSort(prev =>
      prev.field === column.sort
        ? { field: prev.field, descending: !prev.descending }
        : { field: column.sort!, descending: column.firstDescending ?? false }
    );
    scrollRef.current?.scrollTo({ top: 0 });
    setFocusIndex(0);
  };

  // ------------------------------------------------------------------ compare
  if (comparing && selected.size >= 2) {
    return (
      <CompareView ctx={ctx} runs={[...selected.values()]} onBack={() => setComparing(false)} />
    );
  }

  // ------------------------------------------------------------------ table
  // Name, status and the metrics first: what tells runs apart stays in view when the
  // sidebar is narrow; the name column takes the room the others leave.
  const metricWidth = compact ? 62 : 132;
  const columns: IColumn[] = [
    { id: 'select', label: 'Select', width: compact ? 26 : 30, className: 'jp-ModelOps-runs-select' },
    { id: 'cell', label: 'Cell', width: compact ? 26 : 34, className: 'jp-ModelOps-runs-cell' },
    { id: 'name', label: 'Run', sort: 'name', width: 0 },
    { id: 'status', label: 'Status', sort: 'status', width: compact ? 30 : 84, quiet: compact },
    ...metricKeys.map(key => ({
      id: `metric:${key}`,
      label: key,
      sort: metricField(key),
      firstDescending: true,
      width: metricWidth,
      className: 'jp-ModelOps-runs-metric'
    })),
    { id: 'duration', label: 'Duration', sort: 'duration', firstDescending: true, width: 74 },
    { id: 'started', label: 'Started', sort: 'start_time', firstDescending: true, width: 86 }
  ];
  const others = columns.reduce((sum, c) => sum + c.width, 0);
  const lead = columns.slice(0, 4 + Math.min(1, metricKeys.length)).reduce((sum, c) => sum + c.width, 0);
  columns[2].width = !tableWidth
    ? 200
    : tableWidth - others >= NAME_CAP
      ? tableWidth - others
      : Math.max(compact ? 72 : 140, Math.min(NAME_CAP, tableWidth - lead));
  const totalWidth = others + columns[2].width;

  const header = (
    <tr aria-rowindex={1}>
      {columns.map(column => {
        const active = column.sort !== undefined && sort.field === column.sort;
        const ariaSort = column.sort
          ? active
            ? sort.descending
              ? 'descending'
              : 'ascending'
            : 'none'
          : undefined;
        const hidden = column.id === 'select' || column.id === 'cell';
        return (
          <th key={column.id} scope="col" aria-sort={ariaSort} className={column.className}>
            {column.sort ? (
              <button
                type="button"
                className="jp-ModelOps-sort"
                onClick={() => onSort(column)}
                title={`Sort by ${column.label}`}
              >
                <span className={column.quiet ? 'jp-ModelOps-sr-only' : 'jp-ModelOps-sort-label'}>
                  {column.label}
                </span>
                <span aria-hidden="true" className="jp-ModelOps-sort-arrow">
                  {active ? (sort.descending ? '▼' : '▲') : ''}
                </span>
              </button>
            ) : hidden ? (
              <span className="jp-ModelOps-sr-only">{column.label}</span>
            ) : (
              column.label
            )}
          </th>
        );
      })}
    </tr>
  );

  const renderRow = (index: number): React.ReactNode => {
    const run = rows[index];
    if (!run) {
      return (
        <tr
          key={`pending-${index}`}
          className="jp-ModelOps-runs-pending"
          aria-rowindex={index + 2}
          data-row-index={index}
          tabIndex={index === tabIndexRow ? 0 : -1}
        >
          <td colSpan={columns.length}>Loading…</td>
        </tr>
      );
    }
    const isSelected = selected.has(run.id);
    const cellId = run.tags?.[TAG_CELL_ID];
    const outOfOrder = run.tags?.[TAG_OUT_OF_ORDER] === 'true';
    const count = run.tags?.[TAG_EXECUTION_COUNT];
    const label = runLabel(run);
    const classes = ['jp-ModelOps-runs-row'];
    if (isSelected) {
      classes.push('jp-mod-selected');
    }
    if (wantedRun && run.id === wantedRun) {
      classes.push('jp-mod-highlight');
    }
    return (
      <tr
        key={run.id}
        className={classes.join(' ')}
        data-testid="modelops-runs-row"
        data-run-id={run.id}
        data-row-index={index}
        aria-rowindex={index + 2}
        aria-current={wantedRun && run.id === wantedRun ? 'true' : undefined}
        tabIndex={index === tabIndexRow ? 0 : -1}
        onFocus={event => {
          if (event.target === event.currentTarget) {
            setFocusIndex(index);
          }
        }}
        onKeyDown={event => {
          if (event.target !== event.currentTarget) {
            return;
          }
          if (event.key === ' ') {
            event.preventDefault();
            toggle(run);
          } else if (event.key === 'Enter') {
            event.preventDefault();
            void openCell(run);
          }
        }}
      >
        <td className="jp-ModelOps-runs-select">
          <input
            type="checkbox"
            checked={isSelected}
            onChange={() => toggle(run)}
            aria-label={`Select run ${label}`}
            tabIndex={index === tabIndexRow ? 0 : -1}
          />
        </td>
        <td className="jp-ModelOps-runs-cell">
          <button
            type="button"
            className="jp-ModelOps-iconbutton"
            data-testid="modelops-runs-open-cell"
            disabled={!cellId}
            aria-label={
              cellId
                ? `Open the cell that produced run ${label}`
                : `Run ${label} was not tracked from a notebook cell`
            }
            title={
              cellId
                ? `Open the cell${count ? ` [${count}]` : ''} that produced this run`
                : 'This run was not tracked from a notebook cell'
            }
            tabIndex={index === tabIndexRow ? 0 : -1}
            onClick={() => void openCell(run)}
          >
            <span aria-hidden="true">↗</span>
          </button>
        </td>
        <td className="jp-ModelOps-runs-name" title={`${run.name}\n${run.id}\n${run.source}`}>
          {outOfOrder ? (
            <span
              className="jp-ModelOps-badge jp-mod-warn"
              data-testid="modelops-runs-out-of-order"
              title={OUT_OF_ORDER_TIP}
              aria-label={OUT_OF_ORDER_TIP}
              role="img"
            >
              ⚠
            </span>
          ) : null}
          <span className="jp-ModelOps-runs-label">{run.name || '(unnamed)'}</span>
          <span className="jp-ModelOps-id">{shortId(run.id)}</span>
        </td>
        <td>
          <span
            className={`jp-ModelOps-status jp-mod-${String(run.status).toLowerCase()}`}
            title={run.error_message ? `${run.status}: ${run.error_message}` : run.status}
          >
            {compact ? (
              <>
                <span aria-hidden="true">{STATUS_SYMBOL[run.status] ?? '?'}</span>
                <span className="jp-ModelOps-sr-only">{run.status}</span>
              </>
            ) : (
              run.status
            )}
          </span>
        </td>
        {metricKeys.map(key => {
          const value = toNumber(run.metrics?.[key]);
          const history = compact ? undefined : series.get(run.id, key);
          return (
            <td
              key={key}
              className="jp-ModelOps-runs-metric"
              title={value === undefined ? undefined : `${key}: ${value}`}
            >
              <span className="jp-ModelOps-num">{formatNumber(value)}</span>
              {history ? <Sparkline values={history.values} label={`${key} of ${label}`} /> : null}
            </td>
          );
        })}
        <td className="jp-ModelOps-num">{formatDuration(run.start_time, run.end_time)}</td>
        <td title={formatAbsolute(run.start_time)}>{formatRelative(run.start_time)}</td>
      </tr>
    );
  };

  const countText =
    runs.total !== undefined
      ? `${runs.total.toLocaleString()} run${runs.total === 1 ? '' : 's'}`
      : runs.loaded
        ? `${rows.length.toLocaleString()}${runs.hasMore ? '+' : ''} runs`
        : 'Loading…';

  const error = runs.error;
  const emptyText = appliedFilter.trim()
    ? 'No runs match this filter.'
    : inNotebook
      ? 'No runs from this notebook yet — run a cell with %%track.'
      : 'No runs yet — run a cell with %%track.';

  return (
    <div className="jp-ModelOps-runs">
      <div className="jp-ModelOps-toolbar jp-ModelOps-runs-toolbar">
        <label className="jp-ModelOps-field">
          <span className="jp-ModelOps-sr-only">Show runs of</span>
          <select
            data-testid="modelops-runs-scope"
            aria-label="Show runs of"
            value={inNotebook ? 'notebook' : 'all'}
            onChange={event => {
              setScope(event.target.value as Scope);
              setFocusIndex(0);
            }}
          >
            <option value="notebook" disabled={!notebookPath}>
              This notebook
            </option>
            <option value="all">All notebooks</option>
          </select>
        </label>
        <label className="jp-ModelOps-field">
          <span className="jp-ModelOps-sr-only">Experiment</span>
          <select
            data-testid="modelops-runs-experiment"
            aria-label="Experiment"
            value={experimentId}
            onFocus={loadExperiments}
            onChange={event => {
              setExperimentId(event.target.value);
              setFocusIndex(0);
            }}
          >
            <option value="">All experiments</option>
            {experimentId && !experiments?.some(e => e.id === experimentId) ? (
              <option value={experimentId}>{experimentId}</option>
            ) : null}
            {(experiments ?? []).map(e => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <span className="jp-ModelOps-runs-count" data-testid="modelops-runs-count" aria-live="polite">
          {countText}
        </span>
      </div>
      <div className="jp-ModelOps-toolbar">
        <input
          type="search"
          className="jp-ModelOps-runs-filter"
          data-testid="modelops-runs-filter"
          aria-label="Filter runs"
          aria-invalid={error && appliedFilter ? true : undefined}
          aria-describedby={error ? 'jp-ModelOps-runs-error' : undefined}
          placeholder="Filter, e.g. metrics.accuracy > 0.9 and params.C = '1.0'"
          spellCheck={false}
          value={filterText}
          onChange={event => setFilterText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              setAppliedFilter(filterText);
            } else if (event.key === 'Escape' && filterText) {
              setFilterText('');
              setAppliedFilter('');
            }
          }}
        />
      </div>
      <div className="jp-ModelOps-toolbar">
        <button
          type="button"
          className="jp-ModelOps-button jp-mod-accept"
          data-testid="modelops-runs-compare"
          disabled={selected.size < 2}
          aria-disabled={selected.size < 2}
          title={
            selected.size < 2
              ? 'Select two or more runs to compare them'
              : `Compare the ${selected.size} selected runs`
          }
          onClick={() => setComparing(true)}
        >
          Compare{selected.size ? ` (${selected.size})` : ''}
        </button>
        {selected.size ? (
          <button type="button" className="jp-ModelOps-button" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        ) : null}
        <details className="jp-ModelOps-runs-columns">
          <summary>Metric columns</summary>
          <div className="jp-ModelOps-runs-columns-body">
            {Array.from({ length: METRIC_COLUMNS }, (_, i) => (
              <label key={i}>
                <span>Column {i + 1}</span>
                <select
                  value={metricKeys[i] ?? ''}
                  aria-label={`Metric column ${i + 1}`}
                  onChange={event => {
                    const next = Array.from(
                      { length: METRIC_COLUMNS },
                      (__, j) => (j === i ? event.target.value : metricKeys[j] ?? '')
                    );
                    setChosenKeys(next.filter((k, j) => k && next.indexOf(k) === j));
                  }}
                >
                  <option value="">(none)</option>
                  {knownKeys.map(k => (
                    <option key={k} value={k}>
                      {k}
                    </option>
                  ))}
                </select>
              </label>
            ))}
            {chosenKeys ? (
              <button type="button" className="jp-ModelOps-button" onClick={() => setChosenKeys(null)}>
                Most common
              </button>
            ) : null}
          </div>
        </details>
      </div>
      {error ? (
        <div className="jp-ModelOps-error" role="alert" id="jp-ModelOps-runs-error">
          {error.message}
        </div>
      ) : null}
      {notice ? (
        <div className="jp-ModelOps-note" role="status">
          {notice}
        </div>
      ) : null}
      {wantedRun && appliedFilter.trim() === `run_id = ${quoteString(wantedRun)}` ? (
        <div className="jp-ModelOps-note">
          Showing run {shortId(wantedRun)} only.{' '}
          <button
            type="button"
            className="jp-ModelOps-linkbutton"
            onClick={() => {
              setFilterText('');
              setAppliedFilter('');
            }}
          >
            Show all runs
          </button>
        </div>
      ) : null}
      {runs.loaded && !rows.length && !error ? (
        <div className="jp-ModelOps-empty">
          {emptyText}
          {inNotebook && !appliedFilter.trim() ? (
            <>
              {' '}
              <button type="button" className="jp-ModelOps-linkbutton" onClick={() => setScope('all')}>
                Show runs of all notebooks
              </button>
            </>
          ) : null}
        </div>
      ) : null}
      {!runs.loaded && !error ? <div className="jp-ModelOps-empty">Loading runs…</div> : null}
      <VirtualTable
        className="jp-ModelOps-runs-scroller"
        rowCount={rowCount}
        rowHeight={ROW_HEIGHT}
        columnCount={columns.length}
        overscan={OVERSCAN}
        scrollRef={scrollRef}
        onRangeChange={onRangeChange}
        onKeyDown={onTableKey}
        onWidthChange={setTableWidth}
        header={header}
        colgroup={
          <colgroup>
            {columns.map(c => (
              <col key={c.id} style={{ width: c.width }} />
            ))}
          </colgroup>
        }
        renderRow={renderRow}
        tableProps={{
          className: 'jp-ModelOps-runs-table' + (compact ? ' jp-mod-compact' : ''),
          'data-testid': 'modelops-runs-table',
          'aria-label': inNotebook ? `Runs of ${notebookPath}` : 'Runs',
          style: { width: totalWidth }
        }}
      />
    </div>
  );
}
