#!/usr/bin/env node
// Entry of the `lamm` CLI. Runs the TypeScript engine through tsx, so a checkout works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
