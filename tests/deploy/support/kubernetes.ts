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
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1PodDisruptionBudget,
  V1PodTemplateSpec,
  V1Probe,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import * as kedaModels from '@kubernetes-models/keda';
import * as kubernetesModels from 'kubernetes-models';
import { DEFAULT_QUEUE, createKeyLayout, parseQueueList, parseTaskRoutes, type WorkerKind } from '@switchyard/shared';
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

/** Seconds a service may need after SIGTERM beyond SHUTDOWN_GRACE_MS: the R worker killing its children and handing their tasks back. */
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

  /** A Secret key's value (decoded), or undefined. */
  secretValue(name: string, key: string, namespace: string): string | undefined {
    const object = this.find('Secret', name, namespace) as
      { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
    if (object?.stringData?.[key] !== undefined) return object.stringData[key];
    const encoded = object?.data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
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
  checkSelectorsOverlap(m);
  checkWorkerGroups(m, scaledObjects);
  checkRServiceToken(m);
  checkNetworkPolicies(m, scaledObjects);

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
  const group = workerGroupOf(m, workload);
  if (!group) m.report(where, `${nameOf(workload.object)} runs no worker (node-worker or r-worker)`);
  // One trigger per queue the group takes from, on that queue's waiting tasks (a ZSET, which KEDA's
  // redis scaler counts with ZCARD), under the workers' KEY_PREFIX.
  const expected = new Map(group?.queues.map((queue) => [group.keys.queue(group.kind, queue).wait, queue]) ?? []);
  const seen = new Set<string>();
  for (const trigger of spec.triggers ?? []) {
    if (trigger.type !== 'redis') {
      m.report(where, `trigger ${trigger.type} is not checked here (only redis triggers on the queues)`);
      continue;
    }
    const metadata = trigger.metadata ?? {};
    if (group) {
      const listName = metadata.listName ?? '';
      if (!expected.has(listName)) {
        m.report(
          where,
          `listName ${listName} is not the waiting set of a queue ${nameOf(workload.object)} takes from (QUEUES ${group.queues.join(',')}: ${[...expected.keys()].join(', ')})`,
        );
      } else if (seen.has(listName)) m.report(where, `two triggers on ${listName}`);
      seen.add(listName);
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
  for (const [listName, queue] of expected) {
    if (!seen.has(listName))
      m.report(where, `no trigger on queue ${queue} (${listName}), which ${nameOf(workload.object)} takes from`);
  }
}

// ---------------------------------------------------------------------------------------------
// Worker groups, routes, the R service token, NetworkPolicies

/** Which worker kind a container name runs. */
const WORKER_KIND: Partial<Record<string, WorkerKind>> = { 'node-worker': 'node', 'r-worker': 'r' };

interface WorkerGroup {
  workload: Workload;
  container: V1Container;
  kind: WorkerKind;
  /** QUEUES as the worker parses it (its default when unset). */
  queues: string[];
  keys: ReturnType<typeof createKeyLayout>;
}

/** A variable's value in a container, or the service's default when the manifests do not set it. */
function containerValue(m: Manifests, workload: Workload, container: V1Container, name: string): string | undefined {
  const environment = m.quietly(() => m.environment(container, workload.namespace, nameOf(workload.object)));
  const set = m.valueOf(environment.get(name), workload.namespace);
  if (set !== undefined) return set;
  return isService(container.name) ? serviceEnv(container.name).defaultOf(name)?.toString() : undefined;
}

/** The worker a workload runs: its kind, queues and key layout; undefined for other workloads. */
function workerGroupOf(m: Manifests, workload: Workload): WorkerGroup | undefined {
  const container = workload.template.spec?.containers.find((c) => WORKER_KIND[c.name] !== undefined);
  if (!container) return undefined;
  const queuesText = containerValue(m, workload, container, 'QUEUES') ?? DEFAULT_QUEUE;
  let queues: string[];
  try {
    queues = parseQueueList(queuesText);
  } catch (error) {
    m.report(`${nameOf(workload.object)} container ${container.name}`, `QUEUES ${(error as Error).message}`);
    queues = [];
  }
  let keys: ReturnType<typeof createKeyLayout>;
  try {
    keys = createKeyLayout(containerValue(m, workload, container, 'KEY_PREFIX') ?? 'switchyard');
  } catch (error) {
    m.report(`${nameOf(workload.object)} container ${container.name}`, (error as Error).message);
    keys = createKeyLayout('switchyard');
  }
  return { workload, container, kind: WORKER_KIND[container.name]!, queues, keys };
}

/** matchLabels and matchExpressions; an empty selector selects everything (as in NetworkPolicies). */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((requirement) => {
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case 'In':
        return value !== undefined && (requirement.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(requirement.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

/** Two controllers whose selectors match each other's pods fight over them (and a Service spans both). */
function checkSelectorsOverlap(m: Manifests): void {
  for (const workload of m.workloads) {
    const selector = (workload.object.spec as { selector?: V1LabelSelector }).selector;
    for (const other of m.workloads) {
      if (other === workload || other.namespace !== workload.namespace) continue;
      if (selectorMatches(selector, other.template.metadata?.labels)) {
        m.report(nameOf(workload.object), `selector also matches the pods of ${nameOf(other.object)}`);
      }
    }
  }
}

/**
 * Dedicated worker groups: every queue the gateway routes to (TASK_ROUTES) and `default` are taken
 * by some group of that kind, and no group waits on a queue nothing sends to. With KEDA, every group
 * has its ScaledObject (checkScaledObject checks its triggers).
 */
function checkWorkerGroups(m: Manifests, scaledObjects: readonly K8sObject[]): void {
  const groups = m.workloads.map((workload) => workerGroupOf(m, workload)).filter((g) => g !== undefined);
  for (const gatewayWorkload of m.workloads) {
    const gateway = gatewayWorkload.template.spec?.containers.find((c) => c.name === 'gateway');
    if (!gateway) continue;
    const at = `${nameOf(gatewayWorkload.object)} container gateway`;
    let routes: ReturnType<typeof parseTaskRoutes>;
    try {
      routes = parseTaskRoutes(containerValue(m, gatewayWorkload, gateway, 'TASK_ROUTES') ?? '');
    } catch (error) {
      m.report(at, `TASK_ROUTES ${(error as Error).message}`);
      continue;
    }
    for (const kind of ['node', 'r'] as const) {
      const ofKind = groups.filter((g) => g.kind === kind && g.workload.namespace === gatewayWorkload.namespace);
      const routed = new Map<string, string[]>();
      for (const [task, queue] of Object.entries(routes[kind])) routed.set(queue, [...(routed.get(queue) ?? []), task]);
      for (const [queue, tasks] of [[DEFAULT_QUEUE, ['unrouted']] as const, ...routed]) {
        if (!ofKind.some((g) => g.queues.includes(queue))) {
          m.report(at, `${kind} queue ${queue} (${tasks.join(', ')} tasks) is taken by no ${kind} worker group`);
        }
      }
      for (const group of ofKind) {
        for (const queue of group.queues) {
          if (queue !== DEFAULT_QUEUE && !routed.has(queue)) {
            m.report(
              `${nameOf(group.workload.object)} container ${group.container.name}`,
              `takes from queue ${queue}, which the gateway's TASK_ROUTES sends no ${kind} task to`,
            );
          }
        }
      }
    }
  }
  if (scaledObjects.length === 0) return;
  for (const group of groups) {
    const targeting = scaledObjects.filter((so) => {
      const ref = (so.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
      return (
        (ref?.kind ?? 'Deployment') === group.workload.object.kind &&
        ref?.name === group.workload.object.metadata.name &&
        (so.metadata.namespace ?? 'default') === group.workload.namespace
      );
    });
    if (targeting.length === 0) {
      m.report(
        nameOf(group.workload.object),
        'is a worker group no ScaledObject scales (KEDA scales every group here)',
      );
    }
  }
}

/**
 * R_SERVICE_TOKEN: the R workers require it (they listen beyond loopback, and refuse to start
 * without one), the gateway shows it, both from the same Secret key, and the value is one the
 * services accept.
 */
function checkRServiceToken(m: Manifests): void {
  const sources: { at: string; secret?: { name: string; key: string }; workload: Workload }[] = [];
  for (const workload of m.workloads) {
    for (const container of workload.template.spec?.containers ?? []) {
      if (container.name !== 'gateway' && container.name !== 'r-worker') continue;
      const at = `${nameOf(workload.object)} container ${container.name}`;
      const source = m.quietly(() => m.environment(container, workload.namespace, at)).get('R_SERVICE_TOKEN');
      if (!source) {
        m.report(
          at,
          container.name === 'r-worker'
            ? 'no R_SERVICE_TOKEN: the R service listens beyond loopback, so it refuses to start without one'
            : 'no R_SERVICE_TOKEN: the R workers require it',
        );
        continue;
      }
      if (!source.secret) {
        m.report(at, 'R_SERVICE_TOKEN does not come from a Secret');
        continue;
      }
      sources.push({ at, secret: source.secret, workload });
      const value = m.secretValue(source.secret.name, source.secret.key, workload.namespace);
      if (value !== undefined && !/^[\x21-\x7e]{32,256}$/.test(value)) {
        m.report(
          at,
          `R_SERVICE_TOKEN in Secret ${source.secret.name} is not 32-256 printable characters without spaces`,
        );
      }
    }
  }
  const distinct = new Set(sources.map((s) => `${s.secret?.name}/${s.secret?.key}`));
  if (distinct.size > 1) {
    m.report(
      'R_SERVICE_TOKEN',
      `the gateway and the R workers take it from different Secret keys: ${[...distinct].join(', ')}`,
    );
  }
}

/** The port number a NetworkPolicy port (number or name) opens on a workload's pods, if any. */
function policyPort(workload: Workload, port: number | string | undefined): number | undefined {
  return resolvePort(workload.template.spec?.containers ?? [], port);
}

/**
 * NetworkPolicies: each selects real pods, opens ports those pods listen on, and its peers select
 * real pods. Only the gateway's pods may reach the R workers' port; Switchyard's own pods (the
 * gateway and every worker group) may reach Redis, and no other pod (but KEDA's operator, where
 * KEDA reads the queues).
 */
function checkNetworkPolicies(m: Manifests, scaledObjects: readonly K8sObject[]): void {
  const policies = m.all<V1NetworkPolicy>('NetworkPolicy');
  for (const policy of policies) {
    const where = nameOf(policy);
    const namespace = policy.metadata.namespace ?? 'default';
    const spec = policy.spec;
    const targets = m.workloads.filter(
      (w) => w.namespace === namespace && selectorMatches(spec?.podSelector, w.template.metadata?.labels),
    );
    if (targets.length === 0) m.report(where, 'podSelector selects no pod');
    const types = spec?.policyTypes ?? ['Ingress'];
    if (types.includes('Egress') && (spec?.egress ?? []).length === 0) {
      m.report(where, 'blocks every connection out of its pods (Egress without egress rules)');
    }
    for (const rule of spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        for (const target of targets) {
          if (policyPort(target, port.port) === undefined) {
            m.report(where, `opens port ${port.port}, which ${nameOf(target.object)} does not listen on`);
          }
        }
      }
      for (const peer of rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from ?? []) {
        if (peer.namespaceSelector || peer.ipBlock) continue; // beyond the namespace: checked below for Redis
        if (
          !m.workloads.some(
            (w) => w.namespace === namespace && selectorMatches(peer.podSelector, w.template.metadata?.labels),
          )
        ) {
          m.report(where, `a from podSelector ${JSON.stringify(peer.podSelector)} selects no pod`);
        }
      }
    }
  }

  /** Who may connect to `target` on `port`: in-namespace workloads, and peers from elsewhere. */
  const allowedPeers = (target: Workload, port: number) => {
    const applying = policies.filter(
      (p) =>
        (p.metadata.namespace ?? 'default') === target.namespace &&
        (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress') &&
        selectorMatches(p.spec?.podSelector, target.template.metadata?.labels),
    );
    if (applying.length === 0) return undefined; // no policy: everyone
    const workloads = new Set<Workload>();
    const external: V1NetworkPolicyPeer[] = [];
    let everyone = false;
    for (const policy of applying) {
      for (const rule of policy.spec?.ingress ?? []) {
        const opens =
          (rule.ports ?? []).length === 0 || (rule.ports ?? []).some((p) => policyPort(target, p.port) === port);
        if (!opens) continue;
        const peers = rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from ?? [];
        if (peers.length === 0) everyone = true;
        for (const peer of peers) {
          if (peer.namespaceSelector || peer.ipBlock) external.push(peer);
          else {
            for (const w of m.workloads) {
              if (w.namespace === target.namespace && selectorMatches(peer.podSelector, w.template.metadata?.labels))
                workloads.add(w);
            }
            if (Object.keys(peer.podSelector ?? {}).length === 0 || isEmptySelector(peer.podSelector)) everyone = true;
          }
        }
      }
    }
    return { workloads, external, everyone };
  };

  const runs = (workload: Workload, name: string) =>
    workload.template.spec?.containers.some((container) => container.name === name) ?? false;

  // The R workers: reachable from the gateway's pods only.
  for (const rWorkload of m.workloads.filter((w) => runs(w, 'r-worker'))) {
    const where = nameOf(rWorkload.object);
    const container = rWorkload.template.spec!.containers.find((c) => c.name === 'r-worker')!;
    const port = Number(containerValue(m, rWorkload, container, 'PORT'));
    const allowed = allowedPeers(rWorkload, port);
    if (!allowed) {
      m.report(where, `no NetworkPolicy protects the R service: any pod can hand it tasks on port ${port}`);
      continue;
    }
    const gateways = m.workloads.filter((w) => w.namespace === rWorkload.namespace && runs(w, 'gateway'));
    if (allowed.everyone || allowed.external.length > 0) {
      m.report(where, `its NetworkPolicies let pods other than the gateway's reach port ${port}`);
    }
    for (const other of allowed.workloads) {
      if (!runs(other, 'gateway'))
        m.report(where, `its NetworkPolicies let ${nameOf(other.object)} reach port ${port}, not only the gateway`);
    }
    for (const gateway of gateways) {
      if (!allowed.everyone && !allowed.workloads.has(gateway)) {
        m.report(
          where,
          `its NetworkPolicies keep ${nameOf(gateway.object)} from reaching the R service on port ${port}`,
        );
      }
    }
    // The kubelet's probes are not filtered, but they carry no token: only /health is open without one.
    for (const [which, probe] of [
      ['readinessProbe', container.readinessProbe],
      ['livenessProbe', container.livenessProbe],
    ] as const) {
      const path = probe?.httpGet?.path;
      if (probe?.httpGet && path !== '/health') {
        m.report(`${where} container r-worker`, `${which} GET ${path} needs the R service token; only /health is open`);
      }
    }
  }

  // Redis: reachable from Switchyard's pods only (and KEDA's operator when KEDA reads the queues).
  const usesKedaRedis = scaledObjects.some((so) =>
    ((so.spec as { triggers?: { type?: string }[] } | undefined)?.triggers ?? []).some((t) => t.type === 'redis'),
  );
  for (const redisWorkload of m.workloads.filter((w) => runs(w, 'redis'))) {
    const where = nameOf(redisWorkload.object);
    const redisContainer = redisWorkload.template.spec!.containers.find((c) => c.name === 'redis')!;
    const port = redisContainer.ports?.[0]?.containerPort ?? 6379;
    const allowed = allowedPeers(redisWorkload, port);
    if (!allowed) {
      m.report(where, `no NetworkPolicy protects Redis: any pod can reach port ${port}`);
      continue;
    }
    if (allowed.everyone) m.report(where, `its NetworkPolicies let every pod reach port ${port}`);
    const clients = m.workloads.filter(
      (w) =>
        w.namespace === redisWorkload.namespace &&
        (w.template.spec?.containers ?? []).some((c) => isService(c.name) && serviceEnv(c.name).names.has('REDIS_URL')),
    );
    for (const client of clients) {
      if (!allowed.everyone && !allowed.workloads.has(client)) {
        m.report(where, `its NetworkPolicies keep ${nameOf(client.object)} from reaching Redis on port ${port}`);
      }
    }
    for (const other of allowed.workloads) {
      if (other !== redisWorkload && !clients.includes(other)) {
        m.report(
          where,
          `its NetworkPolicies let ${nameOf(other.object)}, which is not a Switchyard service, reach Redis`,
        );
      }
    }
    const isKedaOperator = (peer: V1NetworkPolicyPeer) =>
      !peer.ipBlock &&
      peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'keda' &&
      peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'keda-operator';
    for (const peer of allowed.external) {
      if (!(usesKedaRedis && isKedaOperator(peer))) {
        m.report(where, `its NetworkPolicies let pods beyond the namespace reach Redis: ${JSON.stringify(peer)}`);
      }
    }
    if (usesKedaRedis && !allowed.everyone && !allowed.external.some(isKedaOperator)) {
      m.report(where, "KEDA's redis triggers read the queues, but no NetworkPolicy lets KEDA's operator reach Redis");
    }
  }
}

function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  return (
    !!selector && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}
