import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AGENT_FLAGS, registerAgentCommand } from '../../src/agent/command.js';
import { AGENT_NODE_FLAGS } from '../../src/agent/footprint.js';
import { DEFAULT_POD_RESOURCES_SOCKET } from '../../src/kubelet/pod-resources-client.js';
import { repoRoot } from '../support/paths.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const dir = path.join(repoRoot, 'daemonset');
const docs = (file: string): Any[] => parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as Any);

describe('daemonset/ manifests', () => {
  const kustomization = docs('kustomization.yaml')[0];
  const all = (kustomization.resources as string[]).flatMap(docs);
  const ds = all.find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  const agent = pod.containers.find((c: Any) => c.name === 'agent');

  it('the kustomization lists files that exist, and every object parses with a kind and a name', () => {
    for (const r of kustomization.resources) expect(existsSync(path.join(dir, r)), r).toBe(true);
    for (const o of all) expect([o.apiVersion, o.kind, o.metadata?.name].every(Boolean), JSON.stringify(o).slice(0, 80)).toBe(true);
  });

  it('runs on GPU nodes only, with the downward-API node name, resource limits and the pod-resources directory read-only', () => {
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(agent.env.find((e: Any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(agent.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    const mount = agent.volumeMounts.find((m: Any) => m.mountPath === path.dirname(DEFAULT_POD_RESOURCES_SOCKET));
    expect(mount.readOnly).toBe(true);
    expect(pod.volumes.find((v: Any) => v.name === mount.name).hostPath).toEqual({ path: path.dirname(DEFAULT_POD_RESOURCES_SOCKET), type: 'Directory' });
    expect(ds.spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(ds.spec.template.metadata.labels).filter(([k]) => k in ds.spec.selector.matchLabels)));
  });

  it('its args are flags `linkpack agent` accepts, with values it parses, and the probe port is the one it serves', async () => {
    expect(agent.command).toEqual(['node', ...AGENT_NODE_FLAGS, '/app/dist/src/agent/main.js', 'agent']);
    const flags = (agent.args as string[]).map((a) => a.split('=')[0]);
    for (const f of flags) expect(AGENT_FLAGS as readonly string[], f).toContain(f);
    // Parse the args with the real command definition (action replaced, values kept).
    const program = new Command('linkpack').exitOverride();
    registerAgentCommand(program);
    let seen: Any | undefined;
    program.commands[0].action((o: Any) => void (seen = o));
    await program.parseAsync(['node', 'linkpack', 'agent', ...(agent.args as string[]).map((a) => a.replace('$(NODE_NAME)', 'gpu-1'))]);
    expect(seen).toMatchObject({ nodeName: 'gpu-1', port: '9400', podResourcesSocket: DEFAULT_POD_RESOURCES_SOCKET });
    expect(agent.ports[0].containerPort).toBe(Number(seen!.port));
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('grants exactly: get its Node, get/create GPUNodes, update gpunodes/status (PUT), to the DaemonSet service account', () => {
    const role = all.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      { apiGroups: ['linkpack.io'], resources: ['gpunodes'], verbs: ['get', 'create'] },
      { apiGroups: ['linkpack.io'], resources: ['gpunodes/status'], verbs: ['update'] },
    ]);
    const binding = all.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ds.metadata.namespace }]);
  });
});
