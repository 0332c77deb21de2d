import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { nvidiaSmiRunner, queryFields, SmiFailure, type SmiFailureKind } from '../../src/agent/nvidia-smi.js';
import { hasShared, sharedFixture } from '../support/paths.js';
import { waitFor } from '../support/wait.js';
import { DRIVER_NOT_LOADED, makeFakeSmi, type FakeAnswer, type FakeSmi } from './fake-smi.js';

const made: FakeSmi[] = [];
afterEach(() => made.splice(0).forEach((f) => f.remove()));
const fake = (answers: FakeAnswer[]) => {
  const f = makeFakeSmi(answers);
  made.push(f);
  return f;
};

async function failureOf(p: Promise<unknown>): Promise<SmiFailure> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SmiFailure) return e;
    throw e;
  }
  throw new Error('expected an SmiFailure, but the call succeeded');
}

describe('nvidia-smi runner', () => {
  it.skipIf(!hasShared)('returns a recorded output verbatim (needs ../shared fixtures)', async () => {
    const file = sharedFixture('topo-dgx-a100-8gpu-nv12-10nic.txt');
    const f = fake([{ when: 'topo -m', stdoutFile: file }]);
    const out = await nvidiaSmiRunner({ path: f.path }).run(['topo', '-m']);
    expect(out.stdout).toBe(readFileSync(file, 'utf8'));
    expect(f.calls()).toEqual(['topo -m']);
  });

  it('kills a hung nvidia-smi at the timeout and runs the next call normally', async () => {
    const f = fake([{ when: 'topo -m', hang: true }, { when: 'nvlink -s', stdout: 'ok\n' }]);
    const seen: (SmiFailureKind | undefined)[] = [];
    const runner = nvidiaSmiRunner({ path: f.path, timeoutMs: 300, onCall: (_a, _ms, k) => seen.push(k) });
    const e = await failureOf(runner.run(['topo', '-m']));
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/no answer within 0\.3 s; killed \(SIGKILL\)/);
    // The killed child exits soon after; until then a call is refused rather than overlapped.
    let out: string | undefined;
    await waitFor(() => {
      void runner.run(['nvlink', '-s']).then((o) => (out = o.stdout), () => {});
      return out === 'ok\n';
    }, 'a call after the killed one succeeds', 5000, 50);
    expect(seen[0]).toBe('timeout');
  });

  it('refuses to overlap calls: a second call while one runs fails fast as busy', async () => {
    const f = fake([{ when: 'topo -m', hang: true }]);
    const runner = nvidiaSmiRunner({ path: f.path, timeoutMs: 500 });
    const first = failureOf(runner.run(['topo', '-m']));
    const second = await failureOf(runner.run(['topo', '-m']));
    expect(second.kind).toBe('busy');
    expect(second.message).toMatch(/previous nvidia-smi \(pid \d+\) has not exited/);
    expect((await first).kind).toBe('timeout');
  });

  it('is not held up by a grandchild that keeps the output pipes open after the timeout', async () => {
    const f = fake([{ when: 'topo -m', stdout: '' }]);
    // Overwrite with a script that forks a long sleeper holding stdout, then hangs itself.
    const { writeFileSync } = await import('node:fs');
    const pidFile = `${f.dir}/sleeper.pid`;
    writeFileSync(f.path, `#!/bin/sh\ncase "$*" in\n"topo -m") sleep 1000 & echo $! > ${pidFile}; wait ;;\n*) echo fine ;;\nesac\n`, { mode: 0o755 });
    const runner = nvidiaSmiRunner({ path: f.path, timeoutMs: 300 });
    expect((await failureOf(runner.run(['topo', '-m']))).kind).toBe('timeout');
    let out: string | undefined;
    await waitFor(() => {
      void runner.run(['x']).then((o) => (out = o.stdout), () => {});
      return out === 'fine\n';
    }, 'the next call runs although the orphan still holds the old pipes', 5000, 50);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); // the orphan is ours to end
  });

  const failures: [string, FakeAnswer, SmiFailureKind, RegExp][] = [
    ['exit 9 with the driver message', { when: '*', stdout: DRIVER_NOT_LOADED, exit: 9 }, 'driver-not-loaded', /NVIDIA driver not loaded \(exit 9\): NVIDIA-SMI has failed/],
    ['the driver message with another exit code', { when: '*', stderr: DRIVER_NOT_LOADED, exit: 255 }, 'driver-not-loaded', /exit 255/],
    ['a driver/library mismatch', { when: '*', stdout: 'Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.161\n', exit: 18 }, 'driver-mismatch', /version mismatch \(exit 18\)/],
    ['a GPU fallen off the bus', { when: '*', stderr: 'Unable to determine the device handle for GPU 0000:02:00.0: GPU is lost. Reboot the system to recover this GPU\n', exit: 15 }, 'gpu-lost', /GPU lost or fallen off the bus \(exit 15\): Unable to determine the device handle for GPU 0000:02:00\.0/],
    ['no permission', { when: '*', stderr: 'Insufficient Permissions\n', exit: 4 }, 'no-permission', /no permission.*exit 4/],
    ['NVML lost its devices', { when: '*', stdout: 'Failed to initialize NVML: Unknown Error\n', exit: 255 }, 'nvml-error', /NVML failed \(exit 255\): Failed to initialize NVML: Unknown Error/],
    ['no devices', { when: '*', stdout: 'No devices were found\n', exit: 6 }, 'no-devices', /no GPUs found \(exit 6\)/],
    ['garbage with an odd exit code', { when: '*', stdout: '\x00\x01garbage ###\n', exit: 77 }, 'failed', /exit 77: .*garbage ###/],
    ['an invalid argument', { when: '*', stderr: 'Invalid combination of input arguments.\n', exit: 2 }, 'invalid-argument', /invalid argument \(exit 2\): Invalid combination/],
  ];
  it.each(failures)('maps %s to a typed failure', async (_n, answer, kind, re) => {
    const f = fake([answer]);
    const e = await failureOf(nvidiaSmiRunner({ path: f.path }).run(['--query-gpu=index', '--format=csv,noheader,nounits']));
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(re);
    expect(e.message).not.toMatch(/\n/);
    expect(e.exitCode).toBe(answer.exit);
  });

  it('keeps what a failing call printed (a lost GPU still lets the others be read)', async () => {
    const f = fake([{ when: '*', stdout: '0, GPU-a\n', stderr: 'Unable to determine the device handle for GPU 0000:02:00.0: GPU is lost. Reboot the system to recover this GPU\n', exit: 15 }]);
    const e = await failureOf(nvidiaSmiRunner({ path: f.path }).run(['--query-gpu=index,uuid']));
    expect(e.kind).toBe('gpu-lost');
    expect(e.stdout).toBe('0, GPU-a\n');
  });

  it('caps the output: more than maxBufferBytes is a failure, not a truncated parse', async () => {
    const f = fake([{ when: '*', stdout: 'x'.repeat(5000) }]);
    const e = await failureOf(nvidiaSmiRunner({ path: f.path, maxBufferBytes: 1000 }).run(['topo', '-m']));
    expect(e.kind).toBe('output-too-large');
    expect(e.message).toMatch(/more than 1000 bytes/);
  });

  it('says so when the executable does not exist', async () => {
    const e = await failureOf(nvidiaSmiRunner({ path: '/nonexistent/nvidia-smi' }).run(['topo', '-m']));
    expect(e.kind).toBe('not-found');
    expect(e.message).toMatch(/"\/nonexistent\/nvidia-smi" cannot be run: no such file/);
  });
});

describe('queryFields: a field an older driver does not know', () => {
  const invalid = (field: string): FakeAnswer => ({ when: `--query-gpu=*${field}*`, stdout: `Field "${field}" is not a valid field to query.\n`, exit: 2 });

  it('drops the unknown field and retries with the rest', async () => {
    const f = fake([invalid('reset_status.reset_required'), { when: '--query-gpu=*', stdout: '0, GPU-a\n' }]);
    const r = await queryFields(nvidiaSmiRunner({ path: f.path }), '--query-gpu', [{ name: 'index' }, { name: 'reset_status.reset_required' }, { name: 'uuid' }]);
    expect(r.asked).toEqual(['index', 'uuid']);
    expect(r.dropped).toEqual([{ field: 'reset_status.reset_required', reason: 'the driver does not know "reset_status.reset_required"' }]);
    expect(f.calls()).toEqual([
      '--query-gpu=index,reset_status.reset_required,uuid --format=csv,noheader,nounits',
      '--query-gpu=index,uuid --format=csv,noheader,nounits',
    ]);
  });

  it('tries the alternative name before dropping (clocks_event_reasons → clocks_throttle_reasons before driver 535)', async () => {
    const f = fake([invalid('clocks_event_reasons.hw_slowdown'), { when: '--query-gpu=*', stdout: '0, Not Active\n' }]);
    const r = await queryFields(nvidiaSmiRunner({ path: f.path }), '--query-gpu', [{ name: 'index' }, { name: 'clocks_event_reasons.hw_slowdown', alternatives: ['clocks_throttle_reasons.hw_slowdown'] }]);
    expect(r.asked).toEqual(['index', 'clocks_throttle_reasons.hw_slowdown']);
    expect(r.used.get('clocks_event_reasons.hw_slowdown')).toBe('clocks_throttle_reasons.hw_slowdown');
    expect(r.dropped).toEqual([]);
  });

  it('fails with unknown-field when the driver knows none of them, and passes other failures through', async () => {
    const f = fake([invalid('a.b'), invalid('c.d')]);
    const e = await failureOf(queryFields(nvidiaSmiRunner({ path: f.path }), '--query-gpu', [{ name: 'a.b' }, { name: 'c.d' }]));
    expect(e.kind).toBe('unknown-field');
    expect(e.message).toMatch(/knows none of the fields \(a\.b, c\.d\)/);
    const g = fake([{ when: '*', stdout: DRIVER_NOT_LOADED, exit: 9 }]);
    expect((await failureOf(queryFields(nvidiaSmiRunner({ path: g.path }), '--query-gpu', [{ name: 'index' }]))).kind).toBe('driver-not-loaded');
  });
});
