/**
 * A cluster file that a live cluster could not produce is refused in one line naming the file and
 * the objects (issue 25: an empty file, duplicate GPUNodes, two pods on one GPU and an assigned
 * UUID not on the node were all accepted silently).
 */
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../src/cluster/static-file.js';

const gpuNode = (name: string, uuids = ['GPU-a0', 'GPU-a1']) => `
apiVersion: linkpack.io/v1alpha1
kind: GPUNode
metadata: {name: ${name}}
status:
  gpus:
${uuids.map((u, i) => `    - {index: ${i}, uuid: ${u}, model: NVIDIA H100 PCIe, memoryMiB: 81559, health: Healthy}`).join('\n')}
  links:
    - [X, NV12]
    - [NV12, X]
`;

const pod = (name: string, assigned: string, milli?: number) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ml
  annotations: {linkpack.io/assigned-gpus: "${assigned}"${milli ? `, linkpack.io/gpu-milli: "${milli}"` : ''}}
spec: {nodeName: gpu-a, containers: [{name: main, image: x}]}
status: {phase: Running}
`;

const file = (...docs: string[]) => docs.join('\n---\n');

describe('cluster file checks', () => {
  it.each([
    ['an empty file', '', 'f.yaml: the file holds no Node, GPUNode or Pod (see deploy/examples/cluster.yaml)'],
    ['only comments and separators', '# nothing\n---\n---\n', 'f.yaml: the file holds no Node, GPUNode or Pod (see deploy/examples/cluster.yaml)'],
    ['a GPUNode twice', file(gpuNode('gpu-a'), gpuNode('gpu-a')), 'f.yaml: GPUNode gpu-a appears twice'],
    ['a GPU held by two pods', file(gpuNode('gpu-a'), pod('p1', '0:GPU-a0'), pod('p2', '0')), 'f.yaml: GPU 0 on node gpu-a is held by ml/p1 and ml/p2 (2000 milli-GPU of 1000)'],
    ['shares beyond one GPU', file(gpuNode('gpu-a'), pod('s1', '1', 600), pod('s2', '1', 500)), 'f.yaml: GPU 1 on node gpu-a is held by ml/s1 and ml/s2 (1100 milli-GPU of 1000)'],
    ['an assigned UUID from another machine', file(gpuNode('gpu-a'), pod('p1', '1:GPU-zz')), 'f.yaml: Pod ml/p1 is assigned GPU 1 as GPU-zz, but that GPU on node gpu-a is GPU-a1 (a UUID from another machine?)'],
    ['an assigned index the node lacks', file(gpuNode('gpu-a'), pod('p1', '5')), 'f.yaml: Pod ml/p1 is assigned GPU 5, which node gpu-a does not have (GPUs 0–1)'],
  ])('%s', (_what, text, message) => {
    expect(() => parseClusterFile(text, 'f.yaml')).toThrow(message);
  });

  it('shares that fit on one GPU, and pods on distinct GPUs, are fine', () => {
    const c = parseClusterFile(file(gpuNode('gpu-a'), pod('s1', '1', 500), pod('s2', '1:GPU-a1', 500), pod('p', '0')), 'f.yaml');
    expect(c.pods).toHaveLength(3);
  });
});
