/** Shapes of the pipeline ops' answers (jupyter_modelops/pipeline/export.py, runner.py, ops.py). */

/** Export targets, as `pipeline/export.py` TARGETS names them. */
export const TARGETS: { id: string; label: string; hint: string }[] = [
  {
    id: 'python',
    label: 'Python package',
    hint: 'A package you run with `python -m <package>`; nothing runs now.'
  },
  {
    id: 'local',
    label: 'Local run',
    hint: 'The Python package, then a run with the local runner on this server (runs the code now; steps are logged as runs).'
  },
  {
    id: 'kfp',
    label: 'Kubeflow Pipelines v2',
    hint: 'The package plus kfp_pipeline.py and the compiled pipeline.yaml to upload to Kubeflow.'
  },
  {
    id: 'airflow',
    label: 'Airflow DAG',
    hint: 'The package plus airflow_dag.py to copy into your DAGs folder.'
  }
];

export interface IStepInfo {
  name: string;
  title: string;
  /** 1-based cell positions. */
  cells: number[];
  cell_ids: string[];
  /** value name -> the step that produces it */
  inputs: Record<string, string>;
  params: string[];
  outputs: string[];
  after: string[];
  module: string;
  /** Versus the previous export into the same folder (null: first export there). */
  changed: boolean | null;
}

export interface IStepResult {
  name: string;
  status: 'done' | 'cached' | 'failed' | 'skipped' | string;
  seconds: number;
  outputs: Record<string, { digest: string; size: number; info: Record<string, unknown> }>;
  metrics: Record<string, number>;
  error: { type?: string; message?: string; where?: string } | null;
  run_id: string | null;
  log: string | null;
}

export interface IPipelineRun {
  name?: string;
  package?: string;
  status: string;
  params?: Record<string, unknown>;
  seconds?: number;
  run_id: string | null;
  metrics?: Record<string, number>;
  steps?: Record<string, IStepResult>;
  pickled?: [string, string, string][];
  resumed_from?: string | null;
}

export interface IExportReport {
  notebook: string;
  target: string;
  output: string;
  mode: string;
  files: string[];
  steps: IStepInfo[];
  parameters: Record<string, unknown>;
  metrics: string[];
  outputs: string[];
  warnings: string[];
  notes: string[];
  hidden_state: string[];
  formats: Record<string, string>;
  pickled: [string, string, string][];
  run: IPipelineRun | null;
  parity: { ok?: boolean } | null;
  parity_text: string;
  run_text: string;
  seconds: number;
  code_hash: string;
}

/** `plan_pipeline`: what an export would produce, without writing anything. */
export interface IPipelinePlan {
  name: string;
  mode: string;
  parameters: Record<string, unknown>;
  warnings: string[];
  notes: string[];
  steps: {
    name: string;
    title: string;
    cells: string[];
    inputs: Record<string, string>;
    params: string[];
    outputs: string[];
    after: string[];
  }[];
}
