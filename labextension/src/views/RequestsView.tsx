import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Requests view lands. */
export function RequestsView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Requests</div>;
}
