/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, newlines and doubled quotes) into rows of cells.
 * Lenient, for previews: a cut-off last line or a stray quote still gives rows.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * A table artifact's preview as the SDK writes it: an optional "N rows × M columns: ..." line, then CSV (header
 * first). Answers the caption and the rows, or undefined when the text is not a table.
 */
export function parseTablePreview(preview: string): { caption?: string; header: string[]; rows: string[][] } | undefined {
  let text = preview.replace(/…$/, '');
  let caption: string | undefined;
  const firstLine = /^([^\n]*)\n/.exec(text)?.[1];
  if (firstLine !== undefined && /^\d+ rows × \d+ columns/.test(firstLine)) {
    caption = firstLine;
    text = text.slice(firstLine.length + 1);
  }
  const [header, ...rows] = parseCsv(text);
  if (!header || header.length < 1 || (header.length === 1 && rows.length === 0)) return undefined;
  return { caption, header, rows };
}
