// `lamm doctor [--json]` (DESIGN §5): which backends load here, why the others do not and how
// to fix that, the WebGPU adapters found, and what the automatic order picks.
import { doctor as runDoctor, printDoctor, type DoctorReport } from '../doctor';
import type { Command } from './args';

export const doctor: Command = {
  usage: '[--json]',
  run: () => runDoctor(),
  print: (r: DoctorReport) => printDoctor(r),
};
