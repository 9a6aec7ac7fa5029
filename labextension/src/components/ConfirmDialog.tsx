/**
 * A confirmation before an action that changes production (roll back...), built on
 * JupyterLab's dialog so it follows the theme and traps focus.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

export interface IConfirmOptions {
  title: string;
  /** Plain text (each line a paragraph) or an element; never HTML. */
  body: string | React.ReactElement;
  accept: string;
  /** Style the accept button as destructive. */
  danger?: boolean;
}

/** Resolves true when the user accepts. */
export async function confirmAction(options: IConfirmOptions): Promise<boolean> {
  const body =
    typeof options.body === 'string' ? (
      <div className="jp-ModelOps-confirm">
        {options.body.split('\n').map((line, i) => (
          <p key={i}>{line}</p>
        ))}
      </div>
    ) : (
      options.body
    );
  const result = await showDialog({
    title: options.title,
    body,
    buttons: [
      Dialog.cancelButton({ label: 'Cancel' }),
      options.danger
        ? Dialog.warnButton({ label: options.accept })
        : Dialog.okButton({ label: options.accept })
    ]
  });
  return result.button.accept;
}
