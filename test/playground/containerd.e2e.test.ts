/**
 * Real containers: the playground's node on Debian's containerd 1.6 + runc. A container prints the
 * NVIDIA_VISIBLE_DEVICES it got, and it is the set the extender assigned. The chart's device plugin
 * runs with --cdi here: containerd 1.x drops CDI devices silently, so the plugin must see the
 * node's runtime version and give the env instead (else the container would get no GPU).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS, parseAssignedGpus } from '../../src/api/annotations.js';
import { controlPlaneSkip, type KObj } from '../../src/playground/control-plane.js';
import { PLAYGROUND_IMAGE } from '../../src/playground/node.js';
import { Playground } from '../../src/playground/playground.js';

const containerdMissing = ['/usr/bin/containerd', '/usr/sbin/runc', '/usr/lib/cni/loopback'].find((b) => !existsSync(b));
if (containerdMissing) console.warn(`[skip] playground on containerd: ${containerdMissing} is missing (Debian's containerd, runc, containernetworking-plugins; .ci/run installs them)`);

let pg: Playground;
let dir: string;

describe.skipIf(controlPlaneSkip || containerdMissing)('the playground on containerd (real containers)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-pgc-'));
    pg = await Playground.up({ dir, nodes: [{ name: 'c1', topology: 'hgx-h100' }], runtime: 'containerd', helmSet: ['node.devicePlugin.cdi=true'] });
  }, 300_000);
  afterAll(async () => {
    const ns = pg?.nodes.get('c1')?.mountNamespace;
    await pg?.down();
    if (ns) {
      // Nothing of the node's containerd is left: no process in its namespace, no cgroup folder.
      const left = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
        try {
          return readlinkSync(`/proc/${e}/ns/mnt`) === ns;
        } catch {
          return false;
        }
      });
      expect(left).toEqual([]);
    }
    expect(readdirSync('/sys/fs/cgroup').filter((h) => existsSync(`/sys/fs/cgroup/${h}/k8s.io`))).toEqual([]);
  }, 60_000);

  it('a real container prints the NVIDIA_VISIBLE_DEVICES the extender assigned; --cdi on containerd 1.x falls back to the env with its reason', async () => {
    await pg.cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
    await pg.cp.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'print-env', namespace: 'ml' },
      spec: {
        schedulerName: 'linkpack-scheduler',
        hostNetwork: true,
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: PLAYGROUND_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo "NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES"'], resources: { limits: { 'nvidia.com/gpu': '4', cpu: '10m', memory: '16Mi' } } }],
      },
    });
    let pod: KObj | undefined;
    await pg.cp.eventually(async () => ['Succeeded', 'Failed'].includes((pod = await pg.cp.get('v1', 'Pod', 'print-env', 'ml'))?.status?.phase), 'the container ran', 120_000);
    expect(pod!.status.phase, JSON.stringify(pod!.status.containerStatuses)).toBe('Succeeded');
    const assigned = parseAssignedGpus(pod!.metadata.annotations[ANN_ASSIGNED_GPUS]);
    expect(assigned.ok).toBe(true);
    const uuids = assigned.ok ? assigned.value.map((g) => g.uuid!).sort() : [];
    const logs = path.join(pg.nodes.get('c1')!.paths.podLogs, `ml_print-env_${pod!.metadata.uid}`, 'main', '0.log');
    const printed = /NVIDIA_VISIBLE_DEVICES=(\S*)/.exec(readFileSync(logs, 'utf8'))?.[1] ?? '';
    expect(printed.split(',').sort()).toEqual(uuids);
    expect(readFileSync(path.join(dir, 'device-plugin-c1.log'), 'utf8')).toContain("--cdi: the node's runtime is containerd://1.6");
  }, 180_000);
});
