import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Deployments view lands. */
export function DeploymentsView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Deployments</div>;
}
