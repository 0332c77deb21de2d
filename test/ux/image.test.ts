/**
 * The container image, checked without a Docker engine: the Dockerfile's shape (Node 20 slim,
 * multi-stage, production dependencies only, non-root, exec-form entrypoint, nothing run at run
 * time), the build context .dockerignore lets through, and one image name/tag that the kustomize
 * manifests, the Helm chart and package.json agree on.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../support/paths.js';

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const dockerfile = read('Dockerfile');
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), arg: m[2]! };
  });
const stages: (typeof instructions)[] = [];
for (const i of instructions) {
  if (i.op === 'FROM') stages.push([]);
  stages[stages.length - 1]!.push(i);
}
const final = stages[stages.length - 1]!;

/** .dockerignore as Docker reads it: last matching rule wins; `!` re-includes. */
function dockerIgnored(rel: string): boolean {
  const rules = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let ignored = false;
  for (const r of rules) {
    const neg = r.startsWith('!');
    const pat = (neg ? r.slice(1) : r).replace(/\/$/, '');
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*')}(/.*)?$`);
    if (re.test(rel)) ignored = !neg;
  }
  return ignored;
}

describe('Dockerfile', () => {
  it('is multi-stage on node:20-slim, installs production dependencies with npm ci --omit=dev', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s[0]!.arg).toMatch(/^node:20-slim(\s+AS\s+\S+)?$/i);
    expect(instructions.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.arg))).toBe(true);
    // The final stage copies node_modules from the stage that ran npm ci --omit=dev.
    const depsStage = stages.find((s) => s.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.arg)))!;
    const depsName = /AS\s+(\S+)/i.exec(depsStage[0]!.arg)![1];
    expect(final.some((i) => i.op === 'COPY' && i.arg.includes(`--from=${depsName}`) && i.arg.includes('node_modules'))).toBe(true);
  });

  it('runs as a numeric non-root user, exec-form entrypoint, nothing RUN in the final stage', () => {
    const user = final.filter((i) => i.op === 'USER').at(-1)!.arg;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    const entry = JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.arg) as string[];
    expect(entry[0]).toBe('node');
    // The path the entrypoint runs is the one the build stage writes (tsc outDir dist, rootDir .).
    expect(entry[1]).toBe('/app/dist/src/cli/main.js');
    expect(final.filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('copies only what the build context lets through, and that exists', () => {
    for (const i of instructions.filter((x) => x.op === 'COPY' && !x.arg.includes('--from='))) {
      const parts = i.arg.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(path.join(repoRoot, src)), `${src} exists`).toBe(true);
        expect(dockerIgnored(src), `${src} is not excluded by .dockerignore`).toBe(false);
      }
    }
    for (const heavy of ['node_modules', 'dist', '.git', 'test', 'linkpack-report']) expect(dockerIgnored(heavy), heavy).toBe(true);
    // The kubelet protos, loaded at run time, are in the context and copied next to the code.
    expect(dockerIgnored('src/kubelet/pod-resources.proto')).toBe(false);
    expect(dockerfile).toMatch(/cp src\/kubelet\/\*\.proto dist\/src\/kubelet\//);
  });
});

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

describe('one image name and tag', () => {
  const component = parseYaml(read('deploy/image/kustomization.yaml')) as { kind: string; images: { name: string; newName: string; newTag: string }[] };
  const img = component.images[0]!;
  const version = JSON.parse(read('package.json')).version as string;

  it('the kustomize image component carries package.json\'s version', () => {
    expect(component.kind).toBe('Component');
    expect(img.newTag).toBe(version);
  });

  it('every linkpack image in deploy/ and daemonset/ is that image, and its kustomization includes the component', () => {
    const files = [...yamlFiles(path.join(repoRoot, 'deploy')), ...yamlFiles(path.join(repoRoot, 'daemonset'))];
    let seen = 0;
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*image:\s*(\S+)\s*$/gm)) {
        const ref = m[1]!;
        if (!ref.startsWith(img.name)) continue;
        seen++;
        expect(ref, path.relative(repoRoot, f)).toBe(`${img.newName}:${img.newTag}`);
        // The folder's kustomization (if the folder is one) pulls the component in.
        const k = path.join(path.dirname(f), 'kustomization.yaml');
        if (existsSync(k)) {
          const kust = parseYaml(readFileSync(k, 'utf8')) as { components?: string[] };
          const comps = (kust.components ?? []).map((c) => path.resolve(path.dirname(k), c));
          expect(comps, `${path.relative(repoRoot, k)} includes deploy/image`).toContain(path.join(repoRoot, 'deploy/image'));
        }
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  it('the Helm chart defaults to the same image', () => {
    const chart = parseYaml(read('charts/linkpack/Chart.yaml')) as { appVersion: string; version: string };
    const values = parseYaml(read('charts/linkpack/values.yaml')) as { image: { repository: string; tag?: string } };
    expect(values.image.repository).toBe(img.newName);
    expect(values.image.tag || chart.appVersion).toBe(img.newTag);
    expect(chart.appVersion).toBe(version);
  });
});
