/**
 * A real <table> that renders only the rows in view (plus a margin), for lists of
 * tens of thousands of rows. Rows have a fixed height, so the position of any row is
 * known without measuring; spacer rows above and below keep the scroll height right.
 */
import * as React from 'react';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

export interface IVirtualTableProps {
  rowCount: number;
  /** Pixels; must match the CSS height of the rendered rows. */
  rowHeight: number;
  columnCount: number;
  /** The <tr> of header cells. */
  header: React.ReactNode;
  colgroup?: React.ReactNode;
  /** A <tr> for row `index` (give it a `key`). */
  renderRow: (index: number) => React.ReactNode;
  /** Called with the first and last row index in view (inclusive) when they change. */
  onRangeChange?: (first: number, last: number) => void;
  /** Rows rendered beyond the visible ones, above and below. */
  overscan?: number;
  /** Lets the owner read and set the scroll position. */
  scrollRef?: React.MutableRefObject<HTMLDivElement | null>;
  className?: string;
  tableProps?: React.TableHTMLAttributes<HTMLTableElement> & Record<string, unknown>;
  onKeyDown?: (event: React.KeyboardEvent<HTMLDivElement>) => void;
  /** Called with the width available to the table (inside borders and scroll bar). */
  onWidthChange?: (width: number) => void;
}

export function VirtualTable(props: IVirtualTableProps): JSX.Element {
  const { rowCount, rowHeight, overscan = 8 } = props;
  const ownRef = useRef<HTMLDivElement | null>(null);
  const headRef = useRef<HTMLTableSectionElement | null>(null);
  const [view, setView] = useState({ top: 0, height: 600, head: rowHeight, width: 0 });

  const measure = useCallback(() => {
    const el = ownRef.current;
    if (!el) {
      return;
    }
    const next = {
      top: el.scrollTop,
      height: el.clientHeight || 600,
      head: headRef.current?.offsetHeight ?? rowHeight,
      width: el.clientWidth
    };
    setView(prev =>
      prev.top === next.top &&
      prev.height === next.height &&
      prev.head === next.head &&
      prev.width === next.width
        ? prev
        : next
    );
  }, [rowHeight]);

  useLayoutEffect(measure, [measure, rowCount]);
  // Before paint, so columns sized for the width never flash at another size.
  const onWidth = props.onWidthChange;
  useLayoutEffect(() => {
    if (onWidth && view.width > 0) {
      onWidth(view.width);
    }
  }, [onWidth, view.width]);
  useEffect(() => {
    const el = ownRef.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => measure());
    observer.observe(el);
    return () => observer.disconnect();
  }, [measure]);

  const body = Math.max(0, view.top - view.head);
  const first = Math.min(rowCount, Math.floor(body / rowHeight));
  const visible = Math.ceil(view.height / rowHeight) + 1;
  const last = Math.min(rowCount - 1, first + visible - 1);
  const start = Math.max(0, first - overscan);
  const end = Math.min(rowCount, last + 1 + overscan);

  const onRange = props.onRangeChange;
  useEffect(() => {
    if (onRange && rowCount > 0) {
      onRange(first, Math.max(first, last));
    }
  }, [onRange, first, last, rowCount]);

  const rows: React.ReactNode[] = [];
  for (let i = start; i < end; i++) {
    rows.push(props.renderRow(i));
  }
  const spacer = (height: number, key: string) =>
    height > 0 ? (
      <tr key={key} aria-hidden="true" className="jp-ModelOps-vt-spacer" style={{ height }}>
        <td colSpan={props.columnCount} />
      </tr>
    ) : null;

  return (
    <div
      className={'jp-ModelOps-vt ' + (props.className ?? '')}
      ref={el => {
        ownRef.current = el;
        if (props.scrollRef) {
          props.scrollRef.current = el;
        }
      }}
      onScroll={measure}
      onKeyDown={props.onKeyDown}
    >
      <table {...props.tableProps} aria-rowcount={rowCount + 1}>
        {props.colgroup}
        <thead ref={headRef}>{props.header}</thead>
        <tbody>
          {spacer(start * rowHeight, 'above')}
          {rows}
          {spacer((rowCount - end) * rowHeight, 'below')}
        </tbody>
      </table>
    </div>
  );
}
