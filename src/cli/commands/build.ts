// `kubelab build`: a Dockerfile into the local image store the pods run from, and optionally out as
// an OCI image layout, a docker-archive, or into a running Docker engine (--load). The builder is
// src/build; this verb only turns flags into its options and prints the result.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildNetwork, type BuildResult } from '../../build/builder.ts';
import { createRunner } from '../../driver/runner.ts';
import { dockerClient, loadIntoDocker } from '../../image/docker-engine.ts';
import { writeDockerArchive, writeOciLayout } from '../../image/export.ts';
import { ImageStore } from '../../image/store.ts';
import { hostNetns } from '../../naming.ts';
import { podResolvConf } from '../../node/podnet.ts';
import { readConfig } from '../../provider/config.ts';
import { clusterName, out, progress } from '../context.ts';

export interface BuildFlags {
  name?: string;
  verbose?: boolean;
  tag: string[];
  file?: string;
  target?: string;
  buildArg: string[];
  noCache?: boolean;
  network?: string;
  output: string[];
  load?: boolean;
  dockerHost?: string;
  json?: boolean;
  quiet?: boolean;
}

type Output = { type: 'oci'; dir: string } | { type: 'docker-archive'; file: string };

/** `--output oci:DIR` or `--output docker-archive:FILE` (also BuildKit's `type=oci,dest=DIR`). */
export function parseOutput(spec: string): Output {
  const m = /^type=([a-z-]+),dest=(.+)$/.exec(spec) ?? /^([a-z-]+):(.+)$/.exec(spec);
  if (!m) throw new Error(`--output ${spec}: expected oci:DIR or docker-archive:FILE`);
  const [, type, dest] = m as unknown as [string, string, string];
  if (type === 'oci') return { type: 'oci', dir: dest };
  if (type === 'docker-archive' || type === 'docker') return { type: 'docker-archive', file: dest };
  throw new Error(`--output ${spec}: unknown output type ${JSON.stringify(type)} (oci or docker-archive)`);
}

function parseBuildArgs(list: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new Error(`--build-arg ${a}: expected NAME=value`);
    // Docker: `--build-arg NAME` takes the value from the environment.
    if (eq < 0) {
      if (process.env[a] !== undefined) args[a] = process.env[a]!;
    } else args[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return args;
}

/** `--network lab`: RUN steps join a node of the cluster (its pods, services and DNS answer). */
function labNetwork(cluster: string): BuildNetwork {
  const cfg = readConfig(cluster);
  const node = cfg.nodes.find((n) => n.role !== 'control-plane') ?? cfg.nodes[0]!;
  return {
    mode: 'lab',
    netns: `/run/netns/${hostNetns(cluster, node.name)}`,
    resolvConf: podResolvConf('default'), // what a pod of the default namespace gets
  };
}

export async function buildCommand(context: string, flags: BuildFlags): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('kubelab build needs root: RUN steps run in containers (namespaces, overlayfs)');
  const outputs = flags.output.map(parseOutput);
  if (flags.network !== undefined && !['none', 'default', 'lab'].includes(flags.network)) throw new Error(`--network ${flags.network}: expected none (the default) or lab`);
  const network = flags.network === 'lab' ? labNetwork(clusterName(flags)) : undefined;
  const store = new ImageStore();
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const log = flags.quiet ? () => {} : progress;
  let result: BuildResult;
  try {
    result = await build({
      store,
      runner: createRunner({ component: 'build', transcript: path.join(store.root, 'build-transcript.jsonl'), echo: flags.verbose }),
      context,
      dockerfile: flags.file === '-' ? undefined : flags.file,
      dockerfileText: flags.file === '-' ? readFileSync(0, 'utf8') : undefined,
      tags: flags.tag,
      target: flags.target,
      buildArgs: parseBuildArgs(flags.buildArg),
      noCache: flags.noCache,
      network,
      progress: log,
      signal: controller.signal,
      epoch: process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : undefined,
      sourceOptions: flags.dockerHost ? { dockerSocket: flags.dockerHost } : {},
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  for (const o of outputs) {
    if (o.type === 'oci') {
      await writeOciLayout(store, result.tags, o.dir);
      log(`exported ${result.tags.join(', ')} to the OCI layout ${o.dir}`);
    } else {
      await writeDockerArchive(store, result.tags, o.file);
      log(`exported ${result.tags.join(', ')} to the docker-archive ${o.file}`);
    }
  }
  if (flags.load) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'kubelab-load-'));
    try {
      const archive = path.join(tmp, 'image.tar');
      await writeDockerArchive(store, result.tags, archive);
      const loaded = await loadIntoDocker(dockerClient(flags.dockerHost), archive);
      log(`loaded into the Docker engine: ${loaded.join(', ')}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const img = result.image;
  if (flags.json) {
    out(
      JSON.stringify(
        {
          schema: 'kubelab.build/v1',
          ref: result.ref,
          tags: result.tags,
          digest: img.digest,
          config: img.manifest.config.digest,
          layers: img.layers.map((l) => ({ digest: l.digest, diffID: l.diffID, size: l.size })),
          steps: result.steps,
          warnings: result.warnings,
          durationMs: result.durationMs,
        },
        null,
        2,
      ) + '\n',
    );
  } else out(`${result.tags.join(' ')} ${img.digest}\n`);
}
