/**
 * Models: the registered models of the shared registry (or the local store), each
 * expandable into its versions — life-cycle state, aliases, source run — and a
 * version's model card, rendered as text.
 */
import * as React from 'react';
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
import { absoluteTime, errorText, relativeTime, shortId } from '../registry/format';
import { Block, Inline, parseMarkdown } from '../registry/markdown';
import { IModel, IModelCard, IModelVersion } from '../registry/types';
import { usePoll } from '../poll';

/** Command (from commands.ts) that shows a run in the Runs view. */
export const OPEN_RUN_COMMAND = 'modelops:open-run';

function sourceLabel(ctx: IPanelContext): string {
  return ctx.sharedSource === 'registry' ? 'the team registry' : 'the local store';
}

export function ModelsView(props: IViewProps): JSX.Element {
  const { ctx } = props;
  const polled = usePoll<IModel[]>(
    () => ctx.shared.get<IModel[]>('/models'),
    [ctx.shared]
  );
  const models = polled.data ?? [];

  const columns: IColumn<IModel>[] = [
    {
      id: 'name',
      label: 'Model',
      sortKey: m => m.name,
      render: m => <span className="jp-ModelOps-name">{m.name}</span>
    },
    {
      id: 'latest',
      label: 'Latest',
      numeric: true,
      width: '3.5em',
      sortKey: m => m.latest_version ?? undefined,
      render: m => (m.latest_version ? `v${m.latest_version}` : '')
    },
    {
      id: 'aliases',
      label: 'Aliases',
      render: m => <AliasBadges aliases={m.aliases} />
    },
    {
      id: 'owner',
      label: 'Owner',
      optional: true,
      width: '18%',
      sortKey: m => m.owner,
      render: m => m.owner
    },
    {
      id: 'updated',
      label: 'Updated',
      optional: true,
      width: '6em',
      sortKey: m => m.updated_at,
      render: m => (
        <span title={absoluteTime(m.updated_at)}>{relativeTime(m.updated_at)}</span>
      )
    }
  ];

  return (
    <div className="jp-ModelOps-registryView" aria-label="Registered models">
      <div className="jp-ModelOps-toolbar">
        <span className="jp-ModelOps-source">Models in {sourceLabel(ctx)}</span>
        <button
          type="button"
          className="jp-ModelOps-button"
          onClick={polled.refresh}
        >
          Refresh
        </button>
      </div>
      <PolledContent
        what="models"
        loading={polled.loading}
        error={polled.error}
        hasData={polled.data !== undefined}
      >
        {() => (
          <DataList
            label="Registered models"
            testId="modelops-models-list"
            rowTestId="modelops-model-row"
            rowAttributes={m => ({ 'data-model-name': m.name })}
            rowKey={m => m.name}
            rowLabel={m => `model ${m.name}`}
            columns={columns}
            rows={models}
            initialSort={{ column: 'updated', descending: true }}
            initiallyExpanded={props.params?.model ? [props.params.model] : []}
            empty="No registered models yet — register one from a run with mo.register_model(...)."
            renderDetail={m => <ModelVersions ctx={ctx} model={m} />}
          />
        )}
      </PolledContent>
    </div>
  );
}

function AliasBadges(props: { aliases: Record<string, number> | undefined }): JSX.Element {
  const entries = Object.entries(props.aliases ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  return (
    <span className="jp-ModelOps-badges">
      {entries.map(([alias, version]) => (
        <Badge
          key={alias}
          label={`@${alias} → v${version}`}
          tone="info"
          title={`alias ${alias} points at version ${version}`}
        />
      ))}
    </span>
  );
}

/** The versions of one model (polled while expanded). */
function ModelVersions(props: { ctx: IPanelContext; model: IModel }): JSX.Element {
  const { ctx, model } = props;
  const polled = usePoll<IModelVersion[]>(
    () =>
      ctx.shared.get<IModelVersion[]>(
        `/models/${encodeURIComponent(model.name)}/versions`
      ),
    [ctx.shared, model.name],
    10000
  );
  const [card, setCard] = useState<number | undefined>();
  // Aliases of the model are authoritative; a version's own list may lag behind.
  const aliasesOf = (v: IModelVersion): string[] => {
    const fromModel = Object.entries(model.aliases ?? {})
      .filter(([, n]) => n === v.version)
      .map(([alias]) => alias);
    return Array.from(new Set([...fromModel, ...(v.aliases ?? [])])).sort();
  };
  const openRun = async (runId: string) => {
    try {
      await ctx.execute(OPEN_RUN_COMMAND, { runId });
    } catch {
      // the Runs view is not available (or the run is not local): nothing to open
    }
  };
  const versions = [...(polled.data ?? [])].sort((a, b) => b.version - a.version);
  return (
    <div className="jp-ModelOps-detail" data-testid="modelops-model-versions">
      <div className="jp-ModelOps-muted">
        {model.kind} model owned by {model.owner}, updated {relativeTime(model.updated_at)}
      </div>
      {model.description && (
        <div className="jp-ModelOps-description">{model.description}</div>
      )}
      <ErrorNotice error={polled.error} />
      {polled.data === undefined ? (
        polled.loading && !polled.error ? <LoadingNotice what="versions" /> : null
      ) : versions.length === 0 ? (
        <div className="jp-ModelOps-empty">No versions yet.</div>
      ) : (
        <ul className="jp-ModelOps-versionList" aria-label={`Versions of ${model.name}`}>
          {versions.map(v => (
            <li
              key={v.version}
              className="jp-ModelOps-version"
              data-version={String(v.version)}
            >
              <div className="jp-ModelOps-versionHead">
                <span className="jp-ModelOps-name">v{v.version}</span>
                <Badge label={v.state} title={`life-cycle state: ${v.state}`} />
                {aliasesOf(v).map(alias => (
                  <Badge key={alias} label={`@${alias}`} tone="info" title={`alias ${alias}`} />
                ))}
                {v.trusted === false && (
                  <Badge
                    label="trusted load"
                    tone="warn"
                    title="Pickle-based package: loading it runs its code; load it only if you trust who built it"
                  />
                )}
                <span className="jp-ModelOps-muted">{v.flavor}</span>
              </div>
              <div className="jp-ModelOps-versionMeta">
                <span title={absoluteTime(v.created_at)}>
                  by {v.created_by}, {relativeTime(v.created_at)}
                </span>
                {v.run_id && (
                  <button
                    type="button"
                    className="jp-ModelOps-link"
                    onClick={() => void openRun(v.run_id!)}
                    title={`Show run ${v.run_id} in the Runs view`}
                  >
                    run {v.lineage?.run_name || shortId(v.run_id)}
                  </button>
                )}
                <button
                  type="button"
                  className="jp-ModelOps-link"
                  aria-expanded={card === v.version}
                  onClick={() => setCard(card === v.version ? undefined : v.version)}
                >
                  {card === v.version ? 'Hide model card' : 'Model card'}
                </button>
              </div>
              {v.description && <div className="jp-ModelOps-description">{v.description}</div>}
              {card === v.version && (
                <ModelCardView ctx={ctx} name={model.name} version={v.version} />
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A version's model card, fetched when opened and refreshed on demand. */
function ModelCardView(props: {
  ctx: IPanelContext;
  name: string;
  version: number;
}): JSX.Element {
  const { ctx, name, version } = props;
  const polled = usePoll<IModelCard>(
    () => ctx.shared.op<IModelCard>('get_model_card', { name, version }),
    [ctx.shared, name, version],
    30000
  );
  const card = polled.data;
  return (
    <section
      className="jp-ModelOps-card"
      data-testid="modelops-model-card"
      aria-label={`Model card of ${name} v${version}`}
    >
      {polled.error ? (
        <ErrorNotice error={polled.error} prefix="Model card" />
      ) : !card ? (
        <LoadingNotice what="the model card" />
      ) : (
        <>
          <div className="jp-ModelOps-muted">
            {card.revision
              ? `revision ${card.revision} by ${card.updated_by}, ${relativeTime(card.updated_at)}`
              : 'generated from the registry (not edited yet)'}
          </div>
          <MarkdownText source={card.markdown} />
        </>
      )}
    </section>
  );
}

function InlineText(props: { content: Inline[] }): JSX.Element {
  return (
    <>
      {props.content.map((part, i) =>
        part.style === 'strong' ? (
          <strong key={i}>{part.text}</strong>
        ) : part.style === 'em' ? (
          <em key={i}>{part.text}</em>
        ) : part.style === 'code' ? (
          <code key={i}>{part.text}</code>
        ) : (
          <React.Fragment key={i}>{part.text}</React.Fragment>
        )
      )}
    </>
  );
}

/** Markdown as React elements holding text only (see registry/markdown.ts). */
export function MarkdownText(props: { source: string }): JSX.Element {
  let blocks: Block[];
  try {
    blocks = parseMarkdown(props.source);
  } catch (error) {
    return <pre title={errorText(error)}>{props.source}</pre>;
  }
  return (
    <div className="jp-ModelOps-markdown">
      {blocks.map((block, i) => {
        switch (block.kind) {
          case 'heading': {
            // Card headings sit below the view's own: start at h4.
            const Tag = `h${Math.min(6, block.level + 3)}` as 'h4' | 'h5' | 'h6';
            return (
              <Tag key={i}>
                <InlineText content={block.content} />
              </Tag>
            );
          }
          case 'list':
            return (
              <ul key={i}>
                {block.items.map((item, j) => (
                  <li key={j}>
                    <InlineText content={item} />
                  </li>
                ))}
              </ul>
            );
          case 'table': {
            const blankHeader = block.header.every(c => c.every(p => !p.text.trim()));
            return (
              <table key={i} className="jp-ModelOps-cardTable">
                {!blankHeader && (
                  <thead>
                    <tr>
                      {block.header.map((cell, j) => (
                        <th key={j} scope="col">
                          <InlineText content={cell} />
                        </th>
                      ))}
                    </tr>
                  </thead>
                )}
                <tbody>
                  {block.rows.map((row, j) => (
                    <tr key={j}>
                      {row.map((cell, k) =>
                        blankHeader && k === 0 ? (
                          <th key={k} scope="row">
                            <InlineText content={cell} />
                          </th>
                        ) : (
                          <td key={k}>
                            <InlineText content={cell} />
                          </td>
                        )
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            );
          }
          default:
            return (
              <p key={i}>
                <InlineText content={block.content} />
              </p>
            );
        }
      })}
    </div>
  );
}
