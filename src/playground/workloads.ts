/**
 * What the chart would run, as local processes: each linkpack container of a rendered Deployment or
 * DaemonSet becomes the same `node …` command line (the image's /app is this checkout), with its
 * shipped flags, under its pod's ServiceAccount. Only host-specific addresses are rewritten
 * (ports, sockets, the nvidia-smi path), each named in `overrides`. Pure: objects in, commands out.
 */
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObj = Record<string, any>;

/** The image's entry point (Dockerfile ENTRYPOINT). */
const IMAGE_ENTRYPOINT = ['node', '/app/dist/src/cli/main.js'];

export interface ContainerCommand {
  /** Workload kind/name and container, e.g. `Deployment/linkpack-scheduler extender`. */
  source: string;
  serviceAccount: string;
  namespace: string;
  /** node's own flags (e.g. --lite-mode), then the script, then its arguments. */
  nodeArgs: string[];
  script: string;
  args: string[];
  /** The container's literal env values (downward-API ones are the caller's `env`). */
  env: Record<string, string>;
}

/** The linkpack containers (image entry point `node /app/…`) of a rendered workload. */
export function linkpackContainers(workload: KObj, repoRoot: string, env: Record<string, string>): ContainerCommand[] {
  const spec = workload.spec?.template?.spec ?? {};
  const out: ContainerCommand[] = [];
  for (const c of spec.containers ?? []) {
    const argv: string[] = [...(c.command ?? IMAGE_ENTRYPOINT), ...(c.args ?? [])];
    if (argv[0] !== 'node') continue; // kube-scheduler runs as the real binary, not through here
    const scriptAt = argv.findIndex((a) => a.startsWith('/app/'));
    if (scriptAt < 0) throw new Error(`${workload.kind}/${workload.metadata?.name} container ${c.name}: no /app script in ${argv.join(' ')}`);
    const expand = (a: string) => a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
    out.push({
      source: `${workload.kind}/${workload.metadata?.name} ${c.name}`,
      serviceAccount: spec.serviceAccountName ?? 'default',
      namespace: workload.metadata?.namespace ?? 'default',
      nodeArgs: argv.slice(1, scriptAt),
      script: path.join(repoRoot, argv[scriptAt]!.slice('/app/'.length)),
      args: argv.slice(scriptAt + 1).map(expand),
      env: Object.fromEntries((c.env ?? []).filter((e: KObj) => typeof e.value === 'string').map((e: KObj) => [e.name, e.value])),
    });
  }
  return out;
}

/**
 * Sets `--flag=value` for each entry (replacing `--flag=x` or `--flag x` when present, adding it
 * otherwise); a `false` value removes the flag.
 */
export function overrideFlags(args: readonly string[], overrides: Record<string, string | false>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') ? a.split('=')[0]! : undefined;
    if (name && name in overrides) {
      if (!a.includes('=') && i + 1 < args.length && !args[i + 1]!.startsWith('--')) i++; // its separate value
      continue;
    }
    out.push(a);
  }
  for (const [flag, v] of Object.entries(overrides)) if (v !== false) out.push(`${flag}=${v}`);
  return out;
}

/** The KubeSchedulerConfiguration text of the chart's scheduler ConfigMap. */
export function shippedSchedulerConfig(objects: readonly KObj[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && typeof o.data?.['config.yaml'] === 'string' && /KubeSchedulerConfiguration/.test(o.data['config.yaml']));
  if (!cm) throw new Error('the rendered chart has no ConfigMap holding a KubeSchedulerConfiguration');
  return cm.data['config.yaml'];
}

/** The ServiceAccount that runs kube-scheduler in the rendered chart. */
export function schedulerServiceAccount(objects: readonly KObj[]): { namespace: string; name: string } {
  const d = objects.find((o) => o.kind === 'Deployment' && (o.spec?.template?.spec?.containers ?? []).some((c: KObj) => (c.command ?? [])[0] === 'kube-scheduler'));
  if (!d) throw new Error('the rendered chart has no Deployment running kube-scheduler');
  return { namespace: d.metadata.namespace, name: d.spec.template.spec.serviceAccountName };
}
