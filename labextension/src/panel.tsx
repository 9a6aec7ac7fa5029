/**
 * The "ModelOps" sidebar: one tab per view, keyboard reachable (arrow keys move
 * between tabs, as in the WAI-ARIA tabs pattern), only the shown view polls.
 */
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useState } from 'react';

import { IPanelContext, IViewProps } from './context';
import {
  deploymentsIcon,
  inventoryIcon,
  modelsIcon,
  requestsIcon,
  runsIcon,
  syncIcon
} from './icons';
import { PanelVisible } from './poll';
import { DeploymentsView } from './views/DeploymentsView';
import { InventoryView } from './views/InventoryView';
import { ModelsView } from './views/ModelsView';
import { RequestsView } from './views/RequestsView';
import { RunsView } from './views/RunsView';
import { SyncView } from './views/SyncView';

export const VIEWS: Array<{
  id: string;
  label: string;
  icon: LabIcon;
  component: (props: IViewProps) => JSX.Element;
}> = [
  { id: 'runs', label: 'Runs', icon: runsIcon, component: RunsView },
  { id: 'models', label: 'Models', icon: modelsIcon, component: ModelsView },
  { id: 'requests', label: 'Requests', icon: requestsIcon, component: RequestsView },
  { id: 'deployments', label: 'Deployments', icon: deploymentsIcon, component: DeploymentsView },
  { id: 'inventory', label: 'Inventory', icon: inventoryIcon, component: InventoryView },
  { id: 'sync', label: 'Sync', icon: syncIcon, component: SyncView }
];

function Tabs(props: {
  ctx: IPanelContext;
  initial: string;
  params?: Record<string, string>;
  onChange: (id: string) => void;
}): JSX.Element {
  const [current, setCurrent] = useState(props.initial);
  const select = (id: string) => {
    setCurrent(id);
    props.onChange(id);
  };
  const onKey = (event: React.KeyboardEvent, index: number) => {
    const step =
      event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (event.key === 'Home' || event.key === 'End' || step) {
      event.preventDefault();
      const next =
        event.key === 'Home'
          ? 0
          : event.key === 'End'
            ? VIEWS.length - 1
            : (index + step + VIEWS.length) % VIEWS.length;
      select(VIEWS[next].id);
      document.getElementById(`jp-ModelOps-tab-${VIEWS[next].id}`)?.focus();
    }
  };
  return (
    <div className="jp-ModelOps-panel">
      <div
        className="jp-ModelOps-tabs"
        role="tablist"
        aria-label="ModelOps views"
      >
        {VIEWS.map((view, index) => (
          <button
            key={view.id}
            id={`jp-ModelOps-tab-${view.id}`}
            role="tab"
            aria-selected={current === view.id}
            aria-controls={`jp-ModelOps-view-${view.id}`}
            tabIndex={current === view.id ? 0 : -1}
            className={
              'jp-ModelOps-tab' + (current === view.id ? ' jp-mod-active' : '')
            }
            title={view.label}
            onClick={() => select(view.id)}
            onKeyDown={event => onKey(event, index)}
          >
            <span className="jp-ModelOps-tab-icon" aria-hidden="true">
              <view.icon.react tag="span" />
            </span>
            {/* Hidden, not removed, when the sidebar is narrow: it stays the tab's name. */}
            <span className="jp-ModelOps-tab-label">{view.label}</span>
          </button>
        ))}
      </div>
      {VIEWS.filter(view => view.id === current).map(view => (
        <div
          key={view.id}
          id={`jp-ModelOps-view-${view.id}`}
          role="tabpanel"
          aria-labelledby={`jp-ModelOps-tab-${view.id}`}
          className="jp-ModelOps-view"
          data-view={view.id}
        >
          <view.component ctx={props.ctx} active={true} params={props.params} />
        </div>
      ))}
    </div>
  );
}

/** The sidebar widget; `ctx` is re-read on every render so views see the current notebook. */
export class ModelOpsPanel extends ReactWidget {
  constructor(private readonly getContext: () => IPanelContext) {
    super();
    this.id = 'jp-modelops-panel';
    this.addClass('jp-ModelOps');
    this.title.caption = 'ModelOps';
  }

  /** Show a view by id (used by commands such as "open run of current cell"). */
  showView(viewId: string, params?: Record<string, string>): void {
    this._view = viewId;
    this._params = params;
    this._key += 1;
    this.update();
  }

  protected onAfterShow(): void {
    this.update();
  }

  protected onAfterHide(): void {
    this.update();
  }

  protected render(): JSX.Element {
    return (
      <PanelVisible.Provider value={this.isVisible}>
      <Tabs
        key={this._key}
        ctx={this.getContext()}
        initial={this._view}
        params={this._params}
        onChange={id => (this._view = id)}
      />
      </PanelVisible.Provider>
    );
  }

  private _view = 'runs';
  private _params: Record<string, string> | undefined;
  private _key = 0;
}
