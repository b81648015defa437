// The start of an HTTP/1.x message in a TCP payload: a request line plus its Host header, or a
// status line. Anything else (a body, a continuation, TLS) is simply not HTTP here: the caller
// gets null, not an error, because most TCP segments do not start a message.

import type { HttpLayer } from './types.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** Request and header lines longer than this are not worth reporting in a packet walk. */
const MAX_HEAD_BYTES = 8192;
const REQUEST_LINE = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/;
const STATUS_LINE = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/;

export function decodeHttp(buf: Buffer, offset: number, end: number, depth: number): HttpLayer | null {
  const head = buf.toString('latin1', offset, Math.min(end, offset + MAX_HEAD_BYTES));
  const lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) return null;
  const firstLine = head.slice(0, lineEnd);
  const base = { layer: 'http' as const, offset, size: end - offset, depth, firstLine };

  const status = STATUS_LINE.exec(firstLine);
  if (status) {
    return { ...base, kind: 'response', version: status[1]!, status: Number(status[2]), reason: status[3] ?? '' };
  }
  const request = REQUEST_LINE.exec(firstLine);
  if (!request || !METHODS.has(request[1]!)) return null;
  const layer: HttpLayer = { ...base, kind: 'request', method: request[1]!, target: request[2]!, version: request[3]! };
  const headersEnd = head.indexOf('\r\n\r\n');
  const headerLines = head.slice(lineEnd + 2, headersEnd < 0 ? head.length : headersEnd).split('\r\n');
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === 'host') {
      layer.host = line.slice(colon + 1).trim();
      break;
    }
  }
  return layer;
}
