// The one request/response + event mechanism under every adapter. A transport moves messages
// (IPC, WebSocket); this file turns the contract's maps into a typed client on one side and
// into calls on the service on the other, with no per-method code anywhere.
import type { z } from 'zod';
import { METHODS, METHOD_NAMES, type EventName, type LammApi, type LammEvents, type LammHandlers, type MethodName } from './contract';
import { firstLine } from '../errors';

export interface RequestMessage {
  type: 'request';
  id: number;
  method: string;
  params: unknown;
}

export type ResponseMessage = { type: 'response'; id: number; ok: true; result: unknown } | { type: 'response'; id: number; ok: false; error: string };

export interface EventMessage {
  type: 'event';
  event: string;
  payload: unknown;
}

export type ServerMessage = ResponseMessage | EventMessage;

/** A request's failure as the caller sees it: the service's one-line message. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly method: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

const METHOD_SET: ReadonlySet<string> = new Set(METHOD_NAMES);

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && METHOD_SET.has(name);
}

/** The first line of an error, which is what users see. */
export function errorMessage(err: unknown): string {
  return firstLine(err) || 'unknown error';
}

// ---------- server side ----------

/**
 * Runs one request against the handlers; never throws (errors become `ok: false`). Parameters
 * are parsed with the method's schema from the contract first, so a handler only ever sees
 * what its type says; this is the one place every adapter passes through.
 */
export async function dispatch(handlers: LammHandlers, msg: RequestMessage): Promise<ResponseMessage> {
  if (!isMethodName(msg.method)) return { type: 'response', id: msg.id, ok: false, error: `unknown method "${String(msg.method)}"` };
  const parsed = METHODS[msg.method].params.safeParse(msg.params);
  if (!parsed.success) return { type: 'response', id: msg.id, ok: false, error: `${msg.method}: ${describeIssue(parsed.error.issues[0])}` };
  try {
    const handler = handlers[msg.method] as (this: LammHandlers, params: unknown) => unknown;
    const result = await handler.call(handlers, parsed.data);
    return { type: 'response', id: msg.id, ok: true, result: result ?? null };
  } catch (err) {
    return { type: 'response', id: msg.id, ok: false, error: errorMessage(err) };
  }
}

/** `lambdas.kd: expected number, received string`: where, then what (zod's words, one line). */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid parameters';
  const where = issue.path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');
  const what = firstLine(issue.message.replace(/^Invalid (input|option): /, '').replace(/^Unrecognized key/, 'unrecognized key'));
  return where ? `${where}: ${what}` : what;
}

export type EventListener = <E extends EventName>(event: E, payload: LammEvents[E]) => void;

/** A tiny typed event hub: the service emits, each connected adapter listens. */
export class EventHub {
  private readonly listeners = new Set<EventListener>();

  emit<E extends EventName>(event: E, payload: LammEvents[E]): void {
    for (const l of this.listeners) {
      try {
        l(event, payload);
      } catch {
        // A broken connection must not stop the others from hearing the event.
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// ---------- client side ----------

/** What a client needs from its connection: send a request, hear events. */
export interface ClientTransport {
  request(method: MethodName, params: unknown): Promise<unknown>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
}

/** The typed `LammApi` over any transport: a Proxy maps `api.x(params)` to `request('x', params)`. */
export function createClient(transport: ClientTransport): LammApi {
  const handlers = new Map<string, Set<(payload: unknown) => void>>();
  transport.onEvent((event, payload) => {
    for (const h of handlers.get(event) ?? []) h(payload);
  });
  const on = (event: string, handler: (payload: unknown) => void) => {
    const set = handlers.get(event) ?? new Set();
    handlers.set(event, set);
    set.add(handler);
    return () => set.delete(handler);
  };
  return new Proxy({} as LammApi, {
    get(_target, prop) {
      if (prop === 'on') return on;
      if (!isMethodName(prop)) return undefined;
      return (params?: unknown) => transport.request(prop, params);
    },
  });
}

/**
 * A client transport over a message pipe (WebSocket): numbers requests, matches responses,
 * and fails pending requests when the pipe closes so no caller waits forever.
 */
export class MessageClientTransport implements ClientTransport {
  private nextId = 1;
  private readonly pending = new Map<number, { method: string; resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Set<(event: string, payload: unknown) => void>();

  constructor(private readonly send: (msg: RequestMessage) => void) {}

  request(method: MethodName, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      try {
        this.send({ type: 'request', id, method, params: params ?? null });
      } catch (err) {
        this.pending.delete(id);
        reject(new RemoteError(errorMessage(err), method));
      }
    });
  }

  onEvent(listener: (event: string, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Feed every message that arrives from the server. */
  receive(msg: ServerMessage): void {
    if (msg.type === 'event') {
      for (const l of this.listeners) l(msg.event, msg.payload);
      return;
    }
    const waiting = this.pending.get(msg.id);
    if (!waiting) return;
    this.pending.delete(msg.id);
    if (msg.ok) waiting.resolve(msg.result);
    else waiting.reject(new RemoteError(msg.error, waiting.method));
  }

  /** The pipe closed: every waiting call fails with a readable reason. */
  failAll(reason: string): void {
    for (const [id, w] of this.pending) {
      this.pending.delete(id);
      w.reject(new RemoteError(reason, w.method));
    }
  }
}
