// The builder: a parsed Dockerfile in, an image in the local store out. It walks the stages the
// target needs, in order, and dispatches each instruction as BuildKit's Dockerfile frontend does:
//   FROM      the base (scratch, an earlier stage, the store, a layout, an archive, the Docker
//             engine, a registry), then the base image's ONBUILD triggers
//   RUN       kubelab's container runtime over the image so far (./run.ts): its upper dir is a layer
//   COPY/ADD  the context (less .dockerignore), another stage, an image, a URL (./copy.ts): a layer
//   WORKDIR   a layer when it creates the directory
//   the rest  image config and history only (./image-config.ts)
// Every step that makes a layer is looked up in the build cache first (./cache.ts). What a build
// leaves is the image and its cache entries: its scratch directory goes when it ends, however it ends.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Runner } from '../driver/runner.ts';
import { tarDirectory, type LayerBlob } from '../image/layers.ts';
import { RootfsView } from '../image/rootfs-view.ts';
import { resolveImageSource } from '../image/sources.ts';
import { normalizeRef, type ImageStore, type OciImageConfig, type StoredImage } from '../image/store.ts';
import { ensureLabImages, LAB_IMAGE_REFS } from '../runtime/lab-images.ts';
import { alive, startTime } from '../util/proc.ts';
import { BuildCache, stepKey, type CachedLayer } from './cache.ts';
import { BuildContext, matchSources, sourceDigest, type MatchedSource, type SourceTree } from './context.ts';
import { copyHeredoc, copySources, download, ensureDir, placeDownload, type Downloaded, type Owner } from './copy.ts';
import {
  DockerfileError,
  expandHeredocContent,
  expandWord,
  expandWords,
  flagBool,
  flagString,
  parseDockerfile,
  type Dockerfile,
  type Instruction,
  type InstructionOf,
  type Stage,
} from './dockerfile/index.ts';
import {
  addHistory,
  baseConfig,
  checkSignal,
  envMap,
  exposedPorts,
  goDuration,
  goQuoteList,
  scratchConfig,
  setEnv,
  shellOf,
} from './image-config.ts';
import { runStep, stepCredentials } from './run.ts';

/** ARGs every build has without declaring them (BuildKit's automatic platform args and proxies). */
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((a) => [a, a.toLowerCase()]);
const PLATFORM_ARGS: Record<string, string> = {
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
};

export type BuildNetwork = { mode: 'none' } | { mode: 'lab'; netns: string; resolvConf: string };

export interface BuildOptions {
  store: ImageStore;
  runner: Runner;
  /** The context directory. */
  context: string;
  /** The Dockerfile's path (default CONTEXT/Dockerfile); `text` overrides its content (`-f -`). */
  dockerfile?: string;
  dockerfileText?: string;
  tags?: string[];
  target?: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  network?: BuildNetwork;
  /** Progress lines, BuildKit's `--progress plain` style (stderr). */
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** Fixed creation time (SOURCE_DATE_EPOCH): reproducible configs. */
  epoch?: Date;
  /** Where FROM finds images outside the store (registry options, Docker engine socket). */
  sourceOptions?: Parameters<typeof resolveImageSource>[2];
}

export interface StepReport {
  /** BuildKit's vertex number in the progress output. */
  id: number;
  stage: string;
  /** `[stage 2/5]` */
  position: string;
  instruction: string;
  line: number;
  cached: boolean;
  layer?: string;
  durationMs: number;
}

export interface BuildResult {
  ref: string;
  tags: string[];
  image: StoredImage;
  steps: StepReport[];
  warnings: string[];
  durationMs: number;
}

/** A build failure: names the Dockerfile line when a step failed. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

interface StageState {
  stage: Stage;
  label: string;
  config: OciImageConfig;
  layers: CachedLayer[];
  /** The cache key of the filesystem so far. */
  key: string;
  /** ARGs in scope with their values, in declaration order. */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  view?: RootfsView;
  /**
   * When the newest layer was made (a cache entry keeps it): history entries and the image's
   * `created` take it, so a fully cached rebuild gives the very same image, as with BuildKit.
   */
  time?: string;
}

export class Builder {
  private readonly cache: BuildCache;
  private readonly steps: StepReport[] = [];
  private readonly warnings: string[] = [];
  private readonly usedArgs = new Set<string>();
  private readonly results = new Map<number, StageState>();
  private vertex = 0;
  private tmp!: string;
  private dockerfile!: Dockerfile;
  private context!: BuildContext;
  private globalArgs = new Map<string, string | undefined>();

  constructor(private readonly opts: BuildOptions) {
    this.cache = new BuildCache(opts.store);
  }

  private log(line: string): void {
    this.opts.progress?.(line);
  }

  private get buildArgs(): Record<string, string> {
    return this.opts.buildArgs ?? {};
  }

  async build(): Promise<BuildResult> {
    const started = Date.now();
    const dockerfilePath = path.resolve(this.opts.dockerfile ?? path.join(this.opts.context, 'Dockerfile'));
    // Errors name the Dockerfile as BuildKit does: by its path inside the context (`Dockerfile:7`).
    const inContext = path.relative(path.resolve(this.opts.context), dockerfilePath);
    const file = this.opts.dockerfileText !== undefined && !this.opts.dockerfile ? 'Dockerfile' : inContext.startsWith('..') ? dockerfilePath : inContext;
    let text = this.opts.dockerfileText;
    if (text === undefined) {
      if (!existsSync(dockerfilePath)) throw new BuildError(`failed to read the Dockerfile: ${dockerfilePath} does not exist`);
      text = readFileSync(dockerfilePath, 'utf8');
    }
    const v = ++this.vertex;
    this.log(`#${v} [internal] load build definition from ${path.basename(dockerfilePath)}`);
    this.dockerfile = parseDockerfile(text, file);
    this.log(`#${v} transferring dockerfile: ${Buffer.byteLength(text)}B done`);
    if (this.dockerfile.directives.syntax) this.log(`#${v} syntax=${this.dockerfile.directives.syntax}: kubelab's own frontend parses it`);
    for (const w of this.dockerfile.warnings) this.warn(`${file}:${w.line}: ${w.message}`);
    this.context = new BuildContext(path.resolve(this.opts.context), dockerfilePath);
    if (this.context.ignoreFile) this.log(`#${++this.vertex} [internal] load ${path.basename(this.context.ignoreFile)}`);

    this.tmp = this.scratchDir();
    try {
      this.globalArgs = this.metaArgs();
      const target = this.targetStage();
      for (const index of this.stagesNeeded(target)) await this.buildStage(this.dockerfile.stages[index]!);
      const result = await this.exportImage(this.results.get(target.index)!);
      const unused = Object.keys(this.buildArgs).filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
      if (unused.length) this.warn(`One or more build-args [${unused.join(' ')}] were not consumed`);
      return { ...result, steps: this.steps, warnings: this.warnings, durationMs: Date.now() - started };
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.log(`WARNING: ${message}`);
  }

  /** A scratch directory of this build; those of builds that died are swept first. */
  private scratchDir(): string {
    const root = path.join(this.opts.store.root, 'build-tmp');
    mkdirSync(root, { recursive: true });
    for (const d of readdirSync(root)) {
      const m = /^(\d+)-(\d+)-/.exec(d);
      if (m && !alive({ pid: Number(m[1]), startTime: Number(m[2]) })) rmSync(path.join(root, d), { recursive: true, force: true });
    }
    const dir = path.join(root, `${process.pid}-${startTime(process.pid)}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir);
    return dir;
  }

  // ---- stages and ARGs ------------------------------------------------------------------------

  /** ARGs before the first FROM, with --build-arg values, and the automatic platform args. */
  private metaArgs(): Map<string, string | undefined> {
    const args = new Map<string, string | undefined>(Object.entries(PLATFORM_ARGS));
    for (const ins of this.dockerfile.metaArgs) {
      for (const a of ins.args) {
        if (Object.hasOwn(this.buildArgs, a.name)) {
          args.set(a.name, this.buildArgs[a.name]);
          this.usedArgs.add(a.name);
        } else if (a.default !== undefined) args.set(a.name, this.expand(a.default, envOf(args), ins));
        else args.set(a.name, undefined);
      }
    }
    return args;
  }

  private targetStage(): Stage {
    const stages = this.dockerfile.stages;
    if (!stages.length) throw new BuildError(`${this.dockerfile.file}: no FROM instruction: nothing to build`);
    if (this.opts.target === undefined) return stages.at(-1)!;
    const t = stages.find((s) => s.name === this.opts.target!.toLowerCase());
    if (!t) throw new BuildError(`target stage ${JSON.stringify(this.opts.target)} could not be found (stages: ${stages.map((s) => s.name ?? `#${s.index}`).join(', ')})`);
    return t;
  }

  /** The stage named by FROM or COPY --from (a name or an index), if it is an earlier stage. */
  private stageRef(name: string, before: number): Stage | undefined {
    const lower = name.toLowerCase();
    const byName = this.dockerfile.stages.find((s) => s.name === lower && s.index < before);
    if (byName) return byName;
    if (/^\d+$/.test(name) && Number(name) < before) return this.dockerfile.stages[Number(name)];
    return undefined;
  }

  /** The stages the target needs (FROM another stage, COPY --from), dependencies first. */
  private stagesNeeded(target: Stage): number[] {
    const order: number[] = [];
    const seen = new Set<number>();
    const visit = (s: Stage): void => {
      if (seen.has(s.index)) return;
      seen.add(s.index);
      const base = this.stageRef(this.expandFrom(s.from), s.index);
      if (base) visit(base);
      for (const ins of s.instructions) {
        if (ins.kind !== 'COPY' && ins.kind !== 'ADD') continue;
        const from = flagString(ins.flags, 'from');
        const dep = from !== undefined ? this.stageRef(from, s.index) : undefined;
        if (dep) visit(dep);
      }
      order.push(s.index);
    };
    visit(target);
    return order;
  }

  private expandFrom(from: InstructionOf<'FROM'>): string {
    return this.expand(from.image, envOf(this.globalArgs), from);
  }

  private expand(word: string, env: Map<string, string>, ins: Instruction): string {
    try {
      return expandWord(word, env, { escape: this.dockerfile.directives.escape });
    } catch (e) {
      throw new DockerfileError(this.dockerfile.file, ins.loc.line, (e as Error).message);
    }
  }

  private expandAll(word: string, env: Map<string, string>, ins: Instruction): string[] {
    try {
      return expandWords(word, env, { escape: this.dockerfile.directives.escape });
    } catch (e) {
      throw new DockerfileError(this.dockerfile.file, ins.loc.line, (e as Error).message);
    }
  }

  /** What `$VAR` means in an instruction of the stage: its ARGs, overridden by its ENV. */
  private envFor(st: StageState): Map<string, string> {
    const env = envOf(st.args);
    for (const [k, v] of envMap(st.config.config?.Env)) env.set(k, v);
    return env;
  }

  /** The environment a RUN sees: the image's Env, plus the ARGs in scope that Env does not set. */
  private runEnv(st: StageState): string[] {
    const env = [...(st.config.config?.Env ?? [])];
    const names = new Set(envMap(env).keys());
    for (const [k, v] of st.args) if (v !== undefined && !names.has(k)) env.push(`${k}=${v}`);
    for (const p of PROXY_ARGS) if (Object.hasOwn(this.buildArgs, p) && !names.has(p) && !st.args.has(p)) env.push(`${p}=${this.buildArgs[p]}`);
    return env;
  }

  private fail(ins: Instruction, message: string): never {
    throw new BuildError(`${this.dockerfile.file}:${ins.loc.line}: ${ins.original.split('\n')[0]!.slice(0, 120)}: ${message}`, ins.loc.line);
  }

  // ---- a stage --------------------------------------------------------------------------------

  private async buildStage(stage: Stage): Promise<void> {
    const label = stage.name ?? `stage-${stage.index}`;
    const total = stage.instructions.length + 1;
    const position = (i: number) => (this.dockerfile.stages.length > 1 ? `${label} ${i}/${total}` : `${i}/${total}`);
    const st = await this.fromStage(stage, label, position(1));
    // The base image's ONBUILD triggers run first, as if written right after FROM.
    const triggers = st.config.config?.OnBuild ?? [];
    const onbuild = triggers.length ? this.parseTriggers(triggers, stage) : [];
    st.config = baseConfig(st.config);
    for (const ins of onbuild) await this.step(st, ins, `${position(1)} ONBUILD`);
    let i = 1;
    for (const ins of stage.instructions) await this.step(st, ins, position(++i));
    this.results.set(stage.index, st);
  }

  private parseTriggers(triggers: string[], stage: Stage): Instruction[] {
    return triggers.flatMap((t) => {
      try {
        const parsed = parseDockerfile(`FROM scratch\n${t}\n`, `${this.dockerfile.file} (ONBUILD of the base image)`);
        return parsed.stages[0]!.instructions.map((ins) => ({ ...ins, loc: stage.from.loc }));
      } catch (e) {
        throw new BuildError(`${this.dockerfile.file}:${stage.from.loc.line}: the base image's ONBUILD ${JSON.stringify(t)} does not parse: ${(e as Error).message}`, stage.from.loc.line);
      }
    });
  }

  private async fromStage(stage: Stage, label: string, position: string): Promise<StageState> {
    const from = stage.from;
    const image = this.expandFrom(from);
    const platform = from.platform !== undefined ? this.expand(from.platform, envOf(this.globalArgs), from) : undefined;
    const started = Date.now();
    const v = ++this.vertex;
    const base = this.stageRef(image, stage.index);
    const fresh = (config: OciImageConfig, layers: CachedLayer[], key: string): StageState => ({ stage, label, config, layers, key, args: new Map(), cmdSet: false });
    let st: StageState;
    if (base) {
      this.log(`#${v} [${position}] FROM ${base.name ?? `stage-${base.index}`} (an earlier stage)`);
      const b = this.results.get(base.index)!;
      st = { ...fresh(JSON.parse(JSON.stringify(b.config)), [...b.layers], b.key), ...(b.time ? { time: b.time } : {}) };
    } else if (image.toLowerCase() === 'scratch') {
      this.log(`#${v} [${position}] FROM scratch`);
      st = fresh(scratchConfig(), [], 'scratch');
    } else {
      if (platform && platform !== 'linux/amd64') this.warn(`${this.dockerfile.file}:${from.loc.line}: FROM --platform=${platform}: kubelab runs linux/amd64 steps; the base is taken for ${platform} but RUN will not execute its binaries unless they are amd64`);
      let img: StoredImage;
      try {
        img = await this.resolveBase(image, platform);
      } catch (e) {
        throw new BuildError(`${this.dockerfile.file}:${from.loc.line}: FROM ${image}: ${(e as Error).message}`, from.loc.line);
      }
      this.log(`#${v} [${position}] FROM ${img.ref}@${img.digest}${platform ? ` (platform ${platform})` : ''}`);
      st = fresh(img.config, img.layers.map((l) => ({ digest: l.digest, diffID: l.diffID, size: l.size, mediaType: l.mediaType })), `image:${img.digest}`);
      if (img.config.created) st.time = img.config.created;
    }
    this.report(v, st.label, position, from, false, started);
    return st;
  }

  /** A step that only changes the config: logged, reported, and a history entry unless told not. */
  private metaStep(st: StageState, ins: Instruction, position: string, createdBy: string | undefined): void {
    const v = ++this.vertex;
    this.log(`#${v} [${position}] ${ins.original.split('\n')[0]}`);
    if (createdBy !== undefined) addHistory(st.config, createdBy, true, this.created(st));
    this.report(v, st.label, position, ins, false, Date.now());
  }

  private report(id: number, stage: string, position: string, ins: Instruction, cached: boolean, started: number, layer?: string): void {
    const durationMs = Date.now() - started;
    this.steps.push({ id, stage, position, instruction: ins.original.split('\n')[0]!, line: ins.loc.line, cached, ...(layer ? { layer } : {}), durationMs });
    this.log(cached ? `#${id} CACHED` : `#${id} DONE ${(durationMs / 1000).toFixed(1)}s`);
  }

  private async view(st: StageState): Promise<RootfsView> {
    if (!st.view) st.view = await new RootfsView(await this.opts.store.layerDirs(st)).load();
    return st.view;
  }

  /** A layer made (or found in the cache) by a step: added to the stage, history written. */
  private commitLayer(st: StageState, key: string, layer: CachedLayer | null, createdBy: string, made: string): void {
    st.key = key;
    if (layer) {
      st.layers.push(layer);
      st.view = undefined;
      st.time = made;
    }
    addHistory(st.config, createdBy, layer === null, this.created(st));
  }

  /** The time a history entry or the image records (SOURCE_DATE_EPOCH when given). */
  private created(st: StageState): string {
    return this.opts.epoch?.toISOString() ?? st.time ?? this.startedAt;
  }

  private readonly startedAt = new Date().toISOString();

  /** Looks a layer step up in the cache; runs `make` on a miss, stores its layer and the entry. */
  private async layerStep(st: StageState, ins: Instruction, position: string, key: string, createdBy: string, make: (dir: string) => Promise<string | undefined>): Promise<void> {
    const v = ++this.vertex;
    const started = Date.now();
    this.log(`#${v} [${position}] ${ins.original.split('\n')[0]}`);
    const hit = this.opts.noCache ? undefined : this.cache.get(key);
    if (hit) {
      this.commitLayer(st, key, hit.layer, createdBy, hit.created);
      this.report(v, st.label, position, ins, true, started, hit.layer?.diffID);
      return;
    }
    const dir = path.join(this.tmp, `step-${v}`);
    mkdirSync(dir);
    try {
      const upper = await make(dir);
      const layer = upper ? await this.storeLayer(upper, dir) : null;
      const made = new Date().toISOString();
      this.cache.put({ key, layer, createdBy, created: made });
      this.commitLayer(st, key, layer, createdBy, made);
      this.report(v, st.label, position, ins, false, started, layer?.diffID);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Tars a layer directory into the store (moved into place, not copied) and keeps the directory
   * as the layer's unpacked form, so the next step mounts it without extracting the tar again.
   * An empty directory is no layer at all.
   */
  private async storeLayer(upper: string, dir: string): Promise<CachedLayer | null> {
    if (readdirSync(upper).length === 0) return null;
    const blob = await tarDirectory(upper, path.join(dir, 'layer.tar'), { upper: true });
    await this.opts.store.adoptLayer(blob, upper);
    return { digest: blob.digest, diffID: blob.diffID, size: blob.size, mediaType: blob.mediaType };
  }

  // ---- instructions ---------------------------------------------------------------------------

  private async step(st: StageState, ins: Instruction, position: string): Promise<void> {
    const c = (st.config.config ??= {});
    const env = () => this.envFor(st);
    const meta = (createdBy: string) => this.metaStep(st, ins, position, createdBy);
    // ENV and LABEL: every pair expanded with the variables from before the instruction.
    const pairs = (list: { key: string; value: string }[]) => {
      const before = env();
      return list.map((p) => [this.expand(p.key, before, ins), this.expand(p.value, before, ins)] as const);
    };
    try {
      switch (ins.kind) {
        case 'RUN':
          return await this.run(st, ins, position);
        case 'COPY':
        case 'ADD':
          return await this.copy(st, ins, position);
        case 'WORKDIR':
          return await this.workdir(st, ins, position);
        case 'ENV': {
          const kv = pairs(ins.pairs);
          for (const [key, value] of kv) c.Env = setEnv(c.Env, key, value);
          return meta(`ENV ${kv.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        }
        case 'ARG': {
          const parts: string[] = [];
          for (const a of ins.args) {
            let value: string | undefined;
            if (Object.hasOwn(this.buildArgs, a.name)) value = this.buildArgs[a.name];
            else if (a.default !== undefined) value = this.expand(a.default, env(), ins);
            else if (this.globalArgs.has(a.name)) value = this.globalArgs.get(a.name);
            this.usedArgs.add(a.name);
            st.args.delete(a.name);
            st.args.set(a.name, value);
            parts.push(value === undefined ? a.name : `${a.name}=${value}`);
          }
          return meta(`ARG ${parts.join(' ')}`);
        }
        case 'LABEL': {
          const kv = pairs(ins.pairs);
          for (const [key, value] of kv) (c.Labels ??= {})[key] = value;
          return meta(`LABEL ${kv.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        }
        case 'MAINTAINER':
          st.config.author = ins.name;
          return meta(`MAINTAINER ${ins.name}`);
        case 'EXPOSE': {
          const ports = exposedPorts(ins.ports.flatMap((p) => this.expandAll(p, env(), ins)));
          for (const p of ports) (c.ExposedPorts ??= {})[p] = {};
          return meta(`EXPOSE [${ports.join(' ')}]`);
        }
        case 'VOLUME': {
          const paths = ins.paths.map((p) => this.expand(p, env(), ins));
          for (const p of paths) {
            if (!p) this.fail(ins, 'VOLUME specified can not be an empty string');
            (c.Volumes ??= {})[p] = {};
          }
          return meta(`VOLUME [${paths.join(' ')}]`);
        }
        case 'USER': {
          const user = this.expand(ins.user, env(), ins);
          c.User = user;
          return meta(`USER ${user}`);
        }
        case 'CMD':
        case 'ENTRYPOINT': {
          const argv = ins.form === 'exec' ? ins.args : [...shellOf(st.config), ins.command];
          if (ins.kind === 'CMD') {
            c.Cmd = argv;
            c.ArgsEscaped = true;
            st.cmdSet = true;
          } else {
            c.Entrypoint = argv;
            if (!st.cmdSet) c.Cmd = null;
          }
          return meta(`${ins.kind} ${goQuoteList(argv)}`);
        }
        case 'SHELL':
          c.Shell = ins.args;
          return meta(`SHELL [${ins.args.join(' ')}]`);
        case 'STOPSIGNAL': {
          const sig = this.expand(ins.signal, env(), ins);
          checkSignal(sig);
          c.StopSignal = sig;
          return meta(`STOPSIGNAL ${sig}`);
        }
        case 'HEALTHCHECK': {
          if (ins.none) c.Healthcheck = { Test: ['NONE'] };
          else {
            const o = ins.options;
            c.Healthcheck = {
              Test: ins.test,
              ...(o.interval ? { Interval: o.interval } : {}),
              ...(o.timeout ? { Timeout: o.timeout } : {}),
              ...(o.startPeriod ? { StartPeriod: o.startPeriod } : {}),
              ...(o.startInterval ? { StartInterval: o.startInterval } : {}),
              ...(o.retries ? { Retries: o.retries } : {}),
            };
          }
          const h = c.Healthcheck;
          return meta(
            `HEALTHCHECK &{[${(h.Test ?? []).join(' ')}] ${goDuration(h.Interval)} ${goDuration(h.Timeout)} ${goDuration(h.StartPeriod)} ${goDuration(h.StartInterval)} ${h.Retries ?? 0}}`,
          );
        }
        case 'ONBUILD':
          // BuildKit writes no history entry for ONBUILD.
          c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
          return this.metaStep(st, ins, position, undefined);
        case 'FROM':
          this.fail(ins, 'FROM inside a stage');
      }
    } catch (e) {
      if (e instanceof BuildError || e instanceof DockerfileError) throw e;
      this.fail(ins, (e as Error).message);
    }
  }

  /** A base image; the lab's own (busybox, agnhost, kubelab/dns) are made on first use, as `up` makes them. */
  private async resolveBase(image: string, platform?: string): Promise<StoredImage> {
    const opts = { ...this.opts.sourceOptions, ...(platform ? { platform } : {}) };
    const lab = LAB_IMAGE_REFS.find((r) => r === normalizeRef(image));
    if (lab) await ensureLabImages(this.opts.store, [lab]);
    return resolveImageSource(this.opts.store, image, opts);
  }

  private async run(st: StageState, ins: InstructionOf<'RUN'>, position: string): Promise<void> {
    const network = flagString(ins.flags, 'network');
    if (network !== undefined && !['default', 'none', 'host'].includes(network)) this.fail(ins, `--network=${network}: expected default, none or host`);
    if (flagString(ins.flags, 'mount') !== undefined) this.warn(`${this.dockerfile.file}:${ins.loc.line}: RUN --mount is not supported by kubelab's builder: the step runs without it`);
    const net: BuildNetwork = network === 'none' ? { mode: 'none' } : (this.opts.network ?? { mode: 'none' });
    const shell = shellOf(st.config);
    let argv: string[];
    const extraBinds: { source: string; target: string; readOnly?: boolean }[] = [];
    let script: { name: string; content: string } | undefined;
    if (ins.form === 'exec') argv = ins.args;
    else if (ins.heredocs.length === 1 && /^<<-?(["']?)[A-Za-z0-9_.-]+\1$/.test(ins.command.trim())) {
      // A lone here-document: its body is the script (run as a file when it has a #! line).
      const h = ins.heredocs[0]!;
      if (h.content.startsWith('#!')) {
        script = { name: h.name, content: h.content };
        argv = [`/dev/pipes/${h.name}`];
      } else argv = [...shell, h.content];
    } else if (ins.heredocs.length) {
      // The shell reads the here-documents itself: hand it the instruction as written.
      argv = [...shell, [ins.command, ...ins.heredocs.map((h) => `${h.content}${h.name}`)].join('\n')];
    } else argv = [...shell, ins.command];

    const env = this.runEnv(st);
    const user = st.config.config?.User ?? '';
    const workdir = st.config.config?.WorkingDir || '/';
    const key = stepKey(st.key, { op: 'run', argv, env, user, workdir, network: net.mode, script });
    const args = [...st.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    const createdBy = `RUN ${args.length ? `|${args.length} ${args.join(' ')} ` : ''}${argv.join(' ')} # buildkit`;
    await this.layerStep(st, ins, position, key, createdBy, async (dir) => {
      const view = await this.view(st);
      if (script) {
        const f = path.join(dir, 'heredoc-script');
        writeFileSync(f, script.content, { mode: 0o755 });
        extraBinds.push({ source: f, target: `/dev/pipes/${script.name}`, readOnly: true });
      }
      let tail = '';
      const id = this.vertex;
      const t0 = Date.now();
      const onOutput = (chunk: Buffer) => {
        const text = tail + chunk.toString('utf8');
        const lines = text.split('\n');
        tail = lines.pop()!;
        for (const l of lines) this.log(`#${id} ${((Date.now() - t0) / 1000).toFixed(3)} ${l}`);
      };
      const res = await runStep(
        this.opts.runner,
        view,
        dir,
        { argv, env, user, workdir, netns: net.mode === 'lab' ? net.netns : 'none', ...(net.mode === 'lab' ? { resolvConf: net.resolvConf } : {}), extraBinds },
        onOutput,
        `build: ${ins.original.split('\n')[0]} (${this.dockerfile.file}:${ins.loc.line})`,
        this.opts.signal,
      );
      if (tail) this.log(`#${id} ${((Date.now() - t0) / 1000).toFixed(3)} ${tail}`);
      if (this.opts.signal?.aborted) throw new BuildError('build interrupted');
      if (res.exitCode !== 0) this.fail(ins, `process ${JSON.stringify(argv.join(' '))} did not complete successfully: exit code: ${res.exitCode}`);
      return res.upper;
    });
  }

  /** --chown's user[:group], resolved against the image being built (names from its /etc files). */
  private owner(view: RootfsView, spec: string | undefined, ins: Instruction): Owner | undefined {
    if (spec === undefined || spec === '') return undefined;
    try {
      const creds = stepCredentials(view, spec, '--chown');
      // Docker: a user without a group gets the same number as its gid, not its primary group.
      return { uid: creds.uid, gid: spec.includes(':') ? creds.gid : creds.uid };
    } catch (e) {
      this.fail(ins, `--chown=${spec}: ${(e as Error).message}`);
    }
  }

  private chmod(spec: string | undefined, ins: Instruction): number | undefined {
    if (spec === undefined) return undefined;
    if (!/^[0-7]{3,4}$/.test(spec)) this.fail(ins, `--chmod=${spec}: expected an octal mode such as 0755`);
    return parseInt(spec, 8);
  }

  private async sourceTree(st: StageState, ins: InstructionOf<'COPY' | 'ADD'>): Promise<SourceTree> {
    const from = flagString(ins.flags, 'from');
    if (from === undefined) return this.context;
    const stage = this.stageRef(from, st.stage.index);
    if (stage) {
      const s = this.results.get(stage.index)!;
      return { label: `stage ${stage.name ?? stage.index}`, view: await this.view(s), excluded: () => false, identity: s.key };
    }
    if (from === String(st.stage.index) || from.toLowerCase() === st.stage.name) this.fail(ins, `--from=${from}: a stage cannot copy from itself`);
    let img: StoredImage;
    try {
      img = await this.resolveBase(from);
    } catch (e) {
      this.fail(ins, `--from=${from}: not a stage of this Dockerfile, nor an image: ${(e as Error).message}`);
    }
    const view = await new RootfsView(await this.opts.store.layerDirs(img)).load();
    return { label: `image ${img.ref}`, view, excluded: () => false, identity: `image:${img.digest}` };
  }

  private async copy(st: StageState, ins: InstructionOf<'COPY' | 'ADD'>, position: string): Promise<void> {
    const env = this.envFor(st);
    const isAdd = ins.kind === 'ADD';
    const tree = await this.sourceTree(st, ins);
    const view = await this.view(st);
    const workdir = st.config.config?.WorkingDir || '/';
    // Relative to WORKDIR; a trailing `/` (or `.`) means "into this directory" and is kept.
    const written = this.expand(ins.dest, env, ins);
    const intoDir = /(^|\/)\.?$/.test(written) || written.endsWith('/');
    const absolute = path.posix.resolve(workdir, written);
    const dest = intoDir && absolute !== '/' ? `${absolute}/` : absolute;
    const chownSpec = flagString(ins.flags, 'chown');
    const chmodSpec = flagString(ins.flags, 'chmod');
    const chown = this.owner(view, chownSpec === undefined ? undefined : this.expand(chownSpec, env, ins), ins);
    const chmod = this.chmod(chmodSpec === undefined ? undefined : this.expand(chmodSpec, env, ins), ins);
    const checksumSpec = flagString(ins.flags, 'checksum');
    const checksum = checksumSpec === undefined ? undefined : this.expand(checksumSpec, env, ins);
    if (flagBool(ins.flags, 'link')) this.log(`#${this.vertex + 1} note: --link is accepted; kubelab always makes the copy its own layer`);

    const heredocs = ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandHeredocContent(h.content, env) : h.content }));
    const heredocNames = new Set(heredocs.map((h) => h.name));
    const sources = ins.sources.filter((s) => !heredocNames.has(s.replace(/^<<-?["']?|["']?$/g, ''))).map((s) => this.expand(s, env, ins));
    const urls = sources.filter((s) => /^https?:\/\//.test(s));
    if (!isAdd && urls.length) this.fail(ins, `COPY cannot fetch URLs (${urls[0]}): use ADD`);
    if (sources.some((s) => /^git@|\.git(#.*)?$/.test(s) && isAdd)) this.fail(ins, 'ADD of a git repository is not supported by kubelab');
    if (checksum !== undefined && (!isAdd || urls.length === 0)) this.fail(ins, '--checksum needs ADD of a URL');

    // What the copy reads, and its digests: the cache key.
    const matched: MatchedSource[] = [];
    let wildcard = false;
    for (const s of sources) {
      if (urls.includes(s)) continue;
      if (/[*?[]/.test(s)) wildcard = true;
      let m;
      try {
        m = matchSources(tree, s);
      } catch (e) {
        this.fail(ins, (e as Error).message);
      }
      if (!m.length) this.fail(ins, `no source files were specified: ${JSON.stringify(s)} matches nothing in the ${tree.label}`);
      matched.push(...m);
    }
    const digests = [];
    for (const m of matched) digests.push({ rel: m.rel, digest: tree.identity ? `${tree.identity}:${m.resolved}` : await sourceDigest(tree, m) });
    const downloads: Downloaded[] = [];
    for (const u of urls) {
      const d = await download(u, this.tmp, checksum);
      downloads.push(d);
      digests.push({ rel: u, digest: d.digest });
    }
    const many = matched.length + downloads.length + heredocs.length > 1 || wildcard;
    const unpack = isAdd && flagBool(ins.flags, 'unpack') !== false;
    const key = stepKey(st.key, { op: ins.kind, dest, chown, chmod, sources: digests, heredocs, unpack });
    const flags = [chownSpec !== undefined ? `--chown=${chownSpec}` : '', chmodSpec !== undefined ? `--chmod=${chmodSpec}` : ''].filter(Boolean);
    const createdBy = `${ins.kind}${flags.length ? ` ${flags.join(' ')}` : ''} ${[...sources, ...heredocs.map((h) => `<<${h.name}`)].join(' ')} ${dest} # buildkit`;
    await this.layerStep(st, ins, position, key, createdBy, async (dir) => {
      const out = path.join(dir, 'layer');
      mkdirSync(out);
      const req = { out, image: view, dest, ...(chown ? { chown } : {}), ...(chmod !== undefined ? { chmod } : {}) };
      await copySources(req, tree, matched, { many, unpack });
      for (const d of downloads) await placeDownload(req, d);
      for (const h of heredocs) await copyHeredoc(req, h.name, h.content, many);
      return out;
    });
  }

  private async workdir(st: StageState, ins: InstructionOf<'WORKDIR'>, position: string): Promise<void> {
    const c = (st.config.config ??= {});
    const raw = this.expand(ins.path, this.envFor(st), ins);
    const wd = path.posix.resolve(c.WorkingDir || '/', raw);
    c.WorkingDir = wd;
    const view = await this.view(st);
    if (wd === '/' || view.stat(wd)?.stat.isDirectory()) return this.metaStep(st, ins, position, `WORKDIR ${wd}`);
    // BuildKit makes the directory (owned by the image's USER) as a step of its own.
    const user = c.User ?? '';
    const owner = user ? this.owner(view, user, ins) : undefined;
    const key = stepKey(st.key, { op: 'mkdir', path: wd, owner });
    await this.layerStep(st, ins, position, key, `WORKDIR ${wd}`, async (dir) => {
      const out = path.join(dir, 'layer');
      mkdirSync(out);
      await ensureDir({ out, image: view, dest: wd, ...(owner ? { chown: owner } : {}) }, view.resolve(wd));
      return out;
    });
  }

  // ---- the result -----------------------------------------------------------------------------

  private async exportImage(st: StageState): Promise<{ ref: string; tags: string[]; image: StoredImage }> {
    const v = ++this.vertex;
    this.log(`#${v} exporting to image`);
    const config: OciImageConfig = JSON.parse(JSON.stringify(st.config));
    config.created = this.created(st);
    config.architecture ??= 'amd64';
    config.os ??= 'linux';
    const store = this.opts.store;
    const layers: LayerBlob[] = st.layers.map((l) => ({ ...l, path: store.blobPath(l.digest) }));
    const tags = (this.opts.tags ?? []).map(normalizeRef);
    const names = tags.length ? tags : [`kubelab.local/build:${randomBytes(6).toString('hex')}`];
    const image = await store.putImage(names[0]!, config, layers);
    for (const t of names.slice(1)) await store.tag(t, names[0]!);
    for (const l of st.layers) this.log(`#${v} layer ${l.diffID} (${l.size} bytes)`);
    this.log(`#${v} writing image ${image.manifest.config.digest} done`);
    for (const t of names) this.log(`#${v} naming to ${t} done`);
    this.log(`#${v} DONE`);
    return { ref: names[0]!, tags: names, image };
  }
}

/** Only ARGs with values are variables; a declared ARG without a value expands to nothing. */
function envOf(args: Map<string, string | undefined>): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of args) if (v !== undefined) env.set(k, v);
  return env;
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  return new Builder(opts).build();
}
