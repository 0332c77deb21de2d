/**
 * A new user's first minutes with `linkpack extender`: no cluster at all, a cluster that is not
 * reachable yet (not synced), and Ctrl-C before the first list.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { noClusterReason, runExtender, SERVICE_ACCOUNT_TOKEN, type ExtenderCommandOptions } from '../../src/extender/command.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { getPreset } from '../../src/topology/index.js';
import { MemoryCluster, RecordingBinder } from '../extender/memory-cluster.js';

const base: ExtenderCommandOptions = { port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'info' };
const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

describe('no cluster', () => {
  it('noClusterReason: each source of a config is enough; none gives one sentence with the way out', () => {
    const none = () => false;
    expect(noClusterReason({ KUBECONFIG: '/x' }, '/home/u', (p) => p === '/x')).toBeUndefined();
    // A $KUBECONFIG naming only missing files is no cluster, said with the file it looked for.
    expect(noClusterReason({ KUBECONFIG: '/x:/y' }, '/home/u', none)).toMatch(/^no cluster found: \$KUBECONFIG names \/x, \/y, which does not exist\. Give --kubeconfig <file>, or run without a cluster: /);
    expect(noClusterReason({}, '/home/u', (p) => p === '/home/u/.kube/config')).toBeUndefined();
    expect(noClusterReason({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, '/home/u', (p) => p === SERVICE_ACCOUNT_TOKEN)).toBeUndefined();
    // A token without the service env (not really in a pod) is no cluster either.
    expect(noClusterReason({}, '/home/u', (p) => p === SERVICE_ACCOUNT_TOKEN)).toMatch(/^no cluster found/);
    expect(noClusterReason({}, '/home/u', none)).toMatch(/no cluster found.*--kubeconfig.*--cluster-file/);
  });

  it('runExtender without any kubeconfig refuses to start instead of retrying localhost:8080', async () => {
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    process.env.HOME = mkdtempSync(path.join(tmpdir(), 'lp-home-'));
    await expect(runExtender(base, pino({ level: 'silent' }))).rejects.toThrow(/^no cluster found/);
  });
});

describe('before the caches sync', () => {
  it('/filter and /prioritize answer 503 saying why, so kube-scheduler retries', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('a', getPreset('hgx-h100')!);
    cluster.isSynced = false;
    const app = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } };
    for (const verb of ['filter', 'prioritize']) {
      const res = await app.inject({ method: 'POST', url: `/${verb}`, payload: { Pod: pod, NodeNames: ['a'], Nodes: null } });
      expect(res.statusCode).toBe(503);
      expect(res.json().Error).toMatch(/not ready: its GPUNode and Pod caches have not synced.*retry/);
    }
    cluster.isSynced = true;
    const ok = await app.inject({ method: 'POST', url: '/filter', payload: { Pod: pod, NodeNames: ['a'], Nodes: null } });
    expect(ok.json().NodeNames).toEqual(['a']);
    expect((await app.inject('/metrics')).body).toMatch(/linkpack_extender_failures_total\{verb="filter",reason="not-synced"\} 1/);
  });

  it('stopping before the first list does not log "caches synced"', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-kc-'));
    const kubeconfig = path.join(dir, 'config');
    // Port 9 on loopback: nothing listens, every list fails.
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
    const running = await runExtender({ ...base, kubeconfig }, pino({ level: 'info' }, sink));
    await running.close();
    await new Promise((r) => setTimeout(r, 50));
    const messages = lines.map((l) => JSON.parse(l).msg as string);
    expect(messages).not.toContain('caches synced');
    expect(messages).toContain('stopped before the caches synced');
  });
});
