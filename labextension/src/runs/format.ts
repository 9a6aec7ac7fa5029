/** Text for the run table: numbers, durations and times that fit a narrow sidebar. */
import { WireFloat } from './types';

/** A wire float as a number (NaN and ±Infinity arrive as strings). */
export function toNumber(value: WireFloat | null | undefined): number | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'number') {
    return value;
  }
  if (value === 'NaN') {
    return NaN;
  }
  if (value === 'Infinity') {
    return Infinity;
  }
  if (value === '-Infinity') {
    return -Infinity;
  }
  const parsed = Number(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Four significant digits, exponent notation for very large or small magnitudes. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) {
    return '';
  }
  if (Number.isNaN(value)) {
    return 'NaN';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '−∞';
  }
  if (value === 0) {
    return '0';
  }
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e9) {
    return String(value);
  }
  if (abs >= 1e6 || abs < 1e-3) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(4)));
}

/** `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 4h`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const s = Math.floor(seconds);
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A run's duration; a running run's so far. */
export function formatDuration(
  start: number,
  end: number | null | undefined,
  now: number = Date.now()
): string {
  const stop = end ?? now;
  return formatSeconds(Math.max(0, stop - start) / 1000);
}

/** `just now`, `5 min ago`, `3 h ago`, then the date. */
export function formatRelative(ms: number, now: number = Date.now()): string {
  const seconds = (now - ms) / 1000;
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  const date = new Date(ms);
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  return date.toLocaleDateString(undefined, {
    month: 'short',
    day: 'numeric',
    ...(sameYear ? {} : { year: 'numeric' })
  });
}

/** The full local date and time, for tooltips. */
export function formatAbsolute(ms: number): string {
  return new Date(ms).toLocaleString();
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** The run's name, or its short id when it has none. */
export function runLabel(run: { name: string; id: string }): string {
  return run.name || shortId(run.id);
}
