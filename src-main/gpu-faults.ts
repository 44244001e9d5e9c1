// GPU errors as exceptions, wherever tfjs-backend-webgpu runs (Dawn in Node: webgpu.ts; Chromium's
// WebGPU in the GPU host page: gpu-host/compute.ts). WebGPU reports validation errors, out of
// memory and device loss only as events on the device, and tfjs listens to none of them, so a
// broken shader would yield silently wrong numbers. Here the first such event becomes the error
// every later kernel launch and read throws, naming the kernel. Plain code, no Node imports.

export class GpuError extends Error {}

/** Adapter names of software rasterisers, which the automatic backend order never takes. */
export const SOFTWARE_ADAPTER_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|warp/i;

/** The adapter limits tfjs' kernels need above WebGPU's defaults, asked for at the adapter's maximum. */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

export function requiredLimits(adapter: any): Record<string, number> {
  return Object.fromEntries(RAISED_LIMITS.map((k) => [k, adapter.limits[k]]));
}

function firstMeaningfulLine(message: string, fallback: string): string {
  const line = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^validation:?$/i.test(l))[0];
  return line ?? fallback;
}

export class GpuFaults {
  private fault: GpuError | null = null;
  private lastKernel = 'none yet';
  /** The highest tensor rank any kernel saw (tests: the engine must stay at rank 4 or below). */
  maxRank = 0;

  /**
   * @param where names the device in messages ("llvmpipe (OpenGL ES, software)", "the GPU host page")
   * @param syncReadError why dataSync/arraySync are refused where this backend runs
   */
  constructor(
    private readonly where: () => string,
    private readonly syncReadError: string,
  ) {}

  get current(): GpuError | null {
    return this.fault;
  }

  reset(): void {
    this.fault = null;
  }

  /** Tests only: forgets a fault that is not a lost device (after a real one the queue may be poisoned). */
  clearUnlessLost(): void {
    if (this.fault && !/GPU device lost/.test(this.fault.message)) this.fault = null;
  }

  record(kind: string, message: string): void {
    // Dawn names the object it validated by its label, which tfjs sets to the program's class name.
    const named = /"+(\w+Program\w*)"+/.exec(message);
    const kernel = named ? named[1] : this.lastKernel;
    this.fault ??= new GpuError(`GPU ${kind} in kernel ${kernel} on ${this.where()}: ${firstMeaningfulLine(message, kind)}`.slice(0, 400));
  }

  check(): void {
    if (this.fault) throw this.fault;
  }

  /** Listens to the device's error and loss events; `ignoreLoss` tells a deliberate destroy from a real loss. */
  watch(device: any, ignoreLoss: (info: any) => boolean = () => false): void {
    device.addEventListener('uncapturederror', (e: any) => {
      const error = e?.error;
      const kind = error?.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(error?.message ?? '') ? 'out of memory' : 'error';
      this.record(kind, String(error?.message ?? error));
    });
    device.lost.then((info: any) => {
      if (ignoreLoss(info)) return;
      this.record('device lost', `${info?.reason ?? 'unknown'}: ${info?.message ?? ''}`);
    });
  }

  /** Wraps the backend's kernel launch and reads so a GPU error surfaces as an exception naming the kernel. */
  instrument(backend: any): void {
    const run = backend.runWebGPUProgram.bind(backend);
    backend.runWebGPUProgram = (program: any, ...rest: unknown[]) => {
      this.check();
      this.lastKernel = program?.constructor?.name ?? 'unknown';
      const inputs = (rest[0] ?? []) as { shape: number[] }[];
      this.maxRank = Math.max(this.maxRank, program?.outputShape?.length ?? 0, ...inputs.map((t) => t.shape.length));
      try {
        return run(program, ...rest);
      } catch (err) {
        if (err instanceof GpuError) throw err;
        throw new GpuError(`GPU error in kernel ${this.lastKernel}: ${firstMeaningfulLine(String((err as Error)?.message ?? err), 'unknown error')}`);
      }
    };
    const read = backend.read.bind(backend);
    backend.read = async (dataId: unknown) => {
      this.check();
      let values: unknown;
      try {
        values = await read(dataId);
      } catch (err) {
        this.check();
        throw new GpuError(
          `GPU error reading the output of kernel ${this.lastKernel}: ${firstMeaningfulLine(String((err as Error)?.message ?? err), 'unknown error')}`,
        );
      }
      this.check();
      return values;
    };
    backend.readSync = () => {
      throw new Error(this.syncReadError);
    };
  }
}
