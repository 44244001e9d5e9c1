// `lamm serve [--port P] [--host H] [--db FILE] [--demo] [--no-auth]`: the app's UI over HTTP +
// WebSocket for machines without a screen. Prints the URL (with its token) and runs until
// interrupted. With --json, that line is one JSON object: {"url", "port", "token"}.
import { createRequire } from 'node:module';
import { optionalNumber, optionalString, type Command } from './args';
import { LammService } from '../api/service';
import { RENDERER_DIR, defaultStateDir } from '../api/app-paths';
import { DEFAULT_HOST, startServer } from '../server';
import type { EventName, LammEvents } from '../api/contract';

type AnyEvent = { [E in EventName]: { event: E; payload: LammEvents[E] } }[EventName];

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export const serve: Command = {
  usage: '[--port P] [--host 127.0.0.1] [--db FILE] [--demo] [--no-auth] [--json]',
  switches: ['demo', 'no-auth'],
  async run(args) {
    const port = optionalNumber(args, 'port', { integer: true, min: 0, max: 65535 }) ?? 0;
    const host = optionalString(args, 'host') ?? DEFAULT_HOST;
    const db = optionalString(args, 'db');
    const service = new LammService({ host: 'server', stateDir: defaultStateDir(), version });
    if (db) await service.openProject({ dbPath: db });
    else if (args.options.demo) {
      // The demo builds in the background; the UI shows its progress, the terminal its outcome.
      const { jobId } = service.openDemo();
      process.stderr.write(`lamm serve: preparing the demo project (job ${jobId})\n`);
      echoJob(service, jobId, 'demo');
    }
    const server = await startServer({ service, port, host, auth: !args.options['no-auth'], staticDir: RENDERER_DIR });
    if (args.options.json) process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, token: server.token })}\n`);
    else process.stdout.write(`LAMM Studio is running at ${server.url}\n(press Ctrl+C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await service.close();
    await server.close();
    return undefined;
  },
};

/** A background job's log lines and outcome on stderr, where whoever ran `npm start` looks. */
function echoJob(service: LammService, jobId: string, label: string): void {
  const say = (line: string) => process.stderr.write(`lamm serve: ${label}: ${line}\n`);
  const stop = service.hub.subscribe((event, payload) => {
    const e = { event, payload } as AnyEvent;
    if (e.event === 'job:log' && e.payload.jobId === jobId) say(e.payload.message);
    else if (e.event === 'job:done' && e.payload.jobId === jobId) {
      say('ready');
      stop();
    } else if (e.event === 'job:failed' && e.payload.jobId === jobId) {
      say(`failed: ${e.payload.message}`);
      stop();
    }
  });
}
