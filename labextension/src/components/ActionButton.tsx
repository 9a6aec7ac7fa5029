/**
 * A button that can say why it is disabled: the reason is its tooltip and, for screen
 * readers, the element `describedBy` points at (views show the reasons as text too).
 */
import * as React from 'react';

export interface IActionButtonProps {
  label: string;
  testId: string;
  onClick: () => void;
  /** Why the button is disabled; empty or undefined when it may be pressed. */
  why?: string;
  /** Tooltip while enabled. */
  title: string;
  /** Disabled while an action is under way, without a reason of its own. */
  busy?: boolean;
  tone?: 'accept' | 'warn';
  /** Id of the element that explains `why`. */
  describedBy?: string;
}

export function ActionButton(props: IActionButtonProps): JSX.Element {
  const disabled = !!props.busy || !!props.why;
  return (
    <button
      type="button"
      className={'jp-ModelOps-button' + (props.tone ? ` jp-mod-${props.tone}` : '')}
      data-testid={props.testId}
      disabled={disabled}
      aria-disabled={disabled}
      title={props.why || props.title}
      aria-describedby={props.why ? props.describedBy : undefined}
      onClick={props.onClick}
    >
      {props.label}
    </button>
  );
}
