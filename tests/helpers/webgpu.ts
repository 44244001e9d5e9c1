// Starts the webgpu backend for a test file (vitest runs each file in its own process, and the
// backend is chosen once per process). Where no adapter can be had, not even a software one,
// the file's tests are skipped with the reason. LAMM_WEBGPU_ADAPTER picks a route (default: the
// first that works, in ADAPTER_ROUTES's order). Software adapters are 16-65x slower than wasm
// and CI's two cores are shared by two test processes: these tests get long timeouts.
import { vi } from 'vitest';
import { initBackend, type BackendInfo } from '../../src-main/backend';
import { ADAPTER_ROUTES } from '../../src-main/webgpu';

export async function startWebGpuForTests(): Promise<BackendInfo | null> {
  vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });
  try {
    return await initBackend('webgpu');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.warn(`[webgpu] skipped: ${reason} (routes: ${ADAPTER_ROUTES.map((r) => r.name).join(', ')}; CI installs libvulkan1 and Mesa, see .ci/run)`);
    return null;
  }
}
