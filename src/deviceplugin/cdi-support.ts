/**
 * Whether the node's container runtime injects CDI devices. containerd 1.x takes the kubelet's
 * CDI device names and silently drops them (the container starts with no GPU, no error), so there
 * the plugin gives NVIDIA_VISIBLE_DEVICES instead. Read from Node.status.nodeInfo.containerRuntimeVersion
 * (`containerd://1.6.20`, `containerd://2.4.2`, `cri-o://1.31.0`).
 */
export type CdiSupport = { ok: true } | { ok: false; reason: string };

export function cdiSupport(runtimeVersion: string | undefined): CdiSupport {
  const m = /^containerd:\/\/v?(\d+)\./.exec(runtimeVersion ?? '');
  if (m && Number(m[1]) < 2) {
    return { ok: false, reason: `--cdi: the node's runtime is ${runtimeVersion}, and containerd 1.x drops CDI devices without an error (the container would get no GPU); giving NVIDIA_VISIBLE_DEVICES instead (containerd 2 injects CDI)` };
  }
  return { ok: true };
}
