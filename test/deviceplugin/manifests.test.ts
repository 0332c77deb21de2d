/** The device-plugin container of daemonset/ and of the Helm chart: flags the command accepts, the mounts and RBAC it needs. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseShareSlots, registerDevicePluginCommand } from '../../src/deviceplugin/command.js';
import { DEVICE_PLUGIN_DIR } from '../../src/kubelet/device-plugin-api.js';
import { repoRoot } from '../support/paths.js';
import { CHART, helm, helmSkip, render } from '../ux/install-tools.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const dir = path.join(repoRoot, 'daemonset');
const docs = (file: string): Any[] => parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as Any);
const all = (docs('kustomization.yaml')[0]!.resources as string[]).flatMap(docs);
const ds = all.find((o) => o.kind === 'DaemonSet')!;
const pod = ds.spec.template.spec;
const dp = pod.containers.find((c: Any) => c.name === 'device-plugin');

/** The options `linkpack device-plugin` parses from a container's args. */
async function parsedArgs(container: Any): Promise<Any> {
  const program = new Command('linkpack').exitOverride();
  registerDevicePluginCommand(program);
  let seen: Any | undefined;
  program.commands[0]!.action((o: Any) => void (seen = o));
  await program.parseAsync(['node', 'linkpack', 'device-plugin', ...(container.args as string[]).map((a) => a.replace('$(NODE_NAME)', 'gpu-1'))]);
  return seen!;
}

describe('daemonset/: the device-plugin container', () => {
  it('runs the device plugin entry point with flags `linkpack device-plugin` accepts', async () => {
    expect(dp.command).toEqual(['node', '/app/dist/src/deviceplugin/main.js', 'device-plugin']);
    const seen = await parsedArgs(dp);
    expect(seen).toMatchObject({ nodeName: 'gpu-1', pluginDir: DEVICE_PLUGIN_DIR, api: true, shareSlots: '1' });
    expect(dp.env.find((e: Any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
  });

  it('mounts the kubelet’s device-plugins directory (not a socket) read-write at the --plugin-dir it is given', () => {
    const mount = dp.volumeMounts.find((m: Any) => m.mountPath === DEVICE_PLUGIN_DIR);
    expect(mount.readOnly ?? false).toBe(false);
    expect(pod.volumes.find((v: Any) => v.name === mount.name).hostPath).toEqual({ path: DEVICE_PLUGIN_DIR, type: 'Directory' });
    expect(dp.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('runs only on linkpack-labelled nodes', () => {
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms).toEqual([{ matchExpressions: [{ key: 'linkpack.io/node', operator: 'In', values: ['true'] }] }]);
  });

  it('may list/watch pods and create events, bound to the pod’s service account', () => {
    const role = all.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'linkpack-device-plugin')!;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    const binding = all.find((o) => o.kind === 'ClusterRoleBinding' && o.roleRef.name === role.metadata.name)!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ds.metadata.namespace }]);
  });
});

describe.skipIf(helmSkip !== undefined)('charts/linkpack: node.devicePlugin.shareSlots', () => {
  const devicePlugin = (opts: string[]) =>
    render(opts)
      .filter((o) => o.kind === 'DaemonSet')
      .flatMap((o) => o.spec.template.spec.containers as Any[])
      .find((c) => c.name === 'device-plugin')!;

  it('reaches the device plugin as --share-slots (default 1), a value the command accepts', async () => {
    expect(parseShareSlots((await parsedArgs(devicePlugin([]))).shareSlots)).toBe(1);
    const ten = devicePlugin(['--set', 'node.devicePlugin.shareSlots=10']);
    expect(ten.args).toContain('--share-slots=10');
    expect(parseShareSlots((await parsedArgs(ten)).shareSlots)).toBe(10);
  });

  it('the values schema refuses a value the command would refuse, naming the key', () => {
    for (const bad of ['0', '101', 'four']) {
      const r = helm(['template', 'x', CHART, '--set', `node.devicePlugin.shareSlots=${bad}`]);
      expect(r.status, bad).not.toBe(0);
      expect(r.stderr, bad).toMatch(/node\/devicePlugin\/shareSlots/);
      expect(() => parseShareSlots(bad)).toThrow(/--share-slots/);
    }
  });
});
