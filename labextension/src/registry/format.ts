/**
 * Formatting shared by the registry views: times, numbers, tones of states, error text.
 */
import { ModelOpsAPIError } from '../api';

/** Badge colours, mapped to theme variables in registry.css. */
export type Tone = 'neutral' | 'info' | 'success' | 'warn' | 'error';

const STATE_TONES: Record<string, Tone> = {
  // life cycle
  DRAFT: 'neutral',
  REGISTERED: 'neutral',
  IN_VALIDATION: 'info',
  VALIDATED: 'info',
  APPROVED: 'success',
  STAGED: 'info',
  PRODUCTION: 'success',
  WATCH: 'warn',
  BREACH: 'error',
  REJECTED: 'error',
  RETIRED: 'neutral',
  // requests
  PENDING: 'warn',
  WITHDRAWN: 'neutral',
  // deployments
  RUNNING: 'success',
  STARTING: 'info',
  RESTARTING: 'warn',
  STOPPING: 'neutral',
  STOPPED: 'neutral',
  FAILED: 'error',
  GENERATED: 'info',
  SUCCEEDED: 'success',
  // evidence / validation
  PASSED: 'success',
  NOT_RUN: 'neutral',
  INFO: 'info'
};

/** The tone of a life-cycle, request, deployment or evidence status. */
export function stateTone(state: string | null | undefined): Tone {
  return STATE_TONES[(state ?? '').toUpperCase()] ?? 'neutral';
}

/** "5 s ago", "3 min ago", "in 20 s"; empty for no time. */
export function relativeTime(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '';
  }
  const diff = Math.round((now - ms) / 1000);
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 5) {
    return 'just now';
  } else if (abs < 60) {
    text = `${abs} s`;
  } else if (abs < 3600) {
    text = `${Math.round(abs / 60)} min`;
  } else if (abs < 86400) {
    text = `${Math.round(abs / 3600)} h`;
  } else {
    text = `${Math.round(abs / 86400)} d`;
  }
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Local date and time, for tooltips next to relative times. */
export function absoluteTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '';
  }
  return new Date(ms).toLocaleString();
}

export function shortId(id: string | null | undefined): string {
  return (id ?? '').slice(0, 8);
}

/** A number with at most `digits` decimals; '' for none. */
export function formatNumber(value: unknown, digits = 2): string {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    return '';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '-∞';
  }
  return Number.isInteger(value)
    ? value.toLocaleString()
    : value.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function formatPercent(share: number | null | undefined): string {
  return typeof share === 'number' && Number.isFinite(share)
    ? `${Math.round(share * 100)}%`
    : '';
}

/** The one-line message of an API error (or any error). */
export function errorText(error: unknown): string {
  if (error instanceof ModelOpsAPIError) {
    return error.message;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** Compares two sort keys: numbers numerically, text case-insensitively, blanks last. */
export function compareKeys(a: unknown, b: unknown): number {
  const blankA = a === null || a === undefined || a === '';
  const blankB = b === null || b === undefined || b === '';
  if (blankA || blankB) {
    return blankA === blankB ? 0 : blankA ? 1 : -1;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  return String(a).localeCompare(String(b), undefined, {
    numeric: true,
    sensitivity: 'base'
  });
}
