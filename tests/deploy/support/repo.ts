/** The repository the deploy checks read, and the few facts about its services they share. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export function repoPathExists(path: string): boolean {
  return existsSync(join(ROOT, path));
}

export function isRepoDirectory(path: string): boolean {
  return repoPathExists(path) && statSync(join(ROOT, path)).isDirectory();
}

/**
 * Switchyard's own services: the compose service, Kubernetes container and image name of each is
 * its folder's name, and the folder holds its Dockerfile.
 */
export const SERVICES = ['gateway', 'node-worker', 'r-worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

export function isService(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

/** The image repository each service is built as (compose `image:`, Kubernetes `image:`). */
export function imageRepository(service: ServiceName): string {
  return `switchyard/${service}`;
}

/** Image references without their tag: "switchyard/gateway:local" -> "switchyard/gateway". */
export function withoutTag(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon === -1 ? image : image.slice(0, colon);
}
