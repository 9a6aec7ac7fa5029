/**
 * A JupyterLab dialog whose buttons may act without closing it. `showDialog` closes on
 * every button, but the export dialog keeps showing its report after "Export", and the
 * tag editor must stay open while its form is invalid. Enter (the default button) and
 * Escape (cancel) keep their usual meaning.
 */
import { Dialog } from '@jupyterlab/apputils';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

export interface IActionDialogOptions<T> {
  title: string;
  body: Widget & { getValue?(): T };
  buttons: Dialog.IButton[];
  /** Called for the pressed (or default) button; return true to keep the dialog open. */
  intercept: (button: Dialog.IButton) => boolean;
  testId: string;
  /** CSS selector of the element inside the body to focus first. */
  focus?: string;
}

export class ActionDialog<T> extends Dialog<T> {
  constructor(private readonly _opts: IActionDialogOptions<T>) {
    super({
      title: _opts.title,
      body: _opts.body,
      buttons: _opts.buttons,
      focusNodeSelector: _opts.focus,
      hasClose: true
    });
    this.addClass('jp-ModelOps-dialog');
    const content = this.node.querySelector('.jp-Dialog-content') ?? this.node;
    (content as HTMLElement).dataset.testid = _opts.testId;
  }

  /** The footer button with `label` (to disable it while busy, or give it a test id). */
  buttonNode(label: string): HTMLButtonElement | null {
    const nodes = Array.from(
      this.node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-footer button')
    );
    return nodes.find(node => node.textContent?.trim() === label) ?? null;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    document.addEventListener('keydown', this._escapeAnywhere, true);
  }

  protected onBeforeDetach(msg: Message): void {
    document.removeEventListener('keydown', this._escapeAnywhere, true);
    super.onBeforeDetach(msg);
  }

  /** Escape still cancels when the focus left the dialog (e.g. its field got disabled). */
  private _escapeAnywhere = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && !this.node.contains(document.activeElement)) {
      event.preventDefault();
      event.stopPropagation();
      this.reject();
    }
  };

  resolve(index?: number): void {
    const buttons = this._opts.buttons;
    const button = buttons[index ?? buttons.length - 1];
    if (button && this._opts.intercept(button)) {
      return;
    }
    super.resolve(index);
  }
}

/** Disable (or enable) a footer button, saying why in its tooltip. */
export function setButtonBusy(
  node: HTMLButtonElement | null,
  busy: boolean,
  why: string
): void {
  if (!node) {
    return;
  }
  // aria-disabled, not `disabled`: a disabled button drops the focus out of the dialog,
  // and Escape would no longer reach it. The dialog ignores the button while busy.
  node.setAttribute('aria-disabled', String(busy));
  node.classList.toggle('jp-mod-disabled', busy);
  if (busy) {
    node.title = why;
  } else {
    node.removeAttribute('title');
  }
}

/** One line of an error for inline display. */
export function oneLine(error: unknown): string {
  const text =
    error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);
  return (text.split('\n').find(line => line.trim()) ?? 'failed').trim();
}
