/**
 * The export report: which steps the notebook became, what flows between them, what the
 * exporter warns about, where the files went, and (for a run) how each step ended.
 * Everything from the notebook (names, titles, messages) is rendered as text.
 */
import * as React from 'react';

import { IExportReport, IPipelineRun, IStepResult, TARGETS } from './types';

const MODES: Record<string, string> = {
  tagged: 'from cell tags',
  headings: 'from Markdown headings',
  single: 'as one step'
};

function list(values: string[]): string {
  return values.length ? values.join(', ') : '—';
}

function literal(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
}

/** "df (load); X, y (split)": what a step reads, grouped by the producing step. */
function reads(inputs: Record<string, string>): string {
  const by = new Map<string, string[]>();
  for (const [name, producer] of Object.entries(inputs)) {
    by.set(producer, [...(by.get(producer) ?? []), name]);
  }
  return (
    Array.from(by.entries())
      .map(([producer, names]) => `${names.join(', ')} (${producer})`)
      .join('; ') || '—'
  );
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

export function ExportReportView(props: {
  report: IExportReport;
  /** Run the exported package now (only offered when the export did not run it). */
  onRun?: () => void;
  runBusy?: boolean;
  runError?: string;
  run?: IPipelineRun | null;
  onShowRun?: (runId: string) => void;
}): JSX.Element {
  const { report } = props;
  const target = TARGETS.find(t => t.id === report.target)?.label ?? report.target;
  const run = props.run ?? report.run;
  const canRun = !report.run && !report.parity && props.onRun;
  const runRef = React.useRef<HTMLDivElement>(null);
  const topRef = React.useRef<HTMLElement>(null);
  // The dialog scrolls: bring a new report, then a new run result, into view. (Braces:
  // recent browsers return a promise from scrollIntoView, which is no effect cleanup.)
  React.useEffect(() => {
    topRef.current?.scrollIntoView({ block: 'nearest' });
  }, [report]);
  React.useEffect(() => {
    runRef.current?.scrollIntoView({ block: 'nearest' });
  }, [run]);
  return (
    <section
      ref={topRef}
      className="jp-ModelOps-exportReport"
      data-testid="modelops-export-report"
      aria-label="Export report"
    >
      <p className="jp-ModelOps-exportSummary">
        Exported <strong>{basename(report.notebook)}</strong> as{' '}
        <strong>{target}</strong>: {report.steps.length}{' '}
        {report.steps.length === 1 ? 'step' : 'steps'} {MODES[report.mode] ?? report.mode} in{' '}
        {report.seconds.toFixed(2)} s.
      </p>

      <table className="jp-ModelOps-exportSteps">
        <caption className="jp-ModelOps-srOnly">Pipeline steps</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Cells</th>
            <th scope="col">Reads</th>
            <th scope="col">Parameters</th>
            <th scope="col">Writes</th>
            <th scope="col">Runs after</th>
          </tr>
        </thead>
        <tbody>
          {report.steps.map(step => (
            <tr key={step.name} data-step={step.name}>
              <th scope="row">
                <code>{step.name}</code>
                {step.changed && (
                  <span className="jp-ModelOps-badge" title="Its code changed since the previous export into this folder">
                    changed
                  </span>
                )}
                {step.title && <div className="jp-ModelOps-exportStepTitle">{step.title}</div>}
              </th>
              <td>{step.cells.join(', ')}</td>
              <td>{reads(step.inputs)}</td>
              <td>{list(step.params)}</td>
              <td>{list(step.outputs)}</td>
              <td>{list(step.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {(Object.keys(report.parameters).length > 0 ||
        report.metrics.length > 0 ||
        report.outputs.length > 0) && (
        <dl className="jp-ModelOps-exportFacts">
          {Object.keys(report.parameters).length > 0 && (
            <>
              <dt>Parameters</dt>
              <dd>
                {Object.entries(report.parameters)
                  .map(([k, v]) => `${k} = ${literal(v)}`)
                  .join(', ')}
              </dd>
            </>
          )}
          {report.metrics.length > 0 && (
            <>
              <dt>Metrics</dt>
              <dd>{report.metrics.join(', ')}</dd>
            </>
          )}
          {report.outputs.length > 0 && (
            <>
              <dt>Outputs</dt>
              <dd>{report.outputs.join(', ')}</dd>
            </>
          )}
        </dl>
      )}

      <Problems report={report} />

      <div className="jp-ModelOps-exportFiles">
        <div>
          Written to <code data-testid="modelops-export-output-path">{report.output}</code>
        </div>
        <details>
          <summary>{report.files.length} files</summary>
          <ul>
            {report.files.map(file => (
              <li key={file}>
                <code>{file}</code>
              </li>
            ))}
          </ul>
        </details>
      </div>

      {report.parity_text && (
        <div className="jp-ModelOps-exportParity">
          <h4>Parity check {report.parity?.ok ? 'passed' : 'found differences'}</h4>
          <pre>{report.parity_text}</pre>
        </div>
      )}

      {canRun && (
        <div className="jp-ModelOps-exportRunBar">
          <button
            type="button"
            className="jp-ModelOps-button"
            data-testid="modelops-export-run"
            onClick={props.onRun}
            disabled={props.runBusy}
            aria-disabled={props.runBusy}
            title={
              props.runBusy
                ? 'The pipeline is running'
                : 'Run the exported package now with the local runner on this server'
            }
          >
            {props.runBusy ? 'Running…' : 'Run it locally now'}
          </button>
          {props.runBusy && (
            <span role="status" className="jp-ModelOps-muted">
              Running the steps; this takes as long as the notebook does.
            </span>
          )}
        </div>
      )}
      {props.runError && (
        <div className="jp-ModelOps-error" role="alert" data-testid="modelops-export-run-error">
          {props.runError}
        </div>
      )}
      <div ref={runRef}>{run && <RunResult run={run} onShowRun={props.onShowRun} />}</div>
    </section>
  );
}

function Problems({ report }: { report: IExportReport }): JSX.Element | null {
  const warnings: string[] = [...report.warnings];
  if (report.hidden_state.length) {
    warnings.push(
      `hidden state: ${report.hidden_state.slice(0, 12).join(', ')}${
        report.hidden_state.length > 12 ? ' …' : ''
      } exist in the kernel but no cell defines them; the pipeline will not have them`
    );
  }
  for (const [step, name, reason] of report.pickled) {
    warnings.push(`${step}.${name} is stored with pickle (${reason}): not a safe format`);
  }
  if (!warnings.length && !report.notes.length) {
    return null;
  }
  return (
    <div className="jp-ModelOps-exportProblems">
      {warnings.length > 0 && (
        <ul className="jp-ModelOps-exportWarnings" aria-label="Warnings" data-testid="modelops-export-warnings">
          {warnings.map((w, i) => (
            <li key={i}>
              <span aria-hidden="true">⚠ </span>
              {w}
            </li>
          ))}
        </ul>
      )}
      {report.notes.length > 0 && (
        <ul className="jp-ModelOps-exportNotes" aria-label="Notes">
          {report.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

const STEP_MARK: Record<string, string> = {
  done: '✔',
  cached: '↺',
  failed: '✘',
  skipped: '·'
};

function errorLine(error: IStepResult['error']): string {
  if (!error) {
    return '';
  }
  const message = (error.message ?? '').split('\n')[0];
  return `${error.type ?? 'Error'}: ${message}${error.where ? ` (${error.where})` : ''}`;
}

function number(value: number): string {
  return Number.isFinite(value) ? Number(value.toPrecision(6)).toString() : String(value);
}

export function RunResult(props: {
  run: IPipelineRun;
  onShowRun?: (runId: string) => void;
}): JSX.Element {
  const { run } = props;
  const ok = run.status === 'FINISHED';
  const steps = Object.values(run.steps ?? {});
  return (
    <div className="jp-ModelOps-exportRun" data-testid="modelops-export-run-result">
      <p>
        Pipeline run{' '}
        <span
          className={`jp-ModelOps-status ${ok ? 'jp-ModelOps-status-ok' : 'jp-ModelOps-status-bad'}`}
        >
          {run.status}
        </span>
        {run.seconds !== undefined && <> in {run.seconds.toFixed(2)} s</>}
        {run.run_id && props.onShowRun && (
          <>
            {' '}
            <button
              type="button"
              className="jp-ModelOps-linkButton"
              onClick={() => props.onShowRun?.(run.run_id as string)}
              title="Close this dialog and show the run in the ModelOps sidebar"
            >
              show run {run.run_id.slice(0, 8)}
            </button>
          </>
        )}
      </p>
      {steps.length > 0 && (
        <table className="jp-ModelOps-exportSteps">
          <caption className="jp-ModelOps-srOnly">Steps of the run</caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col">Time</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {steps.map(step => (
              <tr key={step.name}>
                <th scope="row">
                  <code>{step.name}</code>
                </th>
                <td>
                  <span aria-hidden="true">{STEP_MARK[step.status] ?? ''} </span>
                  {step.status}
                </td>
                <td>{step.status === 'done' ? `${step.seconds.toFixed(2)} s` : '—'}</td>
                <td>
                  {step.status === 'failed' || step.status === 'skipped'
                    ? errorLine(step.error) || step.status
                    : Object.entries(step.metrics ?? {})
                        .map(([k, v]) => `${k} = ${number(v)}`)
                        .join(', ') || Object.keys(step.outputs ?? {}).join(', ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {run.metrics && Object.keys(run.metrics).length > 0 && (
        <p>
          Metrics:{' '}
          {Object.entries(run.metrics)
            .map(([k, v]) => `${k} = ${number(v)}`)
            .join(', ')}
        </p>
      )}
    </div>
  );
}
