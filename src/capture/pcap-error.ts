// The one error type a bad capture file produces. It always names the file, the byte offset
// where the problem was found and, once the global header has been read, the record index.

export interface PcapErrorDetails {
  /** File name (or a label such as "<buffer>") the bytes came from. */
  file: string;
  /** Byte offset in the file where the bad field starts. */
  offset: number;
  /** Zero-based index of the record at fault; undefined for global-header problems. */
  record?: number;
}

export class PcapError extends Error {
  readonly file: string;
  readonly offset: number;
  readonly record: number | undefined;
  /** The problem without the location prefix, for callers that format their own message. */
  readonly reason: string;

  constructor(reason: string, details: PcapErrorDetails) {
    const where = details.record === undefined
      ? `${details.file}: byte ${details.offset}`
      : `${details.file}: record ${details.record} at byte ${details.offset}`;
    super(`${where}: ${reason}`);
    this.name = 'PcapError';
    this.file = details.file;
    this.offset = details.offset;
    this.record = details.record;
    this.reason = reason;
  }
}
