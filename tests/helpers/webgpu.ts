// Starts the webgpu backend for a test file (vitest runs each file in its own process, and the
// backend is chosen once per process). Where no adapter can be had, not even a software one,
// the file's tests are skipped with the reason. LAMM_WEBGPU_ADAPTER (default here: llvmpipe,
// the fastest software adapter on CI's machine, when present) picks the route.
import { initBackend, type BackendInfo } from '../../src-main/backend';
import { ADAPTER_ROUTES } from '../../src-main/webgpu';

/** The route the WebGPU tests use unless LAMM_WEBGPU_ADAPTER says otherwise: any route, in order. */
export async function startWebGpuForTests(): Promise<BackendInfo | null> {
  try {
    return await initBackend('webgpu');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.warn(`[webgpu] skipped: ${reason} (routes: ${ADAPTER_ROUTES.map((r) => r.name).join(', ')}; CI installs libvulkan1 and Mesa, see .ci/run)`);
    return null;
  }
}
