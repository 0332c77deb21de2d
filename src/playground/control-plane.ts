/**
 * The real Kubernetes control plane for the playground and the e2e suites: etcd + kube-apiserver, and on request
 * kube-controller-manager, kube-scheduler (with a given KubeSchedulerConfiguration) and KWOK managing
 * fake nodes. Binaries come from `npm run kube:build` (test/kube/build.mjs, pinned Go modules).
 *
 * Each process gets free loopback ports, its own throwaway certificates (an openssl CA, a serving
 * certificate, an admin client certificate in system:masters, a service-account key pair) and a log
 * file. stop() kills every process and removes the folder; a process 'exit' hook does the same
 * when a test file dies first. One control plane per test file (beforeAll/afterAll), not per test.
 *
 * Suites that use it MUST be named `*.e2e.test.ts` (vitest project "e2e": run one file at a time,
 * long timeouts; `npm run test:e2e` runs exactly these) and guard with
 * `describe.skipIf(controlPlaneSkip)`. Usage:
 *   let cp: ControlPlane;
 *   beforeAll(async () => { if (!controlPlaneSkip) cp = await startControlPlane({ controllerManager: true, kwok: true }); });
 *   afterAll(() => cp?.stop());
 *   cp.kubeConfig / cp.kubeconfigPath / cp.apply(yaml|objs) / cp.createGpuNode('n1', 'dgx1-v100') /
 *   cp.createFakeNode('n2', { gpus: 8 }) / cp.get / cp.list / cp.request / cp.writeStatus / cp.eventually
 * KWOK pods: Running once bound; annotation linkpack.test/exit-code=<n> ends the container
 * (test/support/kwok/stages.yaml).
 *
 * What still needs test/support/apiserver.ts (faults the real server cannot produce on demand):
 * 409 storms and slow responses (extender binder, agent publisher, MLTask reconciler), dropped
 * watch streams mid-event (informers), an API outage with writes pending (agent publisher).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { fileURLToPath } from 'node:url';
import { kubeJson } from '../kube/request.js';
import type { GpuNodeObjectOptions } from '../cluster/gpunode.js';
import { presetGpuNodeJson } from './preset-gpunode.js';
import type { ProcessRecord } from './state.js';

export type { ProcessRecord } from './state.js';

export type KObj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The checkout (the first folder above this file with a package.json; works from src/ and dist/src). */
export const repoRoot = (() => {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();


const BINARIES = ['etcd', 'kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'kwok'] as const;

function resolveBinDir(): { dir?: string; skip?: string } {
  if (process.env.KUBE_BIN_DIR) return { dir: process.env.KUBE_BIN_DIR };
  try {
    execFileSync('go', ['env', 'GOVERSION'], { stdio: 'ignore' });
  } catch {
    return { skip: 'Go is not installed, so the real kube-apiserver/etcd/kube-scheduler/KWOK cannot be built (test/kube): e2e suite skipped' };
  }
  const dir = execFileSync(process.execPath, [path.join(repoRoot, 'test/kube/build.mjs'), '--dir'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return { dir };
}

const resolved = resolveBinDir();
/** Folder of the real binaries (may not be built yet). */
export const kubeBinDir: string | undefined = resolved.dir;
/** Why the e2e suites skip here (Go absent), or undefined: they run. Built-but-missing binaries fail, they do not skip. */
export const controlPlaneSkip: string | undefined = resolved.skip;
if (controlPlaneSkip) console.warn(`[e2e] ${controlPlaneSkip}`);

export function kubeBinary(name: string): string {
  if (!kubeBinDir) throw new Error(controlPlaneSkip ?? 'no Kubernetes binaries folder');
  const p = path.join(kubeBinDir, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run kube:build\` first (builds the pinned kube-apiserver, etcd, kube-scheduler, kube-controller-manager, kwok, helm)`);
  return p;
}

const handedOut = new Set<number>();

/** A free loopback port, never one this process handed out before (the OS may offer it again at once). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await osFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited?: string;
  /** Starts the same process again (same binary, flags, env and working directory). */
  again: () => Proc;
  /** Started again when it exits on its own, as a pod's container is (restartPolicy Always). */
  restart?: boolean;
  /** Being stopped on purpose: no restart. */
  stopping?: boolean;
}



const live = new Set<ChildProcess>();
/** Whether the processes of a control plane's folder are detached (see ControlPlaneOptions.detached). */
const detachedDirs = new Map<string, boolean>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, the apiserver's serving certificate, an admin client certificate, and the service-account key. */
function makeCertificates(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=linkpack-e2e-ca']);
  const sign = (name: string, subj: string, ext: string) => {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  sign('apiserver', '/CN=kube-apiserver', 'subjectAltName=DNS:localhost,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n');
  sign('admin', '/O=system:masters/CN=linkpack-e2e-admin', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfigYaml(server: string, dir: string): string {
  const b64 = (f: string) => readFileSync(path.join(dir, f)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: e2e\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: admin\n  user:\n    client-certificate-data: ${b64('admin.crt')}\n    client-key-data: ${b64('admin.key')}`,
    'contexts:',
    '- name: e2e\n  context:\n    cluster: e2e\n    user: admin',
    'current-context: e2e',
    '',
  ].join('\n');
}

/** HTTP status of a GET, or 0 when the connection fails. TLS is checked against `ca` when given. */
function probe(url: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', timeout: 2000, ...(u.protocol === 'https:' ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !!tls.ca } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

export interface SchedulerOptions {
  /** The scheduler's own kubeconfig (default: the admin's), e.g. its ServiceAccount's. */
  kubeconfigPath?: string;
  /**
   * A KubeSchedulerConfiguration (YAML), or a file holding one — a ConfigMap wrapping it under
   * data["config.yaml"] is unwrapped, so deploy/scheduler/scheduler-config.yaml is used as shipped.
   * Only addresses are rewritten: clientConnection.kubeconfig, leader election off, and each
   * extender's urlPrefix host:port to `extenderUrl`.
   */
  configFile?: string;
  config?: string;
  extenderUrl?: string;
}

export interface ControlPlaneOptions {
  /** Apply every CRD in deploy/crds/ and wait until each is Established (default true). */
  crds?: boolean;
  controllerManager?: boolean;
  scheduler?: SchedulerOptions;
  kwok?: boolean;
  /** kube-apiserver's watch cache (default on). Off: watches go to etcd, so etcd compaction yields 410. */
  watchCache?: boolean;
  /**
   * Real kubelets will join: the Node authorizer and the NodeRestriction admission plugin, as a
   * production cluster runs them, so a kubelet's certificate may touch only its own Node and pods.
   */
  realNodes?: boolean;
  /** Folder for certificates, logs and data (default: a new temporary folder). */
  dir?: string;
  /**
   * Processes outlive this Node.js process (own process groups, no exit hook): `playground up`
   * returns while the cluster runs, and `playground down` stops it from its state file.
   */
  detached?: boolean;
}

export interface FakeNodeOptions {
  gpus?: number;
  /** createGpuNode: nvidia.com/gpu devices per GPU (the device plugin's --share-slots; default 1). */
  devicesPerGpu?: number;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
}

/** Reads a KubeSchedulerConfiguration from YAML, unwrapping a ConfigMap, and rewrites only addresses. */
export function schedulerConfigFor(text: string, kubeconfigPath: string, extenderUrl?: string): string {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KObj);
  let cfg = docs.find((d) => d?.kind === 'KubeSchedulerConfiguration');
  if (!cfg) {
    const cm = docs.find((d) => d?.kind === 'ConfigMap' && typeof d.data?.['config.yaml'] === 'string');
    if (cm) cfg = parseAllDocuments(cm.data['config.yaml'])[0]!.toJS() as KObj;
  }
  if (!cfg) throw new Error('no KubeSchedulerConfiguration (nor a ConfigMap holding one under config.yaml) in the scheduler config');
  cfg.clientConnection = { ...(cfg.clientConnection ?? {}), kubeconfig: kubeconfigPath };
  cfg.leaderElection = { leaderElect: false };
  if (extenderUrl) {
    for (const e of cfg.extenders ?? []) {
      const u = new URL(e.urlPrefix);
      const target = new URL(extenderUrl);
      u.protocol = target.protocol;
      u.host = target.host;
      e.urlPrefix = u.toString().replace(/\/$/, '');
    }
  }
  return JSON.stringify(cfg, null, 2);
}

export class ControlPlane {
  readonly kubeConfig: KubeConfig;
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly server: string,
    readonly kubeconfigPath: string,
    readonly etcdUrl: string,
    private readonly procs: Proc[],
  ) {
    this.kubeConfig = new KubeConfig();
    this.kubeConfig.loadFromFile(kubeconfigPath);
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    if (controlPlaneSkip) throw new Error(controlPlaneSkip);
    const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'linkpack-cp-'));
    mkdirSync(dir, { recursive: true });
    const procs: Proc[] = [];
    const cp = { procs, dir };
    detachedDirs.set(dir, opts.detached ?? false);
    try {
      return await ControlPlane.boot(dir, procs, opts);
    } catch (err) {
      for (const p of cp.procs) p.child.kill('SIGKILL');
      if (!process.env.LINKPACK_KEEP_CP) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private static spawnProc(dir: string, procs: Proc[], name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv, cwd = dir, restart = false): Proc {
    const log = path.join(dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const detached = detachedDirs.get(dir) ?? false;
    const exe = path.isAbsolute(bin) ? bin : kubeBinary(bin);
    const child = spawn(exe, args, { cwd, stdio: ['ignore', fd, fd], detached, env: env ?? process.env });
    closeSync(fd);
    if (detached) child.unref();
    else live.add(child);
    const p: Proc = { name, child, log, again: () => ControlPlane.spawnProc(dir, procs, name, bin, args, env, cwd, restart) };
    child.on('exit', (code, signal) => {
      live.delete(child);
      p.exited = `exited with ${signal ?? code}`;
      if (!restart || p.stopping || detached) return;
      // As the kubelet restarts a container; the replacement takes this one's place.
      setTimeout(() => {
        const i = procs.indexOf(p);
        if (i < 0 || p.stopping) return;
        procs.splice(i, 1);
        p.again();
      }, 1000).unref();
    });
    procs.push(p);
    return p;
  }

  private static async waitFor(p: Proc, url: string, tls: Parameters<typeof probe>[1], timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (p.exited) throw new Error(`${p.name} ${p.exited} before it became ready; last log lines:\n${tail(p.log)}`);
      if ((await probe(url, tls)) === 200) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`${p.name} not ready at ${url} after ${timeoutMs / 1000} s; last log lines:\n${tail(p.log)}`);
  }

  private static async boot(dir: string, procs: Proc[], opts: ControlPlaneOptions): Promise<ControlPlane> {
    makeCertificates(dir);
    const ca = readFileSync(path.join(dir, 'ca.crt'));
    const clientTls = { ca, cert: readFileSync(path.join(dir, 'admin.crt')), key: readFileSync(path.join(dir, 'admin.key')) };

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = ControlPlane.spawnProc(dir, procs, 'etcd', 'etcd', [
      '--name=e2e',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await ControlPlane.waitFor(etcd, `${etcdUrl}/health`, {});

    const server = `https://127.0.0.1:${apiPort}`;
    const api = ControlPlane.spawnProc(dir, procs, 'kube-apiserver', 'kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // 1.37 refuses a loopback advertise address with the endpoint reconciler; no Service needs it here.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
      `--client-ca-file=${path.join(dir, 'ca.crt')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      opts.realNodes ? '--authorization-mode=Node,RBAC' : '--authorization-mode=RBAC',
      ...(opts.realNodes ? ['--enable-admission-plugins=NodeRestriction'] : []),
      '--allow-privileged=true',
      // As envtest does: pods need no `default` ServiceAccount (no token controller races).
      '--disable-admission-plugins=ServiceAccount',
      `--watch-cache=${opts.watchCache ?? true}`,
      '--profiling=false',
      '--v=1',
    ]);
    await ControlPlane.waitFor(api, `${server}/readyz`, clientTls);

    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, dir));
    const cp = new ControlPlane(dir, server, kubeconfigPath, etcdUrl, procs);
    await cp.waitForNamespace('default');

    if (opts.crds ?? true) await cp.applyCrds();

    if (opts.controllerManager) {
      const port = await freePort();
      const kcm = ControlPlane.spawnProc(dir, procs, 'kube-controller-manager', 'kube-controller-manager', [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
        `--root-ca-file=${path.join(dir, 'ca.crt')}`,
        '--use-service-account-credentials=false',
        // Fake nodes heartbeat every 20–45 s (KWOK stage); be lenient before tainting them.
        '--node-monitor-grace-period=120s',
        '--v=1',
      ]);
      await ControlPlane.waitFor(kcm, `https://127.0.0.1:${port}/healthz`, {});
    }

    if (opts.kwok) {
      const stages = readFileSync(path.join(repoRoot, 'test/support/kwok/stages.yaml'), 'utf8');
      writeFileSync(path.join(dir, 'kwok.yaml'), stages);
      const port = await freePort();
      const kwok = ControlPlane.spawnProc(dir, procs, 'kwok', 'kwok', [
        `--kubeconfig=${kubeconfigPath}`,
        `--config=${path.join(dir, 'kwok.yaml')}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--cidr=10.244.0.0/16',
        '--node-ip=10.240.0.1',
        `--server-address=127.0.0.1:${port}`,
        '--node-lease-duration-seconds=40',
      ]);
      await ControlPlane.waitFor(kwok, `http://127.0.0.1:${port}/healthz`, {});
    }

    if (opts.scheduler) await cp.startScheduler(opts.scheduler);
    return cp;
  }

  /** Starts kube-scheduler (at most one per control plane) once the extender's address is known. */
  async startScheduler(o: SchedulerOptions = {}): Promise<void> {
    if (this.procs.some((p) => p.name === 'kube-scheduler' && !p.exited)) throw new Error('kube-scheduler already runs');
    const text = o.config ?? readFileSync(o.configFile ?? path.join(repoRoot, 'deploy/scheduler/scheduler-config.yaml'), 'utf8');
    const cfgPath = path.join(this.dir, 'scheduler-config.json');
    const kubeconfig = o.kubeconfigPath ?? this.kubeconfigPath;
    writeFileSync(cfgPath, schedulerConfigFor(text, kubeconfig, o.extenderUrl));
    const port = await freePort();
    const sched = ControlPlane.spawnProc(this.dir, this.procs, 'kube-scheduler', 'kube-scheduler', [
      `--config=${cfgPath}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--v=2',
    ]);
    await ControlPlane.waitFor(sched, `https://127.0.0.1:${port}/healthz`, {});
  }

  /**
   * Runs another process beside the control plane (a kubelet, a linkpack component), logged to
   * `<dir>/<name>.log` and stopped by stop() before the control plane. `bin` is a path, or the name
   * of a built Kubernetes binary.
   */
  spawn(name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string, restart = false): { pid: number; log: string; exited(): string | undefined } {
    const p = ControlPlane.spawnProc(this.dir, this.procs, name, bin, args, env, cwd, restart);
    return { pid: p.child.pid ?? 0, log: p.log, exited: () => p.exited };
  }

  /** Waits until GET url answers 200, failing early with the log's tail if the named process exits. */
  async waitReady(name: string, url: string, timeoutMs = 90_000): Promise<void> {
    const p = this.procs.find((x) => x.name === name);
    if (!p) throw new Error(`no process ${name}`);
    await ControlPlane.waitFor(p, url, {}, timeoutMs);
  }

  /** Stops one process (SIGTERM, SIGKILL after 5 s) and forgets it, e.g. to restart a kubelet. */
  async stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const i = this.procs.findIndex((x) => x.name === name && !x.exited);
    if (i < 0) return;
    await stopOne(this.procs[i]!, signal);
    this.procs.splice(i, 1);
  }

  /**
   * An outage: stops a process (etcd, kube-apiserver, …), waits `downMs`, starts it again with the
   * same flags and waits until it answers `readyUrl` (the API server's /readyz by default).
   */
  async outage(name: string, downMs: number, readyUrl?: string): Promise<void> {
    const i = this.procs.findIndex((x) => x.name === name && !x.exited);
    if (i < 0) throw new Error(`no running process ${name}`);
    const p = this.procs[i]!;
    await stopOne(p);
    this.procs.splice(i, 1);
    await new Promise((r) => setTimeout(r, downMs));
    const again = p.again();
    const url = readyUrl ?? (name === 'kube-apiserver' ? `${this.server}/readyz` : undefined);
    if (url) {
      const tls = { ca: readFileSync(path.join(this.dir, 'ca.crt')), cert: readFileSync(path.join(this.dir, 'admin.crt')), key: readFileSync(path.join(this.dir, 'admin.key')) };
      await ControlPlane.waitFor(again, url, url.startsWith(this.server) ? tls : {});
    }
  }

  /** Every process started so far, for a state file. */
  processes(): ProcessRecord[] {
    return this.procs.filter((p) => !p.exited).map((p) => ({ name: p.name, pid: p.child.pid ?? 0, log: p.log }));
  }

  /**
   * A kubeconfig with a client certificate signed by the cluster CA (`O=<org>, CN=<cn>`), e.g. a
   * kubelet's `system:nodes` / `system:node:<node>`.
   */
  clientCertKubeconfig(file: string, cn: string, org: string): string {
    const base = path.join(this.dir, `client-${cn.replace(/[^\w.-]/g, '_')}`);
    openssl(this.dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=${org}/CN=${cn}`]);
    writeFileSync(`${base}.ext`, 'extendedKeyUsage=clientAuth\n');
    openssl(this.dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.crt`, '-days', '2', '-extfile', `${base}.ext`]);
    const b64 = (f: string) => readFileSync(f).toString('base64');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters:\n- name: linkpack\n  cluster:\n    server: ${this.server}\n    certificate-authority-data: ${b64(path.join(this.dir, 'ca.crt'))}`,
        `users:\n- name: ${JSON.stringify(cn)}\n  user:\n    client-certificate-data: ${b64(`${base}.crt`)}\n    client-key-data: ${b64(`${base}.key`)}`,
        `contexts:\n- name: linkpack\n  context:\n    cluster: linkpack\n    user: ${JSON.stringify(cn)}`,
        'current-context: linkpack',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return file;
  }

  /** The cluster CA (PEM), for kubeconfigs of other users (service-account.ts). */
  get caPem(): string {
    return readFileSync(path.join(this.dir, 'ca.crt'), 'utf8');
  }

  /** Log of one component (for assertions on what the real scheduler did, and for failures). */
  log(name: 'etcd' | 'kube-apiserver' | 'kube-scheduler' | 'kube-controller-manager' | 'kwok'): string {
    const p = this.procs.find((x) => x.name === name);
    return p ? readFileSync(p.log, 'utf8') : '';
  }

  async waitForNamespace(name: string, timeoutMs = 30_000): Promise<void> {
    await this.eventually(async () => {
      try {
        return (await this.get('v1', 'Namespace', name)) !== undefined;
      } catch {
        return false;
      }
    }, `namespace ${name}`, timeoutMs);
  }

  async applyCrds(): Promise<void> {
    const dir = path.join(repoRoot, 'deploy/crds');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) await this.apply(readFileSync(path.join(dir, f), 'utf8'));
    for (const crd of (await this.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).filter((c) => c.spec?.group === 'linkpack.io')) {
      await this.eventually(async () => {
        const c = await this.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd.metadata.name);
        return (c?.status?.conditions ?? []).some((x: KObj) => x.type === 'Established' && x.status === 'True');
      }, `CRD ${crd.metadata.name} Established`);
    }
  }

  /**
   * Create each object (YAML text, possibly multi-document, or objects); an existing one is
   * replaced. Plain JSON over the REST path found by discovery: client-node's typed serializer
   * would drop keys it names differently (a CRD schema's default, enum, x-kubernetes-validations).
   */
  async apply(input: string | KObj | KObj[]): Promise<KObj[]> {
    const objs: KObj[] = typeof input === 'string' ? parseAllDocuments(input).map((d) => d.toJS() as KObj).filter((o) => o && o.kind) : Array.isArray(input) ? input : [input];
    const out: KObj[] = [];
    for (const o of objs) {
      const collection = await this.collectionPath(o.apiVersion, o.kind, o.metadata?.namespace);
      try {
        out.push(await this.request('POST', collection, o));
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        const item = `${collection}/${o.metadata.name}`;
        const cur = await this.request('GET', item);
        out.push(await this.request('PUT', item, { ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata.resourceVersion } }));
      }
    }
    return out;
  }

  private readonly discovery = new Map<string, KObj[]>();

  /** REST collection of a kind, e.g. /apis/apps/v1/namespaces/ml/statefulsets (discovery, cached). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let resources = this.discovery.get(apiVersion);
    if (!resources) {
      resources = ((await this.request('GET', base)).resources as KObj[]).filter((r) => !String(r.name).includes('/'));
      this.discovery.set(apiVersion, resources);
    }
    const r = resources.find((x) => x.kind === kind);
    if (!r) {
      this.discovery.delete(apiVersion); // a CRD may have been added since
      throw new Error(`the API server serves no kind ${kind} in ${apiVersion}`);
    }
    return r.namespaced ? `${base}/namespaces/${namespace ?? 'default'}/${r.name}` : `${base}/${r.name}`;
  }

  async list(apiVersion: string, kind: string, namespace?: string): Promise<KObj[]> {
    return (await this.request('GET', await this.collectionPath(apiVersion, kind, namespace))).items as KObj[];
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KObj | undefined> {
    try {
      return await this.request('GET', `${await this.collectionPath(apiVersion, kind, namespace)}/${name}`);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  /** A Node KWOK manages (Ready, heartbeating, runs its pods), with `nvidia.com/gpu` capacity. */
  async createFakeNode(name: string, o: FakeNodeOptions = {}): Promise<KObj> {
    const capacity: Record<string, string> = { cpu: o.cpu ?? '64', memory: o.memory ?? '512Gi', pods: '110' };
    if (o.gpus) capacity['nvidia.com/gpu'] = String(o.gpus);
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' }, labels: { 'kubernetes.io/hostname': name, type: 'kwok', ...o.labels } },
      spec: {},
      status: { capacity, allocatable: capacity },
    };
    const [created] = await this.apply(node);
    return created!;
  }

  /**
   * A fake node with the GPUs of a topology preset, and its GPUNode (owned by the Node, status
   * written through the status subresource as the agent does). UUIDs are `GPU-<node>-<index>`.
   */
  async createGpuNode(name: string, preset: string, o: FakeNodeOptions & GpuNodeObjectOptions = {}): Promise<{ node: KObj; gpuNode: KObj }> {
    const want = presetGpuNodeJson(name, preset, o);
    const node = await this.createFakeNode(name, { ...o, gpus: want.status.gpus.length * (o.devicesPerGpu ?? 1) });
    want.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }];
    const status = want.status;
    const [created] = await this.apply(want);
    const gpuNode = await this.writeStatus(created!, status);
    return { node, gpuNode };
  }

  /** PUT <object>/status with `status` (the object as last read carries the resourceVersion). */
  async writeStatus(obj: KObj, status: KObj): Promise<KObj> {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
    const plural = `${String(obj.kind).toLowerCase()}s`;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
    return this.request('PUT', `${base}${ns}/${plural}/${obj.metadata.name}/status`, { ...obj, status });
  }

  /** A raw request with the admin credential; throws with the server's message on non-2xx. */
  async request(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<KObj> {
    return (await kubeJson(this.kubeConfig, method, p, body, contentType)) as KObj;
  }

  /** Compacts etcd at its current revision (what kube-apiserver does every 5 min), so older resourceVersions answer 410. */
  async compactEtcd(): Promise<number> {
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${this.etcdUrl}${p}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`etcd ${p}: ${res.status} ${await res.text()}`);
      return (await res.json()) as KObj;
    };
    const rev = Number((await post('/v3/kv/range', { key: Buffer.from('/').toString('base64'), limit: 1 })).header.revision);
    await post('/v3/kv/compaction', { revision: String(rev), physical: true });
    return rev;
  }

  async eventually(fn: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      try {
        if (await fn()) return;
      } catch (err) {
        lastErr = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
  }

  private readonly stopHooks: (() => Promise<void>)[] = [];

  /** Runs before the processes are stopped (e.g. sweeping a containerd node's containers). */
  addStopHook(fn: () => Promise<void>): void {
    this.stopHooks.push(fn);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const fn of this.stopHooks.splice(0)) await fn().catch((e: Error) => console.warn(`[playground] cleanup: ${e.message}`));
    // Dependents first (together), then the API server, etcd last, so nothing logs a storm of connection errors.
    const last = ['kube-apiserver', 'etcd'];
    await Promise.all(this.procs.filter((p) => !last.includes(p.name)).map((p) => stopOne(p)));
    for (const name of last) await Promise.all(this.procs.filter((p) => p.name === name).map((p) => stopOne(p)));
    if (!process.env.LINKPACK_KEEP_CP) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stopOne(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  p.stopping = true;
  if (p.exited) return;
  const done = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

export function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return ControlPlane.start(opts);
}
