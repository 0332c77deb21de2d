export * from './types.js';
export { islands } from './islands.js';
export { isNvlink, linkBandwidthGBps, nvlinkGBpsPerLinkFor, parseLinkLegend, PCIE_GBPS, NVLINK_GBPS_PER_LINK } from './link.js';
export { dgx1, getPreset, listPresets, nvswitchBox, pcieBox, subTopology, type PresetInfo } from './presets.js';
export { parseTopoMatrix, type TopoMatrix, type TopoNic } from './parse-topo-matrix.js';
export { parseQueryGpuCsv, gpuInfoFromQueryRow, type QueryGpuRow, type QueryGpuValue, type QueryGpuOptions } from './parse-query-gpu.js';
export { parseNvlinkStatus, activeLinkSpeedGBps, type NvlinkGpuStatus, type NvlinkLinkStatus } from './parse-nvlink-status.js';
export { loadTopology, type TopologySources } from './load.js';
