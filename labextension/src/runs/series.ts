/**
 * Sparkline data: down-sampled metric histories fetched for the visible rows only, in
 * one request per batch (GET /metrics/series), and cached per run and key.
 */
import { ModelOpsAPI } from '../api';
import { toNumber } from './format';
import { ISeriesAnswer } from './types';

/** A history ready to draw: steps and values (non-finite values stay, drawing skips them). */
export interface ISeries {
  steps: number[];
  values: number[];
}

export const SPARK_POINTS = 40;
/** The server takes at most this many runs per call. */
const MAX_RUNS_PER_CALL = 200;

function cacheKey(runId: string, key: string): string {
  return `${runId}\u0000${key}`;
}

export class SeriesCache {
  constructor(private readonly maxPoints = SPARK_POINTS) {}

  /** The history, `null` when the run has no such metric, undefined when not loaded. */
  get(runId: string, key: string): ISeries | null | undefined {
    return this._data.get(cacheKey(runId, key));
  }

  /** Forget a run's histories (it is still running: new points may have arrived). */
  invalidate(runId: string): void {
    for (const k of [...this._data.keys()]) {
      if (k.startsWith(runId + '\u0000')) {
        this._data.delete(k);
      }
    }
  }

  /**
   * Load what is missing for these runs and keys; resolves true if anything new
   * arrived. Concurrent calls never ask twice for the same history.
   */
  async load(api: ModelOpsAPI, runIds: string[], keys: string[]): Promise<boolean> {
    if (!keys.length) {
      return false;
    }
    const wanted = runIds.filter(id =>
      keys.some(key => {
        const k = cacheKey(id, key);
        return !this._data.has(k) && !this._pending.has(k);
      })
    );
    if (!wanted.length) {
      return false;
    }
    const marks = wanted.flatMap(id => keys.map(key => cacheKey(id, key)));
    marks.forEach(k => this._pending.add(k));
    try {
      for (let i = 0; i < wanted.length; i += MAX_RUNS_PER_CALL) {
        const chunk = wanted.slice(i, i + MAX_RUNS_PER_CALL);
        const answer = await api.get<ISeriesAnswer>('/metrics/series', {
          run_id: chunk,
          key: keys,
          max_points: this.maxPoints
        });
        for (const id of chunk) {
          for (const key of keys) {
            const points = answer.series?.[id]?.[key];
            this._data.set(
              cacheKey(id, key),
              points && points.length
                ? {
                    steps: points.map(p => p[0]),
                    values: points.map(p => toNumber(p[1]) ?? NaN)
                  }
                : null
            );
          }
        }
      }
      return true;
    } finally {
      marks.forEach(k => this._pending.delete(k));
    }
  }

  private _data = new Map<string, ISeries | null>();
  private _pending = new Set<string>();
}
