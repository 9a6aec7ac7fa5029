/**
 * The run table's data: pages of GET /runs fetched lazily as the user scrolls, with the
 * first page alone on the critical path (count, experiments and sparklines come after).
 *
 * Each poll re-reads the head of the list (as many rows as are loaded, up to a cap) so
 * that new runs appear and running ones update; rows further down stay until scrolled
 * to again. Page tokens are opaque offsets bound to the query, so pages are chained.
 */
import { useEffect, useRef, useState } from 'react';

import { ModelOpsAPI, ModelOpsAPIError } from '../api';
import { usePoll } from '../poll';
import { orderBy } from './filters';
import { IRun, IRunPage, ISort } from './types';

export const PAGE_SIZE = 100;
/** Largest page asked for when the user jumps far down the list. */
const MAX_CHUNK = 1000;
/** Largest head re-read on a poll. */
const MAX_HEAD = 200;
/** After a failed page load, wait this long before trying again on scroll. */
const RETRY_MS = 5000;

export interface IRunQuery {
  /** The whole filter sent to the server (scope and the user's text). */
  filter: string;
  /** The user's own text, to report its error rather than the combined one's. */
  userFilter: string;
  experimentId?: string;
  sort: ISort;
}

export interface IRuns {
  rows: IRun[];
  /** Matching runs in all (from /runs/count); undefined until counted. */
  total: number | undefined;
  hasMore: boolean;
  /** The first page of the current query has arrived. */
  loaded: boolean;
  error: Error | undefined;
  /** Increments on every head refresh (a poll tick). */
  ticks: number;
  /** Make sure rows up to `index` are (being) loaded. */
  ensure(index: number): void;
  refresh(): void;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}

export function useRuns(api: ModelOpsAPI, query: IRunQuery): IRuns {
  const queryKey = JSON.stringify(query);
  const state = useRef({
    gen: 0,
    rows: [] as IRun[],
    token: null as string | null,
    total: undefined as number | undefined,
    loaded: false,
    loadingMore: false,
    failedAt: 0,
    ticks: 0
  });
  const [, setVersion] = useState(0);
  const [moreError, setMoreError] = useState<Error>();
  const bump = () => setVersion(v => v + 1);

  // A new query starts from scratch; runs before the poll below restarts.
  const lastKey = useRef<string>();
  if (lastKey.current !== queryKey) {
    lastKey.current = queryKey;
    const s = state.current;
    s.gen += 1;
    s.rows = [];
    s.token = null;
    s.total = undefined;
    s.loaded = false;
    s.loadingMore = false;
    s.failedAt = 0;
  }
  useEffect(() => setMoreError(undefined), [queryKey]);

  const params = (limit: number, token?: string | null) => ({
    filter: query.filter || undefined,
    experiment_id: query.experimentId || undefined,
    order_by: orderBy(query.sort),
    limit,
    page_token: token || undefined
  });

  const fetchPage = async (limit: number, token?: string | null): Promise<IRunPage> => {
    try {
      return await api.get<IRunPage>('/runs', params(limit, token));
    } catch (err) {
      // A mistake in the user's text is best reported on that text alone (positions
      // and quotes of the combined filter would confuse).
      if (
        err instanceof ModelOpsAPIError &&
        err.status >= 400 &&
        err.status < 500 &&
        query.userFilter &&
        query.userFilter !== query.filter
      ) {
        try {
          await api.get('/runs/count', { filter: query.userFilter, max_count: 1 });
        } catch (own) {
          if (own instanceof ModelOpsAPIError) {
            throw own;
          }
        }
      }
      throw err;
    }
  };

  const countRuns = async (gen: number) => {
    try {
      const answer = await api.get<{ count: number }>('/runs/count', {
        filter: query.filter || undefined,
        experiment_id: query.experimentId || undefined
      });
      if (gen === state.current.gen && answer.count !== state.current.total) {
        state.current.total = answer.count;
        bump();
      }
    } catch {
      // the table works without a total; the next poll tries again
    }
  };

  const poll = usePoll(
    async () => {
      const s = state.current;
      const gen = s.gen;
      const limit = clamp(s.rows.length, PAGE_SIZE, MAX_HEAD);
      const page = await fetchPage(limit);
      if (gen !== s.gen) {
        return;
      }
      const whole = s.rows.length <= limit && !page.next_page_token;
      if (s.rows.length <= limit) {
        s.rows = page.runs;
        s.token = page.next_page_token;
      } else {
        const fresh = new Set(page.runs.map(r => r.id));
        s.rows = page.runs.concat(s.rows.slice(limit).filter(r => !fresh.has(r.id)));
      }
      s.loaded = true;
      s.ticks += 1;
      if (whole) {
        // The page holds every match: that is the total, no count request needed.
        s.total = page.runs.length;
      }
      bump();
      if (!whole) {
        void countRuns(gen);
      }
    },
    [api, queryKey]
  );

  const ensure = (index: number) => {
    const s = state.current;
    if (
      !s.loaded ||
      index < s.rows.length ||
      !s.token ||
      s.loadingMore ||
      Date.now() - s.failedAt < RETRY_MS
    ) {
      return;
    }
    const gen = s.gen;
    s.loadingMore = true;
    const limit = clamp(index + PAGE_SIZE - s.rows.length, PAGE_SIZE, MAX_CHUNK);
    fetchPage(limit, s.token)
      .then(page => {
        if (gen !== s.gen) {
          return;
        }
        const known = new Set(s.rows.map(r => r.id));
        s.rows = s.rows.concat(page.runs.filter(r => !known.has(r.id)));
        s.token = page.next_page_token;
        s.loadingMore = false;
        setMoreError(undefined);
        bump();
      })
      .catch(err => {
        if (gen !== s.gen) {
          return;
        }
        s.loadingMore = false;
        s.failedAt = Date.now();
        setMoreError(err as Error);
      });
  };

  const s = state.current;
  return {
    rows: s.rows,
    total: s.total,
    hasMore: !s.loaded || s.token !== null,
    loaded: s.loaded,
    error: poll.error ?? moreError,
    ticks: s.ticks,
    ensure,
    refresh: poll.refresh
  };
}
