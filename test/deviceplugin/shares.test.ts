/**
 * `--share-slots`: the device plugin with each GPU advertised as share slots, against the kubelet
 * stand-in over real gRPC on unix sockets (the kubelet's available list is what the stand-in is
 * given: slots it already allocated are left out, as the device manager does), and the flag
 * through the real command.
 */
import { USAGE_HINT } from '../../src/cli/usage.js';
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerDevicePluginCommand, runDevicePlugin, type DevicePluginCommandOptions, type RunningDevicePlugin } from '../../src/deviceplugin/command.js';
import { EVENT_REASON_MISMATCH } from '../../src/deviceplugin/events.js';
import { coreChoice, nodeGpus } from '../../src/deviceplugin/preferred.js';
import { deviceIdsOf, gpuOfSlot, slotId } from '../../src/deviceplugin/slots.js';
import { dgx1 } from '../../src/topology/presets.js';
import { makeFakeSmi, type FakeSmi } from '../agent/fake-smi.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { ownFixture } from '../support/nvidia-smi-fixtures.js';
import { waitFor } from '../support/wait.js';
import { gpusOf, intentPod, pluginDir, queryAnswer, RecordingEvents, startRig, storeFor, uuidOf, withUuids, type Rig } from './helpers.js';

const S = 4;
const node = nodeGpus('n1', withUuids(dgx1()));
const slotsOf = (i: number) => deviceIdsOf(uuidOf(i), S);
const everySlot = () => [0, 1, 2, 3, 4, 5, 6, 7].flatMap(slotsOf);
const without = (ids: readonly string[], gone: readonly string[]) => ids.filter((id) => !gone.includes(id));

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function shareRig(cfg: Parameters<typeof startRig>[1] = {}): Promise<Rig> {
  rig = await startRig(dgx1(), { shareSlots: S, ...cfg });
  await rig.plugin.whenRegistered();
  return rig;
}

describe('--share-slots 4 on a DGX-1', () => {
  it('ListAndWatch lists 4 slots per GPU, each with its GPU’s health and NUMA node', async () => {
    const r = await shareRig();
    await waitFor(() => r.kubelet.lists.length >= 1, 'first device list');
    expect(r.kubelet.devices.map((d) => d.ID)).toEqual(everySlot());
    expect(r.kubelet.devices.map((d) => d.topology?.nodes[0]?.ID)).toEqual(node.topology.gpus.flatMap((g) => Array<number | null | undefined>(S).fill(g.numaNode)));
    r.devices.set(gpusOf(r.node, [5]));
    await waitFor(() => r.kubelet.lists.length >= 2, 'device list after a health change');
    expect(r.kubelet.devices.filter((d) => d.health === 'Unhealthy').map((d) => d.ID)).toEqual(slotsOf(5));
    expect(r.kubelet.devices.filter((d) => d.health === 'Healthy')).toHaveLength(7 * S);
  });

  it('a pod assigned GPU X gets a slot of X, and Allocate gives the container X’s UUID', async () => {
    // X = a GPU the core would not pick on its own, so honouring the intent is visible.
    const x = 6;
    expect(coreChoice(node, { available: new Set(node.uuidOf), mustInclude: [], size: 1 })).not.toEqual([uuidOf(x)]);
    const intents = storeFor(node);
    intents.upsert(intentPod('share', [x], '2026-01-01T00:00:01Z'));
    const events = new RecordingEvents();
    const r = await shareRig({ intents, events });
    const got = await r.kubelet.preferred(everySlot(), 1);
    expect(got).toEqual([slotId(uuidOf(x), 0)]);
    const a = await r.kubelet.allocate(got);
    expect(a.container_responses[0]!.envs).toEqual({ NVIDIA_VISIBLE_DEVICES: uuidOf(x) });
    expect(r.plugin.stats).toMatchObject({ preferredFromIntent: 1, mismatches: 0 });
  });

  it('with --cdi the CDI name is the GPU’s, not the slot’s', async () => {
    const r = await shareRig({ cdi: true });
    const a = await r.kubelet.allocate([slotId(uuidOf(2), 3)]);
    expect(a.container_responses[0]!.cdi_devices).toEqual([{ name: `nvidia.com/gpu=${uuidOf(2)}` }]);
  });

  it('two share pods assigned the same GPU get two different slots of it', async () => {
    const x = 5;
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [x], '2026-01-01T00:00:01Z'));
    intents.upsert(intentPod('b', [x], '2026-01-01T00:00:02Z'));
    const r = await shareRig({ intents });
    const first = await r.kubelet.preferred(everySlot(), 1);
    await r.kubelet.allocate(first);
    const second = await r.kubelet.preferred(without(everySlot(), first), 1);
    await r.kubelet.allocate(second);
    expect([first, second]).toEqual([[slotId(uuidOf(x), 0)], [slotId(uuidOf(x), 1)]]);
    expect(r.plugin.stats).toMatchObject({ preferredFromIntent: 2, preferredFromCore: 0, mismatches: 0 });
  });

  it('an intent whose GPU has no free slot falls back to the core, which prefers fully free GPUs', async () => {
    const x = 4;
    const intents = storeFor(node);
    intents.upsert(intentPod('late', [x], '2026-01-01T00:00:01Z'));
    const r = await shareRig({ intents });
    // GPU 4's slots are all held; GPUs 5–7 hold one share each; 0–3 are fully free.
    const held = [...slotsOf(x), ...[5, 6, 7].map((i) => slotId(uuidOf(i), 0))];
    const fullyFree = [0, 1, 2, 3].map(uuidOf);
    // The core alone, among every GPU with a free slot, would pack onto a shared one (the odd one out of 5–7).
    const anyFree = new Set([0, 1, 2, 3, 5, 6, 7].map(uuidOf));
    expect(fullyFree).not.toContain(coreChoice(node, { available: anyFree, mustInclude: [], size: 1 })[0]);
    const got = await r.kubelet.preferred(without(everySlot(), held), 1);
    expect(r.plugin.stats).toMatchObject({ preferredFromIntent: 0, preferredFromCore: 1 });
    expect(got).toEqual([slotId(coreChoice(node, { available: new Set(fullyFree), mustInclude: [], size: 1 })[0]!, 0)]);
    expect(fullyFree).toContain(gpuOfSlot(got[0]!));
  });

  it('another slot of the assigned GPU is not a mismatch; a slot of another GPU is', async () => {
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [3], '2026-01-01T00:00:01Z'));
    intents.upsert(intentPod('b', [6], '2026-01-01T00:00:02Z'));
    const events = new RecordingEvents();
    const r = await shareRig({ intents, events });
    expect(await r.kubelet.preferred(everySlot(), 1)).toEqual([slotId(uuidOf(3), 0)]);
    await r.kubelet.allocate([slotId(uuidOf(3), 2)]);
    expect(r.plugin.stats.mismatches).toBe(0);
    expect(await r.kubelet.preferred(without(everySlot(), [slotId(uuidOf(3), 2)]), 1)).toEqual([slotId(uuidOf(6), 0)]);
    await r.kubelet.allocate([slotId(uuidOf(1), 0)]);
    await waitFor(() => events.events.length === 1, 'mismatch event');
    expect(events.events[0]).toMatchObject({ pod: { name: 'b' }, reason: EVENT_REASON_MISMATCH });
    expect(r.plugin.stats.mismatches).toBe(1);
  });

  it('two slots of one GPU in one container: the GPU once, and a warning naming the devices', async () => {
    const logs: string[] = [];
    const r = await shareRig({ log: (level, m) => level === 'warn' && logs.push(m) });
    const ids = [slotId(uuidOf(2), 0), slotId(uuidOf(2), 1), slotId(uuidOf(3), 0)];
    const a = await r.kubelet.allocate(ids);
    expect(a.container_responses[0]!.envs.NVIDIA_VISIBLE_DEVICES).toBe(`${uuidOf(2)},${uuidOf(3)}`);
    expect(logs).toEqual([expect.stringContaining(ids.join(','))]);
    expect(logs[0]).toMatch(/gets 2 GPU\(s\).*fewer than the 3 it asked for/);
  });

  it('refuses device IDs it does not advertise: a bare UUID, a slot past N', async () => {
    const r = await shareRig();
    await expect(r.kubelet.allocate([uuidOf(1)])).rejects.toThrow(new RegExp(`${uuidOf(1)} is not a GPU of node n1`));
    await expect(r.kubelet.allocate([slotId(uuidOf(1), S)])).rejects.toThrow(/::4 is not a GPU of node n1/);
  });

  it('with one slot (the default) device IDs stay the UUIDs and a slot ID is refused', async () => {
    rig = await startRig(dgx1(), { shareSlots: 1 });
    await waitFor(() => rig!.kubelet.lists.length >= 1, 'first device list');
    expect(rig.kubelet.devices.map((d) => d.ID)).toEqual(node.uuidOf);
    expect(await rig.kubelet.preferred(node.uuidOf, 1)).toEqual(coreChoice(node, { available: new Set(node.uuidOf), mustInclude: [], size: 1 }));
    await expect(rig.kubelet.allocate([slotId(uuidOf(0), 0)])).rejects.toThrow(/is not a GPU of node n1/);
  });
});

describe('linkpack device-plugin --share-slots', () => {
  /** What a test started, undone after it, newest first. */
  const undo: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of undo.splice(0).reverse()) await f();
  });
  const options = (o: Partial<DevicePluginCommandOptions>, dir = '/nonexistent'): DevicePluginCommandOptions => {
    const smi: FakeSmi = makeFakeSmi([
      { when: 'topo -m', stdout: ownFixture('topo-tab-4gpu-2island-gpu-numa-id.txt') },
      { when: '--query-gpu=*', stdout: queryAnswer(4) },
    ]);
    undo.push(() => smi.remove());
    return { nodeName: 'n1', nvidiaSmi: smi.path, pluginDir: dir, api: false, healthInterval: '60', logLevel: 'silent', ...o };
  };

  for (const [flag, ids] of [
    ['4', [0, 1, 2, 3].flatMap((i) => deviceIdsOf(uuidOf(i), 4))],
    [undefined, [0, 1, 2, 3].map(uuidOf)],
  ] as const) {
    it(`${flag === undefined ? 'default: one device per GPU, ID = UUID' : `--share-slots ${flag}: every GPU of nvidia-smi as ${flag} slots`}`, async () => {
      const dir = pluginDir();
      undo.push(() => rmSync(dir, { recursive: true, force: true }));
      const kubelet = new FakeKubelet(dir);
      await kubelet.start();
      undo.push(() => kubelet.stop());
      const running: RunningDevicePlugin = await runDevicePlugin(options(flag === undefined ? {} : { shareSlots: flag }, dir), pino({ level: 'silent' }));
      undo.push(() => running.close());
      await running.plugin.whenRegistered();
      await waitFor(() => kubelet.lists.length >= 1, 'device list');
      expect(kubelet.devices.map((d) => d.ID)).toEqual(ids);
    });
  }

  it('a bad value is one line naming the flag and the value, before anything starts', async () => {
    for (const bad of ['0', '101', '2.5', 'four', '-1', '']) {
      const err = await runDevicePlugin(options({ shareSlots: bad }), pino({ level: 'silent' })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name, bad).toBe('UsageError');
      expect(err?.message).toBe(`--share-slots "${bad}": expected a whole number of devices per GPU, 1–100`);
    }
  });

  it('the command prints it as one line and exits 2', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void printed.push(m));
    const before = process.exitCode;
    try {
      const program = new Command('linkpack').exitOverride();
      registerDevicePluginCommand(program);
      await program.parseAsync(['node', 'linkpack', 'device-plugin', '--node-name', 'n1', '--share-slots', '0', '--no-api', '--log-level', 'silent']);
      expect(printed).toEqual(['linkpack device-plugin: --share-slots "0": expected a whole number of devices per GPU, 1–100', USAGE_HINT]);
      expect(process.exitCode).toBe(2);
    } finally {
      spy.mockRestore();
      process.exitCode = before;
    }
  });
});
