/** The resources the MLTask controller touches, for the in-process test API server. */
import { BUILTIN_RESOURCES, TestApiServer, type ResourceType } from '../support/apiserver.js';

export const MLTASK_TEST_RESOURCES: readonly ResourceType[] = [
  ...BUILTIN_RESOURCES,
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, statusSubresource: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, statusSubresource: false },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, statusSubresource: true },
  { group: 'linkpack.io', version: 'v1alpha1', plural: 'mltaskclasses', kind: 'MLTaskClass', namespaced: false, statusSubresource: false },
];

export function startTestApi(): Promise<TestApiServer> {
  return TestApiServer.start({ resources: MLTASK_TEST_RESOURCES });
}
