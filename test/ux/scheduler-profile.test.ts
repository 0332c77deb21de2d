/**
 * One recommended linkpack-scheduler profile (docs/simulator.md, "as deployed"), written in three
 * places YAML cannot share: the kustomize base, its TLS overlay and the Helm chart. They must agree,
 * or the simulator's "as deployed" figure describes only one of the installs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { helmSkip, render } from './install-tools.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function profileOf(configMapDocs: Obj[]): Obj {
  const cm = configMapDocs.find((d) => d?.kind === 'ConfigMap' && typeof d.data?.['config.yaml'] === 'string' && d.data['config.yaml'].includes('KubeSchedulerConfiguration'));
  if (!cm) throw new Error('no scheduler ConfigMap');
  const cfg = parse(cm.data['config.yaml']) as Obj;
  const { schedulerName: _name, ...profile } = cfg.profiles[0];
  return profile;
}

const fromFile = (f: string) => profileOf(parseAllDocuments(readFileSync(path.join(repoRoot, f), 'utf8')).map((d) => d.toJS() as Obj));

describe('the recommended scheduler profile', () => {
  const base = fromFile('deploy/scheduler/scheduler-config.yaml');

  it('scores every node with MostAllocated and no BalancedAllocation', () => {
    expect(base.percentageOfNodesToScore).toBe(100);
    expect(base.plugins.score.disabled.map((p: Obj) => p.name)).toContain('NodeResourcesBalancedAllocation');
    expect(base.pluginConfig[0].args.scoringStrategy.type).toBe('MostAllocated');
  });

  it('is the same in the TLS overlay', () => {
    expect(fromFile('deploy/scheduler-tls/scheduler-config-tls.yaml')).toEqual(base);
  });

  it.skipIf(helmSkip !== undefined)('is the same in the Helm chart', () => {
    expect(profileOf(render([]))).toEqual(base);
  });
});
