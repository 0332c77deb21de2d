/**
 * charts/linkpack with helm (lint, template with the default values and each option, the values
 * schema refusing typos) and every kustomization under deploy/ and daemonset/ built with kustomize.
 * The real kube-apiserver dry-run of all of it is in install.e2e.test.ts.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { CHART, CHART_OPTION_SETS, helm, helmSkip, kustomizations, kustomizeBuild, kustomizeSkip, render } from './install-tools.js';
import { AGENT_NODE_FLAGS } from '../../src/agent/footprint.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const containers = (objs: Obj[]) => objs.flatMap((o) => o.spec?.template?.spec?.containers ?? []);
const component = parseYaml(readFileSync(path.join(repoRoot, 'deploy/image/kustomization.yaml'), 'utf8')).images[0];
const linkpackImage = `${component.newName}:${component.newTag}`;

describe.skipIf(helmSkip !== undefined)('helm chart', () => {
  it('lints clean, with the default values and each option', () => {
    for (const [name, opts] of Object.entries(CHART_OPTION_SETS)) {
      const r = helm(['lint', CHART, '--strict', ...opts]);
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('the schema refuses a misspelled key and a bad mode, naming them', () => {
    const typo = helm(['template', 'x', CHART, '--set', 'extender.tsl.enabled=true']);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/at '\/extender': additional properties 'tsl' not allowed/);
    const mode = helm(['template', 'x', CHART, '--set', 'scheduler.mode=sidecar']);
    expect(mode.stderr).toMatch(/scheduler\/mode/);
  });

  it('default: CRDs from deploy/crds, scheduler + extender sidecar, node DaemonSet (agent + device plugin), controller, one image', () => {
    const objs = render([]);
    const crds = byKind(objs, 'CustomResourceDefinition').map((c) => c.metadata.name).sort();
    expect(crds).toEqual(['gpunodes.linkpack.io', 'mltaskclasses.linkpack.io', 'mltasks.linkpack.io']);
    // The chart's crds/ are links to deploy/crds: one copy of each CRD.
    for (const f of ['gpunodes.linkpack.io.yaml', 'mltaskclasses.linkpack.io.yaml', 'mltasks.linkpack.io.yaml']) expect(realpathSync(path.join(CHART, 'crds', f))).toBe(path.join(repoRoot, 'deploy/crds', f));
    const deployments = byKind(objs, 'Deployment').map((d) => d.metadata.name).sort();
    expect(deployments).toEqual(['linkpack-controller', 'linkpack-scheduler']);
    const sched = byKind(objs, 'Deployment').find((d) => d.metadata.name === 'linkpack-scheduler')!;
    expect(sched.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['kube-scheduler', 'extender']);
    const ds = byKind(objs, 'DaemonSet')[0]!;
    // Each runs its own entry point (not the whole CLI), as daemonset/ does; the files exist in the build.
    expect(ds.spec.template.spec.containers.map((c: Obj) => c.command)).toEqual([
      ['node', ...AGENT_NODE_FLAGS, '/app/dist/src/agent/main.js', 'agent'],
      ['node', '/app/dist/src/deviceplugin/main.js', 'device-plugin'],
    ]);
    for (const f of ['src/agent/main.ts', 'src/deviceplugin/main.ts']) expect(existsSync(path.join(repoRoot, f)), f).toBe(true);
    expect(ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: 'linkpack.io/node', operator: 'In', values: ['true'] });
    for (const c of containers(objs).filter((x: Obj) => x.name !== 'kube-scheduler')) expect(c.image, c.name).toBe(linkpackImage);
    const cfg = parseYaml(byKind(objs, 'ConfigMap').find((c) => c.metadata.name === 'linkpack-scheduler-config')!.data['config.yaml']);
    expect(cfg.profiles[0].schedulerName).toBe('linkpack-scheduler');
    expect(cfg.extenders[0]).toMatchObject({ urlPrefix: 'http://127.0.0.1:8888', bindVerb: 'bind', nodeCacheCapable: true });
    expect(cfg.extenders[0].managedResources, 'linkpack-scheduler asks the extender about every pod').toBeUndefined();
  });

  it('every option changes what it says', () => {
    const tls = render(CHART_OPTION_SETS.tls!);
    const ext = containers(tls).find((c: Obj) => c.name === 'extender');
    expect(ext.args).toEqual(expect.arrayContaining(['--tls-cert=/etc/linkpack/tls/tls.crt', '--tls-key=/etc/linkpack/tls/tls.key']));
    expect(ext.readinessProbe.httpGet.scheme).toBe('HTTPS');
    expect(JSON.stringify(tls)).toContain('"secretName":"linkpack-extender-tls"');
    expect(parseYaml(byKind(tls, 'ConfigMap')[0]!.data['config.yaml']).extenders[0]).toMatchObject({ urlPrefix: 'https://127.0.0.1:8888', enableHTTPS: true, tlsConfig: { caFile: '/etc/linkpack/tls/ca.crt' } });

    const dflt = render(CHART_OPTION_SETS['default-scheduler']!);
    expect(byKind(dflt, 'Deployment').map((d) => d.metadata.name).sort()).toEqual(['linkpack-controller', 'linkpack-extender']);
    expect(containers(dflt).find((c: Obj) => c.name === 'extender').args).toContain('--remote-verbs');
    const snippet = parseYaml(byKind(dflt, 'ConfigMap').find((c) => c.metadata.name === 'linkpack-default-scheduler-extender')!.data['extenders.yaml']);
    expect(snippet.extenders[0].urlPrefix).toBe('http://linkpack-extender.linkpack-system.svc:8888');
    expect(byKind(dflt, 'ClusterRoleBinding').map((b) => b.roleRef.name)).not.toContain('system:kube-scheduler');

    expect(byKind(render(CHART_OPTION_SETS.serviceMonitor!), 'ServiceMonitor').map((s) => [s.metadata.name, s.metadata.labels.release])).toEqual([
      ['linkpack-extender', 'prom'],
      ['linkpack-node', 'prom'],
    ]);
    const dash = byKind(render(CHART_OPTION_SETS.dashboard!), 'ConfigMap').find((c) => c.metadata.name === 'linkpack-dashboard')!;
    expect(JSON.parse(dash.data['linkpack.json']).uid).toBe(JSON.parse(readFileSync(path.join(repoRoot, 'deploy/dashboards/linkpack.json'), 'utf8')).uid);
    expect(dash.metadata.labels.grafana_dashboard).toBe('1');

    expect(byKind(render(CHART_OPTION_SETS['no-device-plugin+cdi-off']!), 'DaemonSet')[0]!.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['agent']);
    expect(containers(render(CHART_OPTION_SETS.cdi!)).find((c: Obj) => c.name === 'device-plugin').args).toContain('--cdi');
    const dra = byKind(render(CHART_OPTION_SETS.dra!), 'DeviceClass');
    expect(dra.map((d) => [d.metadata.name, d.spec])).toEqual([['gpu.linkpack.io', parseYaml(readFileSync(path.join(repoRoot, 'deploy/dra/deviceclass.yaml'), 'utf8')).spec]]);
    expect(byKind(render([]), 'DeviceClass')).toEqual([]);
    const only = render(CHART_OPTION_SETS['extender-only']!);
    expect(byKind(only, 'DaemonSet')).toEqual([]);
    expect(byKind(only, 'Deployment').map((d) => d.metadata.name)).toEqual(['linkpack-scheduler']);

    const placed = render(CHART_OPTION_SETS.placement!);
    expect(containers(placed).find((c: Obj) => c.name === 'extender')).toMatchObject({ image: `${component.newName}:9.9.9`, imagePullPolicy: 'Always', resources: { limits: { memory: '2Gi' } } });
    const ctl = byKind(placed, 'Deployment').find((d) => d.metadata.name === 'linkpack-controller')!.spec.template.spec;
    expect(ctl.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(ctl.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(ctl.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(ctl.containers[0].args).not.toContain('--leader-elect');
    // Helm merges maps: the default GPU-node label stays, the extra one is added.
    expect(byKind(placed, 'DaemonSet')[0]!.spec.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true', gpu: 'yes' });
  });
});

describe.skipIf(kustomizeSkip !== undefined)('kustomize', () => {
  it('builds every kustomization under deploy/ and daemonset/ (the TLS overlay without a cycle), each with the one image', () => {
    const dirs = kustomizations();
    expect(dirs).toEqual(expect.arrayContaining(['daemonset', 'deploy/controller', 'deploy/rbac', 'deploy/scheduler', 'deploy/scheduler-tls']));
    for (const d of dirs) {
      const objs = kustomizeBuild(d);
      expect(objs.length, d).toBeGreaterThan(0);
      for (const c of containers(objs).filter((x: Obj) => String(x.image).includes('linkpack/linkpack'))) expect(c.image, `${d} ${c.name}`).toBe(linkpackImage);
    }
    const tls = kustomizeBuild('deploy/scheduler-tls');
    const ext = containers(tls).find((c: Obj) => c.name === 'extender');
    expect(ext.args).toContain('--tls-cert=/etc/linkpack/tls/tls.crt');
  });
});

describe.skipIf(helmSkip !== undefined)('chart containers run real commands', () => {
  it('every linkpack container, in every option set, passes flags its command accepts with values it parses', async () => {
    const { buildProgram } = await import('../../src/cli/program.js');
    const { Command } = await import('commander');
    const failures: string[] = [];
    for (const [name, opts] of Object.entries(CHART_OPTION_SETS)) {
      for (const c of containers(render(opts)).filter((x: Obj) => String(x.image).includes('linkpack/linkpack'))) {
        // The image's entrypoint is `node /app/dist/src/cli/main.js`; a command: replaces it.
        // Node's own flags come before the script; the command's words after it.
        const argv = [...(c.command ? c.command.slice(c.command.findIndex((w: string) => w.endsWith('.js')) + 1) : []), ...(c.args ?? [])].map((a: string) => a.replace('$(NODE_NAME)', 'gpu-1'));
        const program = buildProgram();
        const quiet = (cmd: InstanceType<typeof Command>) => {
          cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
          cmd.commands.forEach((sub) => sub.action(() => {}) && quiet(sub));
        };
        quiet(program);
        try {
          await program.parseAsync(argv, { from: 'user' });
        } catch (e) {
          failures.push(`[${name}] ${c.name}: ${argv.join(' ')} → ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // The check itself can fail: a flag the agent does not have is refused.
    const program = buildProgram();
    program.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    program.commands.forEach((sub) => sub.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }).action(() => {}));
    await expect(program.parseAsync(['agent', '--node-name=gpu-1', '--nvidia-smi-path=/x'], { from: 'user' })).rejects.toThrow(/unknown option '--nvidia-smi-path/);
  });
});
