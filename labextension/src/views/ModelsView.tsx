import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Models view lands. */
export function ModelsView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Models</div>;
}
