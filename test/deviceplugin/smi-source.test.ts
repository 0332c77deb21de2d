/**
 * GPUs and health from a fake nvidia-smi (a recorded-layout `topo -m`, a --query-gpu answer per
 * cycle) through the agent's runner and health rules, and the command end to end on the kubelet
 * stand-in with --no-api.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { nvidiaSmiRunner } from '../../src/agent/nvidia-smi.js';
import { runDevicePlugin, type RunningDevicePlugin } from '../../src/deviceplugin/command.js';
import { SmiDeviceSource } from '../../src/deviceplugin/smi-source.js';
import { makeFakeSmi, type FakeSmi } from '../agent/fake-smi.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { ownFixture } from '../support/nvidia-smi-fixtures.js';
import { waitFor } from '../support/wait.js';
import { pluginDir, queryAnswer, uuidOf } from './helpers.js';

let smi: FakeSmi | undefined;
let queryFile = '';
function fakeSmi(): FakeSmi {
  smi = makeFakeSmi([
    { when: 'topo -m', stdout: ownFixture('topo-tab-4gpu-2island-gpu-numa-id.txt') },
    { when: '--query-gpu=*', stdout: queryAnswer(4) },
  ]);
  queryFile = path.join(smi.dir, 'out-1.txt');
  return smi;
}

let running: RunningDevicePlugin | undefined;
let kubelet: FakeKubelet | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.close();
  await kubelet?.stop();
  smi?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
  running = kubelet = smi = dir = undefined;
});

describe('SmiDeviceSource', () => {
  it('takes UUIDs and NUMA nodes from nvidia-smi and health from the agent’s rules, with hysteresis', async () => {
    const src = await SmiDeviceSource.open(nvidiaSmiRunner({ path: fakeSmi().path }), { nodeName: 'n1', intervalMs: 60_000, flipAfter: 2 });
    expect(src.topology().gpus.map((g) => g.uuid)).toEqual([0, 1, 2, 3].map(uuidOf));
    expect(src.devices().map((g) => [g.uuid, g.healthy, g.numaNode])).toEqual([0, 1, 2, 3].map((i) => [uuidOf(i), true, i < 2 ? 0 : 1]));
    let changes = 0;
    src.subscribe(() => (changes += 1));
    writeFileSync(queryFile, queryAnswer(4, { 1: 3 }));
    await src.tick();
    expect(src.devices()[1]!.healthy).toBe(true); // one reading changes nothing
    await src.tick();
    expect(src.devices()[1]).toMatchObject({ healthy: false, reasons: [expect.stringContaining('uncorrected ECC errors')] });
    expect(changes).toBe(1);
  });

  it('a GPU without a UUID is refused by name', async () => {
    smi = makeFakeSmi([
      { when: 'topo -m', stdout: ownFixture('topo-tab-4gpu-2island-gpu-numa-id.txt') },
      { when: '--query-gpu=*', stdout: queryAnswer(3) },
    ]);
    await expect(SmiDeviceSource.open(nvidiaSmiRunner({ path: smi.path }), { nodeName: 'n1', intervalMs: 60_000 })).rejects.toThrow(/GPU 3 of topo -m has no UUID/);
  });
});

describe('linkpack device-plugin --no-api', () => {
  it('registers with the kubelet and advertises the GPUs nvidia-smi reports', async () => {
    dir = pluginDir();
    kubelet = new FakeKubelet(dir);
    await kubelet.start();
    running = await runDevicePlugin(
      { nodeName: 'n1', nvidiaSmi: fakeSmi().path, pluginDir: dir, api: false, healthInterval: '60', logLevel: 'silent' },
      pino({ level: 'silent' }),
    );
    await running.plugin.whenRegistered();
    await waitFor(() => kubelet!.lists.length >= 1, 'device list');
    expect(kubelet.devices.map((d) => [d.ID, d.health])).toEqual([0, 1, 2, 3].map((i) => [uuidOf(i), 'Healthy']));
    // Two of four with NVLink pairs (0,1) and (2,3): the core keeps a pair together.
    const got = (await kubelet.preferred([0, 1, 2, 3].map(uuidOf), 2)).sort();
    expect([[uuidOf(0), uuidOf(1)], [uuidOf(2), uuidOf(3)]]).toContainEqual(got);
  });

  it('says what is wrong when the plugin directory is missing', async () => {
    await expect(
      runDevicePlugin({ nodeName: 'n1', nvidiaSmi: fakeSmi().path, pluginDir: '/nonexistent/dp', api: false, healthInterval: '60', logLevel: 'silent' }, pino({ level: 'silent' })),
    ).rejects.toThrow("--plugin-dir /nonexistent/dp: does not exist (expected the kubelet's device-plugins directory)");
  });
});
