// How a container's process is started: argv, environment, working directory and user, from the
// pod spec's container and the image config, following kubelet (variable expansion, env order) and
// containerd's CRI plugin (argv, env merge, cwd, user) — the pair a Kubernetes node runs.
//
// argv ("Define a Command and Arguments for a Container"):
//   command and args unset  → Entrypoint + Cmd
//   command set             → command + args           (Entrypoint and Cmd are both ignored)
//   only args set           → Entrypoint + args        (Cmd is replaced)
// An empty list counts as unset, and an image Entrypoint of [""] (Docker's `--entrypoint ""`) as none.
//
// $(VAR) expansion (kubelet's third_party expansion package): in command, args and env values;
// `$$` is a literal `$` (so `$$(VAR)` is the text `$(VAR)`); a reference to an undefined variable is
// left as written. Env values see the container's env entries declared before them (and service
// variables); command and args see the whole container env. The image's Env is never a source:
// kubelet does not read the image, the runtime merges it afterwards.
//
// env: the image Env first, then the container's env in order; a later name replaces an earlier one
// in place. cwd: workingDir, else the image WorkingDir, else "/". user: see processUser.
import { SpecError, type FieldProblem } from './errors.ts';

export interface EnvVar {
  name: string;
  value?: string;
}

/** The fields of an image config that decide how its process starts (OCI config `config` object). */
export interface ImageRunDefaults {
  User?: string;
  Env?: readonly string[] | null;
  Entrypoint?: readonly string[] | null;
  Cmd?: readonly string[] | null;
  WorkingDir?: string;
}

export interface RunAsSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
}

export interface ContainerProcessSpec {
  name: string;
  command?: readonly string[];
  args?: readonly string[];
  workingDir?: string;
  env?: readonly EnvVar[];
  securityContext?: RunAsSecurityContext;
}

/** A user as the runtime must apply it: numbers are ids; strings are names it resolves in /etc/passwd and /etc/group. */
export interface ProcessUser {
  user: number | string;
  /** Absent: the user's primary group from the container's /etc/passwd (0 for an unknown uid). */
  group?: number | string;
}

export interface ProcessSpec {
  argv: string[];
  /** NAME=value entries, in the order the process will see them. */
  env: string[];
  cwd: string;
  user: ProcessUser;
}

export interface ProcessOptions {
  /** The pod's securityContext: its runAsUser/runAsGroup apply where the container sets none. */
  podSecurityContext?: RunAsSecurityContext;
  /** Service variables (FOO_SERVICE_HOST, ...): a source for expansion, and appended unless declared. */
  serviceEnv?: Readonly<Record<string, string>>;
  /** The container's field path in errors (default `spec.containers[0]`). */
  path?: string;
}

/**
 * Expands `$(NAME)` references in `input`. `lookup` returns undefined for an undefined name, which
 * leaves the reference as written. Mirrors kubelet's scanner, including its corner cases: a `$`
 * followed by anything but `$` or `(` is kept as is; an unterminated `$(` is kept; nothing nests.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i += 1;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += '$' + next;
      i += 2;
    }
  }
  return out;
}

/**
 * The container's env after kubelet's expansion, in declaration order (a redeclared name keeps its
 * first position and takes the last value), followed by service variables it does not declare.
 */
export function containerEnv(env: readonly EnvVar[] | undefined, serviceEnv: Readonly<Record<string, string>> = {}): Map<string, string> {
  const declared = new Map<string, string>();
  const lookup = (name: string) => declared.get(name) ?? (Object.hasOwn(serviceEnv, name) ? serviceEnv[name] : undefined);
  for (const { name, value } of env ?? []) {
    declared.set(name, value ? expandVars(value, lookup) : '');
  }
  const result = new Map(declared);
  for (const [k, v] of Object.entries(serviceEnv)) if (!result.has(k)) result.set(k, v);
  return result;
}

/** Image Env entries then `overrides`, a later name replacing an earlier value in place. */
export function mergeEnv(imageEnv: readonly string[] | null | undefined, overrides: ReadonlyMap<string, string>): string[] {
  const merged = new Map<string, string>();
  for (const entry of imageEnv ?? []) {
    const eq = entry.indexOf('=');
    // An entry without "=" names a variable with no value; keep it verbatim, as containerd does.
    if (eq === -1) merged.set(entry, entry);
    else merged.set(entry.slice(0, eq), entry);
  }
  for (const [k, v] of overrides) merged.set(k, `${k}=${v}`);
  return [...merged.values()];
}

const isSet = (list: readonly string[] | null | undefined): list is readonly string[] => Array.isArray(list) && list.length > 0;

/** The argv before expansion, from the documented command/args × Entrypoint/Cmd table. */
export function selectArgv(container: Pick<ContainerProcessSpec, 'command' | 'args'>, image: ImageRunDefaults = {}): string[] {
  if (isSet(container.command)) return [...container.command, ...(container.args ?? [])];
  const entrypoint = isSet(image.Entrypoint) && !(image.Entrypoint.length === 1 && image.Entrypoint[0] === '') ? image.Entrypoint : [];
  const args = isSet(container.args) ? container.args : (image.Cmd ?? []);
  return [...entrypoint, ...args];
}

/** Splits an image User ("user", "uid", "user:group", "uid:gid", ...) into ids and names. */
export function parseImageUser(text: string, path = 'image config User'): ProcessUser | undefined {
  if (text === '') return undefined;
  const parts = text.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new SpecError({ path, message: `invalid user ${JSON.stringify(text)}: expected user, uid, user:group or uid:gid` });
  }
  const [user, group] = parts.map(idOrName);
  return group === undefined ? { user: user! } : { user: user!, group };
}

const idOrName = (s: string): number | string => (/^[0-9]+$/.test(s) ? Number(s) : s);

const MAX_ID = 2147483647; // the API server's bound on runAsUser/runAsGroup

function checkId(value: unknown, path: string, problems: FieldProblem[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    problems.push({ path, message: `${JSON.stringify(value)} must be an integer between 0 and ${MAX_ID}, inclusive` });
    return undefined;
  }
  return value;
}

/**
 * The process user: runAsUser/runAsGroup (the container's, else the pod's) over the image's User.
 *   runAsUser set           → that uid, with runAsGroup if set, else the uid's primary group;
 *                             the image User is ignored entirely, as containerd does
 *   only runAsGroup set     → the image's user (root when it has none) with that group
 *                             (containerd rejects this case; CRI-O combines the two the same way)
 *   neither                 → the image User, or root
 */
export function processUser(
  image: ImageRunDefaults,
  container?: RunAsSecurityContext,
  pod?: RunAsSecurityContext,
  path = 'spec.containers[0]',
): ProcessUser {
  const problems: FieldProblem[] = [];
  const cRunAsUser = checkId(container?.runAsUser, `${path}.securityContext.runAsUser`, problems);
  const cRunAsGroup = checkId(container?.runAsGroup, `${path}.securityContext.runAsGroup`, problems);
  const pRunAsUser = checkId(pod?.runAsUser, 'spec.securityContext.runAsUser', problems);
  const pRunAsGroup = checkId(pod?.runAsGroup, 'spec.securityContext.runAsGroup', problems);
  if (problems.length) throw new SpecError(problems);
  const runAsUser = cRunAsUser ?? pRunAsUser;
  const runAsGroup = cRunAsGroup ?? pRunAsGroup;

  if (runAsUser !== undefined) return runAsGroup === undefined ? { user: runAsUser } : { user: runAsUser, group: runAsGroup };
  const fromImage = parseImageUser(image.User ?? '') ?? { user: 0 };
  return runAsGroup === undefined ? fromImage : { user: fromImage.user, group: runAsGroup };
}

/**
 * Everything needed to start the container's process. Throws a SpecError naming the container when
 * the result has no program to run.
 */
export function containerProcess(container: ContainerProcessSpec, image: ImageRunDefaults = {}, options: ProcessOptions = {}): ProcessSpec {
  const path = options.path ?? 'spec.containers[0]';
  const env = containerEnv(container.env, options.serviceEnv);
  // Only what the pod spec says is expanded; the image's Entrypoint and Cmd are taken as they are.
  const expand = (a: string) => expandVars(a, (name) => env.get(name));
  const argv = selectArgv({ command: container.command?.map(expand), args: container.args?.map(expand) }, image);
  if (argv.length === 0) {
    throw new SpecError({
      path,
      message: `container "${container.name}" has no command to run: set command or args, or use an image with an Entrypoint or Cmd`,
    });
  }
  return {
    argv,
    env: mergeEnv(image.Env, env),
    cwd: container.workingDir || image.WorkingDir || '/',
    user: processUser(image, container.securityContext, options.podSecurityContext, path),
  };
}
