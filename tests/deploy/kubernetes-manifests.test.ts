/**
 * k8s/, without a cluster: each overlay renders with kustomize (as `kubectl apply -k` would), every
 * object is valid for the Kubernetes API (types, and no unknown fields), and the cross-references no
 * schema checks hold (checkManifests). Each check also gets broken manifests, to prove it notices.
 */
import type { V1ConfigMap, V1Container, V1Deployment } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkManifests, renderKustomization, validateSchemas, type K8sObject } from './support/kubernetes.js';
import { SERVICES, imageRepository, isService, readRepoFile, type ServiceName } from './support/repo.js';
import { serviceEnv } from './support/service-env.js';

const OVERLAYS = ['k8s/overlays/minikube', 'k8s/overlays/minikube-keda'] as const;
const rendered = new Map<string, K8sObject[]>();

beforeAll(() => {
  for (const overlay of [...OVERLAYS, 'k8s/base']) rendered.set(overlay, renderKustomization(overlay));
});

// The negative cases edit parsed YAML in place, at paths each test knows: untyped on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Parsed = any;

/** A copy of an overlay's objects, changed by `change`. */
function mutate(overlay: (typeof OVERLAYS)[number], change: (find: (kind: string, name: string) => Parsed) => void) {
  const objects = structuredClone(rendered.get(overlay)!);
  const find = (kind: string, name: string) => {
    const object = objects.find((o) => o.kind === kind && o.metadata.name.replace(/-[a-z0-9]{10}$/, '') === name);
    if (!object) throw new Error(`no ${kind}/${name}`);
    return object;
  };
  change(find);
  return objects;
}

const container = (deployment: Parsed, name = deployment.metadata.name.replace(/-cpu$/, '')) =>
  deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === name);
const envVar = (c: Parsed, name: string) => c.env.find((v: { name: string }) => v.name === name);

/** The objects of `kind` (the rendered YAML, read as that type). */
const ofKind = <T>(objects: readonly K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind).map((o) => o as unknown as T & K8sObject);

/**
 * The value `container` gets for `name`: its env (a value from a Secret shows where it comes from),
 * then its envFrom ConfigMaps, then the service's default.
 */
function envValue(objects: readonly K8sObject[], service: ServiceName, container: V1Container, name: string) {
  const own = container.env?.find((v) => v.name === name);
  if (own) return own.value ?? (own.valueFrom ? `(from ${Object.keys(own.valueFrom).join(', ')})` : undefined);
  const configMaps = ofKind<V1ConfigMap>(objects, 'ConfigMap');
  for (const source of container.envFrom ?? []) {
    const data = configMaps.find((c) => c.metadata.name === source.configMapRef?.name)?.data;
    if (data?.[name] !== undefined) return data[name];
  }
  return serviceEnv(service).defaultOf(name)?.toString();
}

/**
 * Prometheus' annotation convention on every Switchyard pod template: prometheus.io/scrape 'true',
 * prometheus.io/path /metrics, and prometheus.io/port a containerPort on which the process serves
 * /metrics (the gateway and the R service on PORT, a Node worker on METRICS_PORT), open to a scrape
 * that carries no credentials (the annotations cannot give it any).
 */
function checkScrapeAnnotations(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const deployment of ofKind<V1Deployment>(objects, 'Deployment')) {
    const template = deployment.spec?.template;
    const container = template?.spec?.containers.find((c) => isService(c.name));
    if (!template || !container || !isService(container.name)) continue;
    const service = container.name;
    const report = (problem: string) => problems.push(`Deployment/${deployment.metadata.name}: ${problem}`);
    const value = (name: string) => envValue(objects, service, container, name);
    const annotations = template.metadata?.annotations ?? {};
    if (annotations['prometheus.io/scrape'] !== 'true') report("pod template lacks prometheus.io/scrape: 'true'");
    if (annotations['prometheus.io/path'] !== '/metrics') report('prometheus.io/path is not /metrics');
    const port = Number(annotations['prometheus.io/port']);
    if (!(container.ports ?? []).some((p) => p.containerPort === port)) {
      report(`prometheus.io/port ${annotations['prometheus.io/port']} is not a containerPort of ${service}`);
    }
    const served = service === 'node-worker' ? 'METRICS_PORT' : 'PORT';
    if (Number(value(served)) === 0) report(`serves no /metrics: ${served} is 0`);
    else if (Number(value(served)) !== port) {
      report(`prometheus.io/port ${port} is not where ${service} serves /metrics (${served} ${value(served)})`);
    }
    const keysOn = service === 'gateway' && (value('API_KEYS') ?? '') !== '';
    const tokenOn = service === 'r-worker' && (value('R_SERVICE_TOKEN') ?? '') !== '';
    if ((keysOn || tokenOn) && value('METRICS_PUBLIC') !== 'true') {
      report(
        `a scrape without credentials gets 401 (${keysOn ? 'API_KEYS' : 'R_SERVICE_TOKEN'} is set): set METRICS_PUBLIC=true`,
      );
    }
  }
  return problems;
}

describe.each(OVERLAYS)('%s', (overlay) => {
  it('is valid for the Kubernetes API (kubernetes-models types, no unknown fields)', () => {
    expect(validateSchemas(rendered.get(overlay)!)).toEqual([]);
  });

  it('has every cross-reference right: selectors, ports, probes, config, env names, addresses, autoscalers', () => {
    expect(checkManifests(rendered.get(overlay)!)).toEqual([]);
  });

  it('lets Prometheus find and scrape every Switchyard pod: annotations on a port that serves /metrics, no credentials needed', () => {
    expect(checkScrapeAnnotations(rendered.get(overlay)!)).toEqual([]);
  });
});

describe('k8s/', () => {
  it('base has what the issues list: namespace, config, Redis with a PVC, the Deployments of every worker group, PDBs, an HPA, NetworkPolicies', () => {
    const kinds = rendered.get('k8s/base')!.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/switchyard',
        'ConfigMap/switchyard-common',
        'Secret/switchyard-redis',
        'StatefulSet/redis',
        'Deployment/gateway',
        'Secret/switchyard-r-service',
        'Deployment/node-worker',
        'Deployment/node-worker-cpu',
        'Deployment/r-worker',
        'PodDisruptionBudget/node-worker',
        'PodDisruptionBudget/node-worker-cpu',
        'PodDisruptionBudget/r-worker',
        'HorizontalPodAutoscaler/gateway',
        'NetworkPolicy/r-worker-from-gateway',
        'NetworkPolicy/redis-from-services',
      ]),
    );
  });

  it('a dedicated cpu worker group takes the queue TASK_ROUTES sends factorial and matmul to', () => {
    const objects = rendered.get('k8s/base')!;
    const find = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name.replace(/-[a-z0-9]{10}$/, '') === name) as Parsed;
    expect(find('ConfigMap', 'switchyard-gateway').data.TASK_ROUTES).toBe('factorial=cpu,matmul=cpu');
    expect(envVar(container(find('Deployment', 'node-worker-cpu')), 'QUEUES').value).toBe('cpu');
    expect(envVar(container(find('Deployment', 'node-worker')), 'QUEUES').value).toBe('default');
  });

  it('the KEDA overlay scales every worker group on its own queue, the plain one does not need KEDA', () => {
    const names = (overlay: string) => rendered.get(overlay)!.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names('k8s/overlays/minikube').filter((n) => n.startsWith('ScaledObject/'))).toEqual([]);
    expect(names('k8s/overlays/minikube-keda')).toEqual(
      expect.arrayContaining([
        'ScaledObject/node-worker',
        'ScaledObject/node-worker-cpu',
        'ScaledObject/r-worker',
        'TriggerAuthentication/redis-password',
        'NetworkPolicy/redis-from-keda',
      ]),
    );
    const listNames = rendered
      .get('k8s/overlays/minikube-keda')!
      .filter((o) => o.kind === 'ScaledObject')
      .map(
        (o) => `${o.metadata.name}: ${(o.spec as Parsed).triggers.map((t: Parsed) => t.metadata.listName).join(' ')}`,
      );
    expect(listNames.sort()).toEqual([
      'node-worker-cpu: switchyard:{node:cpu}:wait',
      'node-worker: switchyard:{node:default}:wait',
      'r-worker: switchyard:{r:default}:wait',
    ]);
  });

  it('docs/minikube.md builds every image the minikube overlay runs, under the name it runs', () => {
    const docs = readRepoFile('docs/minikube.md');
    const images = rendered
      .get('k8s/overlays/minikube')!
      .flatMap((o) => ((o.spec as Parsed)?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image))
      .filter((image: string) => image.startsWith('switchyard/'));
    expect([...new Set(images)].sort()).toEqual(SERVICES.map((s) => `${imageRepository(s)}:local`).sort());
    for (const image of images) {
      const service = image.split('/')[1].split(':')[0];
      expect(docs).toContain(`-t ${image} -f ${service}/Dockerfile`);
    }
    for (const overlay of OVERLAYS) expect(docs).toContain(`kubectl apply -k ${overlay}`);
  });
});

describe('the Kubernetes checks catch', () => {
  it('a field the API does not have, and a value of the wrong type', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const gateway = container(find('Deployment', 'gateway'));
      gateway.readinesProbe = gateway.readinessProbe;
      container(find('Deployment', 'r-worker')).ports[0].containerPort = '8000';
    });
    expect(validateSchemas(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/gateway: unknown field spec.template.spec.containers[0].readinesProbe',
        expect.stringMatching(/^Deployment\/r-worker: .*containerPort must be integer/),
      ]),
    );
  });

  it('a Service or PodDisruptionBudget selector that matches no pod', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      find('Service', 'r-worker').spec.selector = { 'app.kubernetes.io/name': 'rworker' };
      find('PodDisruptionBudget', 'node-worker').spec.selector.matchLabels = { app: 'node-worker' };
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Service/r-worker: selector {"app.kubernetes.io/name":"rworker"} matches no pod template',
        'PodDisruptionBudget/node-worker: selector matches no pod template',
        'Deployment/node-worker container node-worker: no PodDisruptionBudget covers the workers',
        "Deployment/gateway container gateway: R_SERVICE_URL's Service r-worker does not select r-worker pods",
      ]),
    );
  });

  it('a Service targetPort, probe port or PORT the container does not have', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      find('Service', 'gateway').spec.ports[0].targetPort = 'web';
      container(find('Deployment', 'r-worker')).livenessProbe.httpGet.port = 8080;
      container(find('Deployment', 'gateway')).ports[0].containerPort = 8080;
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Service/gateway: targetPort web is not a port of Deployment/gateway',
        'Deployment/r-worker container r-worker: livenessProbe uses port 8080, which the container does not have',
        'Deployment/gateway container gateway: listens on PORT 9000, which is not a containerPort',
      ]),
    );
  });

  it("an exec probe that does not run the image's health check", () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      container(find('Deployment', 'node-worker')).livenessProbe.exec.command = ['node', '/app/healthcheck.mjs'];
    });
    expect(checkManifests(objects)).toContainEqual(
      "Deployment/node-worker container node-worker: livenessProbe runs `node /app/healthcheck.mjs`, not the image's HEALTHCHECK `node /app/node-worker-health.mjs`",
    );
  });

  it('a missing ConfigMap, Secret or key, and an undefined $(VARIABLE)', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const nodeWorker = container(find('Deployment', 'node-worker'));
      nodeWorker.envFrom[1].configMapRef.name = 'switchyard-worker';
      nodeWorker.env[0].valueFrom.secretKeyRef.key = 'redis-password';
      const rWorker = container(find('Deployment', 'r-worker'));
      rWorker.env[1].value = 'redis://:$(REDIS_PASSWD)@redis:6379/0';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/node-worker container node-worker: envFrom ConfigMap switchyard-worker does not exist',
        'Deployment/node-worker container node-worker: REDIS_PASSWORD comes from Secret switchyard-redis, which has no key redis-password',
        'Deployment/r-worker container r-worker: REDIS_URL refers to $(REDIS_PASSWD), which is not defined before it',
      ]),
    );
  });

  it('a variable the service does not read, and a wrong Redis or R service address', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const gateway = container(find('Deployment', 'gateway'));
      gateway.env.push({ name: 'WORKER_CONCURRENCY', value: '4' });
      gateway.env.push({ name: 'R_SERVICE_URL', value: 'http://r-worker:9000' });
      container(find('Deployment', 'node-worker')).env[1].value = 'redis://:$(REDIS_PASSWORD)@redis-master:6379/0';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/gateway container gateway: sets WORKER_CONCURRENCY, which gateway does not read',
        "Deployment/gateway container gateway: R_SERVICE_URL's port 9000 is not a port of Service r-worker",
        "Deployment/node-worker container node-worker: REDIS_URL's host redis-master is not a Service",
      ]),
    );
  });

  it('too few replicas, no resources or probes, root, and a grace period shorter than SHUTDOWN_GRACE_MS', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const rWorker = find('Deployment', 'r-worker');
      rWorker.spec.replicas = 1;
      rWorker.spec.template.spec.terminationGracePeriodSeconds = 30;
      const nodeWorker = find('Deployment', 'node-worker');
      delete container(nodeWorker).resources.limits;
      delete container(nodeWorker).readinessProbe;
      delete nodeWorker.spec.template.spec.securityContext.runAsNonRoot;
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/r-worker container r-worker: fewer than 2 replicas',
        'Deployment/r-worker container r-worker: terminationGracePeriodSeconds 30 does not exceed the 35 s a graceful stop may take',
        'PodDisruptionBudget/r-worker: minAvailable 1 leaves no pod of Deployment/r-worker (1) to evict',
        'Deployment/node-worker container node-worker: no cpu limit',
        'Deployment/node-worker container node-worker: no readinessProbe',
        'Deployment/node-worker container node-worker: runAsNonRoot is not set',
      ]),
    );
  });

  it('Redis without its Secret, persistence or volume claim', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const redis = find('StatefulSet', 'redis');
      container(redis).args = ['--requirepass', 'hunter2'];
      delete redis.spec.volumeClaimTemplates;
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'StatefulSet/redis container redis: --requirepass does not come from a Secret',
        'StatefulSet/redis container redis: AOF persistence is off (--appendonly yes)',
        'StatefulSet/redis container redis: mounts volume data, which the pod does not have',
        'StatefulSet/redis container redis: /data is not on a PersistentVolumeClaim of a StatefulSet',
        "Deployment/gateway container gateway: REDIS_URL's password is not the Secret Redis takes its --requirepass from",
      ]),
    );
  });

  it('an HPA and KEDA on the same Deployment, and an HPA on CPU without CPU requests', () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      find('HorizontalPodAutoscaler', 'gateway').spec.scaleTargetRef.name = 'node-worker';
      delete container(find('Deployment', 'node-worker')).resources.requests.cpu;
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'HorizontalPodAutoscaler/gateway: targets Deployment/node-worker, which KEDA also scales',
        'HorizontalPodAutoscaler/gateway: scales on cpu utilization, but container node-worker requests no cpu',
      ]),
    );
  });

  it('a KEDA trigger on the old list, a short address, or a missing Secret', () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      const trigger = find('ScaledObject', 'node-worker').spec.triggers[0];
      trigger.metadata.listName = 'switchyard:node:queue';
      trigger.metadata.address = 'redis:6379';
      find('TriggerAuthentication', 'redis-password').spec.secretTargetRef[0].name = 'switchyard-redis-f5k7m9tkfb';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'ScaledObject/node-worker: listName switchyard:node:queue is not the waiting set of a queue Deployment/node-worker takes from (QUEUES default: switchyard:{node:default}:wait)',
        'ScaledObject/node-worker: no trigger on queue default (switchyard:{node:default}:wait), which Deployment/node-worker takes from',
        'ScaledObject/node-worker: address redis:6379 is not a full Service name (KEDA resolves it from its own namespace)',
        'TriggerAuthentication/redis-password: Secret switchyard-redis-f5k7m9tkfb does not exist',
      ]),
    );
  });

  it("KEDA triggers that do not follow KEY_PREFIX or a group's QUEUES, and a group KEDA does not scale", () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      find('ConfigMap', 'switchyard-common').data.KEY_PREFIX = 'sy';
      envVar(container(find('Deployment', 'node-worker')), 'QUEUES').value = 'default,bulk';
      find('ConfigMap', 'switchyard-gateway').data.TASK_ROUTES = 'factorial=cpu,matmul=cpu,add=bulk';
      find('ScaledObject', 'r-worker').spec.scaleTargetRef.name = 'node-worker-cpu';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'ScaledObject/node-worker: listName switchyard:{node:default}:wait is not the waiting set of a queue Deployment/node-worker takes from (QUEUES default,bulk: sy:{node:default}:wait, sy:{node:bulk}:wait)',
        'ScaledObject/node-worker: no trigger on queue bulk (sy:{node:bulk}:wait), which Deployment/node-worker takes from',
        'ScaledObject/node-worker-cpu: no trigger on queue cpu (sy:{node:cpu}:wait), which Deployment/node-worker-cpu takes from',
        'Deployment/r-worker: is a worker group no ScaledObject scales (KEDA scales every group here)',
      ]),
    );
  });

  it('a worker group on a queue nothing is routed to, and a routed queue no group takes', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      envVar(container(find('Deployment', 'node-worker-cpu')), 'QUEUES').value = 'cpus';
      find('ConfigMap', 'switchyard-gateway').data.TASK_ROUTES = 'factorial=cpu,matmul=cpu,r:lm_fit=models';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/gateway container gateway: node queue cpu (factorial, matmul tasks) is taken by no node worker group',
        "Deployment/node-worker-cpu container node-worker: takes from queue cpus, which the gateway's TASK_ROUTES sends no node task to",
        'Deployment/gateway container gateway: r queue models (lm_fit tasks) is taken by no r worker group',
      ]),
    );
    const noDefault = mutate('k8s/overlays/minikube', (find) => {
      envVar(container(find('Deployment', 'node-worker')), 'QUEUES').value = 'cpu';
      find('ConfigMap', 'switchyard-gateway').data.TASK_ROUTES = 'factorial=cpu,matmul=cpu,add=bad:name';
    });
    expect(checkManifests(noDefault)).toContainEqual(
      expect.stringMatching(/^Deployment\/gateway container gateway: TASK_ROUTES queue of "add=bad:name" must be/),
    );
  });

  it("two worker groups' selectors matching each other's pods", () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      find('Deployment', 'node-worker').spec.selector.matchLabels = { 'app.kubernetes.io/component': 'node-worker' };
    });
    expect(checkManifests(objects)).toContainEqual(
      'Deployment/node-worker: selector also matches the pods of Deployment/node-worker-cpu',
    );
  });

  it('an R service without the token, a token the services refuse, or two different tokens', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const rWorker = container(find('Deployment', 'r-worker'));
      rWorker.env = rWorker.env.filter((v: { name: string }) => v.name !== 'R_SERVICE_TOKEN');
      envVar(container(find('Deployment', 'gateway')), 'R_SERVICE_TOKEN').valueFrom.secretKeyRef.key = 'password';
      envVar(container(find('Deployment', 'gateway')), 'R_SERVICE_TOKEN').valueFrom.secretKeyRef.name =
        'switchyard-redis';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/r-worker container r-worker: no R_SERVICE_TOKEN: the R service listens beyond loopback, so it refuses to start without one',
        'Deployment/gateway container gateway: R_SERVICE_TOKEN in Secret switchyard-redis is not 32-256 printable characters without spaces',
      ]),
    );
    const twoTokens = mutate('k8s/overlays/minikube', (find) => {
      envVar(container(find('Deployment', 'gateway')), 'R_SERVICE_TOKEN').valueFrom.secretKeyRef.name =
        'switchyard-redis';
      envVar(container(find('Deployment', 'gateway')), 'R_SERVICE_TOKEN').valueFrom.secretKeyRef.key = 'password';
    });
    expect(checkManifests(twoTokens)).toContainEqual(
      expect.stringMatching(/^R_SERVICE_TOKEN: the gateway and the R workers take it from different Secret keys/),
    );
  });

  it('an R service other pods can reach, or the gateway cannot, and a probe that needs the token', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      const policy = find('NetworkPolicy', 'r-worker-from-gateway');
      policy.spec.ingress[0].from[0].podSelector.matchLabels = { 'app.kubernetes.io/component': 'node-worker' };
      policy.spec.ingress[0].ports[0].port = 8080;
      container(find('Deployment', 'r-worker')).readinessProbe.httpGet.path = '/tasks';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'NetworkPolicy/r-worker-from-gateway: opens port 8080, which Deployment/r-worker does not listen on',
        'Deployment/r-worker: its NetworkPolicies keep Deployment/gateway from reaching the R service on port 8000',
        'Deployment/r-worker container r-worker: readinessProbe GET /tasks needs the R service token; only /health is open',
      ]),
    );
    const widened = mutate('k8s/overlays/minikube', (find) => {
      find('NetworkPolicy', 'r-worker-from-gateway').spec.ingress[0].from[0].podSelector = {
        matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'Exists' }],
      };
    });
    expect(checkManifests(widened)).toEqual(
      expect.arrayContaining([
        'Deployment/r-worker: its NetworkPolicies let Deployment/node-worker reach port 8000, not only the gateway',
        'Deployment/r-worker: its NetworkPolicies let Deployment/node-worker-cpu reach port 8000, not only the gateway',
      ]),
    );
    const none = mutate('k8s/overlays/minikube', (find) => {
      find('NetworkPolicy', 'r-worker-from-gateway').spec.podSelector.matchLabels = {
        'app.kubernetes.io/name': 'rworker',
      };
    });
    expect(checkManifests(none)).toEqual(
      expect.arrayContaining([
        'NetworkPolicy/r-worker-from-gateway: podSelector selects no pod',
        'Deployment/r-worker: no NetworkPolicy protects the R service: any pod can hand it tasks on port 8000',
      ]),
    );
  });

  it("Redis that a Switchyard pod cannot reach, or any pod can, and KEDA's operator shut out", () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      const policy = find('NetworkPolicy', 'redis-from-services');
      policy.spec.ingress[0].from[0].podSelector.matchExpressions[0].values = ['gateway', 'r-worker'];
      const keda = find('NetworkPolicy', 'redis-from-keda');
      keda.spec.ingress[0].from[0].namespaceSelector.matchLabels = { 'kubernetes.io/metadata.name': 'default' };
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'StatefulSet/redis: its NetworkPolicies keep Deployment/node-worker from reaching Redis on port 6379',
        'StatefulSet/redis: its NetworkPolicies keep Deployment/node-worker-cpu from reaching Redis on port 6379',
        expect.stringMatching(/^StatefulSet\/redis: its NetworkPolicies let pods beyond the namespace reach Redis/),
        "StatefulSet/redis: KEDA's redis triggers read the queues, but no NetworkPolicy lets KEDA's operator reach Redis",
      ]),
    );
    const open = mutate('k8s/overlays/minikube', (find) => {
      find('NetworkPolicy', 'redis-from-services').spec.ingress[0].from[0].podSelector = {};
    });
    expect(checkManifests(open)).toContainEqual('StatefulSet/redis: its NetworkPolicies let every pod reach port 6379');
    const missing = mutate('k8s/overlays/minikube', (find) => {
      find('NetworkPolicy', 'redis-from-services').spec.podSelector.matchLabels = {
        'app.kubernetes.io/name': 'gateway',
      };
    });
    expect(checkManifests(missing)).toContainEqual(
      'StatefulSet/redis: no NetworkPolicy protects Redis: any pod can reach port 6379',
    );
  });

  it('an object without a namespace (the bug of a component added where no namespace is set)', () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      delete find('ScaledObject', 'node-worker').metadata.namespace;
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        "ScaledObject/node-worker: has no namespace: it would land in the current context's namespace",
        'ScaledObject/node-worker: scaleTargetRef Deployment/node-worker does not exist',
      ]),
    );
  });

  it('a KEDA target that does not exist, with no replicas left on the Deployment', () => {
    const objects = mutate('k8s/overlays/minikube-keda', (find) => {
      find('ScaledObject', 'node-worker').spec.scaleTargetRef.name = 'node-workers';
    });
    expect(checkManifests(objects)).toEqual(
      expect.arrayContaining([
        'ScaledObject/node-worker: scaleTargetRef Deployment/node-workers does not exist',
        'Deployment/node-worker container node-worker: fewer than 2 replicas',
      ]),
    );
  });

  it('scrape annotations that are missing, point at the wrong port, or at a /metrics that needs credentials', () => {
    const objects = mutate('k8s/overlays/minikube', (find) => {
      find('Deployment', 'gateway').spec.template.metadata.annotations['prometheus.io/port'] = '9090';
      delete find('Deployment', 'node-worker-cpu').spec.template.metadata.annotations;
      delete find('ConfigMap', 'switchyard-node-worker').data.METRICS_PORT;
      find('ConfigMap', 'switchyard-r-worker').data.METRICS_PUBLIC = 'false';
      find('ConfigMap', 'switchyard-gateway').data.API_KEYS = 'a-key-of-sixteen-chars';
    });
    expect(checkScrapeAnnotations(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/gateway: prometheus.io/port 9090 is not a containerPort of gateway',
        'Deployment/gateway: prometheus.io/port 9090 is not where gateway serves /metrics (PORT 9000)',
        'Deployment/gateway: a scrape without credentials gets 401 (API_KEYS is set): set METRICS_PUBLIC=true',
        "Deployment/node-worker-cpu: pod template lacks prometheus.io/scrape: 'true'",
        'Deployment/node-worker: serves no /metrics: METRICS_PORT is 0',
        'Deployment/r-worker: a scrape without credentials gets 401 (R_SERVICE_TOKEN is set): set METRICS_PUBLIC=true',
      ]),
    );
  });
});
