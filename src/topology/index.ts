export * from './types.js';
export { islands } from './islands.js';
export { isNvlink, linkBandwidthGBps, nvlinkGBpsPerLinkFor, parseLinkLegend, PCIE_GBPS, NVLINK_GBPS_PER_LINK } from './link.js';
export { dgx1, getPreset, listPresets, nvswitchBox, pcieBox, subTopology, type PresetInfo } from './presets.js';
