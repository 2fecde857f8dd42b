/**
 * deploy/k8s: every manifest parses, is valid against the Kubernetes API schemas
 * (kubernetes-models), and keeps the invariants that tie the resources to each other
 * and to derivd (ports, probes, drain timing, workers, memory, security).
 *
 * The schemas catch wrong types and missing required fields, not unknown fields (a
 * misspelt key is ignored, as the API server would drop it): the invariants below
 * check that every field that matters is present with its value.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, type IContainer, type IContainerPort, type IProbe } from 'kubernetes-models/v1';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigSchema, loadConfig } from '../../src/server/config.js';

const dir = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
const KUSTOMIZATION = 'kustomization.yaml';

/** The labels every resource and the pods carry. */
const COMMON_LABELS = { 'app.kubernetes.io/name': 'derivd', 'app.kubernetes.io/instance': 'derivd' };
/** Seconds left between the end of the drain (SHUTDOWN_TIMEOUT_MS) and SIGKILL, at least. */
const GRACE_MARGIN_S = 2;

/**
 * README "Sizing memory": MiB for Node, the code and the idle main thread, and a
 * worker's own overhead beside its heap (measured idle RSS: 104 MiB without workers,
 * about 25 more per warm worker); a worker's heap must hold a response 2.5 times; the
 * memory budget sheds at 80 % of the limit at most.
 */
const MEMORY = { baseMiB: 100, perWorkerMiB: 30, heapPerResponse: 2.5, maxBudgetShare: 0.8 };
const MiB = 2 ** 20;

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

interface Manifests {
  /** The manifest files beside kustomization.yaml. */
  files: string[];
  kustomization: Kustomization;
  deployment: Deployment;
  service: Service;
  hpa: HorizontalPodAutoscaler;
  pdb: PodDisruptionBudget;
}

/** The one YAML document of a file, as plain data; throws on any YAML error or warning. */
function parseYaml(text: string, file: string): unknown {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${file}: no YAML document`);
  if (docs.length !== 1) throw new Error(`${file}: ${docs.length} YAML documents, expected one resource a file`);
  const [doc] = docs;
  const issues = [...doc.errors, ...doc.warnings];
  if (issues.length > 0) throw new Error(`${file}: ${issues.map((e) => e.message).join('; ')}`);
  return doc.toJS();
}

function readRaw(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const f of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort())
    raw[f] = parseYaml(readFileSync(dir + f, 'utf8'), f);
  return raw;
}

type Model = Deployment | Service | HorizontalPodAutoscaler | PodDisruptionBudget;

/** The typed model of a resource, validated against its Kubernetes schema (validate() throws). */
function toModel(obj: unknown, file: string): Model {
  let m: Model;
  if (Deployment.is(obj)) m = new Deployment(obj);
  else if (Service.is(obj)) m = new Service(obj);
  else if (HorizontalPodAutoscaler.is(obj)) m = new HorizontalPodAutoscaler(obj);
  else if (PodDisruptionBudget.is(obj)) m = new PodDisruptionBudget(obj);
  else {
    const { apiVersion, kind } = (obj ?? {}) as { apiVersion?: unknown; kind?: unknown };
    throw new Error(`${file}: no schema here for apiVersion ${String(apiVersion)}, kind ${String(kind)}`);
  }
  try {
    m.validate();
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return m;
}

function build(raw: Record<string, unknown>): Manifests {
  const files = Object.keys(raw).filter((f) => f !== KUSTOMIZATION);
  const models = files.map((f) => toModel(structuredClone(raw[f]), f));
  const one = <T extends Model>(cls: abstract new (...a: never[]) => T): T => {
    const found = models.filter((m): m is T => m instanceof cls);
    if (found.length !== 1) throw new Error(`expected one ${cls.name}, found ${found.length}`);
    return found[0];
  };
  return {
    files,
    kustomization: structuredClone(raw[KUSTOMIZATION]) as Kustomization,
    deployment: one(Deployment),
    service: one(Service),
    hpa: one(HorizontalPodAutoscaler),
    pdb: one(PodDisruptionBudget),
  };
}

// ---- helpers for the invariants ----

function container(m: Manifests): IContainer {
  const containers = m.deployment.spec?.template.spec?.containers ?? [];
  if (containers.length !== 1) throw new Error(`expected one container, found ${containers.length}`);
  return containers[0];
}

function env(c: IContainer, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/**
 * A setting's value in the manifest, else its default from the config schema, else
 * `fallback` (the issue's default, for CACHE_BYTES and MAX_RESPONSE_BYTES until they
 * are in the schema of this branch).
 */
function setting(c: IContainer, name: string, fallback?: number): number {
  const given = env(c, name);
  if (given !== undefined) return Number(given);
  const schema = (ConfigSchema.shape as Record<string, { parse(v: unknown): unknown } | undefined>)[name];
  return schema ? Number(schema.parse(undefined)) : Number(fallback);
}

/** The container port a probe or Service targets, by name or number. */
function resolvePort(c: IContainer, port: number | string | undefined): IContainerPort | undefined {
  return c.ports?.find((p) => (typeof port === 'string' ? p.name === port : p.containerPort === port));
}

/** Whether a label selector (matchLabels only) is non-empty and selects these labels. */
function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const match =
    'matchLabels' in selector || 'matchExpressions' in selector
      ? (selector as { matchLabels?: Record<string, string> }).matchLabels
      : (selector as Record<string, string>);
  if ('matchExpressions' in selector && selector.matchExpressions?.length) return false; // not evaluated here
  const pairs = Object.entries(match ?? {});
  return pairs.length > 0 && pairs.every(([k, v]) => labels?.[k] === v);
}

/** CPU quantity in cores: "2", "1.5", "500m". */
function cpuCores(q: number | string | undefined): number {
  const s = String(q ?? '');
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) return NaN;
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** Memory quantity in bytes: "256Mi", "1Gi", "512M", "1000". */
function bytes(q: number | string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q ?? ''));
  if (!m) return NaN;
  const unit: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? unit[m[2]] : 1);
}

/** Seconds the preStop hook waits: the sleep action or `exec: [sleep, N]`; 0 without one. */
function preStopSeconds(c: IContainer): number {
  const h = c.lifecycle?.preStop;
  if (h?.sleep) return h.sleep.seconds;
  const cmd = h?.exec?.command ?? [];
  if (cmd.length === 2 && /(^|\/)sleep$/.test(cmd[0]) && /^\d+$/.test(cmd[1])) return Number(cmd[1]);
  return 0;
}

// ---- the invariants: each returns the problems it finds ----

const CHECKS: Record<string, (m: Manifests) => string[]> = {
  'kustomization lists every manifest file, and its images entry names the Deployment image': (m) => {
    const p: string[] = [];
    const k = m.kustomization;
    if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
      p.push(`kustomization: apiVersion/kind ${k.apiVersion}/${k.kind}`);
    const listed = [...(k.resources ?? [])].sort();
    const files = [...m.files].sort();
    for (const f of files) if (!listed.includes(f)) p.push(`kustomization does not list ${f}`);
    for (const f of listed) if (!files.includes(f)) p.push(`kustomization lists ${f}, which is not in deploy/k8s`);
    if (new Set(listed).size !== listed.length) p.push('kustomization lists a file twice');
    // An images entry matching no container image is silently ignored by kustomize.
    const imageName = (container(m).image ?? '').replace(/[:@].*$/, '');
    for (const i of k.images ?? [])
      if (i.name !== imageName) p.push(`kustomization images entry ${i.name} matches no container image (${imageName})`);
    return p;
  },

  'every resource is named derivd and carries the common labels; the Deployment selects its own pods': (m) => {
    const p: string[] = [];
    for (const r of [m.deployment, m.service, m.hpa, m.pdb]) {
      if (r.metadata?.name !== 'derivd') p.push(`${r.kind} is named ${r.metadata?.name}`);
      if (!selects(COMMON_LABELS, r.metadata?.labels)) p.push(`${r.kind} lacks the common labels`);
    }
    const pod = m.deployment.spec?.template.metadata?.labels;
    if (!selects(COMMON_LABELS, pod)) p.push('the pod template lacks the common labels');
    if (!selects(m.deployment.spec?.selector, pod)) p.push('the Deployment selector does not select its pod template');
    for (const t of m.deployment.spec?.template.spec?.topologySpreadConstraints ?? [])
      if (!selects(t.labelSelector, pod)) p.push(`topology spread on ${t.topologyKey} does not select the pods`);
    return p;
  },

  'the container listens on port http (PORT) and the probes hit /readyz and /healthz there': (m) => {
    const p: string[] = [];
    const c = container(m);
    const port = Number(env(c, 'PORT') ?? ConfigSchema.shape.PORT.parse(undefined));
    const http = resolvePort(c, 'http');
    if (http?.containerPort !== port) p.push(`container port http is ${http?.containerPort}, derivd listens on ${port}`);
    const probe = (name: string, probe: IProbe | undefined, paths: string[], required: boolean) => {
      if (!probe) {
        if (required) p.push(`no ${name}`);
        return;
      }
      const get = probe.httpGet;
      if (!get) return p.push(`${name} is not an httpGet probe`);
      if (!paths.includes(get.path ?? '')) p.push(`${name} path is ${get.path}, expected ${paths.join(' or ')}`);
      if (resolvePort(c, get.port)?.containerPort !== port) p.push(`${name} port ${get.port} is not the container port ${port}`);
      if ((get.scheme ?? 'HTTP') !== 'HTTP') p.push(`${name} scheme is ${get.scheme}`);
      if ((probe.periodSeconds ?? 10) < 1 || (probe.failureThreshold ?? 3) < 1) p.push(`${name} period/threshold out of range`);
    };
    probe('readinessProbe', c.readinessProbe, ['/readyz'], true);
    probe('livenessProbe', c.livenessProbe, ['/healthz'], true);
    probe('startupProbe', c.startupProbe, ['/healthz'], false);
    // Liveness must be more patient than readiness: an overloaded pod should leave the
    // endpoints well before it is restarted.
    const patience = (pr: IProbe | undefined) => (pr?.periodSeconds ?? 10) * (pr?.failureThreshold ?? 3);
    if (patience(c.livenessProbe) <= patience(c.readinessProbe)) p.push('livenessProbe gives up no later than readinessProbe');
    const a = m.deployment.spec?.template.metadata?.annotations ?? {};
    if (a['prometheus.io/scrape'] === 'true') {
      if (Number(a['prometheus.io/port']) !== port) p.push(`prometheus.io/port is ${a['prometheus.io/port']}, not ${port}`);
      if ((a['prometheus.io/path'] ?? '/metrics') !== '/metrics') p.push(`prometheus.io/path is ${a['prometheus.io/path']}`);
    }
    return p;
  },

  'the pod runs as uid 1000, non-root, read-only, no privilege escalation, no capabilities, RuntimeDefault seccomp': (m) => {
    const p: string[] = [];
    const pod = m.deployment.spec?.template.spec?.securityContext ?? {};
    const c = container(m).securityContext ?? {};
    // The container's settings override the pod's.
    if ((c.runAsNonRoot ?? pod.runAsNonRoot) !== true) p.push('runAsNonRoot is not true');
    if ((c.runAsUser ?? pod.runAsUser) !== 1000) p.push(`runAsUser is ${c.runAsUser ?? pod.runAsUser}, not 1000 (node)`);
    if (c.readOnlyRootFilesystem !== true) p.push('readOnlyRootFilesystem is not true');
    if (c.allowPrivilegeEscalation !== false) p.push('allowPrivilegeEscalation is not false');
    if (c.privileged === true) p.push('the container is privileged');
    if (!c.capabilities?.drop?.includes('ALL')) p.push('capabilities do not drop ALL');
    if (c.capabilities?.add?.length) p.push(`capabilities add ${c.capabilities.add.join(', ')}`);
    if ((c.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') p.push('seccompProfile is not RuntimeDefault');
    return p;
  },

  'terminationGracePeriodSeconds covers the preStop sleep, the drain (SHUTDOWN_TIMEOUT_MS) and a margin': (m) => {
    const p: string[] = [];
    const c = container(m);
    const drainS = Math.ceil(Number(env(c, 'SHUTDOWN_TIMEOUT_MS') ?? ConfigSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined)) / 1000);
    const sleepS = preStopSeconds(c);
    if (sleepS < 1) p.push('no preStop sleep: connections routed before endpoint removal would be refused');
    const grace = m.deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    const need = sleepS + drainS + GRACE_MARGIN_S;
    if (grace < need)
      p.push(`terminationGracePeriodSeconds ${grace} < preStop ${sleepS} s + drain ${drainS} s + margin ${GRACE_MARGIN_S} s = ${need}`);
    return p;
  },

  'CPU and memory have requests and limits, and WORKERS follows the CPU limit': (m) => {
    const p: string[] = [];
    const c = container(m);
    const { requests = {}, limits = {} } = c.resources ?? {};
    for (const [what, parse] of [
      ['cpu', cpuCores],
      ['memory', bytes],
    ] as const) {
      const req = parse(requests[what]);
      const lim = parse(limits[what]);
      if (!(req > 0) || !(lim > 0)) p.push(`${what} request ${requests[what]} / limit ${limits[what]} missing or unreadable`);
      else if (req > lim) p.push(`${what} request ${requests[what]} above its limit ${limits[what]}`);
    }
    const workers = c.env?.find((e) => e.name === 'WORKERS');
    const field = workers?.valueFrom?.resourceFieldRef;
    if (field) {
      if (field.resource !== 'limits.cpu') p.push(`WORKERS comes from ${field.resource}, not limits.cpu`);
      if (field.containerName !== undefined && field.containerName !== c.name) p.push(`WORKERS reads container ${field.containerName}`);
      if (String(field.divisor ?? '1') !== '1') p.push(`WORKERS divisor is ${field.divisor}, not 1 (whole CPUs)`);
    } else if (Number(workers?.value) !== Math.ceil(cpuCores(limits.cpu))) {
      p.push(`WORKERS is ${workers?.value ?? "unset (auto: the node's cores)"}, the CPU limit is ${limits.cpu}`);
    }
    return p;
  },

  'the memory limit covers the process (heaps, cache, a response in flight), WORKER_HEAP_MB holds a response, MEMORY_BUDGET_MB sheds below the limit':
    (m) => {
      const p: string[] = [];
      const c = container(m);
      const limitMiB = bytes(c.resources?.limits?.memory) / MiB;
      const workersVar = c.env?.find((e) => e.name === 'WORKERS');
      const workers = workersVar?.valueFrom?.resourceFieldRef ? Math.ceil(cpuCores(c.resources?.limits?.cpu)) : Number(workersVar?.value);
      const heapMiB = setting(c, 'WORKER_HEAP_MB');
      const cacheMiB = setting(c, 'CACHE_BYTES', 64 * MiB) / MiB;
      const storeMiB = setting(c, 'GRAPH_STORE_BYTES', 64 * MiB) / MiB;
      const responseMiB = setting(c, 'MAX_RESPONSE_BYTES', 256 * MiB) / MiB;
      const budget = env(c, 'MEMORY_BUDGET_MB');
      if (!(limitMiB > 0) || !(workers > 0)) return [`memory limit ${c.resources?.limits?.memory} or WORKERS ${workers} unreadable`];
      const need = MEMORY.baseMiB + cacheMiB + storeMiB + workers * (heapMiB + MEMORY.perWorkerMiB) + 2 * responseMiB;
      if (need > limitMiB)
        p.push(
          `memory limit ${limitMiB} MiB < ${MEMORY.baseMiB} + CACHE_BYTES ${cacheMiB} + GRAPH_STORE_BYTES ${storeMiB} + ${workers} x (WORKER_HEAP_MB ${heapMiB} + ${MEMORY.perWorkerMiB}) + 2 x MAX_RESPONSE_BYTES ${responseMiB} = ${need} MiB`,
        );
      if (heapMiB < MEMORY.heapPerResponse * responseMiB)
        p.push(
          `WORKER_HEAP_MB ${heapMiB} < ${MEMORY.heapPerResponse} x MAX_RESPONSE_BYTES ${responseMiB} MiB: a worker could not build the largest response`,
        );
      // auto is 80 % of the cgroup limit, which is this limit: in step by construction.
      if (budget !== 'auto') {
        const budgetMiB = Number(budget);
        const idleMiB = MEMORY.baseMiB + cacheMiB + storeMiB + workers * MEMORY.perWorkerMiB;
        if (!(budgetMiB > 0)) p.push(`MEMORY_BUDGET_MB is ${budget ?? 'unset (auto)'}; set it, sized to the limit`);
        else if (budgetMiB > MEMORY.maxBudgetShare * limitMiB)
          p.push(
            `MEMORY_BUDGET_MB ${budgetMiB} above ${MEMORY.maxBudgetShare * 100} % of the ${limitMiB} MiB limit: no room left for admitted work`,
          );
        else if (budgetMiB < 2 * idleMiB)
          p.push(`MEMORY_BUDGET_MB ${budgetMiB} under twice the idle process (${idleMiB} MiB): it would shed ordinary load`);
      }
      return p;
    },

  'every env var is a derivd setting, and the literal values pass its configuration check': (m) => {
    const p: string[] = [];
    const known = Object.keys(ConfigSchema.shape);
    const literal: Record<string, string> = {};
    for (const e of container(m).env ?? []) {
      if (!known.includes(e.name)) p.push(`env ${e.name} is not a derivd setting`);
      else if (e.value !== undefined) literal[e.name] = e.value;
    }
    try {
      loadConfig(literal);
    } catch (err) {
      p.push((err as Error).message);
    }
    return p;
  },

  'the Service selects the pods and forwards port 80 (http) to the named container port': (m) => {
    const p: string[] = [];
    const s = m.service.spec;
    const pod = m.deployment.spec?.template.metadata?.labels;
    if ((s?.type ?? 'ClusterIP') !== 'ClusterIP') p.push(`Service type is ${s?.type}`);
    if (!selects(s?.selector, pod)) p.push('the Service selector does not select the pods');
    const http = s?.ports?.find((sp) => sp.name === 'http');
    if (http?.port !== 80) p.push(`Service port http is ${http?.port}, not 80`);
    if (typeof http?.targetPort !== 'string') p.push(`Service targetPort is ${http?.targetPort}, not a named port`);
    else if (!resolvePort(container(m), http.targetPort)) p.push(`Service targetPort ${http.targetPort} names no container port`);
    return p;
  },

  'the HPA scales the Deployment (no fixed replicas) from 2 to 10 on CPU': (m) => {
    const p: string[] = [];
    const s = m.hpa.spec;
    const ref = s?.scaleTargetRef;
    if (ref?.apiVersion !== 'apps/v1' || ref?.kind !== 'Deployment' || ref?.name !== m.deployment.metadata?.name)
      p.push(`HPA targets ${ref?.apiVersion} ${ref?.kind} ${ref?.name}`);
    if ((s?.minReplicas ?? 1) < 2) p.push(`HPA minReplicas ${s?.minReplicas} < 2`);
    if ((s?.maxReplicas ?? 0) < (s?.minReplicas ?? 1)) p.push('HPA maxReplicas below minReplicas');
    const cpu = s?.metrics?.find((x) => x.type === 'Resource' && x.resource?.name === 'cpu');
    const target = cpu?.resource?.target;
    if (target?.type !== 'Utilization' || !(target.averageUtilization! > 0 && target.averageUtilization! <= 100))
      p.push('HPA has no CPU utilisation target in (0, 100]');
    // Utilisation is relative to the request: without one the HPA cannot compute it.
    if (!container(m).resources?.requests?.cpu) p.push('no CPU request for the HPA utilisation');
    // With spec.replicas set, each `kubectl apply` would reset the HPA's count.
    if (m.deployment.spec?.replicas !== undefined)
      p.push(`the Deployment sets replicas (${m.deployment.spec.replicas}); the HPA owns the count`);
    return p;
  },

  'the PDB selects the pods and keeps one, leaving room for a drain': (m) => {
    const p: string[] = [];
    const s = m.pdb.spec;
    if (!selects(s?.selector, m.deployment.spec?.template.metadata?.labels)) p.push('the PDB selector does not select the pods');
    const min = s?.minAvailable;
    if (typeof min !== 'number' || min < 1) p.push(`PDB minAvailable is ${min}, expected a count of at least 1`);
    // minAvailable at or above the HPA floor would block every voluntary eviction.
    else if (min >= (m.hpa.spec?.minReplicas ?? 1))
      p.push(`PDB minAvailable ${min} blocks drains at the HPA floor of ${m.hpa.spec?.minReplicas}`);
    return p;
  },
};

// ---- the tests ----

const raw = readRaw();

test('every manifest parses and is valid against its Kubernetes schema', () => {
  expect(Object.keys(raw)).toContain(KUSTOMIZATION);
  const m = build(raw);
  expect(m.files.sort()).toEqual(['deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']);
});

/** kubectl, when installed (its built-in kustomize renders offline, without a cluster). */
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

test.skipIf(!kubectl)('kustomize renders the set: the same four valid resources, with the image of its images entry', () => {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 10_000 });
  const docs = parseAllDocuments(out);
  if (!Array.isArray(docs)) throw new Error('kustomize rendered nothing');
  const models = docs.map((d, i) => toModel(d.toJS(), `rendered document ${i}`));
  expect(models.map((r) => r.kind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
  const image = (raw[KUSTOMIZATION] as Kustomization).images?.[0];
  expect(image, 'kustomization.yaml has an images entry').toBeDefined();
  const rendered = models.find((r): r is Deployment => r instanceof Deployment)!;
  expect(rendered.spec?.template.spec?.containers[0].image).toBe(`${image!.newName ?? image!.name}:${image!.newTag ?? 'latest'}`);
});

describe('invariants', () => {
  const m = build(raw);
  for (const [name, check] of Object.entries(CHECKS)) test(name, () => expect(check(m)).toEqual([]));
});

describe('the checks reject broken manifests', () => {
  test('the schema validator rejects a Deployment with replicas: "two"', () => {
    const broken = structuredClone(raw) as Record<string, { spec: Record<string, unknown> }>;
    broken['deployment.yaml'].spec.replicas = 'two';
    expect(() => build(broken)).toThrow(/deployment\.yaml: .*replicas must be integer/);
  });

  test('the schema validator rejects a container without a name', () => {
    const broken = structuredClone(raw) as Record<string, { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }>;
    delete broken['deployment.yaml'].spec.template.spec.containers[0].name;
    expect(() => build(broken)).toThrow(/deployment\.yaml: .*containers\/0 must have required property name/);
  });

  const mutations: [string, (m: Manifests) => void, RegExp][] = [
    ['readiness on /healthz', (m) => void (container(m).readinessProbe!.httpGet!.path = '/healthz'), /readinessProbe path is \/healthz/],
    [
      'a grace period without margin',
      (m) => void (m.deployment.spec!.template.spec!.terminationGracePeriodSeconds = 15),
      /terminationGracePeriodSeconds 15 </,
    ],
    ['a writable root filesystem', (m) => void (container(m).securityContext!.readOnlyRootFilesystem = false), /readOnlyRootFilesystem/],
    ['a Service to an unnamed port', (m) => void (m.service.spec!.ports![0].targetPort = 'web'), /targetPort web names no container port/],
    ['a PDB selecting other pods', (m) => void (m.pdb.spec!.selector!.matchLabels = { 'app.kubernetes.io/name': 'other' }), /PDB selector/],
    ['a file left out of the kustomization', (m) => void m.kustomization.resources!.pop(), /does not list/],
    [
      'a misspelt setting',
      (m) => void container(m).env!.push({ name: 'SHUTDOWN_TIMEOUT', value: '5000' }),
      /SHUTDOWN_TIMEOUT is not a derivd setting/,
    ],
    [
      'the old 1Gi limit with 640 MiB worker heaps',
      (m) => void (container(m).resources!.limits!.memory = '1Gi'),
      /memory limit 1024 MiB < .* = 2032 MiB/,
    ],
    [
      'a worker heap too small for a response',
      (m) => void (container(m).env!.find((e) => e.name === 'WORKER_HEAP_MB')!.value = '256'),
      /WORKER_HEAP_MB 256 < 2.5 x MAX_RESPONSE_BYTES 256 MiB/,
    ],
    [
      'a memory budget at the limit',
      (m) => void (container(m).env!.find((e) => e.name === 'MEMORY_BUDGET_MB')!.value = '2048'),
      /MEMORY_BUDGET_MB 2048 above 80 %/,
    ],
  ];
  for (const [what, mutate, problem] of mutations) {
    test(`an invariant reports ${what}`, () => {
      const m = build(raw);
      mutate(m);
      const problems = Object.values(CHECKS).flatMap((check) => check(m));
      expect(problems.join('\n')).toMatch(problem);
    });
  }
});
