/**
 * The pipeline-step editor of one code cell: step name, the steps it runs after, and the
 * cell's role (step code, parameters, excluded, ...). It writes `metadata.tags`; tags that
 * are not pipeline tags are kept untouched.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { ActionDialog } from '../export/dialog';
import {
  ICellTags,
  IValidation,
  ROLES,
  parseTags,
  serializeTags,
  splitNames,
  stepMagic,
  validate
} from './grammar';

interface IFormState {
  step: string;
  after: string;
  role: string;
}

interface IEditorProps {
  parsed: ICellTags;
  current: readonly string[];
  magic: { name: string; after: string[] } | null;
  known: string[];
  /** Receives the tags to write (null while the form is invalid) on every change. */
  onChange: (tags: string[] | null, validation: IValidation) => void;
  /** Set once submitted so errors of untouched fields show too. */
  showAll: boolean;
}

function TagEditor(props: IEditorProps): JSX.Element {
  const { parsed, magic, known } = props;
  const [form, setForm] = React.useState<IFormState>({
    step: parsed.step,
    after: parsed.after.join(', '),
    role: parsed.role
  });
  const [touched, setTouched] = React.useState<Record<string, boolean>>({});
  const after = splitNames(form.after);
  const validation = validate({ step: form.step, after, role: form.role }, { magic, known });
  const tags = serializeTags({
    prefix: parsed.prefix,
    step: form.step,
    after,
    role: form.role,
    roleSpelling: parsed.roleSpelling,
    others: parsed.others
  });
  React.useEffect(() => {
    props.onChange(validation.ok ? tags : null, validation);
  });
  const stepFieldsOff = form.role !== '';
  const roleRef = React.useRef<HTMLSelectElement>(null);
  React.useEffect(() => {
    // A field that gets disabled drops the focus; keep it in the form.
    const focused = document.activeElement;
    if (stepFieldsOff && (!focused || focused === document.body || (focused as HTMLInputElement).disabled)) {
      roleRef.current?.focus();
    }
  }, [stepFieldsOff]);
  const offWhy = stepFieldsOff
    ? `A cell with the role "${ROLES.find(r => r.tag === form.role)?.label}" is not part of any step`
    : undefined;
  const show = (field: string): boolean => props.showAll || !!touched[field];
  const stepError = !stepFieldsOff && show('step') ? validation.step : undefined;
  const afterError = !stepFieldsOff && show('after') ? validation.after : undefined;
  const others = known.filter(n => n !== form.step.trim());

  return (
    <form
      className="jp-ModelOps-form jp-ModelOps-celltags"
      onSubmit={event => event.preventDefault()}
    >
      <div className="jp-ModelOps-field">
        <label htmlFor="jp-ModelOps-celltags-step">Step name</label>
        <input
          id="jp-ModelOps-celltags-step"
          className="jp-mod-styled"
          data-testid="modelops-celltags-step"
          type="text"
          list="jp-ModelOps-celltags-steps"
          value={form.step}
          placeholder={magic?.name ? `${magic.name} (from %%step)` : 'continues the step above'}
          onChange={event => setForm({ ...form, step: event.target.value })}
          onBlur={() => setTouched({ ...touched, step: true })}
          disabled={stepFieldsOff}
          title={offWhy}
          aria-invalid={!!stepError}
          aria-describedby="jp-ModelOps-celltags-step-hint jp-ModelOps-celltags-step-error"
          spellCheck={false}
          autoComplete="off"
        />
        <datalist id="jp-ModelOps-celltags-steps">
          {known.map(n => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <div id="jp-ModelOps-celltags-step-hint" className="jp-ModelOps-hint">
          Starts step <em>name</em> here (or continues it if an earlier cell started it); the
          cells below belong to it until the next step. Letters, digits, <code>_</code> or{' '}
          <code>-</code>.
        </div>
        {stepError && (
          <div id="jp-ModelOps-celltags-step-error" className="jp-ModelOps-error" role="alert">
            {stepError}
          </div>
        )}
      </div>

      <div className="jp-ModelOps-field">
        <label htmlFor="jp-ModelOps-celltags-after">Runs after</label>
        <input
          id="jp-ModelOps-celltags-after"
          className="jp-mod-styled"
          data-testid="modelops-celltags-after"
          type="text"
          value={form.after}
          placeholder={others.length ? others.slice(0, 3).join(', ') : 'step names'}
          onChange={event => setForm({ ...form, after: event.target.value })}
          onBlur={() => setTouched({ ...touched, after: true })}
          disabled={stepFieldsOff}
          title={offWhy}
          aria-invalid={!!afterError}
          aria-describedby="jp-ModelOps-celltags-after-hint jp-ModelOps-celltags-after-error"
          spellCheck={false}
          autoComplete="off"
        />
        <div id="jp-ModelOps-celltags-after-hint" className="jp-ModelOps-hint">
          Steps separated by commas or spaces. Values a step uses already order it after
          their step; list others here. Steps in this notebook:{' '}
          {others.length ? others.join(', ') : 'none yet'}.
        </div>
        {afterError && (
          <div id="jp-ModelOps-celltags-after-error" className="jp-ModelOps-error" role="alert">
            {afterError}
          </div>
        )}
      </div>

      <div className="jp-ModelOps-field">
        <label htmlFor="jp-ModelOps-celltags-role">Cell role</label>
        <select
          id="jp-ModelOps-celltags-role"
          className="jp-mod-styled"
          data-testid="modelops-celltags-role"
          ref={roleRef}
          value={form.role}
          onChange={event => setForm({ ...form, role: event.target.value })}
          aria-describedby="jp-ModelOps-celltags-role-hint"
        >
          {ROLES.map(r => (
            <option key={r.tag} value={r.tag}>
              {r.label}
              {r.tag ? ` (${r.tag})` : ''}
            </option>
          ))}
        </select>
        <div id="jp-ModelOps-celltags-role-hint" className="jp-ModelOps-hint">
          {ROLES.find(r => r.tag === form.role)?.hint}
        </div>
      </div>

      {magic && (
        <p className="jp-ModelOps-hint">
          This cell's first line declares <code>%%step {magic.name}</code>
          {magic.after.length > 0 && <> after {magic.after.join(', ')}</>}; tags and the
          magic must agree.
        </p>
      )}
      {!stepFieldsOff && validation.notes.length > 0 && (
        <ul className="jp-ModelOps-celltagsNotes" aria-label="Notes">
          {validation.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      {parsed.problems.map((p, i) => (
        <div key={i} className="jp-ModelOps-warn">
          Found: {p}
        </div>
      ))}

      <dl className="jp-ModelOps-celltagsTags">
        <dt>Tags now</dt>
        <dd data-testid="modelops-celltags-current">
          <TagList tags={props.current} />
        </dd>
        <dt>Tags when saved</dt>
        <dd data-testid="modelops-celltags-preview">
          <TagList tags={tags} />
        </dd>
      </dl>
      {parsed.others.length > 0 && (
        <p className="jp-ModelOps-hint">
          Tags that are not pipeline tags ({parsed.others.join(', ')}) are kept.
        </p>
      )}
    </form>
  );
}

function TagList({ tags }: { tags: readonly string[] }): JSX.Element {
  if (!tags.length) {
    return <span className="jp-ModelOps-muted">none</span>;
  }
  return (
    <ul className="jp-ModelOps-tagList">
      {tags.map(t => (
        <li key={t} className="jp-ModelOps-tag">
          {t}
        </li>
      ))}
    </ul>
  );
}

class TagBody extends ReactWidget {
  tags: string[] | null = null;
  validation: IValidation | null = null;
  private _showAll = false;

  constructor(private readonly _props: Omit<IEditorProps, 'onChange' | 'showAll'>) {
    super();
    this.addClass('jp-ModelOps-dialogBody');
  }

  /** After a refused submit: show every field's error, focus the first wrong field. */
  revealErrors(): void {
    this._showAll = true;
    this.update();
    requestAnimationFrame(() => {
      this.node.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    });
  }

  getValue(): string[] | null {
    return this.tags;
  }

  protected render(): JSX.Element {
    return (
      <TagEditor
        {...this._props}
        showAll={this._showAll}
        onChange={(tags, validation) => {
          this.tags = tags;
          this.validation = validation;
        }}
      />
    );
  }
}

/** The cell as the editor needs it. */
export interface ITaggedCell {
  /** 1-based position, for the title. */
  number: number;
  source: string;
  tags: readonly string[];
  /** Step names declared by the other cells of the notebook. */
  knownSteps: string[];
}

/** Opens the editor; resolves with the tags to write, or null if cancelled. */
export async function editCellTags(cell: ITaggedCell): Promise<string[] | null> {
  const parsed = parseTags(cell.tags);
  const body = new TagBody({
    parsed,
    current: cell.tags,
    magic: stepMagic(cell.source),
    known: cell.knownSteps
  });
  const save = Dialog.okButton({ label: 'Save', ariaLabel: 'Save the tags' });
  const dialog = new ActionDialog<string[] | null>({
    title: `Pipeline step of cell ${cell.number}`,
    body,
    buttons: [Dialog.cancelButton(), save],
    intercept: button => {
      if (button === save && body.tags === null) {
        body.revealErrors();
        return true;
      }
      return false;
    },
    testId: 'modelops-celltags-dialog',
    focus: parsed.role ? '[data-testid="modelops-celltags-role"]' : '[data-testid="modelops-celltags-step"]'
  });
  const result = await dialog.launch();
  return result.button.accept ? (result.value ?? null) : null;
}
