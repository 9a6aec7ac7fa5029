/**
 * Icons of the sidebar's tabs. Stroked with JupyterLab's `jp-icon3` class so the theme
 * colours them (light, dark, high contrast); the active tab recolours them in CSS. No fill
 * on the group: JupyterLab's theme would paint it.
 */
import { LabIcon } from '@jupyterlab/ui-components';

function icon(name: string, body: string): LabIcon {
  return new LabIcon({
    name: `jupyter-modelops:${name}`,
    svgstr:
      '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24" fill="none">' +
      `<g class="jp-icon3" stroke="#616161" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${body}</g></svg>`
  });
}

/** A metric's line over time: runs. */
export const runsIcon = icon('tab-runs', '<path d="M3 20h18"/><path d="M4 16l5-6 4 3 7-8"/>');
/** A packaged box: registered models. */
export const modelsIcon = icon(
  'tab-models',
  '<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/><path d="M4 7.5l8 4.5 8-4.5"/><path d="M12 12v9"/>'
);
/** A checked document: requests awaiting a decision. */
export const requestsIcon = icon(
  'tab-requests',
  '<path d="M6 3h9l4 4v14H6z"/><path d="M9 13l2.5 2.5L16 11"/>'
);
/** A server with an arrow up: deployments. */
export const deploymentsIcon = icon(
  'tab-deployments',
  '<rect x="3" y="14" width="18" height="7" rx="1"/><path d="M12 11V3"/><path d="M8 7l4-4 4 4"/><path d="M7 17.5h.01"/>'
);
/** Lines of a list: the inventory. */
export const inventoryIcon = icon(
  'tab-inventory',
  '<path d="M9 6h11M9 12h11M9 18h11"/><path d="M4 6h.01M4 12h.01M4 18h.01"/>'
);
/** Two arrows in a circle: sync. */
export const syncIcon = icon(
  'tab-sync',
  '<path d="M20 12a8 8 0 0 1-14 5.3"/><path d="M4 12a8 8 0 0 1 14-5.3"/><path d="M18 3v4h-4"/><path d="M6 21v-4h4"/>'
);
