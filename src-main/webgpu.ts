// WebGPU through Dawn's Node bindings (the `webgpu` package): finds an adapter, opens the
// device tfjs-backend-webgpu computes on, and turns every GPU error into a thrown one-line
// error naming the kernel. WebGPU reports validation errors, out-of-memory and device loss
// only through events, so without this a broken shader yields silently wrong numbers.
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { firstLine } from './errors';
import { GpuFaults, requiredLimits, SOFTWARE_ADAPTER_NAMES } from './gpu-faults';

/** One way of reaching an adapter: Dawn's flags, the environment its drivers read, the request options. */
export interface AdapterRoute {
  name: string;
  /** Only routes to software drivers have this: the automatic backend order never takes them. */
  software: boolean;
  flags: string[];
  env: Record<string, string>;
  options: Record<string, unknown>;
  /** Native API Dawn uses on this route; null = the platform's default (Vulkan, Metal or D3D12). */
  api: string | null;
  /** A file the route needs (the driver's ICD); the route is skipped, with this as the reason, when absent. */
  needs?: string;
}

const LAVAPIPE_ICD =
  ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json'].find((f) =>
    fs.existsSync(f),
  ) ?? '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';

/** Tried in order. The first is the user's own GPU driver; the rest are software stand-ins for tests. */
export const ADAPTER_ROUTES: readonly AdapterRoute[] = [
  { name: 'system', software: false, flags: [], env: {}, options: { powerPreference: 'high-performance' }, api: null },
  // Mesa's llvmpipe through EGL without a display: WebGPU's compatibility mode on OpenGL ES 3.1+.
  // First of the software routes: it took 2/3 of SwiftShader's CPU time on the same embed-image run.
  {
    name: 'llvmpipe',
    software: true,
    flags: ['backend=opengles'],
    env: { EGL_PLATFORM: 'surfaceless' },
    options: { featureLevel: 'compatibility' },
    api: 'OpenGL ES',
  },
  // SwiftShader's Vulkan ICD ships in Debian's chromium package; VK_ICD_FILENAMES makes the Vulkan loader use it alone.
  {
    name: 'swiftshader',
    software: true,
    flags: ['backend=vulkan'],
    env: { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
    options: {},
    api: 'Vulkan',
    needs: '/usr/lib/chromium/vk_swiftshader_icd.json',
  },
  // Mesa's lavapipe: Dawn needs Mesa >= 25's (Debian 12's Mesa 22 lacks shaderUniform*ArrayDynamicIndexing).
  { name: 'lavapipe', software: true, flags: ['backend=vulkan'], env: { VK_ICD_FILENAMES: LAVAPIPE_ICD }, options: {}, api: 'Vulkan', needs: LAVAPIPE_ICD },
];

export interface AdapterSummary {
  route: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  api: string;
  software: boolean;
}

export interface AdapterProbe {
  route: string;
  adapter: AdapterSummary | null;
  /** Why no adapter came back on this route. */
  reason?: string;
}

function platformApi(): string {
  return process.platform === 'darwin' ? 'Metal' : process.platform === 'win32' ? 'D3D12' : 'Vulkan';
}

function summarise(route: AdapterRoute, adapter: any): AdapterSummary {
  const info = adapter.info ?? {};
  const text = (k: string) => String(info[k] ?? '').trim();
  const names = [text('vendor'), text('architecture'), text('device'), text('description')].join(' ');
  const description = text('description');
  const api = route.api ?? (/opengl es/i.test(description) ? 'OpenGL ES' : platformApi());
  return {
    route: route.name,
    vendor: text('vendor'),
    architecture: text('architecture'),
    device: text('device').replace(/-+$/, ''),
    description,
    api,
    software: route.software || Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter) || SOFTWARE_ADAPTER_NAMES.test(names),
  };
}

/** "NVIDIA ampere (Vulkan, hardware)", "llvmpipe-llvm-15-0-6-256-bits (OpenGL ES, software)". */
export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || a.device || a.description || 'unnamed adapter';
  return `${name} (${a.api}, ${a.software ? 'software' : 'hardware'})`;
}

type DawnModule = { create(flags: string[]): any; globals: Record<string, unknown> };
let dawn: DawnModule | null = null;

async function loadDawn(): Promise<DawnModule> {
  dawn ??= (await import('webgpu')) as unknown as DawnModule;
  return dawn;
}

/** Runs fn with the route's environment set (drivers read it when Dawn creates its instance), then restores it. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

interface Found {
  route: AdapterRoute;
  gpu: any;
  adapter: any;
  summary: AdapterSummary;
}

async function requestOn(route: AdapterRoute): Promise<Found | { reason: string }> {
  if (route.needs && !fs.existsSync(route.needs)) return { reason: `${route.needs} is absent` };
  const { create } = await loadDawn();
  return withEnv(route.env, async () => {
    const gpu = create(route.flags);
    const adapter = await gpu.requestAdapter(route.options);
    if (!adapter) return { reason: 'no adapter' };
    return { route, gpu, adapter, summary: summarise(route, adapter) };
  });
}

/** Every route's outcome, for `lamm doctor`. */
export async function probeAdapters(): Promise<AdapterProbe[]> {
  const out: AdapterProbe[] = [];
  for (const route of ADAPTER_ROUTES) {
    try {
      const r = await requestOn(route);
      out.push('reason' in r ? { route: route.name, adapter: null, reason: r.reason } : { route: route.name, adapter: r.summary });
    } catch (err) {
      out.push({ route: route.name, adapter: null, reason: firstLine(err) });
    }
  }
  return out;
}

/**
 * Why a Linux machine cannot have a GPU adapter (no GPU device node), or null. Checked first so the
 * automatic order neither loads Dawn nor lets the Vulkan loader print its complaints on such machines.
 */
export function noGpuDeviceReason(): string | null {
  if (process.platform !== 'linux') return null;
  const nodes = [
    ...safeList('/dev/dri').filter((f) => f.startsWith('renderD') || f.startsWith('card')),
    ...safeList('/dev').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg' || f === 'kfd'),
  ];
  return nodes.length ? null : 'no GPU device (/dev/dri, /dev/nvidia*, /dev/dxg absent)';
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The routes to try: all, or the one LAMM_WEBGPU_ADAPTER names. */
export function adapterRoutes(): readonly AdapterRoute[] {
  const only = process.env.LAMM_WEBGPU_ADAPTER?.trim();
  if (!only) return ADAPTER_ROUTES;
  const route = ADAPTER_ROUTES.find((r) => r.name === only);
  if (!route) throw new Error(`LAMM_WEBGPU_ADAPTER="${only}" is not one of ${ADAPTER_ROUTES.map((r) => r.name).join(', ')}`);
  return [route];
}

/** The first adapter found; software ones only when allowed (LAMM_BACKEND=webgpu). */
async function findAdapter(allowSoftware: boolean): Promise<Found> {
  const misses: string[] = [];
  if (!allowSoftware) {
    const none = noGpuDeviceReason();
    if (none) throw new Error(none);
  }
  for (const route of adapterRoutes()) {
    if (route.software && !allowSoftware) continue;
    let r: Found | { reason: string };
    try {
      r = await requestOn(route);
    } catch (err) {
      r = { reason: firstLine(err) };
    }
    if ('reason' in r) {
      misses.push(`${route.name}: ${r.reason}`);
    } else if (r.summary.software && !allowSoftware) {
      misses.push(`${route.name}: only a software adapter (${describeAdapter(r.summary)})`);
    } else {
      return r;
    }
  }
  throw new Error(`no WebGPU adapter (${misses.join('; ')})${allowSoftware ? '' : '; LAMM_BACKEND=webgpu also accepts software adapters'}`);
}

/** The first GPU error since the device opened; once set, every kernel and read throws it. */
let current: { gpu: any; device: any; summary: AdapterSummary } | null = null;

const faults = new GpuFaults(
  () => (current ? describeAdapter(current.summary) : 'WebGPU'),
  // tfjs reads synchronously through OffscreenCanvas, which Node lacks; the engine reads with await.
  'synchronous reads (dataSync/arraySync) do not work on the webgpu backend in Node: read with await data()',
);

/** The highest tensor rank any kernel saw since start (the engine stays at rank 4 or below). */
export function maxKernelRank(): number {
  return faults.maxRank;
}

export function gpuFault(): Error | null {
  return faults.current;
}

/** Tests only: forgets a fault. After a real one the backend's state may be poisoned (invalid buffers queued). */
export function clearGpuFaultForTest(): void {
  faults.clearUnlessLost();
}

/** Opens the device on the adapter found and makes 'webgpu' tfjs's backend. */
export async function startWebGpu(allowSoftware: boolean): Promise<AdapterSummary> {
  const found = await findAdapter(allowSoftware);
  const { globals } = await loadDawn();
  // tfjs-backend-webgpu reads navigator.gpu and the GPUBufferUsage-style constants as globals.
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as any)[k] = v;
  const g = globalThis as any;
  if (g.navigator === undefined) g.navigator = { gpu: found.gpu };
  else Object.defineProperty(g.navigator, 'gpu', { value: found.gpu, configurable: true, writable: true });
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');

  const device = await found.adapter.requestDevice({ requiredLimits: requiredLimits(found.adapter) });
  faults.reset();
  current = { gpu: found.gpu, device, summary: found.summary };
  // A destroy after stopWebGpu is ours, not a loss.
  faults.watch(device, (info) => info?.reason === 'destroyed' && !current);

  // Replaces the factory the package registered (it would open its own device on navigator.gpu's default adapter).
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    const backend = new WebGPUBackend(device, found.adapter.info);
    faults.instrument(backend);
    return backend;
  });
  if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend did not initialise on ${describeAdapter(found.summary)}`);
  return found.summary;
}

/** Lets the process exit: Dawn keeps Node's event loop alive while its instance is referenced. */
export function stopWebGpu(): void {
  if (!current) return;
  const { device } = current;
  current = null;
  try {
    device.destroy();
  } catch {
    // already lost
  }
  const g = globalThis as any;
  if (g.navigator && 'gpu' in g.navigator) {
    try {
      delete g.navigator.gpu;
    } catch {
      // a non-configurable navigator.gpu: nothing else holds the instance
    }
  }
}

/** Simulates losing the device mid-run (tests): what a driver reset or an unplugged GPU does. */
export function loseDeviceForTest(): void {
  current?.device.destroy();
}
