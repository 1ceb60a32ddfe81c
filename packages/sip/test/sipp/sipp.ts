/**
 * Test helpers around sipp: free ports, a pcap writer (sipp's `play_pcap_audio` replays the RTP
 * of a capture), and a runner that resolves with sipp's exit code and output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIOS = dirname(fileURLToPath(import.meta.url));

/** True when a `sipp` binary is on the PATH. */
export function haveSipp(): boolean {
  try {
    return spawnSync('sipp', ['-v'], { stdio: 'ignore', timeout: 5000 }).error === undefined;
  } catch {
    return false;
  }
}

/** sipp's `play_pcap_audio` sends through a raw socket: root (or CAP_NET_RAW) only. */
export function canPlayPcap(): boolean {
  return process.getuid?.() === 0;
}

/** A UDP port nobody uses right now, with `span` free ports from it (even when `even`). */
export async function freeUdpPort(span = 1, even = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = createSocket('udp4');
    const base = await new Promise<number>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(0, '127.0.0.1', () => resolve(probe.address().port));
    });
    probe.close();
    const start = even && base % 2 === 1 ? base + 1 : base;
    if (start + span > 65535) continue;
    const sockets = [];
    let ok = true;
    for (let i = 0; i < span; i++) {
      const socket = createSocket('udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(start + i, '127.0.0.1', () => resolve());
        });
        sockets.push(socket);
      } catch {
        ok = false;
        socket.close();
        break;
      }
    }
    for (const socket of sockets) socket.close();
    if (ok) return start;
  }
  throw new Error('no free UDP port');
}

/** One UDP payload of a capture, at `atMs` from its start. */
export type PcapPacket = { atMs: number; payload: Uint8Array };

/** A classic pcap (Ethernet, IPv4, UDP 127.0.0.1:srcPort → 127.0.0.1:dstPort) of the payloads. */
export function writePcap(packets: PcapPacket[], srcPort = 40000, dstPort = 40002): Uint8Array {
  const records: Uint8Array[] = [];
  const header = new Uint8Array(24);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, 0xa1b2c3d4, true);
  hv.setUint16(4, 2, true);
  hv.setUint16(6, 4, true);
  hv.setUint32(16, 65535, true);
  hv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  records.push(header);
  for (const [index, packet] of packets.entries()) {
    const udpLength = 8 + packet.payload.byteLength;
    const ipLength = 20 + udpLength;
    const frame = new Uint8Array(14 + ipLength);
    const fv = new DataView(frame.buffer);
    fv.setUint16(12, 0x0800); // IPv4
    frame[14] = 0x45;
    fv.setUint16(16, ipLength);
    fv.setUint16(18, index & 0xffff);
    frame[22] = 64; // TTL
    frame[23] = 17; // UDP
    frame.set([127, 0, 0, 1], 26);
    frame.set([127, 0, 0, 1], 30);
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += fv.getUint16(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    fv.setUint16(24, ~sum & 0xffff);
    fv.setUint16(34, srcPort);
    fv.setUint16(36, dstPort);
    fv.setUint16(38, udpLength);
    frame.set(packet.payload, 42);
    const record = new Uint8Array(16);
    const rv = new DataView(record.buffer);
    const micros = Math.round(packet.atMs * 1000);
    rv.setUint32(0, Math.floor(micros / 1e6), true);
    rv.setUint32(4, micros % 1e6, true);
    rv.setUint32(8, frame.byteLength, true);
    rv.setUint32(12, frame.byteLength, true);
    records.push(record, frame);
  }
  const total = records.reduce((n, r) => n + r.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const r of records) {
    out.set(r, offset);
    offset += r.byteLength;
  }
  return out;
}

export type SippRun = {
  code: number | null;
  stdout: string;
  stderr: string;
  errors: string;
  messages: string;
  durationMs: number;
};

export type SippOptions = {
  /** Scenario file name in test/sipp/. */
  scenario: string;
  /** The endpoint's SIP port on 127.0.0.1. */
  port: number;
  transport?: 'udp' | 'tcp';
  /** Files to put next to the scenario (a pcap), by name. */
  files?: Record<string, Uint8Array>;
  /** Duration of `<pause/>` elements without their own, ms. */
  pauseMs?: number;
  /** `-key name value` pairs for the scenario's `[name]` keywords. */
  keys?: Record<string, string>;
  /** Extra sipp arguments. */
  args?: string[];
  /** Give up after this long, s. Default 60. */
  timeoutS?: number;
};

/** Runs one sipp call (`-m 1`) against 127.0.0.1:port; resolves when sipp exits. */
export async function runSipp(options: SippOptions): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-sipp-'));
  copyFileSync(join(SCENARIOS, options.scenario), join(dir, options.scenario));
  for (const [name, bytes] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), bytes);
  const localPort = await freeUdpPort();
  const mediaPort = await freeUdpPort(4, true);
  const args = [
    `127.0.0.1:${options.port}`,
    '-sf',
    options.scenario,
    '-m',
    '1',
    '-i',
    '127.0.0.1',
    '-p',
    String(localPort),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(mediaPort),
    '-t',
    options.transport === 'tcp' ? 't1' : 'u1',
    '-s',
    'agent',
    '-d',
    String(options.pauseMs ?? 0),
    '-timeout',
    `${options.timeoutS ?? 60}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file',
    join(dir, 'errors.log'),
    '-trace_msg',
    '-message_file',
    join(dir, 'messages.log'),
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
    ...(options.args ?? []),
  ];
  const started = performance.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout = (stdout + chunk.toString('latin1')).slice(-20_000);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('latin1')).slice(-20_000);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('exit', (exitCode) => resolve(exitCode));
  });
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'latin1');
    } catch {
      return '';
    }
  };
  const run = {
    code,
    stdout,
    stderr,
    errors: read('errors.log'),
    messages: read('messages.log'),
    durationMs: performance.now() - started,
  };
  rmSync(dir, { recursive: true, force: true });
  return run;
}
