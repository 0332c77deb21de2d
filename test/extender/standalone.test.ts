/**
 * Standalone mode as a user tries it: `linkpack extender --cluster-file deploy/examples/cluster.yaml`
 * with the example requests from deploy/examples, over real HTTP; binds stay in memory.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { runExtender, type ExtenderCommandOptions, type RunningExtender } from '../../src/extender/command.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const examples = path.join(repoRoot, 'deploy/examples');
const base: ExtenderCommandOptions = { port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'silent' };
let running: RunningExtender | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function post(verb: string, body: unknown) {
  const res = await fetch(`${running!.address}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('linkpack extender --cluster-file', () => {
  it('serves the example cluster: filter, prioritize, bind, explain', async () => {
    running = await runExtender({ ...base, clusterFile: path.join(examples, 'cluster.yaml') }, pino({ level: 'silent' }));
    expect((await fetch(`${running.address}/readyz`)).status).toBe(200);
    const filterReq = JSON.parse(readFileSync(path.join(examples, 'filter-request.json'), 'utf8'));
    const f = await post('filter', filterReq);
    expect(f.status).toBe(200);
    // 4 NVLink-connected GPUs: both H100 boxes (b has 4 left) and the DGX-1's 4-cliques; the PCIe box never.
    expect(f.body.NodeNames.sort()).toEqual(['gpu-h100-a', 'gpu-h100-b', 'gpu-v100-a']);
    expect(Object.keys(f.body.FailedAndUnresolvableNodes)).toEqual(['gpu-pcie-a']);
    const p = await post('prioritize', { ...filterReq, NodeNames: f.body.NodeNames });
    expect(p.body).toHaveLength(3);

    const bindReq = JSON.parse(readFileSync(path.join(examples, 'bind-request.json'), 'utf8'));
    expect((await post('bind', bindReq)).body).toEqual({ Error: '' });
    // The bind is in memory: gpu-h100-b is now full, and the same pod cannot be bound twice.
    const after = await post('filter', filterReq);
    expect(after.body.FailedNodes['gpu-h100-b']).toMatch(/^no free GPU, 4 asked \(all 8 in use\)$/);
    expect((await post('bind', bindReq)).body.Error).toMatch(/already/);
    const x = (await (await fetch(`${running.address}/explain?pod=ml/trainer-0`)).json()) as Record<string, any>;
    expect(x.lastBind.node).toBe('gpu-h100-b');
    expect(x.lastBind.gpus.map((g: { index: number }) => g.index)).toEqual([4, 5, 6, 7]);
  });

  it('a broken cluster file or bad flags are clear errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-standalone-'));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  nodeName: nowhere\n');
    await expect(runExtender({ ...base, clusterFile: bad }, pino({ level: 'silent' }))).rejects.toThrow(/bad\.yaml.*nodeName.*nowhere/);
    await expect(runExtender({ ...base, port: '99999', clusterFile: bad })).rejects.toThrow(/--port "99999"/);
    await expect(runExtender({ ...base, tlsCert: 'x.pem', clusterFile: bad })).rejects.toThrow(/--tls-cert and --tls-key/);
    await expect(runExtender({ ...base, heartbeatTimeout: 'soon', clusterFile: bad })).rejects.toThrow(/--heartbeat-timeout "soon"/);
  });

  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version']);
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasOpenssl)('serves HTTPS with --tls-cert/--tls-key (the TLS overlay of deploy/scheduler; needs openssl)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-tls-'));
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    running = await runExtender({ ...base, tlsCert: cert, tlsKey: key, clusterFile: path.join(examples, 'cluster.yaml') }, pino({ level: 'silent' }));
    expect(running.address).toMatch(/^https:/);
    const body = readFileSync(path.join(examples, 'filter-request.json'), 'utf8');
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(`${running!.address}/filter`, { method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).NodeNames).toContain('gpu-h100-a');
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  it.skipIf(!external)('verbs are refused to non-loopback callers unless --remote-verbs (needs a non-loopback IPv4 address)', async () => {
    running = await runExtender({ ...base, host: '0.0.0.0', clusterFile: path.join(examples, 'cluster.yaml') }, pino({ level: 'silent' }));
    const port = new URL(running.address).port;
    const filterReq = readFileSync(path.join(examples, 'filter-request.json'), 'utf8');
    const remote = await fetch(`http://${external}:${port}/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: filterReq });
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as { message: string }).message).toMatch(/--remote-verbs/);
    expect((await fetch(`http://${external}:${port}/metrics`)).status).toBe(200);
    const local = await fetch(`http://127.0.0.1:${port}/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: filterReq });
    expect(local.status).toBe(200);
  });
});

describe('registerExtenderCommand', () => {
  it('wires the flags: `linkpack extender --cluster-file … --port 0`', async () => {
    const { Command } = await import('commander');
    const { registerExtenderCommand } = await import('../../src/extender/command.js');
    const program = new Command('linkpack').exitOverride();
    let started: RunningExtender | undefined;
    registerExtenderCommand(program, { onStarted: (r) => (started = r) });
    await program.parseAsync(['extender', '--cluster-file', path.join(examples, 'cluster.yaml'), '--port', '0', '--log-level', 'silent'], { from: 'user' });
    running = started;
    expect(started?.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${started!.address}/readyz`)).status).toBe(200);
    const help = program.commands.find((c) => c.name() === 'extender')!.helpInformation();
    for (const flag of ['--cluster-file', '--port', '--host', '--tls-cert', '--tls-key', '--kubeconfig', '--heartbeat-timeout', '--remote-verbs']) expect(help).toContain(flag);
  });
});
