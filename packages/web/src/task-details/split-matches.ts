/** A piece of text and whether it matches the searched text. */
export interface TextPart {
  text: string;
  isMatch: boolean;
}

/** Cuts `text` around every occurrence of `query`, ignoring case (as the server's console search does). */
export function splitMatches(text: string, query: string): TextPart[] {
  if (!query) return [{ text, isMatch: false }];
  const haystack = text.toLowerCase();
  const needle = query.toLowerCase();
  const parts: TextPart[] = [];
  let from = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) {
    if (at > from) parts.push({ text: text.slice(from, at), isMatch: false });
    parts.push({ text: text.slice(at, at + needle.length), isMatch: true });
    from = at + needle.length;
  }
  if (from < text.length || parts.length === 0) parts.push({ text: text.slice(from), isMatch: false });
  return parts;
}
