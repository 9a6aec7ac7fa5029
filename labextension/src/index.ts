/**
 * jupyter-modelops for JupyterLab: the "ModelOps" sidebar and its commands.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { PageConfig } from '@jupyterlab/coreutils';
import { LabIcon } from '@jupyterlab/ui-components';

import { ModelOpsAPI } from './api';
import { registerCommands } from './commands';
import { IPanelContext, IWhoami } from './context';
import { ModelOpsPanel } from './panel';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M3 3h8v8H3zM13 3h8v5h-8zM13 10h8v11h-8zM3 13h8v8H3z" opacity=".9"/></g></svg>`;

export const modelopsIcon = new LabIcon({
  name: 'jupyter-modelops:sidebar',
  svgstr: ICON_SVG
});

/**
 * A run's notebook as the file browser names it: kernels may record the absolute path,
 * the contents API wants it relative to the server's root; null when outside the root.
 */
export function serverPath(path: string): string | null {
  if (!path.startsWith('/')) {
    return path;
  }
  const root = (PageConfig.getOption('serverRoot') || '').replace(/\/+$/, '');
  if (root && path.startsWith(root + '/')) {
    return path.slice(root.length + 1);
  }
  return null;
}

/** Scrolls the notebook at `path` to the cell with `cellId` and selects it. */
async function revealCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  recorded: string,
  cellId: string
): Promise<boolean> {
  const path = serverPath(recorded);
  if (path === null) {
    return false;
  }
  let panel: NotebookPanel | null = null;
  tracker?.forEach(candidate => {
    if (candidate.context.path === path) {
      panel = candidate;
    }
  });
  if (!panel) {
    try {
      panel = (await app.commands.execute('docmanager:open', {
        path
      })) as NotebookPanel;
    } catch {
      return false;
    }
  }
  const nb = panel as NotebookPanel;
  await nb.context.ready;
  app.shell.activateById(nb.id);
  const index = nb.content.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    return false;
  }
  nb.content.activeCellIndex = index;
  nb.content.deselectAll();
  await nb.content.scrollToItem(index, 'center');
  return true;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-modelops:plugin',
  description: 'ModelOps sidebar: runs, models, approvals, deployments, inventory, sync.',
  autoStart: true,
  requires: [ILabShell],
  optional: [INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    const local = new ModelOpsAPI('local');
    const state: {
      shared: ModelOpsAPI;
      whoami: IWhoami | undefined;
    } = { shared: local, whoami: undefined };

    const getContext = (): IPanelContext => ({
      local,
      shared: state.shared,
      sharedSource: state.shared.source,
      whoami: state.whoami,
      notebookPath: tracker?.currentWidget?.context.path,
      revealCell: (path, cellId) => revealCell(app, tracker, path, cellId),
      execute: (command, args) => app.commands.execute(command, args as any)
    });

    const panel = new ModelOpsPanel(getContext);
    panel.title.icon = modelopsIcon;
    shell.add(panel, 'left', { rank: 600 });
    tracker?.currentChanged.connect(() => panel.update());

    // Models, requests and deployments live in the team registry when this server is
    // linked to one; otherwise in the local store.
    void (async () => {
      try {
        const status = await local.get<{ linked: boolean }>('/sync/status');
        if (status?.linked) {
          state.shared = local.on('registry');
        }
      } catch {
        // not linked, or the server extension is not enabled: stay local
      }
      try {
        const who = await state.shared.get<{
          username: string;
          roles: string[];
          mode?: string;
        }>('/whoami');
        state.whoami = {
          user: who.username,
          roles: who.roles ?? [],
          registry: state.shared.source === 'registry'
        };
      } catch {
        state.whoami = undefined;
      }
      panel.update();
    })();

    // Views link to a run (e.g. a model version's source run): show it in the Runs view.
    app.commands.addCommand('modelops:open-run', {
      label: 'Show Run in Sidebar',
      execute: args => {
        const runId = String(args.runId ?? '');
        if (runId) {
          panel.showView('runs', { runId });
          shell.activateById(panel.id);
        }
      }
    });

    registerCommands(app, panel, tracker, palette, getContext);
  }
};

export default plugin;
