/**
 * Kamailio (Debian's `kamailio` package, its dispatcher module) for the endpoint's tests: started
 * in the foreground on 127.0.0.1 from dispatcher.cfg, in a temp dir of its own (config, dispatcher
 * list, pid file, runtime dir), and stopped with its whole process group.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '../sipp/sipp.js';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'dispatcher.cfg');
const MODULE = '/usr/lib/x86_64-linux-gnu/kamailio/modules/dispatcher.so';

/** True when a `kamailio` binary is on the PATH (and, on x86-64 Debian, its dispatcher module is there). */
export function haveKamailio(): boolean {
  try {
    const run = spawnSync('kamailio', ['-v'], { stdio: 'ignore', timeout: 5000 });
    if (run.error !== undefined || run.status !== 0) return false;
  } catch {
    return false;
  }
  return process.arch !== 'x64' || existsSync(MODULE);
}

/** The version line of `kamailio -v` (e.g. `kamailio 5.6.3 (x86_64/linux)`). */
export function kamailioVersion(): string {
  const out = spawnSync('kamailio', ['-v'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  return /^version:\s*(.*)$/m.exec(out)?.[1]?.trim() ?? 'unknown';
}

export type Kamailio = {
  /** Its SIP port on 127.0.0.1 (UDP). */
  readonly port: number;
  /** Everything it logged so far. */
  readonly log: string;
  /** Resolves once its log from offset `from` (a length of `log`) matches `pattern`; rejects after `deadlineMs`. */
  logged(pattern: RegExp, deadlineMs: number, from?: number): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL to its process group) and removes its temp dir. */
  close(): Promise<void>;
};

/** Starts Kamailio dispatching to the SIP endpoints at 127.0.0.1:`ports`; resolves once it answers OPTIONS. */
export async function startKamailio(ports: number[], deadlineMs = 20_000): Promise<Kamailio> {
  // The free port found may be taken before Kamailio binds it: then it exits, and another is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(ports, deadlineMs);
    } catch (error) {
      if (attempt === 3 || !(error instanceof ExitedEarly)) throw error;
    }
  }
}

class ExitedEarly extends Error {}

async function start(ports: number[], deadlineMs: number): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-kamailio-'));
  const port = await freeUdpPort();
  const list = join(dir, 'dispatcher.list');
  writeFileSync(list, ports.map((p) => `1 sip:127.0.0.1:${p}\n`).join(''));
  const config = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('@LISTEN@', `127.0.0.1:${port}`)
    .replaceAll('@LIST@', list)
    .replaceAll('@HOST@', '127.0.0.1');
  writeFileSync(join(dir, 'kamailio.cfg'), config);
  // -DD: no daemon (its worker processes still fork); -E: log to stderr; small shared and private memory.
  const args = ['-f', 'kamailio.cfg', '-DD', '-E', '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-m', '32', '-M', '4'];
  // A shell between us and Kamailio stops it once its stdin closes: when we close it, or when this
  // process dies without closing it. It leads a process group of its own, Kamailio's workers in it.
  const child = spawn('sh', ['-c', 'kamailio "$@" & k=$!; read _; kill $k; wait $k', 'sh', ...args], {
    cwd: dir,
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true,
  });
  child.stdin!.on('error', () => undefined);
  let log = '';
  const watchers = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => {
    log += chunk.toString('latin1');
    for (const watcher of watchers) watcher();
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let running = true;
  void exited.then(() => (running = false));
  // Kamailio itself gone (it could not bind, say): the shell's `read` still waits.
  const kamailioExited = () => /Thank you for flying kamailio|ERROR: <core>.*(bind|listen)/.test(log);

  // Kept whole (a test's calls log a few lines each), so offsets into it stay valid.
  const logged = (pattern: RegExp, deadline: number, from = 0) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(log.slice(from))) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Kamailio did not log ${String(pattern)} within ${deadline} ms; its log:\n${log}`));
      }, deadline);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });

  const close = async () => {
    if (running) {
      child.stdin!.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    // Whatever is left of the group (Kamailio not stopping in time) goes now.
    signal(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await answersOptions(port, deadlineMs, () => running && !kamailioExited());
  } catch (error) {
    await close();
    const message = `${(error as Error).message}; its log:\n${log}`;
    throw kamailioExited() ? new ExitedEarly(message) : new Error(message);
  }
  return {
    port,
    get log() {
      return log;
    },
    logged,
    close,
  };
}

/** Signals the process group `child` leads (spawned detached), ignoring one that is gone. */
function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, name);
  } catch {
    // Already gone.
  }
}

/** Sends OPTIONS to 127.0.0.1:port every 200 ms until a 200 comes back. */
async function answersOptions(port: number, deadlineMs: number, running: () => boolean): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const local = socket.address().port;
  let ok = false;
  socket.on('message', (data) => {
    if (/^SIP\/2\.0 200 /.test(data.toString('latin1'))) ok = true;
  });
  const end = performance.now() + deadlineMs;
  try {
    for (let n = 1; !ok; n++) {
      if (!running()) throw new Error('Kamailio exited');
      if (performance.now() > end) throw new Error(`Kamailio did not answer OPTIONS within ${deadlineMs} ms`);
      const options = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-ready-${process.pid}-${n};rport`,
        `From: <sip:test@127.0.0.1:${local}>;tag=ready${n}`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: ready-${process.pid}-${n}@127.0.0.1`,
        `CSeq: ${n} OPTIONS`,
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(Buffer.from(options, 'latin1'), port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    socket.close();
  }
}
