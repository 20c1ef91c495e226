/**
 * Dockerfiles as the checks see them: stages of instructions (parsed by dockerfile-ast, linted by
 * dockerfile-utils), and the rules every Switchyard image follows. Each check returns the problems it
 * found as sentences; none means the Dockerfile passes.
 */
import dockerignore from '@balena/dockerignore';

// A CommonJS module typed as an ES default export: under NodeNext the default import is the module
// object itself, which is the function at run time.
const ignore = dockerignore as unknown as typeof dockerignore.default;
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type ModifiableInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { ROOT, isRepoDirectory, readRepoFile, repoPathExists, type ServiceName } from './repo.js';

export interface Instruction {
  keyword: string;
  /** `--name=value` flags (COPY --from, HEALTHCHECK --interval, ...). */
  flags: Map<string, string>;
  /** Everything after the keyword and its flags, continuation lines joined. */
  content: string;
  line: number;
}

export interface Stage {
  /** The `AS` name, or null. */
  name: string | null;
  /** The FROM image (ARG defaults filled in) or the name of an earlier stage. */
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  path: string;
  text: string;
  stages: Stage[];
}

export function parseDockerfile(path: string, text: string): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of parsed.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) args.set(property.getName(), property.getValue() ?? '');
  }
  const stages: Stage[] = [];
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    const content = (instruction.getArgumentsContent() ?? '').trim();
    const line = instruction.getRange().start.line + 1;
    const flags = new Map<string, string>();
    if ('getFlags' in instruction && typeof instruction.getFlags === 'function') {
      for (const flag of (instruction as ModifiableInstruction).getFlags()) {
        flags.set(flag.getName(), flag.getValue() ?? '');
      }
    }
    if (keyword === 'FROM') {
      const [image = '', as, name] = content.replace(/^--platform=\S+\s+/, '').split(/\s+/);
      const base = image.replace(/\$\{?(\w+)\}?/g, (whole, variable: string) => args.get(variable) ?? whole);
      stages.push({ name: as?.toUpperCase() === 'AS' ? (name ?? null) : null, base, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword, flags, content, line });
    }
  }
  return { path, text, stages };
}

export function readDockerfile(service: ServiceName): Dockerfile {
  const path = `${service}/Dockerfile`;
  return parseDockerfile(path, readRepoFile(path));
}

/** The words of an instruction in exec (JSON array) or shell form. */
export function commandWords(content: string): string[] {
  const trimmed = content.trim();
  if (trimmed.startsWith('[')) {
    try {
      const words: unknown = JSON.parse(trimmed);
      if (Array.isArray(words)) return words.map(String);
    } catch {
      // not JSON: shell form
    }
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

export function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (!stage) throw new Error(`${dockerfile.path} has no FROM`);
  return stage;
}

function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1);
}

/** The HEALTHCHECK command of the final stage, or null when there is none (or NONE). */
export function healthcheckCommand(dockerfile: Dockerfile): string[] | null {
  const healthcheck = last(finalStage(dockerfile), 'HEALTHCHECK');
  if (!healthcheck) return null;
  if (/^NONE\b/i.test(healthcheck.content)) return null;
  return commandWords(healthcheck.content.replace(/^CMD\s+/i, ''));
}

/** Variables the final stage sets with ENV. */
export function imageEnvNames(dockerfile: Dockerfile): Set<string> {
  const names = new Set<string>();
  for (const instruction of finalStage(dockerfile).instructions.filter((i) => i.keyword === 'ENV')) {
    for (const match of instruction.content.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)) names.add(match[1]!);
  }
  return names;
}

/** Ports the final stage EXPOSEs. */
export function exposedPorts(dockerfile: Dockerfile): number[] {
  return finalStage(dockerfile)
    .instructions.filter((instruction) => instruction.keyword === 'EXPOSE')
    .flatMap((instruction) => instruction.content.split(/\s+/))
    .map((port) => Number.parseInt(port, 10))
    .filter((port) => Number.isInteger(port));
}

/** dockerfile-utils' diagnostics (syntax, unknown instructions, bad flags, ...). */
export function lintDockerfile(dockerfile: Dockerfile): string[] {
  return validate(dockerfile.text).map(
    (diagnostic) => `${dockerfile.path}:${diagnostic.range.start.line + 1}: ${diagnostic.message}`,
  );
}

/** Every file under a repository path (a file itself, or a folder's files). */
function filesUnder(path: string): string[] {
  if (!isRepoDirectory(path)) return [path];
  return readdirSync(join(ROOT, path)).flatMap((entry) => filesUnder(`${path.replace(/\/$/, '')}/${entry}`));
}

/**
 * COPY sources from the build context (the repository root) must exist and not be excluded by
 * .dockerignore: a build would fail, or silently lose files in the case of a folder.
 */
export function checkCopySources(dockerfile: Dockerfile, dockerignore: string): string[] {
  const ignored = ignore().add(dockerignore);
  const problems: string[] = [];
  for (const stage of dockerfile.stages) {
    for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      if (instruction.flags.has('from')) continue;
      const words = commandWords(instruction.content);
      for (const source of words.slice(0, -1)) {
        const where = `${dockerfile.path}:${instruction.line}`;
        const path = source.replace(/^\.\//, '').replace(/\/$/, '');
        if (!repoPathExists(path)) {
          problems.push(`${where}: COPY source ${source} does not exist in the build context`);
          continue;
        }
        const lost = filesUnder(path).filter((file) => ignored.ignores(file));
        const kept = filesUnder(path).length - lost.length;
        if (!statSync(join(ROOT, path)).isDirectory() && lost.length > 0) {
          problems.push(`${where}: COPY source ${source} is excluded by .dockerignore`);
        } else if (kept === 0) {
          problems.push(`${where}: every file of COPY source ${source} is excluded by .dockerignore`);
        }
      }
    }
  }
  return problems;
}

/** Rules every Switchyard image follows, whatever its language. */
export function checkImageBasics(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  const where = dockerfile.path;
  if (dockerfile.stages.length < 2) problems.push(`${where}: not multi-stage (one FROM)`);
  for (const stage of dockerfile.stages) {
    // Debian bases: the same libc and packages as the local stack, and buildable on this machine.
    if (/alpine/i.test(stage.base))
      problems.push(`${where}: FROM ${stage.base} is Alpine; use a Debian (bookworm) base`);
  }
  const final = finalStage(dockerfile);
  const user = last(final, 'USER')?.content.split(':')[0];
  if (user === undefined) problems.push(`${where}: the final stage runs as root (no USER)`);
  else if (user === 'root' || user === '0') problems.push(`${where}: the final stage runs as root (USER ${user})`);
  else if (!/^\d+$/.test(user))
    problems.push(`${where}: USER ${user} is not numeric, so Kubernetes' runAsNonRoot cannot verify it`);
  if (!healthcheckCommand(dockerfile)) problems.push(`${where}: the final stage has no HEALTHCHECK`);
  if (!last(final, 'CMD') && !last(final, 'ENTRYPOINT')) problems.push(`${where}: the final stage has no CMD`);
  return problems;
}

/** The command the image runs: ENTRYPOINT words followed by CMD words. */
export function imageCommand(dockerfile: Dockerfile): string[] {
  const final = finalStage(dockerfile);
  const entrypoint = last(final, 'ENTRYPOINT');
  const cmd = last(final, 'CMD');
  return [...(entrypoint ? commandWords(entrypoint.content) : []), ...(cmd ? commandWords(cmd.content) : [])];
}

/** The final stage's COPY instructions: sources, and the target as an absolute path (WORKDIR applied). */
function finalCopies(dockerfile: Dockerfile): { from?: string; sources: string[]; target: string; line: number }[] {
  let workdir = '/';
  const copies: { from?: string; sources: string[]; target: string; line: number }[] = [];
  for (const instruction of finalStage(dockerfile).instructions) {
    if (instruction.keyword === 'WORKDIR') {
      const dir = instruction.content.trim();
      workdir = dir.startsWith('/') ? dir : `${workdir.replace(/\/$/, '')}/${dir}`;
    }
    if (instruction.keyword !== 'COPY') continue;
    const words = commandWords(instruction.content);
    const target = words.at(-1) ?? '';
    copies.push({
      from: instruction.flags.get('from'),
      sources: words.slice(0, -1),
      target: target.startsWith('/') ? target : `${workdir.replace(/\/$/, '')}/${target}`,
      line: instruction.line,
    });
  }
  return copies;
}

/** The value the final stage's ENV gives a variable, or undefined. */
export function imageEnvValue(dockerfile: Dockerfile, name: string): string | undefined {
  let value: string | undefined;
  for (const instruction of finalStage(dockerfile).instructions.filter((i) => i.keyword === 'ENV')) {
    for (const match of instruction.content.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      if (match[1] === name) value = match[2]!.replace(/^"|"$/g, '');
    }
  }
  return value;
}

/**
 * Repository folders an image reads at run time must reach it whole: a COPY of the folder (or a
 * parent) from the build context, with no file of it excluded by .dockerignore (a partial copy
 * fails later, at run time: a Lua include or a contract missing).
 */
export function checkRuntimeFolder(
  dockerfile: Dockerfile,
  dockerignore: string,
  folder: string,
  expectedTarget?: string,
): string[] {
  const where = dockerfile.path;
  const copy = finalCopies(dockerfile).find(
    (c) => !c.from && c.sources.some((source) => folder.startsWith(source.replace(/^\.\//, '').replace(/\/$/, ''))),
  );
  if (!copy) return [`${where}: the final stage does not copy ${folder}`];
  const problems: string[] = [];
  const target = copy.target.replace(/\/$/, '');
  if (expectedTarget !== undefined && target !== expectedTarget) {
    problems.push(`${where}:${copy.line}: ${folder} lands in ${target}, not ${expectedTarget}`);
  }
  const ignored = ignore().add(dockerignore);
  const lost = repoPathExists(folder) ? filesUnder(folder).filter((file) => ignored.ignores(file)) : [];
  if (lost.length > 0) problems.push(`${where}: .dockerignore keeps ${lost.join(', ')} out of ${folder}`);
  return problems;
}

/**
 * A Node service's image: compiled JavaScript only (its workspace's package.json `main` under dist/,
 * built by `tsc -b` in an earlier stage), production dependencies only, and what @switchyard/shared
 * reads at run time (dist, lua, package.json).
 */
export function checkNodeImage(
  dockerfile: Dockerfile,
  workspace: string,
  packageMain: string,
  dockerignore: string,
): string[] {
  const problems: string[] = [];
  const where = dockerfile.path;
  const final = finalStage(dockerfile);
  const entry = `${workspace}/${packageMain.replace(/^\.\//, '')}`;
  const command = imageCommand(dockerfile);
  if (command[0] !== 'node' || command[1] !== entry) {
    problems.push(
      `${where}: the image must run \`node ${entry}\` (its package.json main), not \`${command.join(' ')}\``,
    );
  }
  if (!entry.includes('/dist/') || !entry.endsWith('.js')) {
    problems.push(`${where}: ${entry} is not compiled JavaScript under dist/`);
  }
  const stageByName = new Map(dockerfile.stages.map((stage) => [stage.name, stage]));
  const copies = final.instructions
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => {
      const words = commandWords(instruction.content);
      return { from: instruction.flags.get('from'), sources: words.slice(0, -1), target: words.at(-1) ?? '' };
    });
  const copied = (path: string) =>
    copies.find((copy) => copy.sources.some((source) => source.replace(/\/$/, '').endsWith(path)));
  for (const path of [`${workspace}/dist`, 'shared/dist', 'shared/lua', 'shared/package.json']) {
    if (!copied(path)) problems.push(`${where}: the final stage does not copy ${path}`);
  }
  // shared/lua is read at run time, includes/ too (shared/src/lua.ts expands `--@include`).
  if (copied('shared/lua'))
    problems.push(...checkRuntimeFolder(dockerfile, dockerignore, 'shared/lua', '/app/shared/lua'));
  for (const path of [`${workspace}/dist`, 'shared/dist']) {
    const copy = copied(path);
    const stage = copy?.from ? stageByName.get(copy.from) : undefined;
    if (copy && !stage?.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b.*-b\b/.test(i.content))) {
      problems.push(`${where}: ${path} must come from a stage that compiles it with tsc -b`);
    }
  }
  const modules = copied('node_modules');
  const modulesStage = modules?.from ? stageByName.get(modules.from) : final;
  const installsProductionOnly = (stage: Stage | undefined) =>
    stage?.instructions.some(
      (i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.content) && /--omit=dev\b/.test(i.content),
    ) ?? false;
  if (!modules) problems.push(`${where}: the final stage does not copy node_modules`);
  else if (!installsProductionOnly(modulesStage)) {
    problems.push(`${where}: node_modules come from a stage that does not install with --omit=dev`);
  }
  for (const instruction of final.instructions.filter((i) => i.keyword === 'RUN')) {
    if (/\bnpm (ci|install|i)\b/.test(instruction.content) && !/--omit=dev\b/.test(instruction.content)) {
      problems.push(`${where}:${instruction.line}: the final stage installs development dependencies`);
    }
    if (/\b(tsc|tsx|typescript)\b/.test(instruction.content)) {
      problems.push(`${where}:${instruction.line}: the final stage runs the TypeScript compiler`);
    }
  }
  return problems;
}

/**
 * The R worker's image: an init process as PID 1 (the worker forks a child per task), main.R as the
 * command, and no C compiler at run time (the SIGTERM handler is compiled in an earlier stage and
 * found through R_WORKER_CACHE_DIR).
 */
export function checkRImage(dockerfile: Dockerfile, dockerignore: string): string[] {
  const problems: string[] = [];
  const where = dockerfile.path;
  const command = imageCommand(dockerfile);
  const init = command[0]?.split('/').at(-1);
  if (init !== 'tini' && init !== 'dumb-init' && init !== 'catatonit') {
    problems.push(`${where}: PID 1 must be an init process (tini) that reaps the forked children, not ${command[0]}`);
  }
  const rscript = command.indexOf('Rscript');
  if (rscript === -1 || !command[rscript + 1]) problems.push(`${where}: the image does not run Rscript <main.R>`);
  else if (!repoPathExists(command[rscript + 1]!))
    problems.push(`${where}: the image runs ${command[rscript + 1]}, which does not exist`);
  const final = finalStage(dockerfile);
  for (const instruction of final.instructions.filter((i) => i.keyword === 'RUN')) {
    if (/\b(gcc|g\+\+|clang|build-essential|r-base-dev)\b/.test(instruction.content)) {
      problems.push(`${where}:${instruction.line}: the final stage installs a compiler`);
    }
  }
  if (!imageEnvNames(dockerfile).has('R_WORKER_CACHE_DIR')) {
    problems.push(`${where}: R_WORKER_CACHE_DIR is not set, so the worker would compile its SIGTERM handler at start`);
  }
  // What the worker loads from shared/ at start (r-worker/R/contracts.R, lua.R): beside r-worker/
  // (<r-worker dir>/../shared), or where SWITCHYARD_SHARED_DIR points.
  const mainR = command[rscript + 1];
  const workerDir = finalCopies(dockerfile).find((c) => !c.from && c.sources.some((s) => s === mainR))?.target;
  const besideWorker = workerDir ? `${workerDir.replace(/\/$/, '').replace(/\/[^/]+$/, '')}/shared` : undefined;
  const sharedDir = imageEnvValue(dockerfile, 'SWITCHYARD_SHARED_DIR') ?? besideWorker;
  if (!sharedDir) problems.push(`${where}: cannot tell where the worker finds shared/ (copy ${mainR} into a folder)`);
  for (const folder of R_RUNTIME_FOLDERS) {
    problems.push(
      ...checkRuntimeFolder(
        dockerfile,
        dockerignore,
        folder,
        sharedDir ? `${sharedDir}/${folder.split('/')[1]}` : undefined,
      ),
    );
  }
  return problems;
}

/** The repository folders the R worker reads at run time. */
export const R_RUNTIME_FOLDERS = ['shared/lua', 'shared/contracts'] as const;
