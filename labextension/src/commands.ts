/**
 * Palette and notebook-toolbar commands. Placeholder until the commands land.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { ModelOpsPanel } from './panel';
import { IPanelContext } from './context';

export function registerCommands(
  app: JupyterFrontEnd,
  panel: ModelOpsPanel,
  tracker: INotebookTracker | null,
  palette: ICommandPalette | null,
  getContext: () => IPanelContext
): void {
  void app;
  void panel;
  void tracker;
  void palette;
  void getContext;
}
