/**
 * Live updates without hammering the server: one `Poll` per visible view, with
 * exponential back-off on errors, slower polling while the page is hidden, and a
 * refresh on demand (after an action, or when the view is shown again).
 */
import { Poll } from '@lumino/polling';
import { createContext, useContext, useEffect, useRef, useState } from 'react';

/** False while the sidebar is collapsed: every poll beneath it stands by until shown. */
export const PanelVisible = createContext(true);

export const POLL_INTERVAL = 5000;
export const POLL_MAX = 60000;

export interface IPolled<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  refresh: () => void;
}

/**
 * Poll `load` every `interval` ms (backing off to `POLL_MAX` on failure) while the
 * component is mounted; `deps` restart it (e.g. a new filter).
 */
export function usePoll<T>(
  load: () => Promise<T>,
  deps: ReadonlyArray<unknown>,
  interval = POLL_INTERVAL
): IPolled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const pollRef = useRef<Poll>();
  const visible = useContext(PanelVisible);
  const visibleRef = useRef(visible);
  visibleRef.current = visible;

  useEffect(() => {
    let alive = true;
    setLoading(true);
    const poll = new Poll({
      auto: true,
      factory: async () => {
        try {
          const value = await load();
          if (alive) {
            setData(value);
            setError(undefined);
            setLoading(false);
          }
        } catch (err) {
          if (alive) {
            setError(err as Error);
            setLoading(false);
          }
          throw err; // lets Poll back off
        }
      },
      frequency: { interval, backoff: true, max: POLL_MAX },
      // stand by while the browser tab is hidden or the sidebar is collapsed
      standby: () => document.hidden || !visibleRef.current,
      name: 'jupyter-modelops'
    });
    pollRef.current = poll;
    return () => {
      alive = false;
      poll.dispose();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  // shown again after standing by: fresh data at once, not at the next tick
  useEffect(() => {
    if (visible) {
      void pollRef.current?.refresh();
    }
  }, [visible]);

  return {
    data,
    error,
    loading,
    refresh: () => {
      void pollRef.current?.refresh();
    }
  };
}
