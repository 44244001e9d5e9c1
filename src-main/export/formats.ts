// The export formats (DESIGN §4), listed once: export.ts writes and reads each, the contract and
// the CLI accept these names. Plain data, so the renderer can read it through the contract.
export const EXPORT_FORMATS = ['safetensors', 'npy', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
