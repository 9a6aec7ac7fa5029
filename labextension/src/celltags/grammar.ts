/**
 * The cell-tag grammar of pipeline export, as jupyter_modelops/pipeline/notebook.py reads it:
 *
 *   block:NAME / step:NAME   the cell starts (or continues) step NAME
 *   prev:NAME                the step runs after step NAME
 *   imports, functions, parameters / pipeline-parameters, pipeline-metrics,
 *   pipeline-outputs, skip   special cells (not part of any step)
 *
 * A first line `%%step NAME [--after A B]` is the same as `block:NAME prev:A prev:B`.
 * Names follow the same rule as the Python side, so the editor refuses what export would.
 */

export const STEP_TAG = /^(?:block|step):(.+)$/;
export const PREV_TAG = /^prev:(.+)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' '
  )
);

/** Special roles, in the order the exporter checks them (the first present wins). */
export const ROLES: { tag: string; label: string; hint: string }[] = [
  { tag: '', label: 'Step code', hint: 'Part of a step: starts the step named below, or continues the step above.' },
  { tag: 'skip', label: 'Excluded (skip)', hint: 'Not part of the pipeline (plots, exploration).' },
  { tag: 'imports', label: 'Imports', hint: 'Imports and settings every step runs first.' },
  { tag: 'functions', label: 'Functions', hint: 'Helper definitions every step may use.' },
  {
    tag: 'parameters',
    label: 'Parameters',
    hint: 'Only `NAME = literal` lines: the pipeline’s parameters (papermill’s tag).'
  },
  {
    tag: 'pipeline-metrics',
    label: 'Metrics',
    hint: 'Names (`accuracy` or `print(accuracy)`) reported as the pipeline’s metrics.'
  },
  {
    tag: 'pipeline-outputs',
    label: 'Outputs',
    hint: 'Names whose final values the parity check compares.'
  }
];
const ROLE_ORDER = ['skip', 'imports', 'functions', 'parameters', 'pipeline-metrics', 'pipeline-outputs'];
const ROLE_ALIASES: Record<string, string> = { 'pipeline-parameters': 'parameters' };
const SPECIAL = new Set([...ROLE_ORDER, 'pipeline-parameters']);

/** What a cell's tags say about the pipeline, plus the tags that are not ours. */
export interface ICellTags {
  /** `step` or `block`: kept when the cell already used one. */
  prefix: string;
  step: string;
  after: string[];
  /** '' (step code) or a special tag. */
  role: string;
  /** The exact spelling of the role tag found (e.g. `pipeline-parameters`), kept on save. */
  roleSpelling: string;
  /** Tags that are not pipeline tags, kept as they are. */
  others: string[];
  /** Problems the exporter would report with the tags as found. */
  problems: string[];
}

export function parseTags(tags: readonly string[]): ICellTags {
  const out: ICellTags = {
    prefix: 'step',
    step: '',
    after: [],
    role: '',
    roleSpelling: '',
    others: [],
    problems: []
  };
  const roles: string[] = [];
  for (const raw of tags) {
    const tag = String(raw).trim();
    const step = STEP_TAG.exec(tag);
    const prev = PREV_TAG.exec(tag);
    if (step) {
      if (out.step) {
        out.problems.push(`two step tags (${out.step} and ${step[1].trim()}); keep one`);
      } else {
        out.step = step[1].trim();
        out.prefix = tag.startsWith('block:') ? 'block' : 'step';
      }
    } else if (prev) {
      out.after.push(prev[1].trim());
    } else if (SPECIAL.has(tag)) {
      roles.push(tag);
    } else if (tag) {
      out.others.push(tag);
    }
  }
  for (const role of ROLE_ORDER) {
    const found = roles.find(r => (ROLE_ALIASES[r] ?? r) === role);
    if (found) {
      out.role = role;
      out.roleSpelling = found;
      break;
    }
  }
  return out;
}

/** The tags to write for an edited form. Pipeline tags first, other tags kept. */
export function serializeTags(value: {
  prefix: string;
  step: string;
  after: string[];
  role: string;
  roleSpelling?: string;
  others: string[];
}): string[] {
  const tags: string[] = [];
  if (value.role) {
    tags.push(
      value.roleSpelling && (ROLE_ALIASES[value.roleSpelling] ?? value.roleSpelling) === value.role
        ? value.roleSpelling
        : value.role
    );
  } else {
    if (value.step.trim()) {
      tags.push(`${value.prefix}:${value.step.trim()}`);
    }
    for (const a of value.after) {
      if (!tags.includes(`prev:${a}`)) {
        tags.push(`prev:${a}`);
      }
    }
  }
  return [...tags, ...value.others.filter(t => !tags.includes(t))];
}

/** The name export gives a step tag value (notebook.py `_tag_name`), or why it is refused. */
export function checkName(value: string): { name?: string; error?: string } {
  const v = value.trim();
  if (!NAME.test(v)) {
    return {
      error: v
        ? `"${v}" is not a step name: letters, digits, _ or -, not starting with a digit`
        : 'a step name is needed'
    };
  }
  let name = v.replace(/-/g, '_').toLowerCase();
  if (PY_KEYWORDS.has(name) || name === 'run' || name === 'main') {
    name += '_';
  }
  return { name };
}

/** Splits the "runs after" field: names separated by commas or spaces. */
export function splitNames(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map(s => s.trim())
    .filter(Boolean);
}

/** `%%step NAME [--after A B]` on the first line: its words, or null. */
export function stepMagic(source: string): { name: string; after: string[] } | null {
  const first = source.split('\n', 1)[0].trim();
  const m = /^%%step(?:\s+(.*))?$/.exec(first);
  if (!m) {
    return null;
  }
  const words = (m[1] ?? '').split(/\s+/).filter(Boolean).map(w => w.replace(/^['"]|['"]$/g, ''));
  const name = words[0] && !words[0].startsWith('-') ? words[0] : '';
  const i = words.indexOf('--after');
  return { name, after: i >= 0 ? words.slice(i + 1) : [] };
}

/** Step names (as exported) declared anywhere in the notebook, by tag or `%%step`. */
export function notebookSteps(
  cells: { type: string; tags: readonly string[]; source: string }[]
): string[] {
  const names: string[] = [];
  const add = (value: string): void => {
    const { name } = checkName(value);
    if (name && !names.includes(name)) {
      names.push(name);
    }
  };
  for (const cell of cells) {
    if (cell.type !== 'code') {
      continue;
    }
    for (const tag of cell.tags) {
      const m = STEP_TAG.exec(String(tag).trim());
      if (m) {
        add(m[1]);
      }
    }
    const magic = stepMagic(cell.source);
    if (magic?.name) {
      add(magic.name);
    }
  }
  return names;
}

export interface IValidation {
  step?: string;
  after?: string;
  /** Not errors: export works, but the user may not expect the result. */
  notes: string[];
  ok: boolean;
}

/** Checks the form as the exporter would (notebook.py `_plan_tagged`, dataflow.py `_edges`). */
export function validate(
  form: { step: string; after: string[]; role: string },
  context: { magic: { name: string; after: string[] } | null; known: string[] }
): IValidation {
  const result: IValidation = { notes: [], ok: true };
  if (form.role) {
    return result;
  }
  let own: string | undefined;
  if (form.step.trim()) {
    const checked = checkName(form.step);
    if (checked.error) {
      result.step = checked.error;
    } else {
      own = checked.name;
      if (checked.name !== form.step.trim()) {
        result.notes.push(`exported as step "${checked.name}"`);
      }
      const magicName = context.magic?.name ? checkName(context.magic.name).name : undefined;
      if (magicName && magicName !== own) {
        result.step = `the cell's %%step line says "${magicName}"; the tag must agree (or leave it empty)`;
      }
    }
  } else if (context.magic?.name) {
    own = checkName(context.magic.name).name;
  } else if (form.after.length) {
    result.notes.push('no step name: the "runs after" steps apply to the step this cell continues');
  }
  const afterErrors: string[] = [];
  for (const a of form.after) {
    const checked = checkName(a);
    if (checked.error) {
      afterErrors.push(checked.error);
    } else if (own && checked.name === own) {
      afterErrors.push(`step "${own}" cannot run after itself`);
    } else if (checked.name && !context.known.includes(checked.name)) {
      result.notes.push(`no step "${checked.name}" in this notebook yet: export fails until one exists`);
    }
  }
  if (afterErrors.length) {
    result.after = afterErrors.join('; ');
  }
  result.ok = !result.step && !result.after;
  return result;
}
