// What every CLI verb needs: the cluster it talks to, the API client, and how results and errors
// are printed (stdout carries results, stderr progress and errors, printed once).
import { ApiError } from '../api/client.ts';
import { CommandError } from '../driver/runner.ts';
import { ManifestError } from '../manifests/load.ts';
import { apiClient } from '../provider/embedded/cluster.ts';
import { readConfig } from '../provider/config.ts';

export const DEFAULT_CLUSTER = 'lab';

export function clusterName(opts: { name?: string }): string {
  return opts.name ?? process.env.KUBELAB_NAME ?? DEFAULT_CLUSTER;
}

export function connect(name: string) {
  readConfig(name); // a clear "cluster is not up" error before any socket error
  return apiClient(name);
}

export const out = (text: string) => void process.stdout.write(text);
export const progress = (line: string) => void process.stderr.write(`${line}\n`);

/** Prints an error once, in the form STYLE.md shows, and sets the exit status. */
export function reportError(e: unknown, verbose: boolean): void {
  if (e instanceof ManifestError) {
    process.stderr.write(`error: nothing was applied: ${e.problems.length} problem(s)\n${e.problems.map((p) => `  ${p}`).join('\n')}\n`);
  } else if (e instanceof ApiError) {
    process.stderr.write(`error: ${e.status?.message ?? e.message}\n`);
  } else if (e instanceof CommandError) {
    process.stderr.write(`error: ${e.message}\n${e.describe()}\n`);
  } else if (e instanceof Error) {
    process.stderr.write(`error: ${e.message}\n`);
    const cause = (e as any).cause;
    if (cause instanceof CommandError) process.stderr.write(`${cause.describe()}\n`);
  } else process.stderr.write(`error: ${String(e)}\n`);
  if (verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}
