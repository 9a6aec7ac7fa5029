/**
 * A tiny Markdown reader for model cards: headings, tables, lists and paragraphs, with
 * bold / italic / code spans. It produces plain structures that the views render as
 * React text nodes, so no text from a card ever becomes HTML.
 *
 * Cards come HTML-escaped (`&lt;`) and Markdown-escaped (`\(`); both are undone here
 * because the result is shown as text.
 */

export type Inline = { text: string; style?: 'strong' | 'em' | 'code' };

export type Block =
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'list'; items: Inline[][] }
  | { kind: 'table'; header: Inline[][]; rows: Inline[][][] };

const ENTITIES: Record<string, string> = {
  '&lt;': '<',
  '&gt;': '>',
  '&amp;': '&',
  '&quot;': '"',
  '&#39;': "'",
  '&#x27;': "'",
  '&nbsp;': ' '
};

/** Plain text of an escaped Markdown fragment. */
export function unescapeText(text: string): string {
  return text
    .replace(/\\([\\`*_{}[\]()#+\-.!|<>~])/g, '$1')
    .replace(/&(lt|gt|amp|quot|nbsp|#39|#x27);/g, m => ENTITIES[m] ?? m);
}

/** Splits a line into text / **strong** / _em_ / `code` spans (escapes respected). */
export function parseInline(line: string): Inline[] {
  const out: Inline[] = [];
  const pattern = /(\\.)|(`[^`]+`)|(\*\*(?:\\.|[^*])+\*\*)|(_(?:\\.|[^_])+_)|(\*(?:\\.|[^*])+\*)/g;
  let plain = '';
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(line))) {
    plain += line.slice(last, match.index);
    last = pattern.lastIndex;
    if (match[1]) {
      plain += match[1]; // an escaped character stays plain text
      continue;
    }
    if (plain) {
      out.push({ text: unescapeText(plain) });
      plain = '';
    }
    const token = match[0];
    if (match[2]) {
      out.push({ text: unescapeText(token.slice(1, -1)), style: 'code' });
    } else if (match[3]) {
      out.push({ text: unescapeText(token.slice(2, -2)), style: 'strong' });
    } else {
      out.push({ text: unescapeText(token.slice(1, -1)), style: 'em' });
    }
  }
  plain += line.slice(last);
  if (plain) {
    out.push({ text: unescapeText(plain) });
  }
  return out;
}

/** Cells of a `| a | b |` line; `\|` does not split. */
function splitRow(line: string): string[] {
  const body = line.trim().replace(/^\|/, '').replace(/(?<!\\)\|$/, '');
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\' && i + 1 < body.length) {
      cell += ch + body[i + 1];
      i++;
    } else if (ch === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell.trim());
  return cells;
}

const isTableLine = (line: string) => line.trim().startsWith('|');
const isRule = (line: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);

/** Raw tags the card generator itself writes (user text arrives escaped as `&lt;`). */
const GENERATOR_TAGS = /<\/?(sub|sup|small|span|br)\s*\/?>/gi;

export function parseMarkdown(source: string): Block[] {
  const lines = (source ?? '')
    .replace(GENERATOR_TAGS, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      blocks.push({
        kind: 'heading',
        level: heading[1].length,
        content: parseInline(heading[2])
      });
      i++;
      continue;
    }
    if (isTableLine(line)) {
      const rows: string[][] = [];
      while (i < lines.length && isTableLine(lines[i])) {
        if (!isRule(lines[i])) {
          rows.push(splitRow(lines[i]));
        }
        i++;
      }
      const [header = [], ...body] = rows;
      blocks.push({
        kind: 'table',
        header: header.map(parseInline),
        rows: body.map(r => r.map(parseInline))
      });
      continue;
    }
    if (/^\s*[-*+]\s+/.test(line)) {
      const items: Inline[][] = [];
      while (i < lines.length && /^\s*[-*+]\s+/.test(lines[i])) {
        items.push(parseInline(lines[i].replace(/^\s*[-*+]\s+/, '')));
        i++;
      }
      blocks.push({ kind: 'list', items });
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !/^#{1,6}\s/.test(lines[i]) &&
      !isTableLine(lines[i]) &&
      !/^\s*[-*+]\s+/.test(lines[i])
    ) {
      para.push(lines[i].trim());
      i++;
    }
    blocks.push({ kind: 'paragraph', content: parseInline(para.join(' ')) });
  }
  return blocks;
}
