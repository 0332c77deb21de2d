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
import { controlPlaneSkip } from '../../src/playground/control-plane.js';
import { Playground } from '../../src/playground/playground.js';
import { assignedGpus, containerLines, gpuPod, podInPhase } from './helpers.js';

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
    await pg.cp.apply(gpuPod('print-env', 4, { shell: 'echo "NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES"' }));
    const pod = await podInPhase(pg, 'print-env', ['Succeeded', 'Failed']);
    expect(pod.status.phase, JSON.stringify(pod.status.containerStatuses)).toBe('Succeeded');
    const uuids = assignedGpus(pod).map((g) => g.uuid!).sort();
    const printed = /NVIDIA_VISIBLE_DEVICES=(\S*)/.exec(containerLines(pg, 'c1', pod).join('\n'))?.[1] ?? '';
    expect(printed.split(',').sort()).toEqual(uuids);
    expect(readFileSync(path.join(dir, 'device-plugin-c1.log'), 'utf8')).toContain("--cdi: the node's runtime is containerd://1.6");
  }, 180_000);
});
