/**
 * docker-compose.yml as the checks see it (YAML with anchors merged, `${VAR:-default}` filled in as
 * with an empty environment), and the cross-references no Compose schema checks.
 */
import { DEFAULT_QUEUE, parseQueueList, parseTaskRoutes } from '@switchyard/shared';
import { parse } from 'yaml';
import { exposedPorts, healthcheckCommand, imageEnvNames, parseDockerfile, type Dockerfile } from './dockerfiles.js';
import {
  SERVICES,
  imageRepository,
  isService,
  readRepoFile,
  repoPathExists,
  withoutTag,
  type ServiceName,
} from './repo.js';
import { serviceEnv } from './service-env.js';

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: unknown };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: (string | number | { target?: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  deploy?: { replicas?: number };
  scale?: number;
  stop_grace_period?: string;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Compose's interpolation with no variable set: `${VAR:-default}` and `${VAR-default}` become the default. */
export function interpolateDefaults(text: string): string {
  return text.replace(/\$\$|\$\{(\w+)(?:(:?[-?+])([^}]*))?\}|\$(\w+)/g, (whole, _braced, operator, value) => {
    if (whole === '$$') return '$';
    return operator === ':-' || operator === '-' ? String(value) : '';
  });
}

export function parseCompose(text: string): ComposeFile {
  return parse(interpolateDefaults(text), { merge: true }) as ComposeFile;
}

export function readCompose(): ComposeFile {
  return parseCompose(readRepoFile('docker-compose.yml'));
}

/** The file as written (anchors merged, `${...}` left as they are), to see what comes from the shell. */
export function parseComposeUninterpolated(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

/**
 * Which Switchyard service a compose service runs: its own name (gateway, node-worker, r-worker), or
 * the service whose image it runs (a second worker group, such as node-worker-cpu).
 */
export function serviceKind(name: string, service: ComposeService): ServiceName | undefined {
  if (isService(name)) return name;
  const image = service.image ? withoutTag(service.image) : undefined;
  return SERVICES.find((s) => imageRepository(s) === image);
}

/** How a variable a service reads gets its value under compose. */
export type VariableSource =
  | 'shell' // `NAME:`: the shell's value when set, else the service's default
  | 'shell-or-compose-default' // `NAME: ${NAME:-default}`: the shell's value, else compose's default
  | 'compose' // a value compose fixes (a literal, or built from other variables)
  | 'image' // the image's ENV
  | 'service-default'; // not passed on at all: the service's default

/** For every compose service running a Switchyard service: each variable it reads, and where its value comes from. */
export function variableSources(text: string): Map<string, Map<string, VariableSource>> {
  const raw = parseComposeUninterpolated(text);
  const result = new Map<string, Map<string, VariableSource>>();
  for (const [name, service] of Object.entries(raw.services ?? {})) {
    const kind = serviceKind(name, service);
    if (!kind) continue;
    const environment = environmentOf(service);
    const dockerfile = dockerfileOf(service);
    const fromImage = dockerfile ? imageEnvNames(dockerfile) : new Set<string>();
    const sources = new Map<string, VariableSource>();
    for (const variable of serviceEnv(kind).names) {
      const value = environment.get(variable);
      if (value === null) sources.set(variable, 'shell');
      else if (value !== undefined) {
        const own = new RegExp(`^\\$\\{${variable}(:?-[^}]*)?\\}$`).test(value.trim());
        sources.set(variable, own ? 'shell-or-compose-default' : 'compose');
      } else sources.set(variable, fromImage.has(variable) ? 'image' : 'service-default');
    }
    result.set(name, sources);
  }
  return result;
}

/** Environment as name -> value; null means "passed on from the shell when set". */
export function environmentOf(service: ComposeService): Map<string, string | null> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return new Map(
      environment.map((entry) => {
        const equals = entry.indexOf('=');
        return equals === -1 ? [entry, null] : [entry.slice(0, equals), entry.slice(equals + 1)];
      }),
    );
  }
  return new Map(Object.entries(environment).map(([name, value]) => [name, value === null ? null : String(value)]));
}

function dependsOn(service: ComposeService): Map<string, string> {
  const dependencies = service.depends_on ?? [];
  if (Array.isArray(dependencies)) return new Map(dependencies.map((name) => [name, 'service_started']));
  return new Map(Object.entries(dependencies).map(([name, d]) => [name, d?.condition ?? 'service_started']));
}

function buildOf(service: ComposeService): { context: string; dockerfile: string } | null {
  if (service.build === undefined) return null;
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  return { context: build.context ?? '.', dockerfile: build.dockerfile ?? 'Dockerfile' };
}

function joinPath(context: string, file: string): string {
  const parts = `${context}/${file}`.split('/').filter((part) => part !== '' && part !== '.');
  return parts.join('/');
}

/** The Dockerfile a service builds, parsed; null when it has none (or it is missing). */
function dockerfileOf(service: ComposeService): Dockerfile | null {
  const build = buildOf(service);
  if (!build) return null;
  const path = joinPath(build.context, build.dockerfile);
  return repoPathExists(path) ? parseDockerfile(path, readRepoFile(path)) : null;
}

/** "35s", "1m30s", "500ms" -> seconds. */
export function durationSeconds(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  let seconds = 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  for (const match of String(duration).matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) {
    seconds += Number(match[1]) * units[match[2]!]!;
  }
  return seconds;
}

/** Host and port of a URL ("redis://:pw@redis:6379/0" -> redis, 6379). */
export function hostAndPort(url: string, defaultPort: number): { host: string; port: number } | null {
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: parsed.port === '' ? defaultPort : Number(parsed.port) };
  } catch {
    return null;
  }
}

/** The value a variable takes in a service: set in compose, else the service's default. */
function effective(service: ComposeService, kind: string, variable: string): string | undefined {
  const set = environmentOf(service).get(variable);
  if (set !== undefined && set !== null) return set;
  if (!isService(kind)) return undefined;
  const fallback = serviceEnv(kind).defaultOf(variable);
  return fallback === undefined ? undefined : String(fallback);
}

/** Seconds a service may need after SIGTERM beyond SHUTDOWN_GRACE_MS: the R worker killing its children and handing their tasks back. */
export const EXTRA_STOP_SECONDS: Record<string, number> = { gateway: 0, 'node-worker': 0, 'r-worker': 5 };

/** Every problem found in the compose file; empty when it is right. */
export function checkCompose(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const services = compose.services ?? {};

  for (const name of SERVICES) {
    if (!services[name]) problems.push(`service ${name} is missing`);
  }

  for (const [name, service] of Object.entries(services)) {
    // Builds: the context and its Dockerfile exist.
    const build = buildOf(service);
    if (build) {
      if (!repoPathExists(build.context)) problems.push(`${name}: build context ${build.context} does not exist`);
      const dockerfile = joinPath(build.context, build.dockerfile);
      if (!repoPathExists(dockerfile)) problems.push(`${name}: build Dockerfile ${dockerfile} does not exist`);
    } else if (!service.image) problems.push(`${name}: neither image nor build`);
    const kind = serviceKind(name, service);
    if (kind) {
      if (!build) problems.push(`${name}: must be built from its Dockerfile`);
      else if (joinPath(build.context, build.dockerfile) !== `${kind}/Dockerfile`)
        problems.push(`${name}: builds ${joinPath(build.context, build.dockerfile)} instead of ${kind}/Dockerfile`);
      if (!service.image || withoutTag(service.image) !== imageRepository(kind))
        problems.push(`${name}: image must be named ${imageRepository(kind)}:<tag> (Kubernetes runs that name)`);
    }

    // depends_on: the services exist, and a service_healthy one has a health check.
    for (const [dependency, condition] of dependsOn(service)) {
      const target = services[dependency];
      if (!target) {
        problems.push(`${name}: depends_on ${dependency}, which is not a service`);
        continue;
      }
      const hasHealthcheck =
        target.healthcheck?.disable !== true &&
        (target.healthcheck?.test !== undefined || healthcheckFromImage(target) !== null);
      if (condition === 'service_healthy' && !hasHealthcheck) {
        problems.push(`${name}: waits for ${dependency} to be healthy, but ${dependency} has no health check`);
      }
    }
  }

  // Redis: a password, AOF, data on a named volume.
  const redis = services.redis;
  const redisCommand = redis ? words(redis.command) : [];
  const password = optionValue(redisCommand, '--requirepass');
  if (!redis) problems.push('service redis is missing');
  else {
    if (!password) problems.push('redis: no --requirepass (a password is required)');
    if (optionValue(redisCommand, '--appendonly') !== 'yes')
      problems.push('redis: AOF persistence is off (--appendonly yes)');
    const dataVolume = (redis.volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
      .find(([, target]) => target === '/data');
    if (!dataVolume || !dataVolume[0] || dataVolume[0].includes('/') || !(dataVolume[0] in (compose.volumes ?? {}))) {
      problems.push('redis: /data is not on a named volume declared under volumes:');
    }
  }

  for (const [name, service] of Object.entries(services)) {
    const kind = serviceKind(name, service);
    if (!kind) continue;
    const reads = serviceEnv(kind);
    const environment = environmentOf(service);
    const dockerfile = dockerfileOf(service);
    const fixedByImage = dockerfile ? imageEnvNames(dockerfile) : new Set<string>();
    for (const variable of environment.keys()) {
      if (!reads.names.has(variable)) problems.push(`${name}: sets ${variable}, which ${kind} does not read`);
    }
    // Every variable the service reads can be set through compose, but for the listening address
    // (fixed by the port mappings and health checks) and what the image itself sets.
    for (const variable of reads.names) {
      if (['HOST', 'PORT'].includes(variable) || fixedByImage.has(variable)) continue;
      if (!environment.has(variable)) problems.push(`${name}: does not pass on ${variable} (add \`${variable}:\`)`);
    }

    // Redis address and password.
    const redisUrl = environment.get('REDIS_URL');
    const redisTarget = redisUrl ? hostAndPort(redisUrl, 6379) : null;
    if (!redisUrl || !redisTarget) problems.push(`${name}: REDIS_URL is not set to the redis service`);
    else {
      if (redisTarget.host !== 'redis' || redisTarget.port !== 6379)
        problems.push(`${name}: REDIS_URL points at ${redisTarget.host}:${redisTarget.port}, not redis:6379`);
      if (password && decodeURIComponent(new URL(redisUrl).password) !== password)
        problems.push(`${name}: REDIS_URL's password is not Redis' --requirepass`);
    }
    if (!dependsOn(service).has('redis')) problems.push(`${name}: does not depend on redis`);

    // Listening port: published (gateway) and checked by the image's health check on the same port.
    const port = effective(service, kind, 'PORT');
    if (
      port !== undefined &&
      dockerfile &&
      exposedPorts(dockerfile).length > 0 &&
      !exposedPorts(dockerfile).includes(Number(port))
    ) {
      problems.push(`${name}: listens on ${port}, but its image EXPOSEs ${exposedPorts(dockerfile).join(', ')}`);
    }

    // A stop waits for running work: stop_grace_period exceeds SHUTDOWN_GRACE_MS.
    const graceMs = Number(effective(service, kind, 'SHUTDOWN_GRACE_MS'));
    const stopSeconds = durationSeconds(service.stop_grace_period) ?? 10;
    const needed = graceMs / 1000 + (EXTRA_STOP_SECONDS[kind] ?? 0);
    if (!(stopSeconds > needed)) {
      problems.push(
        `${name}: stop_grace_period ${stopSeconds}s does not exceed the ${needed}s a graceful stop may take`,
      );
    }
  }

  // The gateway: published on its port, and R_SERVICE_URL is the r-worker service on its port.
  const gateway = services.gateway;
  if (gateway) {
    const port = Number(effective(gateway, 'gateway', 'PORT'));
    const published = (gateway.ports ?? []).map((mapping) =>
      typeof mapping === 'object' ? Number(mapping.target) : Number(String(mapping).split(':').at(-1)?.split('/')[0]),
    );
    if (!published.includes(port)) problems.push(`gateway: its port ${port} is not published`);
    const rServiceUrl = environmentOf(gateway).get('R_SERVICE_URL');
    const rTarget = rServiceUrl ? hostAndPort(rServiceUrl, 80) : null;
    const rWorker = services['r-worker'];
    const rPort = rWorker ? Number(effective(rWorker, 'r-worker', 'PORT')) : undefined;
    if (!rTarget) problems.push('gateway: R_SERVICE_URL is not set to the r-worker service');
    else if (rTarget.host !== 'r-worker' || rTarget.port !== rPort) {
      problems.push(
        `gateway: R_SERVICE_URL points at ${rTarget.host}:${rTarget.port}, but r-worker listens on r-worker:${rPort}`,
      );
    }
  }

  // Two Node workers in the default group.
  const nodeWorker = services['node-worker'];
  const replicas = nodeWorker?.deploy?.replicas ?? nodeWorker?.scale ?? 1;
  if (nodeWorker && replicas < 2) problems.push(`node-worker: ${replicas} replica(s), not 2`);

  problems.push(...checkWorkerGroups(services));
  problems.push(...checkRServiceToken(services));
  return problems;
}

/**
 * Dedicated worker groups: every queue the gateway's TASK_ROUTES routes to, and `default`, are taken
 * by a worker service of that kind, and no worker service waits on a queue nothing is routed to.
 */
function checkWorkerGroups(services: Record<string, ComposeService>): string[] {
  const problems: string[] = [];
  const gateway = services.gateway;
  if (!gateway) return problems;
  let routes: ReturnType<typeof parseTaskRoutes>;
  try {
    routes = parseTaskRoutes(effective(gateway, 'gateway', 'TASK_ROUTES') ?? '');
  } catch (error) {
    return [`gateway: TASK_ROUTES ${(error as Error).message}`];
  }
  const groups = Object.entries(services).flatMap(([name, service]) => {
    const kind = serviceKind(name, service);
    const workerKind = kind === 'node-worker' ? 'node' : kind === 'r-worker' ? 'r' : undefined;
    if (!workerKind) return [];
    try {
      return [{ name, kind: workerKind, queues: parseQueueList(effective(service, kind!, 'QUEUES') ?? DEFAULT_QUEUE) }];
    } catch (error) {
      problems.push(`${name}: QUEUES ${(error as Error).message}`);
      return [];
    }
  });
  for (const kind of ['node', 'r'] as const) {
    const routed = new Map<string, string[]>();
    for (const [task, queue] of Object.entries(routes[kind])) routed.set(queue, [...(routed.get(queue) ?? []), task]);
    for (const [queue, tasks] of [[DEFAULT_QUEUE, ['unrouted']] as const, ...routed]) {
      if (!groups.some((g) => g.kind === kind && g.queues.includes(queue))) {
        problems.push(
          `gateway: ${kind} queue ${queue} (${tasks.join(', ')} tasks) is taken by no ${kind} worker service`,
        );
      }
    }
    for (const group of groups.filter((g) => g.kind === kind)) {
      for (const queue of group.queues) {
        if (queue !== DEFAULT_QUEUE && !routed.has(queue))
          problems.push(
            `${group.name}: takes from queue ${queue}, which the gateway's TASK_ROUTES sends no ${kind} task to`,
          );
      }
    }
  }
  return problems;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The R service listens beyond loopback here: it needs R_SERVICE_TOKEN, the gateway the same one. */
function checkRServiceToken(services: Record<string, ComposeService>): string[] {
  const problems: string[] = [];
  const gateway = services.gateway;
  const tokens = new Map<string, string | undefined>();
  for (const [name, service] of Object.entries(services)) {
    if (serviceKind(name, service) !== 'r-worker') continue;
    const token = effective(service, 'r-worker', 'R_SERVICE_TOKEN');
    const host = effective(service, 'r-worker', 'HOST') ?? '';
    tokens.set(name, token);
    if (!token && !LOOPBACK.has(host)) {
      problems.push(`${name}: no R_SERVICE_TOKEN, and it listens on ${host}: the R service refuses to start`);
    }
  }
  const gatewayToken = gateway ? effective(gateway, 'gateway', 'R_SERVICE_TOKEN') : undefined;
  for (const [name, token] of [['gateway', gatewayToken] as const, ...tokens]) {
    if (token && !/^[\x21-\x7e]{32,256}$/.test(token))
      problems.push(`${name}: R_SERVICE_TOKEN must be 32-256 printable characters without spaces`);
  }
  for (const [name, token] of tokens) {
    if (token !== gatewayToken) problems.push(`gateway: its R_SERVICE_TOKEN is not ${name}'s`);
  }
  return problems;
}

function healthcheckFromImage(service: ComposeService): string[] | null {
  const dockerfile = dockerfileOf(service);
  return dockerfile ? healthcheckCommand(dockerfile) : null;
}

function words(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command.map(String) : command.split(/\s+/);
}

function optionValue(command: string[], option: string): string | undefined {
  const index = command.indexOf(option);
  return index === -1 ? undefined : command[index + 1];
}

/** README's `## Deploy` section (up to the next `## ` heading). */
export function readmeDeploySection(readme: string): string {
  const start = readme.indexOf('\n## Deploy\n');
  if (start === -1) return '';
  const next = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, next === -1 ? undefined : next);
}

/**
 * README's promise about compose's variables holds: the Deploy section's paragraph on what compose
 * "sets itself, whatever the shell says" names every variable a service reads that the shell cannot
 * set (fixed by compose, or not passed on), and the section names every variable that has a default
 * of compose's own or that an image sets. Everything else a service reads passes through
 * (checkCompose).
 */
export function checkReadmeComposeVariables(composeText: string, readme: string): string[] {
  const section = readmeDeploySection(readme);
  if (!section) return ['README.md has no ## Deploy section'];
  // The paragraph, or list item, that says so.
  const paragraph = section.split(/\n\s*\n|\n(?=- )/).find((p) => /whatever the shell says/.test(p)) ?? '';
  if (!paragraph) return ["README's Deploy section does not say which variables compose sets itself"];
  const named = (text: string, variable: string) => text.includes(`\`${variable}\``);
  const problems: string[] = [];
  const fixed = new Map<string, string[]>();
  const withDefault = new Map<string, string[]>();
  for (const [service, sources] of variableSources(composeText)) {
    for (const [variable, source] of sources) {
      const into =
        source === 'compose' || source === 'service-default'
          ? fixed
          : source === 'shell-or-compose-default' || source === 'image'
            ? withDefault
            : undefined;
      into?.set(variable, [...(into.get(variable) ?? []), service]);
    }
  }
  for (const [variable, services] of fixed) {
    if (!named(paragraph, variable))
      problems.push(
        `README: compose fixes ${variable} (${services.join(', ')}), but the Deploy section does not name it among those`,
      );
  }
  for (const [variable, services] of withDefault) {
    if (!named(section, variable))
      problems.push(
        `README: compose or the image gives ${variable} (${services.join(', ')}) a value of its own, which the Deploy section does not mention`,
      );
  }
  return problems;
}
