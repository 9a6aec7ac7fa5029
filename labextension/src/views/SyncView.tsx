import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Sync view lands. */
export function SyncView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Sync</div>;
}
