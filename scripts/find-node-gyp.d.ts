/** The node-gyp.js to run with Node, or null (scripts/find-node-gyp.js). */
export function findNodeGyp(): string | null;
