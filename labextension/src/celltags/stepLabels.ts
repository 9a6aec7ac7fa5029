/**
 * A small label under the prompt of each code cell with pipeline tags: the step it starts
 * (`train`) or its role (`skip`, `parameters`, ...), so a tagged notebook reads like
 * its pipeline. The label is a data attribute shown by CSS (`attr()`): text only.
 */
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { checkName, parseTags } from './grammar';

const ATTR = 'modelopsStep';

function labelOf(cell: Cell): string {
  if (cell.model.type !== 'code') {
    return '';
  }
  const raw = cell.model.getMetadata('tags');
  const parsed = parseTags(Array.isArray(raw) ? raw.map(String) : []);
  if (parsed.role) {
    return parsed.role;
  }
  if (parsed.step) {
    return checkName(parsed.step).name ?? parsed.step;
  }
  return '';
}

function setLabel(node: HTMLElement | null, label: string): void {
  if (!node) {
    return;
  }
  if (label) {
    if (node.dataset[ATTR] !== label) {
      node.dataset[ATTR] = label;
    }
  } else if (ATTR in node.dataset) {
    delete node.dataset[ATTR];
  }
}

function refresh(nb: NotebookPanel): void {
  for (const cell of nb.content.widgets) {
    const label = labelOf(cell);
    // On the cell for tests and styling, on the prompt for the CSS `attr()` that shows it.
    setLabel(cell.node, label);
    setLabel(cell.node.querySelector<HTMLElement>('.jp-InputArea-prompt'), label);
  }
}

export function showStepLabels(tracker: INotebookTracker): void {
  const watched = new WeakSet<object>();
  const watch = (nb: NotebookPanel): void => {
    let pending = 0;
    const schedule = (): void => {
      if (!pending) {
        pending = requestAnimationFrame(() => {
          pending = 0;
          if (!nb.isDisposed) {
            connectCells();
            refresh(nb);
          }
        });
      }
    };
    const connectCells = (): void => {
      for (const cell of nb.content.widgets) {
        if (!watched.has(cell.model)) {
          watched.add(cell.model);
          cell.model.metadataChanged.connect(schedule);
        }
      }
    };
    // Cells added, removed or moved; tag edits come through metadataChanged.
    void nb.context.ready.then(() => {
      nb.content.model?.cells.changed.connect(schedule);
      schedule();
    });
  };
  tracker.forEach(watch);
  tracker.widgetAdded.connect((_, nb) => watch(nb));
}
