/**
 * helm and kustomize (built by test/kube/build.mjs with the Kubernetes binaries; or
 * $LINKPACK_KUSTOMIZE, or on the PATH), and the manifests under test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { said } from '../support/skips.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function onPath(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function kubeBinDir(): string | undefined {
  if (process.env.KUBE_BIN_DIR) return process.env.KUBE_BIN_DIR;
  try {
    return execFileSync(process.execPath, [path.join(repoRoot, 'test/kube/build.mjs'), '--dir'], { encoding: 'utf8' }).trim().split('\n').pop();
  } catch {
    return undefined;
  }
}

const helmCandidate = [kubeBinDir() && path.join(kubeBinDir()!, 'helm'), onPath('helm')].find((p): p is string => !!p && existsSync(p));
export const helmBin = helmCandidate;
export const helmSkip = said(helmBin ? undefined : 'helm is not built (node test/kube/build.mjs helm): chart tests skipped');

const kustomizeCandidate = [process.env.LINKPACK_KUSTOMIZE, kubeBinDir() && path.join(kubeBinDir()!, 'kustomize'), onPath('kustomize')].find((p): p is string => !!p && existsSync(p));
export const kustomizeBin = kustomizeCandidate;
export const kustomizeSkip = said(kustomizeBin ? undefined : 'kustomize is not built (node test/kube/build.mjs kustomize; needs Go): kustomization builds skipped');

export const CHART = path.join(repoRoot, 'charts/linkpack');
export const NAMESPACE = 'linkpack-system';

/** Each option of the chart on its own, and a few together (the default first). */
export const CHART_OPTION_SETS: Record<string, string[]> = {
  default: [],
  'default-scheduler': ['--set', 'scheduler.mode=default-scheduler'],
  tls: ['--set', 'extender.tls.enabled=true'],
  'default-scheduler+tls': ['--set', 'scheduler.mode=default-scheduler', '--set', 'extender.tls.enabled=true'],
  serviceMonitor: ['--set', 'serviceMonitor.enabled=true', '--set', 'serviceMonitor.labels.release=prom'],
  dashboard: ['--set', 'dashboard.enabled=true'],
  'no-device-plugin+cdi-off': ['--set', 'node.devicePlugin.enabled=false'],
  cdi: ['--set', 'node.devicePlugin.cdi=true'],
  dra: ['--set', 'dra.enabled=true'],
  'extender-only': ['--set', 'node.enabled=false', '--set', 'controller.enabled=false'],
  placement: [
    '--set', 'image.tag=9.9.9', '--set', 'image.pullPolicy=Always', '--set', 'imagePullSecrets[0].name=regcred',
    '--set', 'nodeSelector.node-role\\.kubernetes\\.io/control-plane=', '--set', 'tolerations[0].operator=Exists',
    '--set', 'node.nodeSelector.gpu=yes', '--set', 'controller.replicas=1', '--set', 'extender.resources.limits.memory=2Gi',
  ],
};

export function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(helmBin!, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !/found symbolic link in path/.test(l)).join('\n').trim() };
}

export function render(option: string[]): Obj[] {
  const r = helm(['template', 'linkpack', CHART, '--namespace', NAMESPACE, '--include-crds', ...option]);
  if (r.status !== 0) throw new Error(`helm template ${option.join(' ')}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o && o.kind);
}

/** Every kustomization (kind Kustomization, not a Component) under deploy/ and daemonset/. */
export function kustomizations(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f === 'kustomization.yaml' && !/^kind:\s*Component/m.test(readFileSync(p, 'utf8'))) out.push(path.relative(repoRoot, dir));
    }
  };
  for (const d of ['deploy', 'daemonset']) if (existsSync(path.join(repoRoot, d))) walk(path.join(repoRoot, d));
  return out.sort();
}

export function kustomizeBuild(dir: string): Obj[] {
  const r = spawnSync(kustomizeBin!, ['build', path.join(repoRoot, dir)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kustomize build ${dir}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o && o.kind);
}
