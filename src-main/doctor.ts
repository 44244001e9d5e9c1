// `lamm doctor`: for each backend of the automatic order, whether it loads here and, if not, why
// in one line with the fix; the WebGPU adapters each route finds; what the order picks.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BACKEND_ORDER, describeBackend, initBackend, type BackendName } from './backend';
import { nativeGemmUnavailableReason } from './native';
import { describeAdapter, noGpuDeviceReason, probeAdapters, type AdapterProbe } from './webgpu';

export interface BackendCheck {
  name: BackendName;
  /** Whether the automatic order would take it (webgpu: only on a hardware adapter). */
  loads: boolean;
  detail?: string;
  reason?: string;
  fix?: string;
}

export interface DoctorReport {
  backends: BackendCheck[];
  adapters: (AdapterProbe & { line: string })[];
  /** The backend the automatic order picks, as the CLI's stderr and the run records name it. */
  automatic: string;
  /** LAMM_BACKEND, when set: it overrides the automatic order. */
  forced: string | null;
}

// Not named `require`: electron-vite puts its own `const require` shim into bundled chunks that use one.
const resolveFromHere = createRequire(import.meta.url);
const MIRROR_FIX = (pkg: string) =>
  `install from a mirror of the libtensorflow archives: TFJS_NODE_CDN_STORAGE=https://MIRROR/ npm install ${pkg}@4.22.0 (the mirror serves tensorflow/libtensorflow/libtensorflow-*-2.9.1.tar.gz), or TFJS_NODE_BASE_URI=https://MIRROR/PATH/libtensorflow- for another layout`;

function checkTfjsNode(name: 'tfjs-node-gpu' | 'tfjs-node'): BackendCheck {
  const pkg = `@tensorflow/${name}`;
  let dir: string;
  try {
    dir = path.dirname(resolveFromHere.resolve(`${pkg}/package.json`));
  } catch {
    return {
      name,
      loads: false,
      reason: `${pkg} is not installed: its install downloads libtensorflow, and the public download answers 403 since Aug 2026`,
      fix: MIRROR_FIX(pkg),
    };
  }
  const lib = path.join(dir, 'deps', 'lib');
  const libs = fs.existsSync(lib) ? fs.readdirSync(lib).filter((f) => f.startsWith('libtensorflow') || f.startsWith('tensorflow')) : [];
  if (libs.length === 0)
    return {
      name,
      loads: false,
      reason: `libtensorflow is missing in ${path.relative(process.cwd(), lib) || lib} (its download failed at install: the public bucket answers 403)`,
      fix: MIRROR_FIX(pkg),
    };
  const addon = path.join(dir, 'lib');
  if (!fs.existsSync(addon) || !fs.readdirSync(addon, { recursive: true }).some((f) => String(f).endsWith('.node'))) {
    return { name, loads: false, reason: `${pkg}'s native addon was not built`, fix: `npm rebuild ${pkg} (with TFJS_NODE_CDN_STORAGE set as for the install)` };
  }
  return { name, loads: true, detail: `${libs[0]} present` };
}

function checkWebGpu(adapters: AdapterProbe[]): BackendCheck {
  const found = adapters.filter((a) => a.adapter);
  const hardware = found.find((a) => !a.adapter!.software);
  if (hardware) return { name: 'webgpu', loads: true, detail: describeAdapter(hardware.adapter!) };
  const noDevice = noGpuDeviceReason();
  const software = found.map((a) => describeAdapter(a.adapter!));
  const driverFix =
    process.platform === 'linux'
      ? "install the GPU's Vulkan driver: the NVIDIA driver (its ICD in /usr/share/vulkan/icd.d), or mesa-vulkan-drivers for AMD and Intel; plus libvulkan1"
      : 'update the GPU driver (WebGPU uses Metal on macOS, D3D12 on Windows)';
  const system = adapters.find((a) => a.route === 'system');
  const why = noDevice ?? `no hardware adapter (${system?.reason ?? 'the system driver gave none'})`;
  return {
    name: 'webgpu',
    loads: false,
    reason: software.length
      ? `${why}; software adapters only (${software.join(', ')}), used only with LAMM_BACKEND=webgpu`
      : `${why}; no software adapter either`,
    fix: noDevice
      ? 'none needed on a machine without a GPU (the order goes on to the CPU backends); in a container, pass the GPU in (docker --gpus all, or --device /dev/dri)'
      : driverFix,
  };
}

function checkWasm(): BackendCheck {
  try {
    resolveFromHere.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  } catch {
    return { name: 'wasm', loads: false, reason: '@tensorflow/tfjs-backend-wasm is not installed', fix: 'npm install' };
  }
  const gemm = nativeGemmUnavailableReason();
  return { name: 'wasm', loads: true, detail: gemm ? `native GEMM ${gemm}` : undefined };
}

export async function doctor(): Promise<DoctorReport> {
  const adapters = await probeAdapters();
  const checks: Record<BackendName, () => BackendCheck> = {
    'tfjs-node-gpu': () => checkTfjsNode('tfjs-node-gpu'),
    webgpu: () => checkWebGpu(adapters),
    'tfjs-node': () => checkTfjsNode('tfjs-node'),
    wasm: checkWasm,
    cpu: () => ({ name: 'cpu', loads: true, detail: 'pure JavaScript, 20-40x slower than wasm' }),
  };
  const backends = BACKEND_ORDER.map((name) => checks[name]());
  // The real selection (not a guess from the checks above): what every engine command will use.
  let automatic: string;
  try {
    const picked = await initBackend('');
    automatic = describeBackend(picked);
    // Whether the native GEMM loaded is known only once wasm has started.
    const wasm = backends.find((b) => b.name === 'wasm');
    if (picked.name === 'wasm' && wasm?.loads)
      wasm.detail = picked.accelerator ? `with ${picked.accelerator}` : `native GEMM ${picked.acceleratorSkipped ?? 'not loaded'}`;
  } catch (err) {
    automatic = `none: ${err instanceof Error ? err.message : String(err)}`;
  }
  return {
    backends,
    adapters: adapters.map((a) => ({ ...a, line: a.adapter ? describeAdapter(a.adapter) : `none (${a.reason})` })),
    automatic,
    forced: process.env.LAMM_BACKEND?.trim() || null,
  };
}

export function printDoctor(r: DoctorReport): void {
  const out: string[] = ['backends (automatic order):'];
  for (const b of r.backends) {
    out.push(`  ${b.loads ? 'ok  ' : 'no  '} ${b.name}${b.detail ? `: ${b.detail}` : ''}${b.reason ? `: ${b.reason}` : ''}`);
    if (b.fix) out.push(`        fix: ${b.fix}`);
  }
  out.push('WebGPU adapters:');
  for (const a of r.adapters) out.push(`  ${a.route}: ${a.line}`);
  out.push(`automatic order picks: ${r.automatic}`);
  if (r.forced) out.push(`LAMM_BACKEND=${r.forced} overrides it`);
  process.stdout.write(`${out.join('\n')}\n`);
}
