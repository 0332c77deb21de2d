/**
 * The kube-scheduler that the chart and kustomize ship is the one every e2e suite runs
 * (test/kube/versions.json): a scheduler config or plugin behaviour proven on v1.37 says nothing
 * about an older image. docs/install.md says how a user matches it to their cluster instead.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/paths.js';

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const tested = (JSON.parse(read('test/kube/versions.json')) as { kubernetes: string }).kubernetes;

/** `registry.k8s.io/kube-scheduler:<tag>` of every kube-scheduler container in a manifest file. */
function schedulerImages(file: string): string[] {
  const out: string[] = [];
  for (const d of parseAllDocuments(read(file))) {
    const o = d.toJS() as { spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } } | null;
    for (const c of o?.spec?.template?.spec?.containers ?? []) if (c.image?.includes('/kube-scheduler:')) out.push(c.image);
  }
  return out;
}

describe('shipped kube-scheduler version', () => {
  it(`the chart's scheduler.image.tag is the tested ${tested}`, () => {
    const values = parseYaml(read('charts/linkpack/values.yaml')) as { scheduler: { image: { repository: string; tag: string } } };
    expect(values.scheduler.image).toEqual({ repository: 'registry.k8s.io/kube-scheduler', tag: tested });
  });

  it(`kustomize's deploy/scheduler (and deploy/scheduler-tls, its overlay) ships kube-scheduler:${tested}`, () => {
    expect(schedulerImages('deploy/scheduler/deployment.yaml')).toEqual([`registry.k8s.io/kube-scheduler:${tested}`]);
    // The overlay patches the Deployment without naming another image.
    for (const f of ['deploy/scheduler-tls/deployment-tls.yaml', 'deploy/scheduler-tls/kustomization.yaml']) expect(read(f)).not.toMatch(/kube-scheduler:v\d/);
  });

  it('docs/install.md names the same default', () => {
    expect(read('docs/install.md')).toContain(`registry.k8s.io/kube-scheduler:${tested}`);
  });
});
