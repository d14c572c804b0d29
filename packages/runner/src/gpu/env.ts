import type { GpuInfo } from '../hosts/host.js';

/**
 * Environment that confines a run to its GPUs. UUIDs rather than indices: CUDA's default order is
 * fastest-first, so a CUDA index is not the nvidia-smi index on a mixed host (PCI_BUS_ID makes any
 * remaining index use agree too). NVIDIA_VISIBLE_DEVICES does the same for containers the run
 * starts. With no GPUs CUDA_VISIBLE_DEVICES is empty (unset would mean "all") and
 * NVIDIA_VISIBLE_DEVICES is 'void', which the NVIDIA container runtime reads as "no GPU".
 */
export function gpuEnvironment(gpus: Array<Pick<GpuInfo, 'uuid'>>): Record<string, string> {
  const uuids = gpus.map((g) => g.uuid).join(',');
  return {
    CUDA_VISIBLE_DEVICES: uuids,
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    NVIDIA_VISIBLE_DEVICES: uuids === '' ? 'void' : uuids,
  };
}
