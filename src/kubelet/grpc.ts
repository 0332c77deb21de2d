/**
 * The one place that loads the kubelet's .proto files and speaks gRPC over unix sockets, for the
 * device plugin (v1beta1) and the PodResources client alike.
 *
 * The .proto files live beside this module in src/kubelet; tsc does not copy them, so from
 * dist/src/kubelet the loader also looks in the source tree (and the image must ship src/kubelet/*.proto).
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute path of a .proto shipped in src/kubelet (works from src/ under vitest and from dist/). */
export function kubeletProtoPath(file: string): string {
  const candidates = [path.join(here, file), path.resolve(here, '../../../src/kubelet', file)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`kubelet proto "${file}" not found (looked in ${candidates.join(', ')})`);
  return found;
}

const loaded = new Map<string, grpc.GrpcObject>();

/**
 * A loaded proto package. keepCase: the kubelet protos mix spellings (`ID`, `devices_ids`,
 * `deviceIDs`); keeping them avoids a second, camel-cased vocabulary. int64 → Number (NUMA ids,
 * sizes: all small).
 */
export function loadKubeletProto(file: string): grpc.GrpcObject {
  const p = kubeletProtoPath(file);
  let pkg = loaded.get(p);
  if (!pkg) {
    const def = protoLoader.loadSync(p, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    pkg = grpc.loadPackageDefinition(def);
    loaded.set(p, pkg);
  }
  return pkg;
}

/** `pkg.Service` of a loaded proto (throws naming what is missing). */
export function serviceOf(pkg: grpc.GrpcObject, dotted: string): grpc.ServiceClientConstructor {
  let cur: unknown = pkg;
  for (const part of dotted.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
  const ctor = cur as grpc.ServiceClientConstructor | undefined;
  if (typeof ctor !== 'function' || !ctor.service) throw new Error(`proto has no service ${dotted}`);
  return ctor;
}

/** gRPC target for a unix socket path. */
export function unixTarget(socketPath: string): string {
  return `unix://${path.resolve(socketPath)}`;
}

/** A plaintext client of a unix socket (the kubelet's sockets have no TLS and no auth). */
export function unixClient<T extends grpc.Client>(ctor: grpc.ServiceClientConstructor, socketPath: string, options: grpc.ChannelOptions = {}): T {
  return new ctor(unixTarget(socketPath), grpc.credentials.createInsecure(), options) as unknown as T;
}

/** Removes a stale unix socket (never a regular file or directory: that would be someone else's). */
export function removeStaleSocket(socketPath: string): void {
  try {
    if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Binds a server to a unix socket path, replacing a stale socket file there. */
export async function bindUnix(server: grpc.Server, socketPath: string): Promise<void> {
  removeStaleSocket(socketPath);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(unixTarget(socketPath), grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(new Error(`cannot listen on ${socketPath}: ${err.message}`)) : resolve(),
    ),
  );
}

type UnaryMethod<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

/** Calls a unary method with a deadline; rejects with the gRPC error. */
export function callUnary<Req, Res>(client: grpc.Client, method: string, req: Req, deadlineMs: number): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[method];
  if (typeof fn !== 'function') return Promise.reject(new Error(`gRPC client has no method ${method}`));
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** Stops a server: graceful for up to graceMs, then forced (open streams do not end by themselves). */
export async function shutdownServer(server: grpc.Server, graceMs = 500): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
