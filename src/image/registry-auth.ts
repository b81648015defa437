// What a registry's 401 asks for: parsing WWW-Authenticate challenges (RFC 7235: a scheme, then
// comma-separated name=value or name="quoted value" parameters, possibly several challenges in one
// header) and the scopes of the token-auth protocol (`repository:lab/busybox:pull,push`). Pure.

export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lower case (`realm`, `service`, `scope`, `error`), values as sent. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Every challenge in a WWW-Authenticate header value. Malformed parts end the parse, not the program. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: RegExp) => {
    while (i < n && chars.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let value = '';
    i++; // the opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // the closing quote (or past the end)
    return value;
  };
  // Bounded: every pass of each loop consumes at least one character or stops.
  while (i < n) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[ \t]/);
      const mark = i;
      const name = token();
      skip(/[ \t]/);
      if (!name || header[i] !== '=') {
        i = mark; // not a parameter: the start of the next challenge (or the end)
        break;
      }
      i++;
      skip(/[ \t]/);
      const value = header[i] === '"' ? quoted() : token();
      challenge.params[name.toLowerCase()] = value;
      skip(/[ \t]/);
      if (header[i] !== ',') break;
      // A comma ends this parameter; the next one, or the next challenge, follows.
      i++;
      skip(/[\s]/);
      const look = i;
      token();
      skip(/[ \t]/);
      const nextIsParam = header[i] === '=';
      i = look;
      if (!nextIsParam) break;
    }
  }
  return out;
}

/** The token-auth scope for a repository: `repository:lab/busybox:pull,push`. */
export const repositoryScope = (repository: string, actions: readonly string[]) => `repository:${repository}:${actions.join(',')}`;

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * One scope string (`repository:lab/busybox:pull,push`; the name may hold a registry port's colon, so
 * the type is up to the first colon and the actions after the last).
 */
export function parseScope(scope: string): Scope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

/** The scope parameter of a challenge may hold several scopes separated by spaces. */
export const scopesOf = (challenge: Challenge): string[] => (challenge.params.scope ?? '').split(' ').filter(Boolean);
