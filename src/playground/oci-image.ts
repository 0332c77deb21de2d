/**
 * A container image without a registry: an OCI image layout (tar) of one layer holding a static
 * busybox and its applets, for `ctr images import`. The playground's containerd nodes run it as
 * the pods' image and as the pause image.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'echo', 'sleep', 'cat', 'env', 'ls', 'true', 'false'];

export interface ImageSpec {
  /** Full reference, e.g. docker.io/linkpack/busybox:1. */
  ref: string;
  cmd: string[];
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes `<dir>/<name>.tar` (an OCI layout) for each image; all share one busybox layer. */
export function buildImages(dir: string, images: readonly ImageSpec[]): string[] {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (a static busybox is the image's only binary)`);
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  mkdirSync(path.join(rootfs, 'tmp'), { recursive: true });
  copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  for (const a of APPLETS) if (!existsSync(path.join(rootfs, 'bin', a))) symlinkSync('busybox', path.join(rootfs, 'bin', a));
  const layerTar = path.join(dir, 'layer.tar');
  // Fixed owner and time: the same layer digest on every build.
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=2020-01-01', '--sort=name', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = readFileSync(layerTar);
  const layerDigest = digestOf(layer);
  return images.map((img, i) => {
    const layout = path.join(dir, `image-${i}`);
    const blobs = path.join(layout, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer) => {
      const d = digestOf(data);
      writeFileSync(path.join(blobs, d.slice('sha256:'.length)), data);
      return { digest: d, size: data.length };
    };
    blob(layer);
    const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: img.cmd }, rootfs: { type: 'layers', diff_ids: [layerDigest] } })));
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        }),
      ),
    );
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': img.ref, 'org.opencontainers.image.ref.name': img.ref.split(':').pop() } }],
      }),
    );
    const tar = path.join(dir, `image-${i}.tar`);
    execFileSync('tar', ['-C', layout, '-cf', tar, '.']);
    return tar;
  });
}
