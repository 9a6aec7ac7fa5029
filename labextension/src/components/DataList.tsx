/**
 * The table every registry view uses: sortable columns (buttons in `<th scope="col">`
 * with `aria-sort`), optional expandable rows, and the loading / empty / error states.
 *
 * Each row is its own `<tbody>` holding the row and, when expanded, its detail row, so
 * a row's test id (and `data-*` attributes) covers everything shown for it — a test can
 * find a request's approve button inside that request's row.
 */
import * as React from 'react';
import { useMemo, useState } from 'react';

import { compareKeys, errorText } from '../registry/format';

export interface IColumn<T> {
  id: string;
  label: string;
  render: (row: T) => React.ReactNode;
  /** Makes the column sortable by this key. */
  sortKey?: (row: T) => unknown;
  numeric?: boolean;
  /** Hidden when the sidebar is narrow (the row's details should show it too). */
  optional?: boolean;
  /** Preferred CSS width of the column. */
  width?: string;
  className?: string;
}

export interface ISort {
  column: string;
  descending: boolean;
}

export interface IDataListProps<T> {
  /** Accessible name of the table. */
  label: string;
  testId: string;
  columns: IColumn<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowTestId?: string;
  /** Extra attributes of a row, e.g. `{'data-model-name': name}`. */
  rowAttributes?: (row: T) => Record<string, string>;
  /** What a row shows when expanded; rows get a disclosure button when given. */
  renderDetail?: (row: T) => React.ReactNode;
  /** Accessible name of a row (used by its disclosure button). */
  rowLabel?: (row: T) => string;
  /** Rows expanded at first (e.g. the one a command asked for). */
  initiallyExpanded?: string[];
  /** Let several rows be expanded at once; by default opening one closes the other
   * (one detail, one set of action buttons on screen). */
  multiExpand?: boolean;
  initialSort?: ISort;
  /** Shown instead of the table when there are no rows. */
  empty: React.ReactNode;
}

/** Moves focus between the rows' disclosure buttons with the arrow keys. */
function onToggleKey(event: React.KeyboardEvent<HTMLButtonElement>): void {
  const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0;
  if (!step) {
    return;
  }
  const table = event.currentTarget.closest('table');
  if (!table) {
    return;
  }
  const toggles = Array.from(
    table.querySelectorAll<HTMLButtonElement>('.jp-ModelOps-rowToggle')
  );
  const next = toggles[toggles.indexOf(event.currentTarget) + step];
  if (next) {
    event.preventDefault();
    next.focus();
  }
}

/** True when a click landed on something interactive inside the row. */
function isInteractive(target: EventTarget | null, row: HTMLElement): boolean {
  let el = target as HTMLElement | null;
  while (el && el !== row) {
    if (/^(BUTTON|A|INPUT|TEXTAREA|SELECT|LABEL)$/.test(el.tagName)) {
      return true;
    }
    el = el.parentElement;
  }
  return false;
}

export function DataList<T>(props: IDataListProps<T>): JSX.Element {
  const [sort, setSort] = useState<ISort | undefined>(props.initialSort);
  const [expanded, setExpanded] = useState<Set<string>>(
    () => new Set(props.initiallyExpanded ?? [])
  );

  const sorted = useMemo(() => {
    const column = props.columns.find(c => c.id === sort?.column);
    if (!sort || !column?.sortKey) {
      return props.rows;
    }
    const key = column.sortKey;
    const out = [...props.rows].sort((a, b) => compareKeys(key(a), key(b)));
    return sort.descending ? out.reverse() : out;
  }, [props.rows, props.columns, sort]);

  const toggle = (key: string) =>
    setExpanded(prev => {
      const next = new Set(props.multiExpand ? prev : []);
      if (prev.has(key)) {
        next.delete(key);
      } else {
        next.add(key);
      }
      return next;
    });

  const sortBy = (column: string) =>
    setSort(prev =>
      prev?.column === column
        ? { column, descending: !prev.descending }
        : { column, descending: false }
    );

  if (!props.rows.length) {
    return <EmptyNotice>{props.empty}</EmptyNotice>;
  }
  const detail = props.renderDetail;
  const span = props.columns.length + (detail ? 1 : 0);
  return (
    <table
      className="jp-ModelOps-dataList"
      aria-label={props.label}
      data-testid={props.testId}
    >
      <thead>
        <tr>
          {detail && (
            <th scope="col" className="jp-ModelOps-toggleCell">
              <span className="jp-ModelOps-srOnly">Details</span>
            </th>
          )}
          {props.columns.map(column => {
            const active = sort?.column === column.id;
            const ariaSort = active
              ? sort!.descending
                ? 'descending'
                : 'ascending'
              : column.sortKey
                ? 'none'
                : undefined;
            return (
              <th
                key={column.id}
                scope="col"
                aria-sort={ariaSort}
                style={column.width ? { width: column.width } : undefined}
                className={
                  [column.numeric ? 'jp-mod-numeric' : '', column.optional ? 'jp-mod-optional' : '']
                    .join(' ')
                    .trim() || undefined
                }
              >
                {column.sortKey ? (
                  <button
                    type="button"
                    className="jp-ModelOps-sortButton"
                    onClick={() => sortBy(column.id)}
                    title={`Sort by ${column.label}`}
                  >
                    {column.label}
                    <span aria-hidden="true" className="jp-ModelOps-sortMark">
                      {active ? (sort!.descending ? ' ▼' : ' ▲') : ''}
                    </span>
                  </button>
                ) : (
                  column.label
                )}
              </th>
            );
          })}
        </tr>
      </thead>
      {sorted.map(row => {
        const key = props.rowKey(row);
        const open = expanded.has(key);
        const name = props.rowLabel ? props.rowLabel(row) : key;
        const detailId = `jp-ModelOps-detail-${props.testId}-${key}`;
        return (
          <tbody
            key={key}
            className={'jp-ModelOps-rowGroup' + (open ? ' jp-mod-expanded' : '')}
            data-testid={props.rowTestId}
            {...(props.rowAttributes ? props.rowAttributes(row) : {})}
          >
            <tr
              className={detail ? 'jp-ModelOps-expandable' : undefined}
              onClick={
                detail
                  ? event => {
                      if (!isInteractive(event.target, event.currentTarget)) {
                        toggle(key);
                      }
                    }
                  : undefined
              }
            >
              {detail && (
                <td className="jp-ModelOps-toggleCell">
                  <button
                    type="button"
                    className="jp-ModelOps-rowToggle"
                    aria-expanded={open}
                    aria-controls={open ? detailId : undefined}
                    aria-label={`${open ? 'Hide' : 'Show'} details of ${name}`}
                    onClick={() => toggle(key)}
                    onKeyDown={onToggleKey}
                  >
                    <span aria-hidden="true">{open ? '▾' : '▸'}</span>
                  </button>
                </td>
              )}
              {props.columns.map(column => (
                <td
                  key={column.id}
                  className={
                    [
                      column.numeric ? 'jp-mod-numeric' : '',
                      column.optional ? 'jp-mod-optional' : '',
                      column.className ?? ''
                    ]
                      .join(' ')
                      .trim() || undefined
                  }
                >
                  {column.render(row)}
                </td>
              ))}
            </tr>
            {detail && open && (
              <tr className="jp-ModelOps-detailRow">
                <td colSpan={span} id={detailId}>
                  {detail(row)}
                </td>
              </tr>
            )}
          </tbody>
        );
      })}
    </table>
  );
}

/** The API's one-line message, announced to screen readers. */
export function ErrorNotice(props: {
  error: unknown;
  prefix?: string;
}): JSX.Element | null {
  if (!props.error) {
    return null;
  }
  return (
    <div className="jp-ModelOps-error" role="alert" data-testid="modelops-error">
      {props.prefix ? `${props.prefix}: ` : ''}
      {errorText(props.error)}
    </div>
  );
}

export function LoadingNotice(props: { what: string }): JSX.Element {
  return (
    <div className="jp-ModelOps-loading" role="status" aria-live="polite">
      Loading {props.what}…
    </div>
  );
}

export function EmptyNotice(props: { children: React.ReactNode }): JSX.Element {
  return <div className="jp-ModelOps-empty">{props.children}</div>;
}

/**
 * The usual frame of a polled view: the error (kept above stale data), a loading line
 * before the first answer, else the content.
 */
export function PolledContent(props: {
  what: string;
  loading: boolean;
  error: unknown;
  hasData: boolean;
  children: () => React.ReactNode;
}): JSX.Element {
  return (
    <>
      <ErrorNotice error={props.error} />
      {props.hasData
        ? props.children()
        : props.loading && !props.error
          ? <LoadingNotice what={props.what} />
          : null}
    </>
  );
}
