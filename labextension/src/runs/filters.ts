/**
 * Building filter and sort expressions in the product's filter syntax
 * (jupyter_modelops/tracking/filter.py) from what the user picked in the view.
 */
import { IRun, ISort } from './types';

/** A string literal: backslash escapes for the backslash and the quote. */
export function quoteString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const BARE_KEY = /^[A-Za-z0-9_\-./:]+$/;

/** A metric/param/tag key as written after `metrics.`; undefined if it cannot be written. */
export function quoteKey(key: string): string | undefined {
  if (BARE_KEY.test(key)) {
    return key;
  }
  if (key !== key.trim() || !key) {
    return undefined;
  }
  if (!key.includes('`')) {
    return `\`${key}\``;
  }
  if (!key.includes('"')) {
    return `"${key}"`;
  }
  return undefined;
}

/** The field of a metric column, e.g. `metrics.accuracy`. */
export function metricField(key: string): string | undefined {
  const quoted = quoteKey(key);
  return quoted === undefined ? undefined : `metrics.${quoted}`;
}

/**
 * Runs of a notebook. The kernel records the notebook path as it saw it — usually
 * absolute (resolved on the kernel's machine), sometimes as the server-relative path
 * Jupyter gave it — while the panel knows the server-relative path: match either the
 * exact path or any path ending in `/<path>`.
 */
export function notebookFilter(notebookPath: string): string {
  const path = notebookPath.replace(/^\/+/, '');
  return `source = ${quoteString(path)} or source like ${quoteString('%/' + path)}`;
}

/** `a and b`, each part parenthesised; empty parts dropped. */
export function combineFilters(...parts: Array<string | undefined>): string {
  const kept = parts.map(p => (p ?? '').trim()).filter(p => p);
  if (kept.length <= 1) {
    return kept[0] ?? '';
  }
  return kept.map(p => `(${p})`).join(' and ');
}

/** `order_by` entries for a sort (ties broken by the server: newest first). */
export function orderBy(sort: ISort): string[] {
  return [`${sort.field} ${sort.descending ? 'DESC' : 'ASC'}`];
}

/** The `n` metric keys most runs have (ties: alphabetical). */
export function commonMetricKeys(runs: IRun[], n = 3): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics ?? {})) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([key]) => key);
}

/** Every metric key of the runs, alphabetical. */
export function allMetricKeys(runs: Iterable<IRun>): string[] {
  const keys = new Set<string>();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics ?? {})) {
      keys.add(key);
    }
  }
  return [...keys].sort();
}

/** Does the run's recorded source name the notebook at `notebookPath`? */
export function sameNotebook(source: string, notebookPath: string | undefined): boolean {
  if (!notebookPath || !source) {
    return false;
  }
  const path = notebookPath.replace(/^\/+/, '');
  return source === path || source.endsWith('/' + path);
}
