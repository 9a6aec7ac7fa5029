import * as React from 'react';

import { stateTone, Tone } from '../registry/format';

export interface IBadgeProps {
  /** Shown text (rendered as text, never HTML). */
  label: string;
  /** Colour; by default the tone of `label` read as a state (PRODUCTION, FAILED...). */
  tone?: Tone;
  /** Tooltip and accessible description. */
  title?: string;
  testId?: string;
  className?: string;
}

/** A small coloured label: a life-cycle state, an alias, a health or an alert. */
export function Badge(props: IBadgeProps): JSX.Element {
  const tone = props.tone ?? stateTone(props.label);
  return (
    <span
      className={`jp-ModelOps-badge jp-mod-${tone}${props.className ? ' ' + props.className : ''}`}
      title={props.title}
      data-testid={props.testId}
      data-tone={tone}
    >
      {props.label}
    </span>
  );
}
