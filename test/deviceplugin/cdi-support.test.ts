import { describe, expect, it } from 'vitest';
import { cdiSupport } from '../../src/deviceplugin/cdi-support.js';

describe('CDI by the node runtime', () => {
  it('containerd 1.x drops CDI devices silently: the plugin is told why and falls back to the env', () => {
    const r = cdiSupport('containerd://1.6.20');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe("--cdi: the node's runtime is containerd://1.6.20, and containerd 1.x drops CDI devices without an error (the container would get no GPU); giving NVIDIA_VISIBLE_DEVICES instead (containerd 2 injects CDI)");
  });

  it.each(['containerd://2.4.2', 'containerd://v2.0.0', 'cri-o://1.31.0', 'fakeRuntime://0.1.0', undefined])('%s keeps CDI', (v) => {
    expect(cdiSupport(v)).toEqual({ ok: true });
  });
});
