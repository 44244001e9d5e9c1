// `node --import ./register.mjs out/main/index.js`: the bundled Electron main process under plain
// Node, with `electron` resolved to electron.mjs here (see bundle.e2e.test.ts).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
