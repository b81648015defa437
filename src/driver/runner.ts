// The runner is the only code that executes kernel commands. It logs every command it runs to the
// cluster's transcript (one JSON line each) so `kubelab explain` and `--transcript` can show and
// replay exactly what was done. Errors carry the command, the exit status and the output.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { execa } from 'execa';
import { type Cmd, renderShell, resolveArgv } from './command.ts';

export class CommandError extends Error {
  constructor(
    readonly cmd: Cmd,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`${cmd.why}: command failed (exit ${exitCode ?? 'signal'})`);
    this.name = 'CommandError';
  }

  /** The block the CLI prints: what failed, the command and its output. */
  describe(): string {
    return [`command: ${renderShell(this.cmd)}`, `output: ${(this.stderr || this.stdout).trim()}`].join('\n');
  }
}

export interface TranscriptEntry {
  ts: string;
  component: string;
  netns?: string;
  owner?: string;
  why: string;
  argv: string[];
  input?: string;
  exit: number;
  ms: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface Runner {
  run(cmd: Cmd): Promise<RunResult>;
  /**
   * Starts a long-running process (a daemon, a container) in its own session, so it outlives its
   * parent and can be stopped as a process group; logged to the transcript like any command.
   */
  spawn(cmd: Cmd, opts: SpawnOptions): ChildProcess;
  /** Runs commands in order, stopping at the first failure. */
  runAll(cmds: Cmd[]): Promise<void>;
  /**
   * Runs a command to its end with its output handed over as it comes (a build step's RUN), and
   * resolves with its exit status (128+signal when killed); logged to the transcript like any command.
   */
  stream(cmd: Cmd, opts: StreamOptions): Promise<number>;
}

export interface StreamOptions {
  env: Record<string, string>;
  onOutput: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Aborting kills the command's process group (the build was interrupted). */
  signal?: AbortSignal;
}

export interface RunnerOptions {
  /** The transcript file; none for read-only probes. */
  transcript?: string;
  /** Which part of kubelab runs the command (cli, node/node1, apiserver ...). */
  component: string;
  /** Print each command to stderr as it runs (`-v`). */
  echo?: boolean;
}

export function createRunner(opts: RunnerOptions): Runner {
  if (opts.transcript) mkdirSync(path.dirname(opts.transcript), { recursive: true });

  async function run(cmd: Cmd): Promise<RunResult> {
    const argv = resolveArgv(cmd);
    if (opts.echo) process.stderr.write(`+ ${renderShell(cmd)}\n`);
    const started = performance.now();
    const result = await execa(which(argv[0]!), argv.slice(1), {
      input: cmd.input,
      reject: false,
      stripFinalNewline: false,
      env: { LC_ALL: 'C' },
    });
    const exitCode = result.exitCode ?? -1;
    const ok =
      exitCode === 0 ||
      (cmd.okExit?.includes(exitCode) ?? false) ||
      (cmd.okStderr !== undefined && cmd.okStderr.test(result.stderr));
    record(cmd, argv, exitCode, Math.round((performance.now() - started) * 10) / 10);
    if (!ok) throw new CommandError(cmd, result.exitCode, String(result.stderr), String(result.stdout));
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode };
  }

  function record(cmd: Cmd, argv: string[], exit: number, ms: number) {
    if (!opts.transcript || cmd.readOnly) return;
    const entry: TranscriptEntry = { ts: new Date().toISOString(), component: opts.component, netns: cmd.netns, owner: cmd.owner, why: cmd.why, argv, input: cmd.input, exit, ms };
    appendFileSync(opts.transcript, JSON.stringify(entry) + '\n');
  }

  function spawnProcess(cmd: Cmd, sopts: SpawnOptions): ChildProcess {
    const argv = resolveArgv(cmd);
    if (opts.echo) process.stderr.write(`+ ${renderShell(cmd)} &\n`);
    mkdirSync(path.dirname(sopts.logFile), { recursive: true });
    const fd = openSync(sopts.logFile, 'a');
    try {
      // The program is found on kubelab's own PATH, not on the PATH given to the child (an image's).
      const child = spawn(which(argv[0]!), argv.slice(1), { env: sopts.env, detached: true, stdio: ['ignore', fd, fd] });
      record(cmd, argv, 0, 0);
      return child;
    } finally {
      closeSync(fd);
    }
  }

  function stream(cmd: Cmd, sopts: StreamOptions): Promise<number> {
    const argv = resolveArgv(cmd);
    if (opts.echo) process.stderr.write(`+ ${renderShell(cmd)}\n`);
    const started = performance.now();
    const child = spawn(which(argv[0]!), argv.slice(1), { env: sopts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => sopts.onOutput(d, 'stdout'));
    child.stderr!.on('data', (d: Buffer) => sopts.onOutput(d, 'stderr'));
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    sopts.signal?.addEventListener('abort', kill, { once: true });
    return new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, sig) => {
        sopts.signal?.removeEventListener('abort', kill);
        const exit = code ?? 128 + (sig ? (os.constants.signals[sig] ?? 0) : 0);
        record(cmd, argv, exit, Math.round((performance.now() - started) * 10) / 10);
        resolve(exit);
      });
    });
  }

  return {
    run,
    stream,
    spawn: spawnProcess,
    async runAll(cmds) {
      for (const c of cmds) await run(c);
    },
  };
}

/** The absolute path of a program on this process's PATH (as is when it already has a slash). */
export function which(program: string): string {
  if (program.includes('/')) return program;
  // npm's node_modules/.bin is never searched: it holds an unrelated "nft".
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => !d.includes('node_modules/.bin'))) {
    const candidate = path.join(dir, program);
    if (existsSync(candidate)) return candidate;
  }
  return program;
}

/** Reads JSON that `ip -j` prints. */
export function parseJson<T>(text: string): T {
  const trimmed = text.trim();
  return (trimmed ? JSON.parse(trimmed) : []) as T;
}
