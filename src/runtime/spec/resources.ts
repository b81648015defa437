// A container's resources.requests/limits → the cgroup files a runtime writes, for cgroup v1 and v2,
// with the numbers kubelet, containerd and runc would produce:
//
//   requests.cpu  → cpu.shares = MilliCPUToShares(milli)  (milli*1024/1000, clamped to [2, 262144])
//                   cpu.weight = 1 + ((shares-2)*9999)/262142   (runc/crun's v1→v2 conversion)
//   limits.cpu    → cpu.cfs_quota_us = MilliCPUToQuota(milli) (milli*100000/1000, at least 1000;
//                   -1 when unlimited), cpu.cfs_period_us = 100000; v2 cpu.max = "quota period"/"max period"
//   limits.memory → memory.limit_in_bytes = bytes or -1; v2 memory.max = bytes or "max"
//
// Kubernetes only writes memory.min/memory.low under the alpha MemoryQoS feature, so they are left out.
// Before any of that, the API server's defaulting (a limit without a request makes the request equal
// to the limit) and validation (known names, non-negative, request <= limit) are applied here too.
import { fieldPath, SpecError, type FieldProblem } from './errors.ts';
import { compareQuantities, milliValue, parseQuantity, quantityToString, quantityValue, QuantityError, type Quantity } from './quantity.ts';

export type QuantityInput = string | number;
export type ResourceList = Record<string, QuantityInput>;

/** A container's `resources` as written in a manifest. */
export interface ResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** Requests and limits parsed, validated, and with requests defaulted from limits. */
export interface ParsedResources {
  requests: Record<string, Quantity>;
  limits: Record<string, Quantity>;
}

// kubelet's constants (pkg/kubelet/cm): the kernel's share range, one CPU's worth, the CFS period.
export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const SHARES_PER_CPU = 1024;
export const MILLICPU_PER_CPU = 1000;
export const CFS_PERIOD_US = 100000;
export const MIN_CFS_QUOTA_US = 1000;

const MAX_MILLICPU = Math.floor(Number.MAX_SAFE_INTEGER / CFS_PERIOD_US);
const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const HUGEPAGES_PREFIX = 'hugepages-';

/** kubelet's MilliCPUToShares: 0 (no request) gives the minimum, 2, not the kernel default 1024. */
export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu === 0) return MIN_SHARES;
  const shares = Math.floor((milliCpu * SHARES_PER_CPU) / MILLICPU_PER_CPU);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** kubelet's MilliCPUToQuota: 0 means "no quota" (no limit); otherwise at least 1ms per period. */
export function milliCpuToQuota(milliCpu: number, periodUs = CFS_PERIOD_US): number {
  if (milliCpu === 0) return 0;
  return Math.max(MIN_CFS_QUOTA_US, Math.floor((milliCpu * periodUs) / MILLICPU_PER_CPU));
}

export type WeightFormula = 'linear' | 'quadratic';

/**
 * cgroup v2 cpu.weight from v1 cpu.shares. 'linear' is runc's (and crun's) long-standing mapping
 * of [2, 262144] onto [1, 10000]: 1024 shares (one CPU) → 39, well below v2's default of 100.
 * 'quadratic' is the replacement runc 1.3.2+/crun 1.23+ adopted (kubernetes#131216): a quadratic in
 * log2(shares) through (2 → 1), (1024 → 100) and (262144 → 10000). Default: 'linear'.
 */
export function sharesToWeight(shares: number, formula: WeightFormula = 'linear'): number {
  if (shares === 0) return 0; // 0 means "unset" in both runtimes
  if (formula === 'linear') return 1 + Math.floor(((shares - 2) * 9999) / 262142);
  if (shares <= 2) return 1;
  if (shares >= MAX_SHARES) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** A name Kubernetes accepts in a container's requests/limits (extended resources are not supported). */
export function isKnownResourceName(name: string): boolean {
  if (STANDARD_RESOURCES.has(name)) return true;
  return name.startsWith(HUGEPAGES_PREFIX) && hugepageSize(name) !== undefined;
}

function hugepageSize(name: string): Quantity | undefined {
  try {
    const q = parseQuantity(name.slice(HUGEPAGES_PREFIX.length));
    return q.unscaled > 0n ? q : undefined;
  } catch {
    return undefined;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a container's resources and applies the API server's defaulting. Every problem is
 * reported in one SpecError, each with its path under `path` (e.g. `spec.containers[0].resources`).
 */
export function parseResources(resources: ResourceRequirements | undefined, path = 'resources'): ParsedResources {
  const problems: FieldProblem[] = [];
  const out: ParsedResources = { requests: {}, limits: {} };
  if (resources === undefined || resources === null) return out;
  if (!isPlainObject(resources)) throw new SpecError({ path, message: 'expected an object with requests and limits' });

  for (const kind of ['limits', 'requests'] as const) {
    const list = resources[kind];
    const listPath = fieldPath(path, kind);
    if (list === undefined || list === null) continue;
    if (!isPlainObject(list)) {
      problems.push({ path: listPath, message: 'expected a map of resource name to quantity' });
      continue;
    }
    for (const [name, raw] of Object.entries(list)) {
      const p = fieldPath(listPath, name);
      if (!isKnownResourceName(name)) {
        problems.push({ path: p, message: `unknown resource "${name}": supported are cpu, memory, ephemeral-storage and hugepages-<size>` });
        continue;
      }
      let q: Quantity;
      try {
        q = parseQuantity(raw as QuantityInput, p);
      } catch (e) {
        if (e instanceof QuantityError) problems.push(...e.problems);
        else throw e;
        continue;
      }
      if (q.unscaled < 0n) {
        problems.push({ path: p, message: `${quantityToString(q)} must be greater than or equal to 0` });
        continue;
      }
      out[kind][name] = q;
    }
  }

  // Validation compares what the user wrote; defaulting happens after (as in the API server).
  for (const [name, request] of Object.entries(out.requests)) {
    const limit = out.limits[name];
    if (limit && compareQuantities(request, limit) > 0) {
      problems.push({
        path: fieldPath(fieldPath(path, 'requests'), name),
        message: `${quantityToString(request)} must be less than or equal to ${name} limit of ${quantityToString(limit)}`,
      });
    }
  }
  if (problems.length) throw new SpecError(problems);
  return { requests: { ...out.limits, ...out.requests }, limits: out.limits };
}

/** The API server's defaulting alone: each limit without a request becomes that request too. */
export function defaultRequests(resources: ResourceRequirements | undefined): ResourceRequirements {
  const limits = resources?.limits ?? {};
  return { ...resources, requests: { ...limits, ...(resources?.requests ?? {}) } };
}

/** What to write into a container's cgroup, for each hierarchy, with the numbers it came from. */
export interface CgroupSettings {
  /** requests.cpu in millicores after defaulting (0 when none). */
  cpuRequestMilli: number;
  /** limits.cpu in millicores, or null when unlimited. */
  cpuLimitMilli: number | null;
  /** limits.memory in bytes, or null when unlimited. */
  memoryLimitBytes: bigint | null;
  cpuShares: number;
  /** CFS quota in µs per period; -1 when unlimited (the kernel's "no quota"). */
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  cpuWeight: number;
  /** cgroup v1 file name (under the cpu and memory controllers) → contents. */
  v1: Record<string, string>;
  /** cgroup v2 (unified) file name → contents. */
  v2: Record<string, string>;
}

export interface CgroupOptions {
  /** The v1→v2 share conversion; see sharesToWeight. */
  weightFormula?: WeightFormula;
}

/** The cgroup settings for one container, from its resources (validated and defaulted first). */
export function cgroupSettings(resources: ResourceRequirements | undefined, path = 'resources', options: CgroupOptions = {}): CgroupSettings {
  const parsed = parseResources(resources, path);
  return cgroupSettingsFor(parsed, path, options);
}

/** The same, from already parsed resources. */
export function cgroupSettingsFor(parsed: ParsedResources, path = 'resources', options: CgroupOptions = {}): CgroupSettings {
  const milli = (q: Quantity | undefined, p: string): number => {
    if (!q) return 0;
    const v = milliValue(q);
    // Bounded so that milli × 100000 (the quota) is still an exact number.
    if (v > BigInt(MAX_MILLICPU)) throw new SpecError({ path: p, message: `${quantityToString(q)} is too large` });
    return Number(v);
  };
  const cpuRequestMilli = milli(parsed.requests.cpu, `${path}.requests.cpu`);
  const cpuLimit = milli(parsed.limits.cpu, `${path}.limits.cpu`);
  const memory = parsed.limits.memory ? quantityValue(parsed.limits.memory) : 0n;

  // As kubelet: a zero limit is no limit (quota 0 / memory 0 are "unset" in the CRI).
  const cpuShares = milliCpuToShares(cpuRequestMilli);
  const quota = milliCpuToQuota(cpuLimit);
  const cpuQuotaUs = quota === 0 ? -1 : quota;
  const cpuWeight = sharesToWeight(cpuShares, options.weightFormula);
  const memoryLimitBytes = memory === 0n ? null : memory;

  return {
    cpuRequestMilli,
    cpuLimitMilli: cpuLimit === 0 ? null : cpuLimit,
    memoryLimitBytes,
    cpuShares,
    cpuQuotaUs,
    cpuPeriodUs: CFS_PERIOD_US,
    cpuWeight,
    v1: {
      'cpu.shares': String(cpuShares),
      'cpu.cfs_period_us': String(CFS_PERIOD_US),
      'cpu.cfs_quota_us': String(cpuQuotaUs),
      'memory.limit_in_bytes': memoryLimitBytes === null ? '-1' : String(memoryLimitBytes),
    },
    v2: {
      'cpu.weight': String(cpuWeight),
      'cpu.max': `${cpuQuotaUs === -1 ? 'max' : cpuQuotaUs} ${CFS_PERIOD_US}`,
      'memory.max': memoryLimitBytes === null ? 'max' : String(memoryLimitBytes),
    },
  };
}
