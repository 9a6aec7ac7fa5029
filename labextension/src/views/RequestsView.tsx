/**
 * Requests: deployment requests with their evidence, and the reviewer's decision.
 *
 * Approve / reject are offered to the roles the service accepts (approver, or validator
 * for a rejection) and disabled — with the reason as tooltip and as described text — on
 * one's own request: the service refuses self-approval anyway (separation of duties),
 * this only says so before the click. Whatever the server answers is shown verbatim.
 */
import * as React from 'react';

import { ActionButton } from '../components/ActionButton';
import { useState } from 'react';

import { IPanelContext, IViewProps } from '../context';
import { Badge } from '../components/Badge';
import {
  DataList,
  ErrorNotice,
  IColumn,
  LoadingNotice,
  PolledContent
} from '../components/DataList';
import { absoluteTime, relativeTime, shortId } from '../registry/format';
import {
  APPROVERS,
  currentUser,
  REJECTERS,
  REQUESTERS,
  roleRefusal,
  useWhoami
} from '../registry/roles';
import { IDeploymentRequest, IEvidenceItem } from '../registry/types';
import { usePoll } from '../poll';

const FILTERS: Array<{ value: string; label: string }> = [
  { value: 'PENDING', label: 'Pending' },
  { value: 'all', label: 'All' },
  { value: 'APPROVED', label: 'Approved' },
  { value: 'REJECTED', label: 'Rejected' },
  { value: 'WITHDRAWN', label: 'Withdrawn' }
];

export const SELF_REVIEW_REASON =
  'You requested this deployment; another person must approve it (separation of duties)';

function filterArgs(filter: string): Record<string, unknown> {
  return filter === 'all' ? { all: true } : { status: filter };
}

export function RequestsView(props: IViewProps): JSX.Element {
  const whoami = useWhoami(props.ctx);
  const ctx = { ...props.ctx, whoami };
  const [filter, setFilter] = useState(props.params?.requestId ? 'all' : 'PENDING');
  const [notice, setNotice] = useState<string>();
  // Requests decided here stay listed (with their new status) until the filter changes,
  // even when they no longer match it: the reviewer sees what their click did.
  const [acted, setActed] = useState<Map<string, IDeploymentRequest>>(new Map());
  const polled = usePoll<IDeploymentRequest[]>(
    () => ctx.shared.op<IDeploymentRequest[]>('list_requests', filterArgs(filter)),
    [ctx.shared, filter]
  );
  const listed = polled.data ?? [];
  const requests = [
    ...Array.from(acted.values()).filter(a => !listed.some(r => r.id === a.id)),
    ...listed
  ];
  const filterId = 'jp-ModelOps-requests-filter';

  const columns: IColumn<IDeploymentRequest>[] = [
    {
      id: 'model',
      label: 'Request',
      sortKey: r => `${r.model_name} ${String(r.version).padStart(6, '0')}`,
      render: r => (
        <span>
          <span className="jp-ModelOps-name">
            {r.model_name} v{r.version}
          </span>{' '}
          <span className="jp-ModelOps-muted">→ {r.target}</span>
        </span>
      )
    },
    {
      id: 'requested_by',
      label: 'By',
      width: '22%',
      sortKey: r => r.requested_by,
      render: r => r.requested_by
    },
    {
      id: 'status',
      label: 'Status',
      width: '5.5em',
      sortKey: r => r.status,
      render: r => (
        <Badge label={r.status} title={`request ${r.status.toLowerCase()}; version is ${r.state}`} />
      )
    },
    {
      id: 'validation',
      label: 'Validation',
      optional: true,
      width: '5.5em',
      sortKey: r => r.validation?.status,
      render: r =>
        r.validation?.status ? (
          <Badge label={r.validation.status} title={r.validation.summary} />
        ) : (
          ''
        )
    },
    {
      id: 'created',
      label: 'Created',
      optional: true,
      width: '5.5em',
      sortKey: r => r.created_at,
      render: r => (
        <span title={absoluteTime(r.created_at)}>{relativeTime(r.created_at)}</span>
      )
    }
  ];

  const done = (message: string, after?: IDeploymentRequest) => {
    setNotice(message);
    if (after?.id) {
      setActed(prev => new Map(prev).set(after.id, after));
    }
    polled.refresh();
  };

  return (
    <div className="jp-ModelOps-registryView">
      <div className="jp-ModelOps-toolbar">
        <label htmlFor={filterId}>Show</label>
        <select
          id={filterId}
          value={filter}
          onChange={event => {
            setActed(new Map());
            setFilter(event.currentTarget.value);
          }}
        >
          {FILTERS.map(f => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
        <span className="jp-ModelOps-source" />
        <button type="button" className="jp-ModelOps-button" onClick={polled.refresh}>
          Refresh
        </button>
      </div>
      <div role="status" aria-live="polite">
        {notice && <div className="jp-ModelOps-notice">{notice}</div>}
      </div>
      <PolledContent
        what="deployment requests"
        loading={polled.loading}
        error={polled.error}
        hasData={polled.data !== undefined}
      >
        {() => (
          <DataList
            label="Deployment requests"
            testId="modelops-requests-list"
            rowTestId="modelops-request-row"
            rowAttributes={r => ({ 'data-request-id': r.id, 'data-status': r.status })}
            rowKey={r => r.id}
            rowLabel={r => `request ${shortId(r.id)}: ${r.model_name} v${r.version} to ${r.target}`}
            columns={columns}
            rows={requests}
            initiallyExpanded={props.params?.requestId ? [props.params.requestId] : []}
            empty={
              filter === 'PENDING'
                ? 'No pending deployment requests — request one with mo.request_deployment(name, version).'
                : 'No deployment requests match.'
            }
            renderDetail={r => <RequestDetail ctx={ctx} summary={r} onDone={done} />}
          />
        )}
      </PolledContent>
    </div>
  );
}

function Checklist(props: { items: IEvidenceItem[] }): JSX.Element {
  if (!props.items.length) {
    return <div className="jp-ModelOps-muted">No evidence required by the policy.</div>;
  }
  return (
    <ul className="jp-ModelOps-checklist">
      {props.items.map(item => {
        const state = item.ok ? 'ok' : item.required ? 'missing' : 'optional';
        const mark = item.ok ? '✔' : item.required ? '✘' : '–';
        const word = item.ok ? 'present' : item.required ? 'missing' : 'not present (optional)';
        return (
          <li key={item.id} data-evidence-id={item.id} data-ok={String(item.ok)}>
            <span className={`jp-ModelOps-check jp-mod-${state}`} aria-hidden="true">
              {mark}
            </span>
            <span>
              <span className="jp-ModelOps-srOnly">{word}: </span>
              {item.label}
              {item.detail && <span className="jp-ModelOps-muted"> — {item.detail}</span>}
              {!item.ok && item.fix && (
                <span className="jp-ModelOps-muted"> (to fix: {item.fix})</span>
              )}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

/** One request in full (checklist, evidence, reviews) and the decision buttons. */
function RequestDetail(props: {
  ctx: IPanelContext;
  summary: IDeploymentRequest;
  onDone: (message: string, after?: IDeploymentRequest) => void;
}): JSX.Element {
  const { ctx, summary } = props;
  const polled = usePoll<IDeploymentRequest>(
    () => ctx.shared.op<IDeploymentRequest>('get_request', { request_id: summary.id }),
    [ctx.shared, summary.id, summary.updated_at],
    10000
  );
  // The row may be newer than the last answer (just decided here): show its status,
  // keeping the answer's checklist, evidence and reviews (list rows carry none).
  const detail = polled.data;
  const req: IDeploymentRequest =
    detail && detail.updated_at >= summary.updated_at
      ? detail
      : {
          ...summary,
          checklist: detail?.checklist ?? summary.checklist,
          evidence: detail?.evidence ?? summary.evidence,
          reviews: detail?.reviews ?? summary.reviews
        };
  const required = (req.checklist ?? []).filter(i => i.required);
  const missing = required.filter(i => !i.ok);
  return (
    <div className="jp-ModelOps-detail">
      <ErrorNotice error={polled.error} />
      <div>
        <span data-testid="modelops-request-state" data-state={req.status}>
          <Badge label={req.status} title={`this request is ${req.status.toLowerCase()}`} />
        </span>
      </div>
      <div className="jp-ModelOps-muted">
        Request {shortId(req.id)} by {req.requested_by},{' '}
        <span title={absoluteTime(req.created_at)}>{relativeTime(req.created_at)}</span>;
        version state <Badge label={req.state} />
        {req.policy?.name ? ` · policy ${req.policy.name}` : ''}
      </div>
      {req.justification && (
        <div className="jp-ModelOps-description">
          <span className="jp-ModelOps-muted">Justification: </span>
          {req.justification}
        </div>
      )}
      {req.validation?.summary && (
        <div>
          <span className="jp-ModelOps-muted">Validation: </span>
          <Badge label={req.validation.status ?? ''} /> {req.validation.summary}
        </div>
      )}
      <section data-testid="modelops-request-evidence" aria-label="Evidence">
        <h4>
          Evidence{' '}
          {polled.data && (
            <span className="jp-ModelOps-muted">
              {missing.length
                ? `(${missing.length} of ${required.length} required missing)`
                : `(all ${required.length} required present)`}
            </span>
          )}
        </h4>
        {polled.data ? (
          <Checklist items={req.checklist ?? []} />
        ) : (
          !polled.error && <LoadingNotice what="evidence" />
        )}
        {(req.evidence ?? []).length > 0 && (
          <ul className="jp-ModelOps-checklist">
            {req.evidence.map(e => (
              <li key={e.id}>
                <Badge label={e.status} />
                <span>
                  {e.kind}: {e.summary}{' '}
                  <span className="jp-ModelOps-muted">by {e.created_by}</span>
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
      {(req.reviews ?? []).length > 0 && (
        <section aria-label="Reviews">
          <h4>Reviews</h4>
          <ul className="jp-ModelOps-checklist">
            {req.reviews.map(r => (
              <li key={r.id}>
                <Badge label={r.decision} tone={r.decision === 'reject' ? 'error' : 'success'} />
                <span>
                  {r.reviewer} ({r.role}){r.comment ? `: ${r.comment}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {req.status !== 'PENDING' && req.decided_by && (
        <div>
          {req.status.toLowerCase()} by {req.decided_by}{' '}
          {relativeTime(req.decided_at)}
          {req.decision_comment ? `: ${req.decision_comment}` : ''}
        </div>
      )}
      {req.status === 'PENDING' && (
        <RequestActions
          ctx={ctx}
          request={req}
          onDone={(message, after) => {
            polled.refresh();
            props.onDone(message, after);
          }}
        />
      )}
    </div>
  );
}

function RequestActions(props: {
  ctx: IPanelContext;
  request: IDeploymentRequest;
  onDone: (message: string, after?: IDeploymentRequest) => void;
}): JSX.Element {
  const { ctx, request } = props;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const me = currentUser(ctx.whoami);
  const own = !!me && me === request.requested_by;
  const solo = !!request.policy?.solo;
  const ids = `jp-ModelOps-req-${request.id}`;

  const approveWhy =
    own && !solo ? SELF_REVIEW_REASON : roleRefusal(ctx.whoami, APPROVERS, 'approve');
  const rejectWhy =
    own && !solo
      ? SELF_REVIEW_REASON
      : roleRefusal(ctx.whoami, REJECTERS, 'reject') ||
        (comment.trim() ? '' : 'A rejection needs a comment saying why');
  const withdrawWhy = roleRefusal(ctx.whoami, REQUESTERS, 'withdraw');

  const act = async (op: string, verb: string) => {
    setBusy(true);
    setError(undefined);
    try {
      const kwargs: Record<string, unknown> = { request_id: request.id };
      if (comment.trim()) {
        kwargs.comment = comment.trim();
      }
      const after = await ctx.shared.op<IDeploymentRequest>(op, kwargs);
      setComment('');
      props.onDone(
        `Request ${shortId(request.id)} (${request.model_name} v${request.version}) ${verb}` +
          (after?.status && after.status.toLowerCase() !== verb
            ? ` — now ${after.status.toLowerCase()}`
            : ''),
        after
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // Each distinct reason once; the buttons point at theirs with aria-describedby.
  const reasons = Array.from(new Set([approveWhy, rejectWhy].filter(Boolean)));
  const reasonId = (why: string) => `${ids}-why-${reasons.indexOf(why)}`;

  return (
    <form
      className="jp-ModelOps-detail"
      aria-label={`Decide on request ${shortId(request.id)}`}
      onSubmit={event => event.preventDefault()}
    >
      <label htmlFor={`${ids}-comment`}>Comment</label>
      <textarea
        id={`${ids}-comment`}
        className="jp-ModelOps-comment"
        data-testid="modelops-request-comment"
        value={comment}
        placeholder="What you checked, or why you reject"
        maxLength={10000}
        onChange={event => setComment(event.currentTarget.value)}
      />
      <div className="jp-ModelOps-actions">
        <ActionButton
          label="Approve"
          testId="modelops-request-approve"
          tone="accept"
          busy={busy}
          why={approveWhy}
          title="Approve this deployment"
          describedBy={approveWhy ? reasonId(approveWhy) : undefined}
          onClick={() => void act('approve_request', 'approved')}
        />
        <ActionButton
          label="Reject"
          testId="modelops-request-reject"
          tone="warn"
          busy={busy}
          why={rejectWhy}
          title="Reject this deployment"
          describedBy={rejectWhy ? reasonId(rejectWhy) : undefined}
          onClick={() => void act('reject_request', 'rejected')}
        />
        {own && (
          <ActionButton
            label="Withdraw"
            testId="modelops-request-withdraw"
            busy={busy}
            why={withdrawWhy}
            title="Withdraw your request"
            onClick={() => void act('withdraw_request', 'withdrawn')}
          />
        )}
      </div>
      {reasons.length > 0 && (
        <div className="jp-ModelOps-why">
          {reasons.map(why => (
            <div key={why} id={reasonId(why)}>
              {why}
            </div>
          ))}
        </div>
      )}
      <ErrorNotice error={error} />
    </form>
  );
}
