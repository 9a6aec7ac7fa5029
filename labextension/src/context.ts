/**
 * What every view of the sidebar may use: the API of the chosen source, the current
 * notebook, and a way to jump to a cell. Kept in one interface so views stay free of
 * JupyterLab plumbing (and easy to render in tests).
 */
import { ModelOpsAPI, Source } from './api';

export interface IWhoami {
  user: string;
  roles: string[];
  registry?: boolean;
}

export interface IPanelContext {
  /** The API of the notebook server (`local`) — runs of this server's notebooks. */
  local: ModelOpsAPI;
  /** Models, requests, deployments and inventory come from here: the team registry when
   * the server is linked to one, else the local store. */
  shared: ModelOpsAPI;
  /** Where `shared` points. */
  sharedSource: Source;
  /** The signed-in identity on `shared` (roles decide which buttons are enabled). */
  whoami: IWhoami | undefined;
  /** Path of the notebook in the main area, if any. */
  notebookPath: string | undefined;
  /** Opens `path` (if needed) and scrolls to the cell with id `cellId`; false if not found. */
  revealCell(path: string, cellId: string): Promise<boolean>;
  /** JupyterLab command registry access for views that trigger commands. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
}

export interface IViewProps {
  ctx: IPanelContext;
  /** True while the view's tab is shown; views poll only when visible. */
  active: boolean;
  /** What a command asked the view to show, e.g. `{ runId }` for the Runs view. */
  params?: Record<string, string>;
}
