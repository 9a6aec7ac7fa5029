import * as React from 'react';
import { IViewProps } from '../context';

/** Placeholder until the Inventory view lands. */
export function InventoryView(props: IViewProps): JSX.Element {
  return <div className="jp-ModelOps-empty">Inventory</div>;
}
