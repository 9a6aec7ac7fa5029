/** Shapes of the tracking API's JSON, as the Runs and Compare views read them. */

/** A metric value on the wire: non-finite floats travel as strings. */
export type WireFloat = number | 'NaN' | 'Infinity' | '-Infinity';

export interface IRun {
  id: string;
  experiment_id: string;
  name: string;
  status: string;
  user: string;
  host: string;
  start_time: number;
  end_time: number | null;
  parent_run_id?: string | null;
  error_type?: string | null;
  error_message?: string | null;
  source: string;
  code_hash?: string;
  params: Record<string, string>;
  metrics: Record<string, WireFloat>;
  tags: Record<string, string>;
}

export interface IRunPage {
  runs: IRun[];
  next_page_token: string | null;
}

export interface IExperiment {
  id: string;
  name: string;
  description?: string;
}

/** One history as `[step, value]` pairs, ordered by step. */
export type Points = Array<[number, WireFloat]>;

/** GET /metrics/series: run id -> metric key -> points. */
export interface ISeriesAnswer {
  series: Record<string, Record<string, Points>>;
}

/** GET /runs/compare: one row per attribute, param and metric; one column per run. */
export interface ICompareFrame {
  columns: string[];
  data: unknown[][];
}

/** A sortable column: an attribute of the run, or `metrics.<key>`. */
export interface ISort {
  field: string;
  descending: boolean;
}

export const TAG_CELL_ID = 'mo.cell_id';
export const TAG_OUT_OF_ORDER = 'mo.out_of_order';
export const TAG_EXECUTION_COUNT = 'mo.execution_count';
