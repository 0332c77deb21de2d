/**
 * Bodies shaped exactly as kube-scheduler's HTTPExtender sends them: Go's json.Marshal of
 * k8s.io/kube-scheduler/extender/v1 types (no json tags → capitalised keys, nil → null) around
 * ordinary Kubernetes API objects (camelCase, defaulted fields, creationTimestamp: null where unset).
 */

/** A Pod as the scheduler holds it after API defaulting. */
export function schedulerPod(name: string, gpus: number, annotations: Record<string, string> = {}, uid = `0b6c1d3e-${name}`) {
  const resources = gpus > 0 ? { limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': String(gpus) }, requests: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': String(gpus) } } : { requests: { cpu: '100m' } };
  return {
    metadata: {
      name,
      namespace: 'ml',
      uid,
      resourceVersion: '48213',
      creationTimestamp: '2026-11-26T10:00:00Z',
      labels: { app: 'trainer' },
      annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'trainer', uid: 'ss-uid', controller: true, blockOwnerDeletion: true }],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-26T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    spec: {
      volumes: [{ name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }], defaultMode: 420 } }],
      initContainers: [{ name: 'fetch', image: 'busybox', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'Always' }],
      containers: [
        {
          name: 'train',
          image: 'nvcr.io/nvidia/pytorch:24.10-py3',
          command: ['torchrun'],
          resources,
          volumeMounts: [{ name: 'kube-api-access-x', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'linkpack-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: { phase: 'Pending', qosClass: 'Guaranteed' },
  };
}

/** A Node object as it travels with nodeCacheCapable: false. */
export function schedulerNode(name: string, gpus: number) {
  return {
    metadata: {
      name,
      uid: `node-uid-${name}`,
      resourceVersion: '1001',
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { 'kubernetes.io/hostname': name, 'nvidia.com/gpu.present': 'true' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: {
      capacity: { cpu: '128', memory: '2113580Mi', 'nvidia.com/gpu': String(gpus), pods: '110' },
      allocatable: { cpu: '127', memory: '2100000Mi', 'nvidia.com/gpu': String(gpus), pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-26T10:00:00Z', lastTransitionTime: '2026-11-01T00:00:00Z', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: 'v1.31.2', containerRuntimeVersion: 'containerd://1.7.22', architecture: 'amd64', operatingSystem: 'linux' },
      images: [{ names: ['nvcr.io/nvidia/pytorch:24.10-py3'], sizeBytes: 9876543210 }],
    },
  };
}

/** ExtenderArgs, nodeCacheCapable: true. */
export function argsByName(pod: unknown, names: string[]) {
  return { Pod: pod, Nodes: null, NodeNames: names };
}

/** ExtenderArgs, nodeCacheCapable: false. */
export function argsByNodes(pod: unknown, nodes: unknown[]) {
  return { Pod: pod, Nodes: { metadata: {}, items: nodes }, NodeNames: null };
}
