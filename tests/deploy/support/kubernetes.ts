/**
 * The Kubernetes manifests as the checks see them: rendered by kustomize (`kubectl kustomize`, as
 * `kubectl apply -k` would), validated against the API's types (kubernetes-models) and for unknown
 * fields (a round trip through @kubernetes/client-node's typed models drops them), and checked for the
 * cross-references no schema checks (checkManifests).
 */
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import type {
  V1Container,
  V1EnvVar,
  V1HTTPGetAction,
  V1PodDisruptionBudget,
  V1PodTemplateSpec,
  V1Probe,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import * as kedaModels from '@kubernetes-models/keda';
import * as kubernetesModels from 'kubernetes-models';
import { createKeyLayout } from '@switchyard/shared';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { healthcheckCommand, readDockerfile } from './dockerfiles.js';
import { ROOT, SERVICES, imageRepository, isService, withoutTag, type ServiceName } from './repo.js';
import { serviceEnv } from './service-env.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize DIR` (or a standalone `kustomize build DIR`): the objects `kubectl apply -k` sends. */
export function renderKustomization(dir: string): K8sObject[] {
  const attempts: [string, string[]][] = [
    ['kubectl', ['kustomize', dir]],
    ['kustomize', ['build', dir]],
  ];
  const failures: string[] = [];
  for (const [command, args] of attempts) {
    const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      failures.push(`${command}: not installed`);
      continue;
    }
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
    return parseAllDocuments(result.stdout)
      .map((document) => document.toJS() as K8sObject | null)
      .filter((object): object is K8sObject => object !== null);
  }
  throw new Error(
    `Rendering ${dir} needs kubectl (1.21 or newer, for its built-in kustomize v4+) or kustomize on PATH ` +
      `(${failures.join('; ')}). Debian's kubernetes-client (1.20) is too old. Install kubectl from the ` +
      `Kubernetes apt repository or a kustomize release, then run the tests again.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Schema validation

type ModelClass = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for an object's apiVersion and kind ("apps/v1" -> apps.v1). */
function modelFor(object: K8sObject): ModelClass | undefined {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const groupKey = group === '' ? version! : group!.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase());
  const catalog = { ...kubernetesModels, ...kedaModels } as unknown as Record<string, Record<string, unknown>>;
  const versions = catalog[groupKey];
  const models = (group === '' ? versions : versions?.[version!]) as Record<string, unknown> | undefined;
  return models?.[object.kind] as ModelClass | undefined;
}

/** Paths of fields in `original` that `roundTripped` lost. */
function droppedFields(original: unknown, roundTripped: unknown, path = ''): string[] {
  if (Array.isArray(original)) {
    return original.flatMap((item, i) =>
      droppedFields(item, Array.isArray(roundTripped) ? roundTripped[i] : undefined, `${path}[${i}]`),
    );
  }
  if (original && typeof original === 'object') {
    const other = (roundTripped ?? {}) as Record<string, unknown>;
    return Object.entries(original).flatMap(([key, value]) =>
      key in other ? droppedFields(value, other[key], path ? `${path}.${key}` : key) : [path ? `${path}.${key}` : key],
    );
  }
  return [];
}

function nameOf(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}

/** Type errors (kubernetes-models) and unknown fields (client-node round trip) of every object. */
export function validateSchemas(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = modelFor(object);
    if (!Model) {
      problems.push(`${nameOf(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(structuredClone(object)).validate();
    } catch (error) {
      problems.push(`${nameOf(object)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    // client-node knows the built-in kinds only; custom resources come back as they went in.
    const [typed] = loadAllYaml(stringify(object)) as object[];
    if (typed && typed.constructor.name !== 'KubernetesObject') {
      const roundTripped: unknown = parse(dumpYaml(typed));
      if (!isDeepStrictEqual(roundTripped, object)) {
        const dropped = droppedFields(object, roundTripped);
        for (const field of dropped) problems.push(`${nameOf(object)}: unknown field ${field}`);
        if (dropped.length === 0) problems.push(`${nameOf(object)}: changes in a round trip through the API types`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Cross-references

interface Workload {
  object: K8sObject;
  namespace: string;
  template: V1PodTemplateSpec;
  /** spec.replicas, or undefined when not set (an autoscaler owns it). */
  replicas: number | undefined;
  claimTemplates: string[];
}

/** How a variable gets its value in a container. */
interface EnvSource {
  value?: string;
  configMap?: { name: string; key: string; optional: boolean };
  secret?: { name: string; key: string; optional: boolean };
}

/** Kinds that belong to no namespace (of the ones manifests here may hold). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PersistentVolume',
  'PriorityClass',
  'ClusterTriggerAuthentication',
]);

/** Seconds a service may need after SIGTERM beyond SHUTDOWN_GRACE_MS: the R worker's kill-and-mark. */
const EXTRA_STOP_SECONDS: Record<ServiceName, number> = { gateway: 0, 'node-worker': 0, 'r-worker': 5 };

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Names referenced as $(NAME) in a string (Kubernetes' dependent variables). */
const references = (text: string | undefined) =>
  [...(text ?? '').matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((match) => match[1]!);

class Manifests {
  readonly problems: string[] = [];
  readonly workloads: Workload[];

  constructor(readonly objects: readonly K8sObject[]) {
    this.workloads = objects
      .filter((object) => ['Deployment', 'StatefulSet'].includes(object.kind))
      .map((object) => {
        const spec = (object.spec ?? {}) as {
          template?: V1PodTemplateSpec;
          replicas?: number;
          volumeClaimTemplates?: { metadata?: { name?: string } }[];
        };
        return {
          object,
          namespace: object.metadata.namespace ?? 'default',
          template: spec.template ?? {},
          replicas: spec.replicas,
          claimTemplates: (spec.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name ?? ''),
        };
      });
  }

  /** While positive, problems are not recorded (a second look at something already checked). */
  private quiet = 0;

  report(where: string, problem: string): void {
    if (this.quiet === 0) this.problems.push(`${where}: ${problem}`);
  }

  quietly<T>(look: () => T): T {
    this.quiet++;
    try {
      return look();
    } finally {
      this.quiet--;
    }
  }

  find(kind: string, name: string | undefined, namespace: string): K8sObject | undefined {
    return this.objects.find(
      (object) =>
        object.kind === kind && object.metadata.name === name && (object.metadata.namespace ?? 'default') === namespace,
    );
  }

  all<T = K8sObject>(kind: string): (T & K8sObject)[] {
    return this.objects.filter((object) => object.kind === kind) as (T & K8sObject)[];
  }

  selected(selector: Record<string, string> | undefined, namespace: string): Workload[] {
    return this.workloads.filter(
      (workload) => workload.namespace === namespace && matches(selector, workload.template.metadata?.labels),
    );
  }

  workload(kind: string, name: string | undefined, namespace: string): Workload | undefined {
    return this.workloads.find(
      (w) => w.object.kind === kind && w.object.metadata.name === name && w.namespace === namespace,
    );
  }

  /** The keys of a ConfigMap or Secret, or undefined when it does not exist. */
  keysOf(kind: 'ConfigMap' | 'Secret', name: string | undefined, namespace: string): string[] | undefined {
    const object = this.find(kind, name, namespace) as { data?: object; stringData?: object; binaryData?: object };
    if (!object) return undefined;
    return [
      ...Object.keys(object.data ?? {}),
      ...Object.keys(object.stringData ?? {}),
      ...Object.keys(object.binaryData ?? {}),
    ];
  }

  /** A ConfigMap key's value. */
  configValue(name: string, key: string, namespace: string): string | undefined {
    const object = this.find('ConfigMap', name, namespace) as { data?: Record<string, string> } | undefined;
    return object?.data?.[key];
  }

  /** The container's variables, in the order Kubernetes defines them (envFrom, then env). */
  environment(container: V1Container, namespace: string, where: string): Map<string, EnvSource> {
    const environment = new Map<string, EnvSource>();
    for (const source of container.envFrom ?? []) {
      const prefix = source.prefix ?? '';
      const [kind, ref] = source.configMapRef
        ? (['ConfigMap', source.configMapRef] as const)
        : (['Secret', source.secretRef!] as const);
      const keys = this.keysOf(kind, ref.name, namespace);
      if (!keys) {
        if (!ref.optional) this.report(where, `envFrom ${kind} ${ref.name} does not exist`);
        continue;
      }
      for (const key of keys) {
        const reference = { name: ref.name!, key, optional: !!ref.optional };
        environment.set(prefix + key, kind === 'ConfigMap' ? { configMap: reference } : { secret: reference });
      }
    }
    for (const variable of container.env ?? []) {
      for (const name of references(variable.value)) {
        if (!environment.has(name))
          this.report(where, `${variable.name} refers to $(${name}), which is not defined before it`);
      }
      environment.set(variable.name, this.envSource(variable, namespace, where));
    }
    for (const word of [...(container.command ?? []), ...(container.args ?? [])]) {
      for (const name of references(word)) {
        if (!environment.has(name)) this.report(where, `the command refers to $(${name}), which is not defined`);
      }
    }
    return environment;
  }

  envSource(variable: V1EnvVar, namespace: string, where: string): EnvSource {
    const from = variable.valueFrom;
    if (!from) return { value: variable.value ?? '' };
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (!ref) return {};
    const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const keys = this.keysOf(kind, ref.name, namespace);
    if (!ref.optional) {
      if (!keys) this.report(where, `${variable.name} comes from ${kind} ${ref.name}, which does not exist`);
      else if (!keys.includes(ref.key))
        this.report(where, `${variable.name} comes from ${kind} ${ref.name}, which has no key ${ref.key}`);
    }
    const reference = { name: ref.name ?? '', key: ref.key, optional: !!ref.optional };
    return kind === 'ConfigMap' ? { configMap: reference } : { secret: reference };
  }

  /** A variable's value when the manifests give it one (a literal or a ConfigMap key). */
  valueOf(source: EnvSource | undefined, namespace: string): string | undefined {
    if (!source) return undefined;
    if (source.value !== undefined) return source.value;
    if (source.configMap) return this.configValue(source.configMap.name, source.configMap.key, namespace);
    return undefined;
  }

  /** The Service a URL's host names ("redis", "redis.ns", "redis.ns.svc.cluster.local"). */
  serviceForHost(host: string, namespace: string): V1Service | undefined {
    const [name, hostNamespace = namespace, svc] = host.split('.');
    if (svc !== undefined && svc !== 'svc') return undefined;
    return this.find('Service', name, hostNamespace) as V1Service | undefined;
  }
}

/** The port number a container port reference (name or number) resolves to, or undefined. */
function resolvePort(containers: readonly V1Container[], port: number | string | undefined): number | undefined {
  for (const container of containers) {
    for (const containerPort of container.ports ?? []) {
      if (port === containerPort.name || Number(port) === containerPort.containerPort)
        return containerPort.containerPort;
    }
  }
  return undefined;
}

function probeProblems(probe: V1Probe | undefined, which: string, containers: readonly V1Container[]): string[] {
  if (!probe) return [`no ${which}`];
  const http = probe.httpGet as V1HTTPGetAction | undefined;
  const port = http?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
  if (port !== undefined && resolvePort(containers, port) === undefined) {
    return [`${which} uses port ${port}, which the container does not have`];
  }
  if (!http && !probe.tcpSocket && !probe.grpc && !(probe.exec?.command?.length ?? 0))
    return [`${which} checks nothing`];
  return [];
}

function preStopSeconds(container: V1Container): number {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  const sleep = container.lifecycle?.preStop?.sleep?.seconds;
  if (sleep !== undefined) return sleep;
  return command[0] === 'sleep' ? Number(command[1] ?? 0) : 0;
}

/** Every cross-reference problem in a rendered set of manifests; empty when all is right. */
export function checkManifests(objects: readonly K8sObject[]): string[] {
  const m = new Manifests(objects);
  const namespaces = new Set(m.all('Namespace').map((namespace) => namespace.metadata.name));
  for (const object of objects) {
    const namespace = object.metadata.namespace;
    if (namespace && !namespaces.has(namespace)) m.report(nameOf(object), `namespace ${namespace} is not created here`);
    if (!namespace && !CLUSTER_SCOPED.has(object.kind)) {
      m.report(nameOf(object), "has no namespace: it would land in the current context's namespace");
    }
  }

  // Autoscalers: what each targets, and that no Deployment has two.
  const scaledObjects = m.all<{ spec?: Record<string, unknown> }>('ScaledObject');
  const kedaTargets = new Map<string, K8sObject>();
  for (const scaledObject of scaledObjects) {
    const target = (scaledObject.spec?.scaleTargetRef ?? {}) as { kind?: string; name?: string };
    kedaTargets.set(`${target.kind ?? 'Deployment'}/${target.name}`, scaledObject);
  }
  for (const hpa of m.all<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler')) {
    const where = nameOf(hpa);
    const namespace = hpa.metadata.namespace ?? 'default';
    const target = hpa.spec?.scaleTargetRef;
    const workload = m.workload(target?.kind ?? '', target?.name, namespace);
    if (!workload) {
      m.report(where, `scaleTargetRef ${target?.kind}/${target?.name} does not exist`);
      continue;
    }
    if (kedaTargets.has(`${target?.kind}/${target?.name}`)) {
      m.report(where, `targets ${target?.kind}/${target?.name}, which KEDA also scales`);
    }
    if ((hpa.spec?.minReplicas ?? 1) < 2) m.report(where, 'minReplicas is below 2');
    const resources = (hpa.spec?.metrics ?? []).filter((metric) => metric.type === 'Resource');
    for (const metric of resources) {
      const resource = metric.resource!.name;
      for (const container of workload.template.spec?.containers ?? []) {
        if (!container.resources?.requests?.[resource]) {
          m.report(where, `scales on ${resource} utilization, but container ${container.name} requests no ${resource}`);
        }
      }
    }
  }
  for (const scaledObject of scaledObjects) {
    checkScaledObject(m, scaledObject);
  }

  // Services: select pods, on ports those pods have.
  for (const service of m.all<V1Service>('Service')) {
    const where = nameOf(service);
    const namespace = service.metadata.namespace ?? 'default';
    const selected = m.selected(service.spec?.selector, namespace);
    if (selected.length === 0) {
      m.report(where, `selector ${JSON.stringify(service.spec?.selector ?? {})} matches no pod template`);
      continue;
    }
    for (const port of service.spec?.ports ?? []) {
      for (const workload of selected) {
        if (resolvePort(workload.template.spec?.containers ?? [], port.targetPort ?? port.port) === undefined) {
          m.report(where, `targetPort ${port.targetPort ?? port.port} is not a port of ${nameOf(workload.object)}`);
        }
      }
    }
  }

  // Disruption budgets: select pods, and leave room to evict one.
  const budgets = m.all<V1PodDisruptionBudget>('PodDisruptionBudget');
  for (const budget of budgets) {
    const where = nameOf(budget);
    const selected = m.selected(budget.spec?.selector?.matchLabels, budget.metadata.namespace ?? 'default');
    if (selected.length === 0) m.report(where, 'selector matches no pod template');
    for (const workload of selected) {
      const replicas = minimumReplicas(workload, kedaTargets);
      const minAvailable = budget.spec?.minAvailable;
      if (typeof minAvailable === 'number' && minAvailable >= replicas) {
        m.report(
          where,
          `minAvailable ${minAvailable} leaves no pod of ${nameOf(workload.object)} (${replicas}) to evict`,
        );
      }
      if (budget.spec?.maxUnavailable === 0) m.report(where, 'maxUnavailable 0 blocks every eviction');
    }
  }

  for (const workload of m.workloads) {
    checkWorkload(m, workload, kedaTargets, budgets);
  }

  for (const service of SERVICES) {
    if (!m.workloads.some((w) => w.template.spec?.containers.some((c) => c.name === service))) {
      m.report(service, 'no workload runs it');
    }
  }
  return m.problems;
}

function minimumReplicas(workload: Workload, kedaTargets: Map<string, K8sObject>): number {
  const scaledObject = kedaTargets.get(`${workload.object.kind}/${workload.object.metadata.name}`);
  const kedaMinimum = (scaledObject?.spec as { minReplicaCount?: number } | undefined)?.minReplicaCount;
  return workload.replicas ?? kedaMinimum ?? 1;
}

function checkWorkload(
  m: Manifests,
  workload: Workload,
  kedaTargets: Map<string, K8sObject>,
  budgets: readonly V1PodDisruptionBudget[],
): void {
  const where = nameOf(workload.object);
  const { namespace, template } = workload;
  const pod = template.spec;
  const selector = (workload.object.spec as { selector?: { matchLabels?: Record<string, string> } }).selector;
  if (!matches(selector?.matchLabels, template.metadata?.labels))
    m.report(where, 'selector does not match its own pod template');
  if (!pod) {
    m.report(where, 'no pod template');
    return;
  }
  const volumes = new Set([...(pod.volumes ?? []).map((volume) => volume.name), ...workload.claimTemplates]);
  for (const volume of pod.volumes ?? []) {
    if (volume.configMap && !volume.configMap.optional && !m.keysOf('ConfigMap', volume.configMap.name, namespace))
      m.report(where, `volume ${volume.name}: ConfigMap ${volume.configMap.name} does not exist`);
    if (volume.secret && !volume.secret.optional && !m.keysOf('Secret', volume.secret.secretName, namespace))
      m.report(where, `volume ${volume.name}: Secret ${volume.secret.secretName} does not exist`);
  }

  for (const container of pod.containers) {
    const at = `${where} container ${container.name}`;
    for (const mount of container.volumeMounts ?? []) {
      if (!volumes.has(mount.name)) m.report(at, `mounts volume ${mount.name}, which the pod does not have`);
    }
    for (const resource of ['cpu', 'memory']) {
      if (!container.resources?.requests?.[resource]) m.report(at, `no ${resource} request`);
      if (!container.resources?.limits?.[resource]) m.report(at, `no ${resource} limit`);
    }
    for (const problem of probeProblems(container.readinessProbe, 'readinessProbe', [container])) m.report(at, problem);
    for (const problem of probeProblems(container.livenessProbe, 'livenessProbe', [container])) m.report(at, problem);
    const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
    if (runAsNonRoot !== true) m.report(at, 'runAsNonRoot is not set');
    const environment = m.environment(container, namespace, at);
    if (isService(container.name)) {
      checkServiceContainer(m, workload, container, environment, at, kedaTargets, budgets);
    }
    if (container.name === 'redis') checkRedisContainer(m, workload, container, environment, at);
  }
}

function checkServiceContainer(
  m: Manifests,
  workload: Workload,
  container: V1Container,
  environment: Map<string, EnvSource>,
  at: string,
  kedaTargets: Map<string, K8sObject>,
  budgets: readonly V1PodDisruptionBudget[],
): void {
  const service = container.name as ServiceName;
  const { namespace } = workload;
  const reads = serviceEnv(service);
  if (!container.image || withoutTag(container.image) !== imageRepository(service)) {
    m.report(
      at,
      `image ${container.image} is not ${imageRepository(service)}:<tag> (built from ${service}/Dockerfile)`,
    );
  }

  // An exec probe runs what the image's HEALTHCHECK runs (a command that exists in the image).
  const imageHealthcheck = healthcheckCommand(readDockerfile(service));
  for (const [which, probe] of [
    ['readinessProbe', container.readinessProbe],
    ['livenessProbe', container.livenessProbe],
  ] as const) {
    const command = probe?.exec?.command;
    if (command && !isDeepStrictEqual(command, imageHealthcheck)) {
      m.report(
        at,
        `${which} runs \`${command.join(' ')}\`, not the image's HEALTHCHECK \`${imageHealthcheck?.join(' ')}\``,
      );
    }
  }

  // Variables: only ones the service reads, and helpers other variables refer to as $(NAME).
  const helpers = new Set((container.env ?? []).flatMap((variable) => references(variable.value)));
  for (const name of environment.keys()) {
    if (!reads.names.has(name) && !helpers.has(name)) m.report(at, `sets ${name}, which ${service} does not read`);
  }
  const value = (name: string) => m.valueOf(environment.get(name), namespace) ?? reads.defaultOf(name)?.toString();

  // Redis: the redis Service, with the password Redis requires.
  const redisUrl = environment.get('REDIS_URL')?.value;
  if (!redisUrl) m.report(at, 'REDIS_URL is not set (as a literal using $(VARIABLES))');
  else {
    const url = new URL(redisUrl.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, 'VAR-$1'));
    const redisService = m.serviceForHost(url.hostname, namespace);
    const port = Number(url.port || 6379);
    if (!redisService) m.report(at, `REDIS_URL's host ${url.hostname} is not a Service`);
    else if (!redisService.spec?.ports?.some((p) => p.port === port))
      m.report(at, `REDIS_URL's port ${port} is not a port of Service ${url.hostname}`);
    const passwordVariable = /^VAR-(\w+)$/.exec(decodeURIComponent(url.password))?.[1];
    const passwordSecret = passwordVariable ? environment.get(passwordVariable)?.secret : undefined;
    const redisSecret = redisPasswordSecret(m, namespace);
    if (
      !passwordSecret ||
      !redisSecret ||
      passwordSecret.name !== redisSecret.name ||
      passwordSecret.key !== redisSecret.key
    ) {
      m.report(at, "REDIS_URL's password is not the Secret Redis takes its --requirepass from");
    }
  }

  // An HTTP service listens on the port its container declares and its probes use.
  const port = value('PORT');
  if (reads.names.has('PORT') && port !== undefined && resolvePort([container], Number(port)) === undefined) {
    m.report(at, `listens on PORT ${port}, which is not a containerPort`);
  }

  if (service === 'gateway') {
    const rServiceUrl = value('R_SERVICE_URL');
    const url = rServiceUrl ? new URL(rServiceUrl) : undefined;
    const target = url ? m.serviceForHost(url.hostname, namespace) : undefined;
    const servicePort = target?.spec?.ports?.find((p) => p.port === Number(url?.port || 80));
    const rWorkers = target ? m.selected(target.spec?.selector, target.metadata?.namespace ?? namespace) : [];
    const rContainer = rWorkers.flatMap((w) => w.template.spec?.containers ?? []).find((c) => c.name === 'r-worker');
    if (!url || !target) m.report(at, `R_SERVICE_URL ${rServiceUrl} is not a Service`);
    else if (!servicePort)
      m.report(at, `R_SERVICE_URL's port ${url.port || 80} is not a port of Service ${url.hostname}`);
    else if (!rContainer) m.report(at, `R_SERVICE_URL's Service ${url.hostname} does not select r-worker pods`);
  }

  // Replicas, and a termination grace period long enough for SHUTDOWN_GRACE_MS.
  const isDeployment = workload.object.kind === 'Deployment';
  if (isDeployment && minimumReplicas(workload, kedaTargets) < 2) m.report(at, 'fewer than 2 replicas');
  const graceSeconds = Number(value('SHUTDOWN_GRACE_MS')) / 1000;
  const needed = graceSeconds + preStopSeconds(container) + EXTRA_STOP_SECONDS[service];
  const termination = workload.template.spec?.terminationGracePeriodSeconds ?? 30;
  if (!(termination > needed)) {
    m.report(
      at,
      `terminationGracePeriodSeconds ${termination} does not exceed the ${needed} s a graceful stop may take`,
    );
  }
  if (
    service !== 'gateway' &&
    !budgets.some((budget) => m.selected(budget.spec?.selector?.matchLabels, namespace).includes(workload))
  ) {
    m.report(at, 'no PodDisruptionBudget covers the workers');
  }
}

/** The Secret key Redis' --requirepass comes from. */
function redisPasswordSecret(m: Manifests, namespace: string): { name: string; key: string } | undefined {
  for (const workload of m.workloads.filter((w) => w.namespace === namespace)) {
    for (const container of workload.template.spec?.containers ?? []) {
      const words = [...(container.command ?? []), ...(container.args ?? [])];
      const password = words[words.indexOf('--requirepass') + 1];
      const variable = words.includes('--requirepass') ? references(password)[0] : undefined;
      const ref = (container.env ?? []).find((v) => v.name === variable)?.valueFrom?.secretKeyRef;
      if (ref) return { name: ref.name ?? '', key: ref.key };
    }
  }
  return undefined;
}

function checkRedisContainer(
  m: Manifests,
  workload: Workload,
  container: V1Container,
  environment: Map<string, EnvSource>,
  at: string,
): void {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  const password = words.includes('--requirepass') ? words[words.indexOf('--requirepass') + 1] : undefined;
  const variable = password ? references(password)[0] : undefined;
  if (!variable || !environment.get(variable)?.secret) m.report(at, '--requirepass does not come from a Secret');
  if (words[words.indexOf('--appendonly') + 1] !== 'yes') m.report(at, 'AOF persistence is off (--appendonly yes)');
  const dataMount = (container.volumeMounts ?? []).find((mount) => mount.mountPath === '/data');
  if (workload.object.kind !== 'StatefulSet' || !dataMount || !workload.claimTemplates.includes(dataMount.name)) {
    m.report(at, '/data is not on a PersistentVolumeClaim of a StatefulSet');
  }
}

function checkScaledObject(m: Manifests, scaledObject: K8sObject): void {
  const where = nameOf(scaledObject);
  const namespace = scaledObject.metadata.namespace ?? 'default';
  const spec = (scaledObject.spec ?? {}) as {
    scaleTargetRef?: { kind?: string; name?: string };
    minReplicaCount?: number;
    triggers?: {
      type?: string;
      metadata?: Record<string, string>;
      authenticationRef?: { name?: string; kind?: string };
    }[];
  };
  const workload = m.workload(spec.scaleTargetRef?.kind ?? 'Deployment', spec.scaleTargetRef?.name, namespace);
  if (!workload) {
    m.report(
      where,
      `scaleTargetRef ${spec.scaleTargetRef?.kind ?? 'Deployment'}/${spec.scaleTargetRef?.name} does not exist`,
    );
    return;
  }
  if ((spec.minReplicaCount ?? 0) < 2) m.report(where, 'minReplicaCount is below 2');
  const worker = workload.template.spec?.containers.find((container) => container.name === 'node-worker');
  if (!worker) m.report(where, 'does not scale the node-worker Deployment');
  for (const trigger of spec.triggers ?? []) {
    if (trigger.type !== 'redis') continue;
    const metadata = trigger.metadata ?? {};
    // The queue: LLEN of the Node queue key, with the workers' KEY_PREFIX.
    if (worker) {
      const environment = m.quietly(() => m.environment(worker, namespace, where));
      const prefix =
        m.valueOf(environment.get('KEY_PREFIX'), namespace) ??
        String(serviceEnv('node-worker').defaultOf('KEY_PREFIX'));
      const queue = createKeyLayout(prefix).nodeQueue;
      if (metadata.listName !== queue) m.report(where, `listName ${metadata.listName} is not the Node queue ${queue}`);
    }
    // The address: a Service's full name (KEDA's operator runs in its own namespace).
    const address = metadata.address ?? (metadata.host ? `${metadata.host}:${metadata.port ?? 6379}` : undefined);
    const [host = '', port = '6379'] = (address ?? '').split(':');
    const service = m.serviceForHost(host, namespace);
    if (!address) m.report(where, 'the redis trigger has no address');
    else if (!host.includes('.'))
      m.report(where, `address ${address} is not a full Service name (KEDA resolves it from its own namespace)`);
    else if (!service) m.report(where, `address ${address} is not a Service`);
    else if (!service.spec?.ports?.some((p) => p.port === Number(port)))
      m.report(where, `address ${address}: no such Service port`);
    if (!/^\d+$/.test(metadata.listLength ?? '')) m.report(where, 'listLength is not a whole number');
    // The password, through a TriggerAuthentication.
    const ref = trigger.authenticationRef;
    const auth = ref ? m.find(ref.kind ?? 'TriggerAuthentication', ref.name, namespace) : undefined;
    if (!ref) m.report(where, 'the redis trigger has no authenticationRef (Redis requires a password)');
    else if (!auth) m.report(where, `authenticationRef ${ref.name} does not exist`);
    else {
      const targets =
        (auth.spec as { secretTargetRef?: { parameter: string; name: string; key: string }[] })?.secretTargetRef ?? [];
      if (!targets.some((target) => target.parameter === 'password')) m.report(nameOf(auth), 'gives no password');
      for (const target of targets) {
        const keys = m.keysOf('Secret', target.name, namespace);
        if (!keys) m.report(nameOf(auth), `Secret ${target.name} does not exist`);
        else if (!keys.includes(target.key)) m.report(nameOf(auth), `Secret ${target.name} has no key ${target.key}`);
      }
    }
  }
}
