/**
 * Deployments: what runs where — target, endpoint, health, request rate, drift and
 * alerts — and a roll back of the alias a deployment follows.
 *
 * One poll gathers the deployments, then (in parallel, each allowed to fail alone) the
 * monitor of each, its latest check report when there is one, and the alias history
 * that says whether there is a version to roll back to. The request rate is the change
 * of the server's request counter between two polls.
 */
import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';
import { useRef, useState } from 'react';

import { IPanelContext, IViewProps } from '../context';
import { Badge } from '../components/Badge';
import { confirmAction } from '../components/ConfirmDialog';
import { DataList, ErrorNotice, IColumn, PolledContent } from '../components/DataList';
import {
  absoluteTime,
  formatNumber,
  formatPercent,
  relativeTime,
  shortId,
  Tone
} from '../registry/format';
import { DEPLOYERS, roleRefusal, useWhoami } from '../registry/roles';
import {
  IAliasEvent,
  IDeployment,
  IMonitor,
  IMonitorReport,
  IRollout
} from '../registry/types';
import { usePoll } from '../poll';

/** At most this many deployments get their monitor read on each poll. */
const MONITORED = 25;

interface IRow {
  dep: IDeployment;
  monitor?: IMonitor;
  report?: IMonitorReport;
  /** Version the alias would roll back to; undefined when there is none. */
  previous?: number;
  /** Request rate (per second) since the previous poll; undefined on the first. */
  rate?: number;
}

interface ISample {
  requests: number;
  at: number;
}

/** Replays an alias's history as the service does: each move pushes, a move back pops. */
export function previousVersion(history: IAliasEvent[]): number | undefined {
  const stack: number[] = [];
  const ordered = [...history].sort((a, b) => a.changed_at - b.changed_at);
  for (const e of ordered) {
    if (e.new_version === null || e.new_version === undefined) {
      stack.length = 0;
    } else if (stack.length >= 2 && stack[stack.length - 2] === e.new_version) {
      stack.pop();
    } else if (!stack.length || stack[stack.length - 1] !== e.new_version) {
      stack.push(e.new_version);
    }
  }
  return stack.length >= 2 ? stack[stack.length - 2] : undefined;
}

function health(row: IRow): { label: string; tone: Tone; why: string } {
  const { dep } = row;
  const firing = row.monitor?.state?.firing ?? [];
  if (dep.alive === false && ['RUNNING', 'RESTARTING', 'STARTING'].includes(dep.status)) {
    return { label: 'down', tone: 'error', why: 'the server process is not running' };
  }
  if (dep.status === 'FAILED') {
    return { label: 'failed', tone: 'error', why: dep.last_error ?? 'the deployment failed' };
  }
  if (dep.status === 'STARTING' || dep.status === 'RESTARTING') {
    return { label: dep.status.toLowerCase(), tone: 'warn', why: `restarts: ${dep.restarts}` };
  }
  if (dep.status === 'RUNNING') {
    if (firing.length || dep.state === 'BREACH' || dep.state === 'WATCH') {
      return {
        label: dep.state === 'BREACH' ? 'breach' : 'watch',
        tone: dep.state === 'BREACH' ? 'error' : 'warn',
        why: firing.length ? `alerts firing: ${firing.join(', ')}` : `version is ${dep.state}`
      };
    }
    return { label: 'healthy', tone: 'success', why: 'running; no alert firing' };
  }
  return { label: dep.status.toLowerCase(), tone: 'neutral', why: dep.status };
}

async function loadRows(
  ctx: IPanelContext,
  all: boolean,
  samples: Map<string, ISample>
): Promise<IRow[]> {
  const api = ctx.shared;
  const deps = await api.op<IDeployment[]>('list_deployments', all ? { all: true } : {});
  const active = deps.filter(d => !['STOPPED', 'FAILED', 'SUCCEEDED'].includes(d.status));
  const monitors = new Map<string, IMonitor>();
  const reports = new Map<string, IMonitorReport>();
  await Promise.allSettled(
    active.slice(0, MONITORED).map(async d => {
      const mon = await api.op<IMonitor>('get_monitor', { deployment_id: d.id });
      monitors.set(d.id, mon);
      if (mon.last_check_at) {
        const [latest] = await api.op<IMonitorReport[]>('monitor_reports', {
          deployment_id: d.id,
          limit: 1
        });
        if (latest) {
          reports.set(d.id, latest);
        }
      }
    })
  );
  const previous = new Map<string, number | undefined>();
  const aliases = new Set(
    deps.filter(d => d.alias).map(d => JSON.stringify([d.model_name, d.alias]))
  );
  await Promise.allSettled(
    Array.from(aliases).map(async key => {
      const [name, alias] = JSON.parse(key) as [string, string];
      const history = await api.get<IAliasEvent[]>(
        `/models/${encodeURIComponent(name)}/alias-history`,
        { alias }
      );
      previous.set(key, previousVersion(history));
    })
  );
  return deps.map(dep => {
    let rate: number | undefined;
    const req = dep.stats?.requests;
    const at = dep.stats?.at;
    if (typeof req === 'number' && typeof at === 'number') {
      const before = samples.get(dep.id);
      if (before && at > before.at && req >= before.requests) {
        rate = ((req - before.requests) * 1000) / (at - before.at);
      } else if (before && at === before.at) {
        rate = undefined; // the server has not reported new figures yet
      }
      if (!before || at !== before.at) {
        samples.set(dep.id, { requests: req, at });
      }
    }
    return {
      dep,
      monitor: monitors.get(dep.id),
      report: reports.get(dep.id),
      previous: dep.alias
        ? previous.get(JSON.stringify([dep.model_name, dep.alias]))
        : undefined,
      rate
    };
  });
}

export function DeploymentsView(props: IViewProps): JSX.Element {
  const whoami = useWhoami(props.ctx);
  const ctx = { ...props.ctx, whoami };
  const [all, setAll] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  const samples = useRef(new Map<string, ISample>());
  // Rates survive polls where the server reported nothing new.
  const rates = useRef(new Map<string, number>());
  const polled = usePoll<IRow[]>(
    async () => {
      const rows = await loadRows(props.ctx, all, samples.current);
      for (const row of rows) {
        if (row.rate !== undefined) {
          rates.current.set(row.dep.id, row.rate);
        } else if (rates.current.has(row.dep.id)) {
          row.rate = rates.current.get(row.dep.id);
        }
      }
      return rows;
    },
    [props.ctx.shared, all]
  );

  const rollbackWhy = (row: IRow): string => {
    const role = roleRefusal(whoami, DEPLOYERS, 'roll back');
    if (role) {
      return role;
    }
    if (!row.dep.alias) {
      return 'This deployment serves a fixed version, not an alias: there is nothing to roll back';
    }
    if (row.previous === undefined) {
      return `${row.dep.model_name}@${row.dep.alias} has no earlier version to roll back to`;
    }
    return '';
  };

  const rollback = async (row: IRow) => {
    const { dep } = row;
    const ok = await confirmAction({
      title: 'Roll back?',
      body:
        `Point ${dep.model_name}@${dep.alias} back from v${dep.version} to v${row.previous}.\n` +
        'Every deployment that follows this alias reloads the earlier version.',
      accept: 'Roll back',
      danger: true
    });
    if (!ok) {
      return;
    }
    setBusy(dep.id);
    setActionError(undefined);
    try {
      const rollout = await ctx.shared.op<IRollout>('rollback', {
        name: dep.model_name,
        alias: dep.alias,
        reason: 'rolled back from the ModelOps sidebar'
      });
      setNotice(
        `${rollout.model_name}@${rollout.alias} rolled back from v${rollout.from_version} to v${rollout.to_version}` +
          ` (${rollout.deployments?.length ?? 0} deployment(s) follow)`
      );
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
      polled.refresh();
    }
  };

  const columns: IColumn<IRow>[] = [
    {
      id: 'model',
      label: 'Model',
      sortKey: r => r.dep.model_name,
      render: r => (
        <span>
          <span className="jp-ModelOps-name">{r.dep.model_name}</span>{' '}
          {r.dep.alias ? `@${r.dep.alias} → ` : ''}v{r.dep.version}
          <span className="jp-ModelOps-muted"> · {r.dep.target}</span>
        </span>
      )
    },
    {
      id: 'health',
      label: 'Health',
      width: '5.5em',
      sortKey: r => health(r).label,
      render: r => {
        const h = health(r);
        return (
          <span data-testid="modelops-deployment-health" data-health={h.label}>
            <Badge label={h.label} tone={h.tone} title={h.why} />
          </span>
        );
      }
    },
    {
      id: 'rate',
      label: 'Req/s',
      numeric: true,
      width: '4em',
      sortKey: r => r.rate,
      render: r => (
        <span title={`${r.dep.stats?.requests ?? 0} request(s) served in total`}>
          {r.rate === undefined ? '–' : formatNumber(r.rate, 1)}
        </span>
      )
    },
    {
      id: 'signals',
      label: 'Drift / alerts',
      optional: true,
      render: r => <Signals row={r} />
    }
  ];

  return (
    <div className="jp-ModelOps-registryView">
      <div className="jp-ModelOps-toolbar">
        <label>
          <input
            type="checkbox"
            checked={all}
            onChange={event => setAll(event.currentTarget.checked)}
          />
          Show stopped
        </label>
        <span className="jp-ModelOps-source" />
        <button type="button" className="jp-ModelOps-button" onClick={polled.refresh}>
          Refresh
        </button>
      </div>
      <div role="status" aria-live="polite">
        {notice && <div className="jp-ModelOps-notice">{notice}</div>}
      </div>
      <ErrorNotice error={actionError} />
      <PolledContent
        what="deployments"
        loading={polled.loading}
        error={polled.error}
        hasData={polled.data !== undefined}
      >
        {() => (
          <DataList
            label="Deployments"
            testId="modelops-deployments-list"
            rowTestId="modelops-deployment-row"
            rowAttributes={r => ({
              'data-deployment-id': r.dep.id,
              'data-model-name': r.dep.model_name
            })}
            rowKey={r => r.dep.id}
            rowLabel={r => `deployment ${shortId(r.dep.id)} of ${r.dep.model_name}`}
            columns={columns}
            rows={polled.data ?? []}
            initiallyExpanded={
              props.params?.deploymentId ? [props.params.deploymentId] : []
            }
            empty={
              all
                ? 'No deployments yet.'
                : 'No deployments running — deploy an approved version with mo.deploy(name, alias="champion").'
            }
            renderDetail={r => {
              const why = rollbackWhy(r);
              return (
                <DeploymentDetail
                  row={r}
                  rollbackWhy={why}
                  busy={busy === r.dep.id}
                  onRollback={() => void rollback(r)}
                />
              );
            }}
          />
        )}
      </PolledContent>
    </div>
  );
}

function Signals(props: { row: IRow }): JSX.Element {
  const { monitor, report } = props.row;
  const firing = monitor?.state?.firing ?? [];
  return (
    <span className="jp-ModelOps-badges">
      {report ? (
        <Badge
          label={report.dataset_drift ? `drift ${formatPercent(report.drift_share)}` : 'no drift'}
          tone={report.dataset_drift ? 'warn' : 'success'}
          title={`last check ${relativeTime(report.created_at)} on ${report.rows} row(s); drifted columns: ${formatPercent(report.drift_share)}`}
        />
      ) : monitor ? (
        <Badge label="not checked" tone="neutral" title="the monitor has not run a check yet" />
      ) : null}
      {firing.length > 0 && (
        <Badge
          label={`${firing.length} alert${firing.length > 1 ? 's' : ''}`}
          tone="error"
          title={`firing: ${firing.join(', ')}`}
        />
      )}
    </span>
  );
}

function DeploymentDetail(props: {
  row: IRow;
  rollbackWhy: string;
  busy: boolean;
  onRollback: () => void;
}): JSX.Element {
  const { dep, monitor } = props.row;
  const [copied, setCopied] = useState(false);
  const whyId = `jp-ModelOps-dep-${dep.id}-why`;
  const stats = dep.stats ?? {};
  return (
    <div className="jp-ModelOps-detail">
      <dl className="jp-ModelOps-facts">
        <dt>Endpoint</dt>
        <dd>
          {dep.endpoint ? (
            <>
              <span className="jp-ModelOps-endpoint" data-testid="modelops-deployment-endpoint">
                {dep.endpoint}
              </span>{' '}
              <button
                type="button"
                className="jp-ModelOps-link"
                aria-label={`Copy the endpoint of ${dep.model_name}`}
                onClick={() => {
                  Clipboard.copyToSystem(dep.endpoint);
                  setCopied(true);
                }}
              >
                {copied ? 'copied' : 'copy'}
              </button>
            </>
          ) : (
            <span className="jp-ModelOps-muted">none (not a served target)</span>
          )}
        </dd>
        <dt>Status</dt>
        <dd>
          <Badge label={dep.status} /> version <Badge label={dep.state || '?'} />
          {dep.restarts ? ` · ${dep.restarts} restart(s)` : ''}
        </dd>
        {dep.last_error && (
          <>
            <dt>Last error</dt>
            <dd>{dep.last_error}</dd>
          </>
        )}
        <dt>Traffic</dt>
        <dd>
          {formatNumber(stats.requests ?? 0)} request(s), {formatNumber(stats.errors ?? 0)}{' '}
          error(s), {formatNumber(stats.rows ?? 0)} row(s)
          {stats.dropped ? `, ${formatNumber(stats.dropped)} log row(s) dropped` : ''}
        </dd>
        <dt>Monitoring</dt>
        <dd>
          <Signals row={props.row} />{' '}
          {monitor
            ? monitor.last_check_at
              ? `last check ${relativeTime(monitor.last_check_at)}`
              : 'no check yet'
            : 'no monitor'}
          {monitor?.config?.rules?.length
            ? ` · rules: ${monitor.config.rules.map(r => r.name).join(', ')}`
            : ''}
        </dd>
        <dt>Started</dt>
        <dd title={absoluteTime(dep.created_at)}>
          by {dep.started_by}, {relativeTime(dep.created_at)} · id {shortId(dep.id)}
        </dd>
      </dl>
      <div className="jp-ModelOps-actions">
        <button
          type="button"
          className="jp-ModelOps-button jp-mod-warn"
          data-testid="modelops-deployment-rollback"
          disabled={props.busy || !!props.rollbackWhy}
          aria-disabled={props.busy || !!props.rollbackWhy}
          title={
            props.rollbackWhy ||
            `Point ${dep.model_name}@${dep.alias} back at v${props.row.previous}`
          }
          aria-describedby={props.rollbackWhy ? whyId : undefined}
          onClick={props.onRollback}
        >
          {props.busy ? 'Rolling back…' : 'Roll back'}
        </button>
        {props.rollbackWhy && (
          <span id={whyId} className="jp-ModelOps-why">
            {props.rollbackWhy}
          </span>
        )}
      </div>
    </div>
  );
}
