/**
 * The device plugin against a kubelet stand-in over real gRPC on unix sockets: registration
 * order, ListAndWatch, GetPreferredAllocation (intent / core), Allocate, kubelet restart, our
 * socket deleted.
 */
import { existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GPU_RESOURCE } from '../../src/api/annotations.js';
import { coreChoice } from '../../src/deviceplugin/preferred.js';
import { EVENT_REASON_MISMATCH } from '../../src/deviceplugin/events.js';
import { DEFAULT_SOCKET_NAME } from '../../src/deviceplugin/server.js';
import { dgx1, nvswitchBox } from '../../src/topology/presets.js';
import { waitFor } from '../support/wait.js';
import { gpusOf, intentPod, RecordingEvents, startRig, storeFor, uuidOf, withUuids, type Rig } from './helpers.js';
import { nodeGpus } from '../../src/deviceplugin/preferred.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const all = (n: number) => Array.from({ length: n }, (_, i) => uuidOf(i));
const sorted = (a: readonly string[]) => [...a].sort();

describe('registration', () => {
  it('serves before registering: the kubelet dials back inside Register and gets the options', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    expect(rig.kubelet.refused).toEqual([]);
    expect(rig.kubelet.registrations).toHaveLength(1);
    const r = rig.kubelet.registrations[0]!;
    expect(r.request).toMatchObject({ version: 'v1beta1', endpoint: DEFAULT_SOCKET_NAME, resource_name: GPU_RESOURCE });
    expect(r.request.options?.get_preferred_allocation_available).toBe(true);
    expect(r.options).toEqual({ pre_start_required: false, get_preferred_allocation_available: true });
  });

  it('the stand-in refuses a registration whose endpoint is not serving (so the order above is checked)', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    const { registrationService } = await import('../../src/kubelet/device-plugin-api.js');
    const { callUnary, unixClient } = await import('../../src/kubelet/grpc.js');
    const client = unixClient<import('@grpc/grpc-js').Client>(registrationService(), rig.kubelet.socketPath);
    await expect(callUnary(client, 'Register', { version: 'v1beta1', endpoint: 'nobody.sock', resource_name: GPU_RESOURCE }, 5000)).rejects.toThrow(/failed to dial/);
    client.close();
  });

  it('waits for a kubelet that starts after it, then registers', async () => {
    rig = await startRig(dgx1(), {}, { kubeletFirst: false });
    expect(rig.plugin.isRegistered).toBe(false);
    expect(existsSync(rig.plugin.socketPath)).toBe(true);
    await rig.kubelet.start();
    await rig.plugin.whenRegistered();
    expect(rig.kubelet.registrations).toHaveLength(1);
  });
});

describe('ListAndWatch', () => {
  it('sends every GPU by UUID with health and NUMA node, and again when health changes', async () => {
    rig = await startRig(dgx1());
    await waitFor(() => rig!.kubelet.lists.length >= 1, 'first device list');
    expect(rig.kubelet.devices.map((d) => d.ID)).toEqual(all(8));
    expect(rig.kubelet.devices.every((d) => d.health === 'Healthy')).toBe(true);
    expect(rig.kubelet.devices.map((d) => d.topology?.nodes[0]?.ID)).toEqual(rig.node.topology.gpus.map((g) => g.numaNode));
    rig.devices.set(gpusOf(rig.node, [3]));
    await waitFor(() => rig!.kubelet.lists.length >= 2, 'device list after a health change');
    expect(rig.kubelet.devices.find((d) => d.ID === uuidOf(3))?.health).toBe('Unhealthy');
    expect(rig.kubelet.devices.filter((d) => d.health === 'Healthy')).toHaveLength(7);
  });
});

describe('GetPreferredAllocation', () => {
  it('returns the set assigned to a pod bound here, once; then the core decides', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    const ask = { available: new Set(all(8)), mustInclude: [], size: 2 };
    const core = coreChoice(node, ask);
    // An assignment the core would not make on its own, so honouring it is visible.
    const assigned = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => !core.includes(uuidOf(i))).slice(0, 2);
    intents.upsert(intentPod('a', assigned, '2026-01-01T00:00:01Z'));
    rig = await startRig(dgx1(), { intents });
    await rig.plugin.whenRegistered();
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual(sorted(assigned.map(uuidOf)));
    // Fenced: the intent served one allocation.
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual(sorted(core));
    expect(rig.plugin.stats).toMatchObject({ preferredFromIntent: 1, preferredFromCore: 1 });
  });

  it('falls back to the core when the assigned GPUs are not all available, or the size differs', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [0, 1], '2026-01-01T00:00:01Z'));
    rig = await startRig(dgx1(), { intents });
    await rig.plugin.whenRegistered();
    const avail = all(8).filter((u) => u !== uuidOf(1));
    expect(sorted(await rig.kubelet.preferred(avail, 2))).toEqual(sorted(coreChoice(node, { available: new Set(avail), mustInclude: [], size: 2 })));
    expect(sorted(await rig.kubelet.preferred(all(8), 4))).toEqual(sorted(coreChoice(node, { available: new Set(all(8)), mustInclude: [], size: 4 })));
    // Still open after both misses.
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual([uuidOf(0), uuidOf(1)]);
  });

  it('two pods qualify: the oldest assigned-at wins, the next call gets the other', async () => {
    const node = nodeGpus('n1', withUuids(nvswitchBox(8, 18)));
    const intents = storeFor(node);
    intents.upsert(intentPod('newer', [4, 5], '2026-01-01T00:00:09Z'));
    intents.upsert(intentPod('older', [6, 7], '2026-01-01T00:00:02Z'));
    rig = await startRig(nvswitchBox(8, 18), { intents });
    await rig.plugin.whenRegistered();
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual([uuidOf(6), uuidOf(7)]);
    expect(sorted(await rig.kubelet.preferred(all(8).slice(0, 6), 2))).toEqual([uuidOf(4), uuidOf(5)]);
    expect(rig.plugin.stats.preferredFromIntent).toBe(2);
  });

  it('respects must-include: an intent without those devices does not qualify; the core keeps them', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [0, 1], '2026-01-01T00:00:01Z'));
    rig = await startRig(dgx1(), { intents });
    await rig.plugin.whenRegistered();
    const got = await rig.kubelet.preferred(all(8), 2, [uuidOf(5)]);
    expect(got).toHaveLength(2);
    expect(got).toContain(uuidOf(5));
    expect(got).not.toEqual(expect.arrayContaining([uuidOf(0), uuidOf(1)]));
    expect(sorted(await rig.kubelet.preferred(all(8), 2, [uuidOf(1)]))).toEqual([uuidOf(0), uuidOf(1)]);
  });

  it('serves each GPU container of a multi-container pod from the pod set', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    intents.upsert(intentPod('two', [4, 5, 6, 7], '2026-01-01T00:00:01Z', { containers: [2, 2] }));
    rig = await startRig(dgx1(), { intents });
    await rig.plugin.whenRegistered();
    const first = await rig.kubelet.preferred(all(8), 2);
    expect(first.every((u) => [4, 5, 6, 7].map(uuidOf).includes(u))).toBe(true);
    const rest = all(8).filter((u) => !first.includes(u));
    const second = await rig.kubelet.preferred(rest, 2);
    expect(sorted([...first, ...second])).toEqual([4, 5, 6, 7].map(uuidOf));
    expect(rig.plugin.stats.preferredFromIntent).toBe(2);
  });
});

describe('a pod the kubelet knows before our watch does', () => {
  it('waits on the cache for the intent to arrive, then answers with it', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    rig = await startRig(dgx1(), { intents, intentWaitMs: 10_000 });
    await rig.plugin.whenRegistered();
    const asked = rig.kubelet.preferred(all(8), 2);
    // The pod's watch event arrives after the kubelet's call; a pod of another size first changes nothing.
    setTimeout(() => intents.upsert(intentPod('other-size', [6], '2026-01-01T00:00:00Z')), 20);
    setTimeout(() => intents.upsert(intentPod('late', [1, 6], '2026-01-01T00:00:01Z')), 40);
    expect(sorted(await asked)).toEqual([uuidOf(1), uuidOf(6)]);
    expect(rig.plugin.stats.preferredFromIntent).toBe(1);
  });

  it('without a fitting pod, the core answers once the wait is over', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    rig = await startRig(dgx1(), { intents: storeFor(node), intentWaitMs: 30 });
    await rig.plugin.whenRegistered();
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual(sorted(coreChoice(node, { available: new Set(all(8)), mustInclude: [], size: 2 })));
    expect(rig.plugin.stats.preferredFromCore).toBe(1);
  });
});

describe('Allocate', () => {
  it('gives the container NVIDIA_VISIBLE_DEVICES = the UUIDs', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    const r = await rig.kubelet.allocate([uuidOf(2), uuidOf(3)]);
    expect(r.container_responses).toHaveLength(1);
    expect(r.container_responses[0]!.envs).toEqual({ NVIDIA_VISIBLE_DEVICES: `${uuidOf(2)},${uuidOf(3)}` });
    expect(r.container_responses[0]!.cdi_devices).toEqual([]);
  });

  it('with --cdi, CDI device names instead of the variable', async () => {
    rig = await startRig(dgx1(), { cdi: true });
    await rig.plugin.whenRegistered();
    const r = await rig.kubelet.allocate([uuidOf(2)]);
    expect(r.container_responses[0]!.cdi_devices).toEqual([{ name: `nvidia.com/gpu=${uuidOf(2)}` }]);
    expect(r.container_responses[0]!.envs).toEqual({});
  });

  it('refuses a device that is not one of this node, naming it', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    await expect(rig.kubelet.allocate(['GPU-nope'])).rejects.toThrow(/GPU-nope is not a GPU of node n1/);
  });

  it('records an Event on the pod when the kubelet ignores the preference, none when it follows it', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [0, 3], '2026-01-01T00:00:01Z'));
    intents.upsert(intentPod('b', [4, 7], '2026-01-01T00:00:02Z'));
    const events = new RecordingEvents();
    rig = await startRig(dgx1(), { intents, events });
    await rig.plugin.whenRegistered();
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual([uuidOf(0), uuidOf(3)]);
    await rig.kubelet.allocate([uuidOf(0), uuidOf(3)]);
    expect(events.events).toEqual([]);
    expect(sorted(await rig.kubelet.preferred(all(8).slice(1), 2))).toEqual([uuidOf(4), uuidOf(7)]);
    await rig.kubelet.allocate([uuidOf(1), uuidOf(2)]);
    await waitFor(() => events.events.length === 1, 'mismatch event');
    const e = events.events[0]!;
    expect(e).toMatchObject({ pod: { namespace: 'ml', name: 'b', uid: 'uid-b' }, type: 'Warning', reason: EVENT_REASON_MISMATCH });
    expect(e.message).toContain(`${uuidOf(1)},${uuidOf(2)}`);
    expect(e.message).toContain(`${uuidOf(4)},${uuidOf(7)}`);
    expect(rig.plugin.stats.mismatches).toBe(1);
  });
});

describe('Allocate without its preference', () => {
  it('a preference no Allocate followed within a minute is not blamed for a later Allocate', async () => {
    const node = nodeGpus('n1', withUuids(dgx1()));
    const intents = storeFor(node);
    intents.upsert(intentPod('a', [0, 3], '2026-01-01T00:00:01Z'));
    const events = new RecordingEvents();
    let nowMs = 1_000_000;
    rig = await startRig(dgx1(), { intents, events, now: () => nowMs });
    await rig.plugin.whenRegistered();
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual([uuidOf(0), uuidOf(3)]);
    nowMs += 61_000;
    await rig.kubelet.allocate([uuidOf(1), uuidOf(2)]);
    expect(rig.plugin.stats.mismatches).toBe(0);
    // Within the minute the same sequence is a mismatch.
    intents.upsert(intentPod('b', [4, 7], '2026-01-01T00:00:02Z'));
    expect(sorted(await rig.kubelet.preferred(all(8), 2))).toEqual([uuidOf(4), uuidOf(7)]);
    nowMs += 5;
    await rig.kubelet.allocate([uuidOf(5), uuidOf(6)]);
    expect(rig.plugin.stats.mismatches).toBe(1);
    await waitFor(() => events.events.length === 1, 'mismatch event');
    expect(events.events[0]!.pod.name).toBe('b');
  });
});

describe('restarts', () => {
  it('re-serves and re-registers when the kubelet restarts (sockets deleted, kubelet.sock re-created)', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    await rig.kubelet.restart();
    await waitFor(() => rig!.kubelet.registrations.length >= 2 && rig!.plugin.stats.registrations >= 2, 're-registration');
    // A re-serve racing the kubelet's own socket sweep can be swept too and is served once more.
    expect(rig.plugin.stats.serves).toBeGreaterThanOrEqual(2);
    expect(existsSync(rig.plugin.socketPath)).toBe(true);
    await waitFor(() => rig!.kubelet.lists.length >= 1, 'device list on the new stream');
    expect(await rig.kubelet.preferred(all(8), 1)).toHaveLength(1);
  });

  it('re-serves and re-registers when its own socket is deleted', async () => {
    rig = await startRig(dgx1());
    await rig.plugin.whenRegistered();
    unlinkSync(rig.plugin.socketPath);
    await waitFor(() => rig!.kubelet.registrations.length === 2, 're-registration');
    expect(rig.plugin.stats.serves).toBe(2);
    expect(existsSync(path.join(rig.dir, DEFAULT_SOCKET_NAME))).toBe(true);
    const r = await rig.kubelet.allocate([uuidOf(0)]);
    expect(r.container_responses[0]!.envs.NVIDIA_VISIBLE_DEVICES).toBe(uuidOf(0));
  });
});
