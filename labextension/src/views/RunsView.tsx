import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Runs view lands. */
export function RunsView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Runs</div>;
}
