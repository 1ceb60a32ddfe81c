/**
 * A driver for baresip (the Debian package) as a SIP caller in tests: each instance gets a
 * temporary config folder (config, accounts, contacts), loads only file-based and bridge audio
 * modules (no sound card), and is steered over its ctrl_tcp socket (netstring-framed JSON
 * commands, responses and call events).
 *
 * Audio per account: `aufile` plays a WAV (8 kHz mono S16) as the microphone (silence unless a
 * test gives one; baresip 1.0's `ausine` only makes 48 kHz stereo, which G.711 calls refuse);
 * `aubridge` connects one call's loudspeaker to another call's microphone inside the same
 * process, which is how a test hears what baresip decoded (baresip 1.0 has no file recorder
 * among the modules Debian ships).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '@switchboard/core';

/** True when a `baresip` binary is on the PATH. */
export function haveBaresip(): boolean {
  try {
    const run = spawnSync('baresip', ['-h'], { stdio: 'ignore', timeout: 5000 });
    return run.error === undefined;
  } catch {
    return false;
  }
}

/**
 * Why the baresip tests cannot run here, or undefined when they can. On CI (`CI=true`) a missing
 * binary is an error, never a skip: `.ci/run` installs the package.
 */
export function baresipSkipReason(): string | undefined {
  if (haveBaresip()) return undefined;
  if (process.env['CI'] === 'true') {
    throw new Error(
      'CI: the baresip interop tests need baresip (Debian package `baresip`, installed by .ci/run), and it is not on the PATH',
    );
  }
  const reason = 'no baresip on the PATH (apt-get install baresip)';
  console.warn(`baresip interop tests skipped: ${reason}`);
  return reason;
}

/** A describe title that says why it was skipped, when it was. */
export function titled(title: string, skipReason: string | undefined): string {
  return skipReason ? `${title} (skipped: ${skipReason})` : title;
}

export type BaresipAudioSource = { wav: string } | { bridge: string };

export type BaresipAccount = {
  /** User part of the account's address, also the digest user name. */
  user: string;
  /** `host:port` of the account's domain (the endpoint). */
  domain: string;
  /** Digest password, answered to a 401. */
  password?: string;
  /** Codecs offered, in order (`PCMU`, `PCMA`). Default: every codec loaded. */
  codecs?: Array<'PCMU' | 'PCMA'>;
  /** The microphone. Default: two minutes of silence. */
  source?: BaresipAudioSource;
  /** The loudspeaker: an aubridge device name. Default: a bridge device nobody reads. */
  playerBridge?: string;
  /** Accept a REFER (RFC 3515) and place the call it asks for. Default false (baresip answers 501). */
  callTransfer?: boolean;
};

export type BaresipEvent = {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  /** The call's SIP Call-ID. */
  id?: string;
  param?: string;
  [key: string]: unknown;
};

export type BaresipResponse = { ok: boolean; data: string };

export type BaresipOptions = {
  accounts: BaresipAccount[];
  /** Print SIP messages to stdout (`-s`), readable as `output`. */
  sipTrace?: boolean;
  /** Safety net: baresip quits by itself after this many seconds. Default 120. */
  quitAfterS?: number;
  /** The SIP port it listens on (UDP and TCP), for calls to it. Default: any free one. */
  sipPort?: number;
};

const OUTPUT_LIMIT = 2_000_000;

/** A free TCP port on 127.0.0.1 right now. */
export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accountLine(account: BaresipAccount, silence: string): string {
  const params = [
    'regint=0',
    'answermode=manual',
    'mwi=no',
    `call_transfer=${account.callTransfer ? 'yes' : 'no'}`,
    'ptime=20',
  ];
  if (account.password !== undefined) params.push(`auth_pass=${account.password}`);
  if (account.codecs) params.push(`audio_codecs=${account.codecs.join(',')}`);
  const source = account.source ?? { wav: silence };
  if ('wav' in source) params.push(`audio_source=aufile,${source.wav}`);
  else params.push(`audio_source=aubridge,${source.bridge}`);
  params.push(`audio_player=aubridge,${account.playerBridge ?? `sink-${account.user}`}`);
  return `<sip:${account.user}@${account.domain}>;${params.join(';')}`;
}

function configText(ctrlPort: number, silence: string, sipPort = 0): string {
  return [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    'net_interface 127.0.0.1',
    'audio_player aubridge,nowhere',
    `audio_source aufile,${silence}`,
    'audio_alert aubridge,nowhere',
    'rtp_ports 40000-49999',
    // No RTP jitter buffer: on 127.0.0.1 nothing is reordered, and a jitter buffer keeps the last
    // packets of a talkspurt until the next one comes (they would never be heard).
    'jitter_buffer_delay 0-0',
    // Room for 2 s of received audio: a busy machine delays the thread that reads it, which then
    // catches up; a small buffer would drop what it cannot hold meanwhile.
    'audio_buffer 20-2000',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module aubridge.so',
    'module_app account.so',
    'module_app menu.so',
    'module ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n');
}

/** Polls `condition` until it holds, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string | (() => string),
  condition: () => T | undefined | false | null,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export class Baresip {
  readonly dir: string;
  readonly events: BaresipEvent[] = [];
  #output = '';
  #child: ChildProcess | undefined;
  #socket: Socket | undefined;
  #buffer = Buffer.alloc(0);
  #token = 0;
  #pending = new Map<string, (response: BaresipResponse) => void>();
  #exited: Promise<number | null> = Promise.resolve(null);
  #exitCode: number | null | undefined;
  /** Commands answer in order: one at a time keeps `uafind` and the command after it together. */
  #queue: Promise<unknown> = Promise.resolve();
  #accounts: BaresipAccount[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** What baresip printed (stdout and stderr), for failure messages and the SIP trace. */
  get output(): string {
    return this.#output;
  }

  /** Exit code once it exited, else undefined. */
  get exitCode(): number | null | undefined {
    return this.#exitCode;
  }

  /** Writes a config folder for `options.accounts` and starts baresip on it. */
  static async start(options: BaresipOptions): Promise<Baresip> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const instance = new Baresip(mkdtempSync(join(tmpdir(), 'baresip-')));
      try {
        await instance.#launch(options);
        return instance;
      } catch (error) {
        lastError = error;
        await instance.stop();
      }
    }
    throw lastError;
  }

  async #launch(options: BaresipOptions): Promise<void> {
    this.#accounts = options.accounts;
    const ctrlPort = await freeTcpPort();
    // aufile ends a call at the end of its file: two minutes outlast any test.
    const silence = join(this.dir, 'silence.wav');
    writeWav(silence, new Int16Array(8000 * 120));
    writeFileSync(join(this.dir, 'config'), configText(ctrlPort, silence, options.sipPort));
    writeFileSync(
      join(this.dir, 'accounts'),
      options.accounts.map((account) => accountLine(account, silence)).join('\n') + '\n',
    );
    writeFileSync(join(this.dir, 'contacts'), '');
    const args = ['-f', this.dir, '-t', String(options.quitAfterS ?? 120)];
    if (options.sipTrace) args.push('-s');
    const child = spawn('baresip', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const append = (chunk: Buffer) => {
      if (this.#output.length < OUTPUT_LIMIT) this.#output += chunk.toString('utf8');
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.#output += `\n[spawn error: ${error.message}]`;
        this.#exitCode = null;
        resolve(null);
      });
      child.once('exit', (code) => {
        this.#exitCode = code;
        resolve(code);
      });
    });
    // Ready once its control socket accepts a connection.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.#exitCode !== undefined)
        throw new Error(
          `baresip exited (${String(this.#exitCode)}) before it was ready:\n${this.#output.slice(-3000)}`,
        );
      try {
        this.#socket = await new Promise<Socket>((resolve, reject) => {
          const socket = createConnection({ host: '127.0.0.1', port: ctrlPort }, () => resolve(socket));
          socket.once('error', reject);
        });
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`baresip's control socket never opened:\n${this.#output.slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', () => undefined);
    // The socket is accepted only once baresip's main loop runs; a command's answer proves it.
    await this.command('listcalls');
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.#buffer.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(length) || length < 0) {
        this.#buffer = Buffer.alloc(0);
        return;
      }
      if (this.#buffer.length < colon + 1 + length + 1) return;
      const body = this.#buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(colon + 1 + length + 1);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(body) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (message['response'] === true) {
        const token = String(message['token'] ?? '');
        const resolve = this.#pending.get(token);
        this.#pending.delete(token);
        resolve?.({ ok: message['ok'] === true, data: String(message['data'] ?? '') });
      } else if (message['event'] !== undefined) {
        this.events.push(message as BaresipEvent);
      }
    }
  }

  /** Runs a baresip command (`dial sip:…`, `hangup`, `hold`, …) and resolves with its answer. */
  command(command: string, params?: string): Promise<BaresipResponse> {
    const run = async (): Promise<BaresipResponse> => {
      const socket = this.#socket;
      if (!socket || socket.destroyed) throw new Error('baresip is not running');
      const token = `t${++this.#token}`;
      const json = JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token });
      const answer = new Promise<BaresipResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#pending.delete(token);
          reject(new Error(`baresip did not answer \`${command}\` within 20 s:\n${this.#output.slice(-3000)}`));
        }, 20_000);
        this.#pending.set(token, (response) => {
          clearTimeout(timer);
          resolve(response);
        });
      });
      socket.write(`${Buffer.byteLength(json)}:${json},`);
      return answer;
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Makes the account with this user the current one, then runs `command`. */
  async as(user: string, command: string, params?: string): Promise<BaresipResponse> {
    const found = await this.command('uafind', this.#aorOf(user));
    if (!found.ok) throw new Error(`baresip has no account ${user}: ${found.data}`);
    return this.command(command, params);
  }

  #aorOf(user: string): string {
    const match = this.events.find((e) => typeof e.accountaor === 'string' && e.accountaor.startsWith(`sip:${user}@`));
    if (match) return match.accountaor!;
    const account = this.#accounts.find((a) => a.user === user);
    if (!account) throw new Error(`no account ${user}`);
    return `sip:${account.user}@${account.domain}`;
  }

  /** Dials `uri` from the account `user`; resolves once baresip accepted the command. */
  async dial(user: string, uri: string): Promise<void> {
    const answer = await this.as(user, 'dial', uri);
    if (!answer.ok) throw new Error(`baresip refused to dial ${uri}: ${answer.data}`);
  }

  /**
   * The first event of `type` for the account `user` (matching `extra` too), once it came; or
   * the first of the types in `orElse`, if one of those comes first (a call that failed).
   */
  waitForEvent(
    user: string,
    type: string,
    timeoutMs = 30_000,
    extra: (event: BaresipEvent) => boolean = () => true,
    orElse: string[] = [],
  ): Promise<BaresipEvent> {
    const types = [type, ...orElse];
    return waitFor(
      () =>
        `baresip event ${type} for ${user} (events so far: ${this.events.map((e) => `${String(e.accountaor)} ${e.type} ${e.param ?? ''}`).join('; ')})\n${this.#output.slice(-4000)}`,
      () =>
        this.events.find(
          (e) =>
            types.includes(e.type) &&
            typeof e.accountaor === 'string' &&
            e.accountaor.startsWith(`sip:${user}@`) &&
            (e.type !== type || extra(e)),
        ),
      timeoutMs,
    );
  }

  /** Stops baresip (SIGTERM, then SIGKILL) and removes its folder. */
  async stop(): Promise<void> {
    this.#socket?.destroy();
    const child = this.#child;
    if (child && this.#exitCode === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(killer);
    }
    for (const resolve of this.#pending.values()) resolve({ ok: false, data: 'stopped' });
    this.#pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writes 16-bit mono PCM as a WAV file (aufile wants the codec's rate: 8000 Hz for G.711). */
export function writeWav(path: string, samples: Int16Array, sampleRate = 8000): void {
  writeFileSync(path, encodeWav(samples, sampleRate));
}

/**
 * A caller's test signal at 8 kHz: `leadMs` of silence, a rising chirp of `toneMs` (300 → 1800
 * Hz, about -10 dBFS), then silence up to `totalMs`.
 */
export function chirp(options: { leadMs?: number; toneMs?: number; totalMs: number; sampleRate?: number }): Int16Array {
  const rate = options.sampleRate ?? 8000;
  const lead = Math.round(((options.leadMs ?? 200) * rate) / 1000);
  const tone = Math.round(((options.toneMs ?? 800) * rate) / 1000);
  const out = new Int16Array(Math.round((options.totalMs * rate) / 1000));
  const f0 = 300;
  const f1 = 1800;
  const seconds = tone / rate;
  for (let i = 0; i < tone && lead + i < out.length; i++) {
    const t = i / rate;
    const phase = 2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * seconds));
    // 10 ms fades at both ends: no click for the VAD or the codec to remember.
    const fade = Math.min(1, i / (rate / 100), (tone - i) / (rate / 100));
    out[lead + i] = Math.round(10_000 * fade * Math.sin(phase));
  }
  return out;
}
