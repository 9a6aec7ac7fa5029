/**
 * Sync: where this server's store stands with the team registry — linked or not,
 * pending and refused changes, last success, last error, the worker's next attempt —
 * and "Sync now". Always about the local store (`ctx.local`).
 */
import * as React from 'react';
import { useState } from 'react';

import { IViewProps } from '../context';
import { ActionButton } from '../components/ActionButton';
import { Badge } from '../components/Badge';
import { ErrorNotice, PolledContent } from '../components/DataList';
import { absoluteTime, formatNumber, relativeTime } from '../registry/format';
import { ISyncStatus } from '../registry/types';
import { usePoll } from '../poll';

interface ISyncReport {
  pushed?: number;
  rejected?: number;
  duplicates?: number;
  batches?: number;
  blobs_sent?: number;
  pulled?: number;
  blobs_fetched?: number;
  pending?: number;
  seconds?: number;
  warnings?: string[];
}

function reportLine(report: ISyncReport): string {
  const parts = [`pushed ${report.pushed ?? 0} change(s)`];
  if (report.blobs_sent) {
    parts.push(`uploaded ${report.blobs_sent} blob(s)`);
  }
  if (report.duplicates) {
    parts.push(`${report.duplicates} already on the registry`);
  }
  if (report.rejected) {
    parts.push(`${report.rejected} refused by the registry`);
  }
  parts.push(`pulled ${report.pulled ?? 0} record(s)`);
  if (report.blobs_fetched) {
    parts.push(`fetched ${report.blobs_fetched} blob(s)`);
  }
  const seconds = typeof report.seconds === 'number' ? ` in ${report.seconds.toFixed(1)} s` : '';
  return parts.join(', ') + seconds;
}

function When(props: { at: number | null | undefined; never?: string }): JSX.Element {
  if (!props.at) {
    return <span className="jp-ModelOps-muted">{props.never ?? 'never'}</span>;
  }
  return <span title={absoluteTime(props.at)}>{relativeTime(props.at)}</span>;
}

export function SyncView(props: IViewProps): JSX.Element {
  const api = props.ctx.local;
  const polled = usePoll<ISyncStatus>(() => api.get<ISyncStatus>('/sync/status'), [api]);
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<ISyncReport>();
  const [runError, setRunError] = useState<unknown>();
  const status = polled.data;

  const syncNow = async () => {
    setRunning(true);
    setRunError(undefined);
    setReport(undefined);
    try {
      setReport(await api.request<ISyncReport>('POST', '/sync/run'));
    } catch (err) {
      setRunError(err);
    } finally {
      setRunning(false);
      polled.refresh();
    }
  };

  const configured = !!status && (status.linked || !!status.registry_url);
  const disabledWhy = !status
    ? 'Loading the sync status…'
    : configured
      ? ''
      : 'This server is not linked to a team registry';
  const worker = (status?.worker ?? null) as {
    running?: boolean;
    interval?: number;
    next_attempt?: number | null;
    backoff?: number;
  } | null;

  return (
    <div className="jp-ModelOps-registryView" data-testid="modelops-sync-status">
      <PolledContent
        what="the sync status"
        loading={polled.loading}
        error={polled.error}
        hasData={status !== undefined}
      >
        {() =>
          status && (
            <>
              <dl className="jp-ModelOps-facts">
                <dt>Registry</dt>
                <dd data-linked={String(status.linked)}>
                  {status.linked ? (
                    <Badge label="linked" tone="success" />
                  ) : (
                    <Badge label="not linked" tone="neutral" />
                  )}{' '}
                  {status.registry_url && (
                    <span className="jp-ModelOps-endpoint">{status.registry_url}</span>
                  )}
                </dd>
                <dt>Pending</dt>
                <dd data-testid="modelops-sync-pending" data-pending={String(status.pending)}>
                  {formatNumber(status.pending)} change(s)
                  {status.pending_bytes
                    ? ` (${formatNumber(status.pending_bytes / 1024, 1)} KiB)`
                    : ''}
                </dd>
                <dt>Refused</dt>
                <dd data-rejected={String(status.rejected)}>
                  {status.rejected ? (
                    <Badge
                      label={`${status.rejected} refused`}
                      tone="error"
                      title="changes the registry refused (a conflict or a missing right); they are kept locally and not retried"
                    />
                  ) : (
                    'none'
                  )}
                </dd>
                <dt>Last success</dt>
                <dd>
                  <When at={status.last_success} />
                </dd>
                <dt>Last attempt</dt>
                <dd>
                  <When at={status.last_attempt} />
                  {status.failures ? ` · ${status.failures} failure(s) in a row` : ''}
                </dd>
                {worker && (
                  <>
                    <dt>Next attempt</dt>
                    <dd>
                      {worker.next_attempt ? (
                        <When at={worker.next_attempt} />
                      ) : worker.running ? (
                        'syncing now'
                      ) : (
                        <span className="jp-ModelOps-muted">not scheduled</span>
                      )}
                      {worker.interval ? ` · every ${worker.interval} s` : ''}
                    </dd>
                  </>
                )}
              </dl>
              {status.last_error && (
                <div
                  className="jp-ModelOps-error"
                  role="alert"
                  data-testid="modelops-sync-error"
                >
                  Last error
                  {status.last_error_at ? ` (${relativeTime(status.last_error_at)})` : ''}:{' '}
                  {status.last_error}
                </div>
              )}
              {!configured && (
                <div className="jp-ModelOps-help">
                  <p>
                    This server keeps everything in its local store. To share runs and models
                    with the team, link it to a registry (a server running{' '}
                    <code>jupyter modelops serve</code>) and restart Jupyter:
                  </p>
                  <pre>
                    {'# jupyter_modelops_config.py (on the Jupyter config path)\n' +
                      'c.ModelOpsConfig.registry_url = "https://registry.example.org"\n' +
                      'c.ModelOpsConfig.registry_token = "…"'}
                  </pre>
                  <p>
                    or set <code>JUPYTER_MODELOPS_REGISTRY_URL</code> and{' '}
                    <code>JUPYTER_MODELOPS_REGISTRY_TOKEN</code> in the environment. Changes made after linking are pushed; earlier ones stay local.
                  </p>
                </div>
              )}
            </>
          )
        }
      </PolledContent>
      <div className="jp-ModelOps-actions">
        <ActionButton
          label={running ? 'Syncing…' : 'Sync now'}
          testId="modelops-sync-now"
          tone="accept"
          busy={running}
          why={disabledWhy}
          title="Push local changes and pull the registry’s now"
          describedBy="jp-ModelOps-sync-why"
          onClick={() => void syncNow()}
        />
        {disabledWhy && status && (
          <span id="jp-ModelOps-sync-why" className="jp-ModelOps-why">
            {disabledWhy}
          </span>
        )}
      </div>
      <div role="status" aria-live="polite">
        {report && (
          <div className="jp-ModelOps-notice" data-testid="modelops-sync-report">
            Synced: {reportLine(report)}.
            {(report.warnings ?? []).map((w, i) => (
              <div key={i} className="jp-ModelOps-muted">
                {w}
              </div>
            ))}
          </div>
        )}
      </div>
      {runError !== undefined && (
        <ErrorNotice error={runError} prefix="Sync failed" />
      )}
    </div>
  );
}
