// Commands are data. Builders anywhere in kubelab return Cmd values; only the runner executes them.
// A Cmd names the network namespace it belongs in, so nothing runs in the host's namespace by accident.

export interface Cmd {
  /** The program and its arguments, as a person would type them inside the namespace. */
  argv: string[];
  /** The kubelab network namespace to run in. Omitted only for commands that are not about networking. */
  netns?: string;
  /** Text fed to the command's standard input (ip -batch, iptables-restore, nft -f -). */
  input?: string;
  /** Why this command runs, in words a learner can read in the transcript. */
  why: string;
  /** The object this command serves, e.g. `pod/default/web-1` or `node/node1`: `explain` filters on it. */
  owner?: string;
  /** Exit statuses that count as success (e.g. a delete of something already gone). */
  okExit?: number[];
  /** stderr patterns that count as success ("absent counts as success"). */
  okStderr?: RegExp;
  /** A read-only probe of kernel state (ip -j ... show): run, but kept out of the transcript. */
  readOnly?: boolean;
}

/** The argv actually executed: `ip` gets `-n NS`, everything else goes through `ip netns exec NS`. */
export function resolveArgv(cmd: Cmd): string[] {
  if (!cmd.netns) return cmd.argv;
  if (cmd.argv[0] === 'ip') return ['ip', '-n', cmd.netns, ...cmd.argv.slice(1)];
  return ['ip', 'netns', 'exec', cmd.netns, ...cmd.argv];
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A runnable shell rendering of a command, here-document included: what `--transcript` prints. */
export function renderShell(cmd: Cmd): string {
  const line = resolveArgv(cmd).map(shellQuote).join(' ');
  if (cmd.input === undefined) return line;
  const body = cmd.input.endsWith('\n') ? cmd.input : `${cmd.input}\n`;
  return `${line} <<'KUBELAB_EOF'\n${body}KUBELAB_EOF`;
}

/** A batch of `ip` commands for one namespace, applied in one process by `ip -batch -`. */
export function ipBatch(netns: string | undefined, lines: string[][], why: string, owner?: string): Cmd {
  return {
    argv: ['ip', '-batch', '-'],
    netns,
    input: lines.map((l) => l.join(' ')).join('\n') + '\n',
    why,
    owner,
  };
}
