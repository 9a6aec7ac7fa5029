/**
 * Palette and notebook-toolbar commands: export the notebook to a pipeline, track the
 * active cell, open the run the active cell recorded, edit the active cell's pipeline-step
 * tags, open the sidebar. Commands act on the notebook whose toolbar was clicked (the
 * `notebook` argument) or else on the current one.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import {
  buildIcon,
  CommandToolbarButton,
  historyIcon,
  linkIcon,
  tagIcon
} from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { editCellTags } from './celltags/CellTagsDialog';
import { notebookSteps } from './celltags/grammar';
import { showStepLabels } from './celltags/stepLabels';
import { IPanelContext } from './context';
import { showExportDialog } from './export/ExportDialog';
import { oneLine } from './export/dialog';
import { ModelOpsPanel } from './panel';

export const CommandIDs = {
  exportPipeline: 'modelops:export-pipeline',
  trackCell: 'modelops:track-cell',
  openCellRun: 'modelops:open-cell-run',
  editStepTags: 'modelops:edit-step-tags',
  openSidebar: 'modelops:open-sidebar'
};

const CATEGORY = 'ModelOps';
/** The toolbar buttons, in the order they appear (before the toolbar's spacer). */
const TOOLBAR = [CommandIDs.exportPipeline, CommandIDs.trackCell, CommandIDs.openCellRun];
const LOAD_EXT = '%load_ext jupyter_modelops';
const LOADS_EXT = /^\s*%(?:re)?load_ext\s+(?:.*\s)?jupyter_modelops(?:\s|$)/m;

export function registerCommands(
  app: JupyterFrontEnd,
  panel: ModelOpsPanel,
  tracker: INotebookTracker | null,
  palette: ICommandPalette | null,
  getContext: () => IPanelContext
): void {
  const { commands } = app;

  const notebookOf = (args: ReadonlyPartialJSONObject): NotebookPanel | null => {
    const id = typeof args.notebook === 'string' ? args.notebook : undefined;
    if (id && tracker) {
      return tracker.find(w => w.id === id) ?? null;
    }
    return tracker?.currentWidget ?? null;
  };
  const activeCell = (args: ReadonlyPartialJSONObject): [NotebookPanel, Cell] | null => {
    const nb = notebookOf(args);
    const cell = nb?.content.activeCell;
    return nb && cell ? [nb, cell] : null;
  };
  const hasNotebook = (args: ReadonlyPartialJSONObject): boolean => !!notebookOf(args);

  const showSidebar = (): void => {
    app.shell.activateById(panel.id);
  };
  const showRun = (runId: string): void => {
    panel.showView('runs', { runId });
    showSidebar();
  };

  commands.addCommand(CommandIDs.exportPipeline, {
    label: 'Export Notebook to Pipeline…',
    caption: 'Export this notebook to a pipeline (Python package, local run, Kubeflow, Airflow)',
    icon: buildIcon,
    isEnabled: hasNotebook,
    execute: async args => {
      const nb = notebookOf(args);
      if (!nb) {
        Notification.warning('Open a notebook to export it to a pipeline.', { autoClose: 5000 });
        return;
      }
      await nb.context.ready;
      await showExportDialog(
        getContext().local,
        {
          path: nb.context.path,
          content: () => nb.context.model.toJSON(),
          save: () => nb.context.save()
        },
        showRun
      );
    }
  });

  commands.addCommand(CommandIDs.trackCell, {
    label: 'Track Cell as a Run',
    caption: 'Add %%track to the active cell: each time it runs, it records a run',
    icon: historyIcon,
    isEnabled: hasNotebook,
    execute: args => {
      const found = activeCell(args);
      if (!found) {
        Notification.warning('Select a code cell of a notebook to track it.', { autoClose: 5000 });
        return;
      }
      const [nb, cell] = found;
      if (cell.model.type !== 'code') {
        Notification.warning('Only code cells can be tracked.', { autoClose: 5000 });
        return;
      }
      const shared = cell.model.sharedModel;
      const source = shared.getSource();
      const first = source.split('\n', 1)[0].trim();
      const number = nb.content.widgets.indexOf(cell) + 1;
      if (/^%%track(\s|$)/.test(first)) {
        Notification.info(`Cell ${number} is already tracked: each run of it records a run.`, {
          autoClose: 5000
        });
        return;
      }
      if (first.startsWith('%%')) {
        // A cell runs one cell magic, and export keeps only a first-line %%track/%%step.
        const magic = first.split(/\s/, 1)[0];
        Notification.warning(
          magic === '%%step'
            ? `Cell ${number} starts with %%step; to track it too, declare the step with a tag instead (Edit Pipeline Step Tags) and remove the %%step line.`
            : `Cell ${number} starts with ${magic}; a cell runs one cell magic, so %%track cannot go above it.`,
          { autoClose: 8000 }
        );
        return;
      }
      shared.setSource(`%%track\n${source}`);
      const added = ensureLoadExt(nb, cell);
      // Adding the magic is all: running the cell stays the user's choice (it may be slow).
      Notification.success(
        added
          ? `Cell ${number + 1} is tracked when it runs. Added "${LOAD_EXT}" as the first code cell: run it once first.`
          : `Cell ${number} is tracked: run it to record a run.`,
        { autoClose: 5000 }
      );
    }
  });

  commands.addCommand(CommandIDs.openCellRun, {
    label: 'Open Run of Active Cell',
    caption: 'Show the latest run recorded by the active cell in the ModelOps sidebar',
    icon: linkIcon,
    isEnabled: hasNotebook,
    execute: async args => {
      const found = activeCell(args);
      if (!found) {
        Notification.warning('Select a cell of a notebook first.', { autoClose: 5000 });
        return;
      }
      const [nb, cell] = found;
      const cellId = cell.model.id;
      const track = {
        label: 'Track this cell',
        callback: () => void commands.execute(CommandIDs.trackCell, { notebook: nb.id })
      };
      // Cell ids are nbformat ids (letters, digits, - and _): safe inside a filter literal.
      if (!/^[A-Za-z0-9_-]+$/.test(cellId)) {
        Notification.info('No run recorded for this cell yet', { autoClose: 5000 });
        return;
      }
      try {
        const answer = await getContext().local.get<{ runs: { id: string; source?: string }[] }>(
          '/runs',
          {
            filter: `tags.mo.cell_id = '${cellId}'`,
            order_by: 'start_time DESC',
            limit: 20
          }
        );
        const runs = answer?.runs ?? [];
        // Copies of a notebook share cell ids: prefer a run of this very notebook.
        const path = nb.context.path;
        const run =
          runs.find(r => !!r.source && (r.source === path || r.source.endsWith(`/${path}`))) ??
          runs[0];
        if (!run) {
          Notification.info('No run recorded for this cell yet', {
            autoClose: 6000,
            actions: cell.model.type === 'code' ? [track] : []
          });
          return;
        }
        showRun(run.id);
      } catch (error) {
        Notification.error(`Cannot look up the cell's runs: ${oneLine(error)}`, {
          autoClose: 8000
        });
      }
    }
  });

  commands.addCommand(CommandIDs.editStepTags, {
    label: 'Edit Pipeline Step Tags…',
    caption: 'Set the pipeline step of the active cell: step name, steps it runs after, role',
    icon: tagIcon,
    isEnabled: hasNotebook,
    execute: async args => {
      const found = activeCell(args);
      if (!found) {
        Notification.warning('Select a code cell of a notebook first.', { autoClose: 5000 });
        return;
      }
      const [nb, cell] = found;
      if (cell.model.type !== 'code') {
        Notification.warning('Pipeline step tags apply to code cells only.', { autoClose: 5000 });
        return;
      }
      const cells = nb.content.widgets.map(w => ({
        type: w.model.type,
        tags: tagsOf(w),
        source: w.model.sharedModel.getSource()
      }));
      const result = await editCellTags({
        number: nb.content.widgets.indexOf(cell) + 1,
        source: cell.model.sharedModel.getSource(),
        tags: tagsOf(cell),
        knownSteps: notebookSteps(cells.filter((_, i) => nb.content.widgets[i] !== cell))
      });
      if (result === null || cell.isDisposed) {
        return;
      }
      if (result.length) {
        cell.model.setMetadata('tags', result);
      } else {
        cell.model.deleteMetadata('tags');
      }
    }
  });

  commands.addCommand(CommandIDs.openSidebar, {
    label: 'Open ModelOps Sidebar',
    caption: 'Runs, models, requests, deployments, inventory and sync',
    execute: showSidebar
  });

  if (palette) {
    for (const command of Object.values(CommandIDs)) {
      palette.addItem({ command, category: CATEGORY });
    }
  }

  if (tracker) {
    const addButtons = (nb: NotebookPanel): void => {
      const names = Array.from(nb.toolbar.names());
      if (names.includes('modelops-export-pipeline')) {
        return;
      }
      const spacer = names.indexOf('spacer');
      let index = spacer >= 0 ? spacer : names.length;
      for (const id of TOOLBAR) {
        const button = new CommandToolbarButton({
          commands,
          id,
          args: { notebook: nb.id },
          label: ''
        });
        nb.toolbar.insertItem(index++, id.replace(':', '-'), button);
      }
    };
    tracker.forEach(addButtons);
    showStepLabels(tracker);
    tracker.widgetAdded.connect((_, nb) => addButtons(nb));
    // Enabled states follow the current notebook.
    tracker.currentChanged.connect(() => commands.notifyCommandChanged());
  }
}

function tagsOf(cell: Cell): string[] {
  const tags = cell.model.getMetadata('tags');
  return Array.isArray(tags) ? tags.map(String) : [];
}

/**
 * `%%track` needs the extension loaded in the kernel. If no cell loads it, add a first code
 * cell that does (keeping the active cell active); true if one was added.
 */
function ensureLoadExt(nb: NotebookPanel, active: Cell): boolean {
  const widgets = nb.content.widgets;
  if (
    widgets.some(
      w => w.model.type === 'code' && LOADS_EXT.test(w.model.sharedModel.getSource())
    )
  ) {
    return false;
  }
  const model = nb.content.model;
  if (!model) {
    return false;
  }
  // Above the first code cell, so a title in Markdown stays on top.
  let index = widgets.findIndex(w => w.model.type === 'code');
  if (index < 0) {
    index = 0;
  }
  model.sharedModel.insertCell(index, { cell_type: 'code', source: LOAD_EXT });
  const at = nb.content.widgets.indexOf(active);
  if (at >= 0) {
    nb.content.activeCellIndex = at;
  }
  return true;
}
