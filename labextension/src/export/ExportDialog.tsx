/**
 * "Export notebook to pipeline": pick a target and a folder, export the notebook as it is
 * in the editor (unsaved edits included), then read the report in the same dialog. The
 * export runs where the Jupyter server runs (`export_notebook` op); the parity check runs
 * the saved notebook, so choosing it saves first.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { ModelOpsAPI } from '../api';
import { ActionDialog, oneLine, setButtonBusy } from './dialog';
import { ExportReportView } from './ReportView';
import { IExportReport, IPipelinePlan, IPipelineRun, TARGETS } from './types';

/** The notebook being exported, as the dialog needs it. */
export interface IExportNotebook {
  /** Path relative to the server's root (as the file browser shows it); the server
   * resolves relative paths there. */
  path: string;
  /** The notebook's current JSON, unsaved edits included. */
  content(): unknown;
  /** Saves the notebook (the parity check reads it from disk). */
  save(): Promise<void>;
}

const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' '
  )
);

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function stem(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ipynb$/, '');
}

/** The folder the server picks when none is given (pipeline/export.py default_output). */
export function defaultOutputName(notebookPath: string): string {
  let name =
    stem(notebookPath)
      .replace(/[^0-9a-zA-Z]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .toLowerCase() || 'pipeline';
  if (/^[0-9]/.test(name) || PY_KEYWORDS.has(name)) {
    name = `nb_${name}`;
  }
  return `${name}_pipeline`;
}

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || path.startsWith('~') || /^[A-Za-z]:[\\/]/.test(path);
}

function joinPath(...parts: string[]): string {
  const kept = parts.filter(p => p !== '');
  return kept
    .map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, '')))
    .join('/');
}

/** Lets the dialog's footer button trigger the form's export. */
interface IController {
  submit?: () => void;
  busy?: (busy: boolean) => void;
  close?: () => void;
}

function ExportForm(props: {
  api: ModelOpsAPI;
  nb: IExportNotebook;
  controller: IController;
  onShowRun: (runId: string) => void;
}): JSX.Element {
  const { api, nb, controller } = props;
  const [target, setTarget] = React.useState('python');
  const [output, setOutput] = React.useState('');
  const [check, setCheck] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState('');
  const [report, setReport] = React.useState<IExportReport | null>(null);
  const [plan, setPlan] = React.useState<IPipelinePlan | null>(null);
  const [planError, setPlanError] = React.useState('');
  const [run, setRun] = React.useState<IPipelineRun | null>(null);
  const [runBusy, setRunBusy] = React.useState(false);
  const [runError, setRunError] = React.useState('');
  const mounted = React.useRef(true);
  React.useEffect(
    () => () => {
      mounted.current = false;
    },
    []
  );

  // A preview of the steps before anything is written: mistakes show up before exporting.
  React.useEffect(() => {
    api
      .op<IPipelinePlan>('plan_pipeline', { notebook: nb.path, content: nb.content() })
      .then(plan => mounted.current && setPlan(plan))
      .catch(err => mounted.current && setPlanError(oneLine(err)));
  }, []);

  const outputFolder = output.trim()
    ? isAbsolute(output.trim())
      ? output.trim()
      : joinPath(dirname(nb.path), output.trim())
    : undefined;

  const submit = async (): Promise<void> => {
    if (busy) {
      return;
    }
    setBusy(true);
    controller.busy?.(true);
    setError('');
    setRunError('');
    setRun(null);
    try {
      const kwargs: Record<string, unknown> = {
        notebook: nb.path,
        target,
        output: outputFolder
      };
      if (check) {
        await nb.save();
        kwargs.check = true;
      } else {
        kwargs.content = nb.content();
      }
      const answer = await api.op<IExportReport>('export_notebook', kwargs);
      if (mounted.current) {
        setReport(answer);
      }
    } catch (err) {
      if (mounted.current) {
        setError(oneLine(err));
      }
    } finally {
      if (mounted.current) {
        setBusy(false);
      }
      controller.busy?.(false);
    }
  };
  controller.submit = () => void submit();

  const runNow = async (): Promise<void> => {
    if (!report || runBusy) {
      return;
    }
    setRunBusy(true);
    setRunError('');
    try {
      const answer = await api.op<IPipelineRun>('run_pipeline', { package: report.output });
      if (mounted.current) {
        setRun(answer);
      }
    } catch (err) {
      if (mounted.current) {
        setRunError(oneLine(err));
      }
    } finally {
      if (mounted.current) {
        setRunBusy(false);
      }
    }
  };

  const targetHint = TARGETS.find(t => t.id === target)?.hint ?? '';
  return (
    <div className="jp-ModelOps-exportDialog">
      <form
        className="jp-ModelOps-form"
        onSubmit={event => {
          // Enter is handled by the dialog (its default button is "Export").
          event.preventDefault();
        }}
      >
        <div className="jp-ModelOps-field">
          <label htmlFor="jp-ModelOps-export-target">Target</label>
          <select
            id="jp-ModelOps-export-target"
            className="jp-mod-styled"
            data-testid="modelops-export-target"
            value={target}
            onChange={event => setTarget(event.target.value)}
            aria-describedby="jp-ModelOps-export-target-hint"
            disabled={busy}
          >
            {TARGETS.map(t => (
              <option key={t.id} value={t.id}>
                {t.label} ({t.id})
              </option>
            ))}
          </select>
          <div id="jp-ModelOps-export-target-hint" className="jp-ModelOps-hint">
            {targetHint}
          </div>
        </div>
        <div className="jp-ModelOps-field">
          <label htmlFor="jp-ModelOps-export-output">Output folder</label>
          <input
            id="jp-ModelOps-export-output"
            className="jp-mod-styled"
            data-testid="modelops-export-output"
            type="text"
            value={output}
            placeholder={defaultOutputName(nb.path)}
            onChange={event => setOutput(event.target.value)}
            aria-describedby="jp-ModelOps-export-output-hint"
            disabled={busy}
            spellCheck={false}
          />
          <div id="jp-ModelOps-export-output-hint" className="jp-ModelOps-hint">
            Relative to the notebook's folder; empty: <code>{defaultOutputName(nb.path)}</code>{' '}
            next to the notebook. An earlier export there is updated.
          </div>
        </div>
        <div className="jp-ModelOps-field jp-ModelOps-checkField">
          <input
            id="jp-ModelOps-export-check"
            type="checkbox"
            data-testid="modelops-export-check"
            checked={check}
            onChange={event => setCheck(event.target.checked)}
            aria-describedby="jp-ModelOps-export-check-hint"
            disabled={busy}
          />
          <label htmlFor="jp-ModelOps-export-check">Check parity</label>
          <div id="jp-ModelOps-export-check-hint" className="jp-ModelOps-hint">
            Saves the notebook, runs it and the pipeline side by side and compares their
            values. Takes as long as two runs of the notebook.
          </div>
        </div>
      </form>

      <div className="jp-ModelOps-exportPreview" data-testid="modelops-export-preview">
        {plan && (
          <>
            {plan.steps.length} {plan.steps.length === 1 ? 'step' : 'steps'}{' '}
            {plan.mode === 'tagged'
              ? 'from cell tags'
              : plan.mode === 'headings'
                ? 'from Markdown headings'
                : '(one step: no step tags or headings)'}
            : {plan.steps.map(s => s.name).join(' · ')}
            {plan.warnings.length > 0 &&
              ` — ${plan.warnings.length} ${plan.warnings.length === 1 ? 'warning' : 'warnings'}`}
          </>
        )}
        {planError && (
          <span className="jp-ModelOps-warn">This notebook cannot be exported yet: {planError}</span>
        )}
        {!plan && !planError && <span className="jp-ModelOps-muted">Reading the steps…</span>}
      </div>

      {busy && (
        <div role="status" className="jp-ModelOps-muted" data-testid="modelops-export-busy">
          {check || target === 'local' ? 'Exporting and running…' : 'Exporting…'}
        </div>
      )}
      {error && (
        <div className="jp-ModelOps-error" role="alert" data-testid="modelops-export-error">
          {error}
        </div>
      )}
      {report && !busy && (
        <ExportReportView
          report={report}
          onRun={() => void runNow()}
          runBusy={runBusy}
          runError={runError}
          run={run}
          onShowRun={props.onShowRun}
        />
      )}
    </div>
  );
}

class ExportBody extends ReactWidget {
  constructor(
    private readonly _props: {
      api: ModelOpsAPI;
      nb: IExportNotebook;
      controller: IController;
      onShowRun: (runId: string) => void;
    }
  ) {
    super();
    this.addClass('jp-ModelOps-dialogBody');
  }

  protected render(): JSX.Element {
    return <ExportForm {...this._props} />;
  }
}

/** Opens the export dialog for `nb`; resolves when it is closed. */
export async function showExportDialog(
  api: ModelOpsAPI,
  nb: IExportNotebook,
  showRun: (runId: string) => void
): Promise<void> {
  const controller: IController = {};
  const exportButton = Dialog.okButton({ label: 'Export', ariaLabel: 'Export the notebook' });
  let busy = false;
  const dialog: ActionDialog<void> = new ActionDialog<void>({
    title: `Export ${nb.path.slice(nb.path.lastIndexOf('/') + 1)} to a pipeline`,
    body: new ExportBody({
      api,
      nb,
      controller,
      onShowRun: runId => {
        dialog.reject();
        showRun(runId);
      }
    }),
    buttons: [Dialog.cancelButton({ label: 'Close' }), exportButton],
    intercept: button => {
      if (button !== exportButton) {
        return false;
      }
      if (!busy) {
        controller.submit?.();
      }
      return true;
    },
    testId: 'modelops-export-dialog',
    focus: '[data-testid="modelops-export-target"]'
  });
  const node = dialog.buttonNode('Export');
  node?.setAttribute('data-testid', 'modelops-export-submit');
  controller.busy = value => {
    busy = value;
    setButtonBusy(node, value, 'The export is running');
  };
  await dialog.launch();
}
