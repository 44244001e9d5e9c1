// Defaults of the engine's reports, plain data without imports so the CLI and the UI (through
// the contract) start from the same ones.

/** Nearest vocabulary tokens shown per learned label token (lamm neighbours, Inspect). */
export const DEFAULT_NEIGHBOURS = 10;
