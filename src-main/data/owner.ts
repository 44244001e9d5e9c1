// Which process owns a piece of work in a project (a run, an import), and whether that
// process still lives. A pid alone is not enough: pids are reused, and after a reboot any pid
// may belong to someone else. So the owner is (host, pid, start), where `start` is the
// process's start time as the OS reports it (on Linux the boot id plus the start tick from
// /proc, elsewhere `ps -o lstart`); a live pid whose start differs is another process.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProcessOwner {
  host: string;
  pid: number;
  /** The OS's start stamp of the process; '' where the OS tells us none (then the pid alone decides). */
  start: string;
}

let self: ProcessOwner | null = null;

/** This process. */
export function currentOwner(): ProcessOwner {
  self ??= { host: os.hostname(), pid: process.pid, start: processStart(process.pid) || '' };
  return self;
}

/**
 * False when the owner is certainly gone (no such process, a zombie, or another process with
 * its pid); true when it lives or cannot be checked from here (another host).
 */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  const me = currentOwner();
  if (owner.pid === me.pid) return owner.start === me.start;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  if (owner.start === '') return true;
  const start = processStart(owner.pid);
  return start === null || start === owner.start;
}

/** The OS's start stamp of `pid`; false when it is gone or a zombie; null when the OS gives us no way to tell. */
function processStart(pid: number): string | false | null {
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
      // The command name (field 2) may hold spaces and parentheses: fields after the last ')' are plain.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') return false;
      return `${bootId()}:${fields[19]}`;
    } catch {
      return false;
    }
  }
  if (process.platform === 'win32') return null;
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return out || null;
  } catch {
    return null; // no ps here: the pid alone decides
  }
}

let boot: string | null = null;
function bootId(): string {
  try {
    boot ??= fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch {
    boot = '';
  }
  return boot;
}

/** A short, file-name-safe tag of an owner, carried by the temp files it writes. */
export function ownerTag(owner: ProcessOwner): string {
  return `${owner.pid}-${crypto.createHash('sha256').update(`${owner.host}\0${owner.start}`).digest('hex').slice(0, 8)}`;
}

let tempCounter = 0;

/** A temp path beside `file` for this process to write and rename over `file`; unique per call. */
export function ownedTempPath(file: string): string {
  return `${file}.${ownerTag(currentOwner())}-${++tempCounter}.tmp`;
}

/** Removes the temp files `owner` left in `dir` and its subfolders (one level down); returns how many. */
export function removeTempFiles(dir: string, owner: ProcessOwner): number {
  const marker = `.${ownerTag(owner)}-`;
  let removed = 0;
  const sweep = (folder: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // no folder yet: nothing was written
    }
    for (const e of entries) {
      const full = path.join(folder, e.name);
      if (e.isDirectory() && depth > 0) sweep(full, depth - 1);
      else if (e.isFile() && e.name.endsWith('.tmp') && e.name.includes(marker)) {
        fs.rmSync(full, { force: true });
        removed++;
      }
    }
  };
  sweep(dir, 1);
  return removed;
}
