/**
 * Inventory: every governed model of every kind (ML, rules, external / vendor) with its
 * owner, risk tier and state; sortable, filtered by kind and by text.
 */
import * as React from 'react';
import { useMemo, useState } from 'react';

import { IViewProps } from '../context';
import { Badge } from '../components/Badge';
import { DataList, IColumn, PolledContent } from '../components/DataList';
import { absoluteTime, relativeTime } from '../registry/format';
import { IInventoryEntry } from '../registry/types';
import { usePoll } from '../poll';

const TRUST_NOTE =
  'Needs trusted loading: a pickle-based package runs its code when loaded; load it only if you trust who built it';

function matches(entry: IInventoryEntry, text: string): boolean {
  if (!text) {
    return true;
  }
  const hay = [
    entry.name,
    entry.owner,
    entry.purpose,
    entry.kind,
    entry.flavor,
    entry.state,
    entry.risk_tier,
    entry.approved_by ?? ''
  ]
    .join('\n')
    .toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every(word => hay.includes(word));
}

export function InventoryView(props: IViewProps): JSX.Element {
  const { ctx } = props;
  const [kind, setKind] = useState('');
  const [text, setText] = useState('');
  // The kind filter is applied here, not by the server, so the kind list stays complete.
  const polled = usePoll<IInventoryEntry[]>(
    () => ctx.shared.op<IInventoryEntry[]>('inventory', {}),
    [ctx.shared],
    15000
  );
  const entries = polled.data ?? [];
  const kinds = useMemo(
    () => Array.from(new Set(entries.map(e => e.kind))).sort(),
    [entries]
  );
  const shown = entries.filter(e => (!kind || e.kind === kind) && matches(e, text));

  const columns: IColumn<IInventoryEntry>[] = [
    {
      id: 'name',
      label: 'Model',
      sortKey: e => e.name,
      render: e => (
        <span>
          <span className="jp-ModelOps-name">{e.name}</span>
          {e.version !== null && e.version !== undefined ? ` v${e.version}` : ''}
          {e.requires_trust && (
            <span
              className="jp-ModelOps-trust"
              data-testid="modelops-inventory-trust"
              title={TRUST_NOTE}
              aria-label={TRUST_NOTE}
              role="img"
            >
              {' '}⚠
            </span>
          )}
        </span>
      )
    },
    {
      id: 'kind',
      label: 'Kind',
      width: '4.5em',
      sortKey: e => e.kind,
      render: e => (
        <span title={e.flavor ? `flavor ${e.flavor}` : undefined}>{e.kind}</span>
      )
    },
    {
      id: 'owner',
      label: 'Owner',
      optional: true,
      sortKey: e => e.owner,
      render: e => e.owner
    },
    {
      id: 'risk',
      label: 'Risk',
      width: '4em',
      sortKey: e => e.risk_tier,
      render: e =>
        e.risk_tier ? (
          <Badge
            label={e.risk_tier}
            tone={/high|critical/i.test(e.risk_tier) ? 'warn' : 'neutral'}
            title={`risk tier ${e.risk_tier}`}
          />
        ) : (
          <span className="jp-ModelOps-muted" title="no risk tier set">–</span>
        )
    },
    {
      id: 'state',
      label: 'State',
      width: '6.5em',
      sortKey: e => e.state,
      render: e => (e.state ? <Badge label={e.state} /> : '')
    }
  ];

  return (
    <div className="jp-ModelOps-registryView">
      <div className="jp-ModelOps-toolbar" role="search">
        <label>
          Kind
          <select value={kind} onChange={event => setKind(event.currentTarget.value)}>
            <option value="">all</option>
            {kinds.map(k => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          aria-label="Filter the inventory by name, owner, purpose, state"
          placeholder="Filter…"
          value={text}
          onChange={event => setText(event.currentTarget.value)}
        />
        <button type="button" className="jp-ModelOps-button" onClick={polled.refresh}>
          Refresh
        </button>
      </div>
      <PolledContent
        what="the inventory"
        loading={polled.loading}
        error={polled.error}
        hasData={polled.data !== undefined}
      >
        {() => (
          <>
            <div className="jp-ModelOps-muted" aria-live="polite">
              {shown.length === entries.length
                ? `${entries.length} model(s)`
                : `${shown.length} of ${entries.length} model(s)`}
            </div>
            <DataList
              label="Model inventory"
              testId="modelops-inventory-table"
              rowTestId="modelops-inventory-row"
              rowAttributes={e => ({
                'data-model-name': e.name,
                'data-kind': e.kind,
                'data-requires-trust': String(!!e.requires_trust)
              })}
              rowKey={e => e.name}
              rowLabel={e => `model ${e.name}`}
              columns={columns}
              rows={shown}
              initialSort={{ column: 'name', descending: false }}
              empty={
                entries.length
                  ? 'No model matches the filter.'
                  : 'The inventory is empty — register a model (ML, rules table or external reference) to see it here.'
              }
              renderDetail={e => <InventoryDetail entry={e} />}
            />
          </>
        )}
      </PolledContent>
    </div>
  );
}

function InventoryDetail(props: { entry: IInventoryEntry }): JSX.Element {
  const e = props.entry;
  const firing = (e.monitors ?? []).flatMap(m => m.firing ?? []);
  return (
    <dl className="jp-ModelOps-facts">
      <dt>Purpose</dt>
      <dd>{e.purpose || <span className="jp-ModelOps-muted">not stated</span>}</dd>
      <dt>Owner</dt>
      <dd>{e.owner}</dd>
      <dt>Kind</dt>
      <dd>
        {e.kind}
        {e.flavor ? ` / ${e.flavor}` : ''}
      </dd>
      {e.requires_trust && (
        <>
          <dt>Loading</dt>
          <dd>
            <Badge label="trusted load" tone="warn" title={TRUST_NOTE} /> {TRUST_NOTE}
          </dd>
        </>
      )}
      <dt>Versions</dt>
      <dd>
        {Object.entries(e.versions ?? {})
          .map(([state, numbers]) => `${state}: ${numbers.map(n => `v${n}`).join(', ')}`)
          .join(' · ') || 'none'}
      </dd>
      <dt>Approval</dt>
      <dd>
        {e.approved_by ? (
          <span title={absoluteTime(e.approved_at)}>
            by {e.approved_by}, {relativeTime(e.approved_at)}
          </span>
        ) : (
          <span className="jp-ModelOps-muted">not approved</span>
        )}
        {e.validation ? (
          <>
            {' '}
            · validation <Badge label={e.validation} />
          </>
        ) : null}
      </dd>
      <dt>Endpoints</dt>
      <dd>
        {(e.endpoints ?? []).length
          ? e.endpoints.map(p => (
              <div key={p.deployment} className="jp-ModelOps-endpoint">
                {p.endpoint || p.deployment.slice(0, 8)} ({p.status})
              </div>
            ))
          : 'none'}
      </dd>
      <dt>Monitors</dt>
      <dd>
        {(e.monitors ?? []).length
          ? `${e.monitors.length} monitor(s)` +
            (firing.length ? `; firing: ${firing.join(', ')}` : '; no alert firing')
          : 'none'}
      </dd>
      <dt>Updated</dt>
      <dd title={absoluteTime(e.updated_at)}>{relativeTime(e.updated_at)}</dd>
    </dl>
  );
}
