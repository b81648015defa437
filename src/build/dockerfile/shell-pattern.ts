// The glob patterns of `${v#p}`, `${v%p}` and `${v/p/r}`: `*` any run of characters, `?` one
// character, `\*` `\?` `\\` literal, no bracket expressions (BuildKit's convertShellPatternToRegex).
// We compile them to JS regular expressions that behave like the Go ones BuildKit builds, and copy
// the Go regexp behaviours that show through (`.` never matches a newline, ReplaceAllString's rules
// for empty matches and for `$0` in the replacement). Pure code.

/** Characters a Go regexp needs escaped; all of them are also syntax characters for a JS RegExp. */
const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);
/** Go's `.`: any character except a newline. */
const ANY = '[^\\n]';

/**
 * Compiles a shell pattern. `greedy` picks the longest match for `*` (`##`, `%%`, replacements),
 * `anchored` ties it to the start (`#`, and `%` on reversed text). Throws on a bad escape.
 */
export function compileShellPattern(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? `${ANY}*` : `${ANY}*?`;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      out += star;
    } else if (ch === '?') {
      out += ANY;
    } else if (ch === '\\') {
      const next = chars[i + 1];
      // `\}` and `\/` only protect the brace or slash from ending the ${...}; they are literal here.
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') throw new Error(`invalid escape '\\${next ?? ''}'`);
      out += '\\' + next;
      i++;
    } else if (REGEX_SPECIAL.has(ch)) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return new RegExp(out, 'u');
}

/**
 * Reverses a pattern but keeps each `\x` escape pair in order (`a\*c` → `c\*a`), so that a suffix
 * can be trimmed as a prefix of the reversed value.
 */
export function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const last = chars.length - 1;
  const out: string[] = new Array(chars.length);
  for (let i = 0; i <= last; ) {
    const ch = chars[i]!;
    if (ch === '\\' && i !== last) {
      out[last - i - 1] = ch;
      out[last - i] = chars[i + 1]!;
      i += 2;
    } else {
      out[last - i] = ch;
      i++;
    }
  }
  return out.join('');
}

/**
 * Go's Regexp.ReplaceAllString: an empty match right after a previous match is not replaced, and
 * the replacement is a template where `$0`/`${0}` is the match, `$$` a dollar, and any other
 * `$name` empty (our patterns have no groups).
 */
export function goReplaceAll(re: RegExp, src: string, template: string): string {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    g.lastIndex = searchPos;
    const m = g.exec(src);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += src.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expandTemplate(template, m[0]);
    lastMatchEnd = end;
    const width = searchPos < src.length ? (src.codePointAt(searchPos)! > 0xffff ? 2 : 1) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + src.slice(lastMatchEnd);
}

function expandTemplate(template: string, whole: string): string {
  let out = '';
  let rest = template;
  for (;;) {
    const i = rest.indexOf('$');
    if (i < 0) break;
    out += rest.slice(0, i);
    rest = rest.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = templateReference(rest);
    if (!ref) {
      out += '$'; // malformed: the dollar is kept as text
      continue;
    }
    rest = ref.rest;
    if (ref.name === '0') out += whole;
  }
  return out + rest;
}

function templateReference(s: string): { name: string; rest: string } | undefined {
  const m = /^(\{?)([\p{L}\p{Nd}_]+)/u.exec(s);
  if (!m) return undefined;
  const brace = m[1] === '{';
  let rest = s.slice(m[0].length);
  if (brace) {
    if (!rest.startsWith('}')) return undefined;
    rest = rest.slice(1);
  }
  return { name: m[2]!, rest };
}
