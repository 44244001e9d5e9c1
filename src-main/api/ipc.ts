// What the Electron preload exposes as `window.lamm`, and the channel names main and preload
// share. No Node or Electron imports: the preload bundle and the renderer both read this.
/** A response without the envelope's id/type: IPC's invoke already pairs it with its request. */
export type BridgeResponse = { ok: true; result: unknown } | { ok: false; error: string };

export const IPC_CALL = 'lamm:call';
export const IPC_EVENT = 'lamm:event';
/** Custom protocol for thumbnails in Electron: lamm-thumb://image/<imageId>. */
export const THUMB_SCHEME = 'lamm-thumb';

export interface LammBridge {
  /** Always resolves: failures come back as `ok: false` so the message survives IPC intact. */
  request(method: string, params: unknown): Promise<BridgeResponse>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
  thumbUrl(imageId: number): string;
}

export function thumbUrlFor(imageId: number): string {
  return `${THUMB_SCHEME}://image/${imageId}`;
}
