/**
 * The extender wire format (k8s.io/kube-scheduler/extender/v1): capitalised keys, because the Go
 * types have no json tags. Schemas check only the fields we read, so a 5,000-node body costs little
 * more than JSON.parse, and every other field of the embedded Kubernetes objects passes through.
 * A body that fails them is a 400 whose message names the field (ajv's instancePath).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Quantities arrive as strings; numbers are accepted too (hand-written bodies). */
const Quantity = Type.Union([Type.String(), Type.Number()]);
const ResourceList = Nullable(Type.Record(Type.String(), Quantity));

const Container = Type.Object({
  name: Type.Optional(Type.String()),
  restartPolicy: Type.Optional(Nullable(Type.String())),
  resources: Type.Optional(Nullable(Type.Object({ requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) }))),
});

const ObjectMeta = Type.Object({
  name: Type.String({ minLength: 1 }),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  annotations: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
});

export const PodSchema = Type.Object({
  metadata: ObjectMeta,
  spec: Type.Object({
    containers: Type.Array(Container),
    initContainers: Type.Optional(Nullable(Type.Array(Container))),
    priority: Type.Optional(Nullable(Type.Integer())),
  }),
});
export type WirePod = Static<typeof PodSchema>;


/**
 * Request of filter and prioritize. `Nodes` is set when nodeCacheCapable is false, `NodeNames` when
 * true. Both are checked by hand (candidates.ts): a count bound first, then one typeof per name,
 * cheaper than the schema walk over thousands of elements.
 */
export const ExtenderArgsSchema = Type.Object({
  Pod: PodSchema,
  Nodes: Type.Optional(Type.Unknown()),
  NodeNames: Type.Optional(Type.Unknown()),
});
export type ExtenderArgs = Static<typeof ExtenderArgsSchema>;

export interface ExtenderFilterResult {
  Nodes: { metadata: Record<string, never>; items: unknown[] } | null;
  NodeNames: string[] | null;
  FailedNodes: Record<string, string>;
  FailedAndUnresolvableNodes: Record<string, string>;
  Error: string;
}

export const HostPriorityListSchema = Type.Array(Type.Object({ Host: Type.String(), Score: Type.Integer() }));
export type HostPriority = Static<typeof HostPriorityListSchema>[number];

export const BindingArgsSchema = Type.Object({
  PodName: Type.String({ minLength: 1 }),
  PodNamespace: Type.String(),
  PodUID: Type.String(),
  Node: Type.String({ minLength: 1 }),
});
export type ExtenderBindingArgs = Static<typeof BindingArgsSchema>;

export interface ExtenderBindingResult {
  Error: string;
}

const VictimPod = Type.Object({
  metadata: Type.Object({
    uid: Type.String({ minLength: 1 }),
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
  }),
  spec: Type.Optional(Type.Object({ priority: Type.Optional(Nullable(Type.Integer())) })),
});
const Victims = Type.Object({ Pods: Nullable(Type.Array(VictimPod)), NumPDBViolations: Type.Optional(Type.Integer()) });
const MetaVictims = Type.Object({
  Pods: Nullable(Type.Array(Type.Object({ UID: Type.String({ minLength: 1 }) }))),
  NumPDBViolations: Type.Optional(Type.Integer()),
});

export const PreemptionArgsSchema = Type.Object({
  Pod: PodSchema,
  NodeNameToVictims: Type.Optional(Nullable(Type.Record(Type.String(), Victims))),
  NodeNameToMetaVictims: Type.Optional(Nullable(Type.Record(Type.String(), MetaVictims))),
});
export type ExtenderPreemptionArgs = Static<typeof PreemptionArgsSchema>;

export interface MetaVictimsOut {
  Pods: { UID: string }[];
  NumPDBViolations: number;
}
export interface ExtenderPreemptionResult {
  NodeNameToMetaVictims: Record<string, MetaVictimsOut>;
}

export const ExplainQuerySchema = Type.Object({
  pod: Type.String({ pattern: '^[^/]+/[^/]+$', description: '<namespace>/<name>' }),
});
