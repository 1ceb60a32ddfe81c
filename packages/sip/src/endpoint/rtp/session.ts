/**
 * One call's RTP over UDP as a core `MediaConnection`: I/O only. Binary frames are RTP (and RTCP
 * on the next port, or multiplexed); text frames carry the dialog's SIP requests, which the call
 * hands in with {@link RtpSession.deliver}.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { MediaConnection, MediaFrame } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';

const log = logger('sip:rtp');

export type RtpPortRange = { min: number; max: number };

export type RtpSessionOptions = {
  /** Address to bind. Default `0.0.0.0`. */
  host?: string;
  /** Even ports to pick from (RTP on the even port, RTCP on the next). Default 10000–20000. */
  ports?: RtpPortRange;
  /**
   * Follow the far end to the address its RTP actually comes from (symmetric RTP, for phones
   * behind NAT). Default true.
   */
  latch?: boolean;
  /** Other addresses RTP may come from besides the SDP's (the SIP peer's, typically). */
  trustedAddresses?: string[];
};

export type RtpSessionCounters = {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Packets from addresses the session does not expect (dropped). */
  foreignDropped: number;
  /** Packets that could not be sent: no remote address yet, or the socket failed. */
  unsent: number;
  rtcpIn: number;
};

const BIND_ATTEMPTS = 50;

function unmapped(address: string): string {
  return address.replace(/^::ffff:/i, '');
}

/**
 * The address families a session bound to `host` can send to: IPv4 from an IPv4 address (or a
 * name), IPv6 from a specific IPv6 address, both from `::` (IPv4 through mapped addresses).
 */
export function rtpFamilies(host: string): ReadonlySet<4 | 6> {
  if (!isIPv6(host)) return new Set([4]);
  // `::` (every address, IPv4 included unless the system makes IPv6 sockets IPv6-only).
  return new Set(/^[0:]+$/.test(host) ? [4, 6] : [6]);
}

/** Binds a UDP socket; rejects on failure. */
function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    socket.once('error', onError);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export class RtpSession implements MediaConnection {
  readonly counters: RtpSessionCounters = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    foreignDropped: 0,
    unsent: 0,
    rtcpIn: 0,
  };
  readonly #rtp: Socket;
  readonly #rtcp: Socket | undefined;
  /** An IPv6 socket: IPv4 destinations go as IPv4-mapped addresses. */
  readonly #ipv6: boolean;
  readonly #latch: boolean;
  readonly #trusted: Set<string>;
  #remote: { address: string; port: number } | undefined;
  #latched = false;
  #closed = false;
  readonly #messageHandlers = new Set<(frame: MediaFrame) => void>();
  readonly #closeHandlers = new Set<(code?: number, reason?: string) => void>();
  readonly #errorHandlers = new Set<(error: unknown) => void>();
  readonly #rtcpHandlers = new Set<() => void>();

  private constructor(rtp: Socket, rtcp: Socket | undefined, options: RtpSessionOptions) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.#ipv6 = rtp.address().family === 'IPv6';
    this.#latch = options.latch ?? true;
    this.#trusted = new Set((options.trustedAddresses ?? []).map(unmapped));
    rtp.on('message', (data, rinfo) => this.#onPacket(data, rinfo, false));
    rtp.on('error', (error) => this.#onError(error));
    rtcp?.on('message', (data, rinfo) => this.#onPacket(data, rinfo, true));
    rtcp?.on('error', (error) => log('rtcp socket error: %s', error.message));
  }

  /** Binds an RTP socket on a free even port of the range, and RTCP on the port after it. */
  static async open(options: RtpSessionOptions = {}): Promise<RtpSession> {
    const host = options.host ?? '0.0.0.0';
    const type = isIPv6(host) ? 'udp6' : 'udp4';
    const { min, max } = options.ports ?? { min: 10000, max: 20000 };
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1024 && max <= 65535 && max > min)) {
      throw new RangeError(`RTP port range must be whole numbers within 1024–65535, got ${min}–${max}`);
    }
    const first = min % 2 === 0 ? min : min + 1;
    const slots = Math.floor((max - first) / 2) + 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = first + 2 * Math.floor(Math.random() * slots);
      if (port + 1 > 65535) continue;
      const rtp = createSocket({ type });
      try {
        await bind(rtp, port, host);
      } catch (error) {
        lastError = error;
        rtp.close();
        continue;
      }
      const rtcp = createSocket({ type });
      try {
        await bind(rtcp, port + 1, host);
      } catch (error) {
        lastError = error;
        rtp.close();
        rtcp.close();
        continue;
      }
      return new RtpSession(rtp, rtcp, options);
    }
    throw new Error(`no free RTP port pair in ${min}–${max}: ${(lastError as Error)?.message ?? 'all taken'}`);
  }

  /** The local RTP port (RTCP is the next one). */
  get localPort(): number {
    return this.#rtp.address().port;
  }

  get remote(): { address: string; port: number } | undefined {
    return this.#remote ? { ...this.#remote } : undefined;
  }

  /** Where RTP goes (from the SDP); undefined holds the stream (nothing is sent). */
  setRemote(remote: { address: string; port: number } | undefined): void {
    this.#remote = remote ? { address: unmapped(remote.address), port: remote.port } : undefined;
    this.#latched = false;
  }

  /** Another address RTP may legitimately come from (the SIP peer's). */
  trust(address: string): void {
    this.#trusted.add(unmapped(address));
  }

  /** Hands a frame to the listeners as if it had arrived (the dialog's SIP requests). */
  deliver(frame: MediaFrame): void {
    if (this.#closed) return;
    this.#emit(frame);
  }

  // MediaConnection

  send(frame: MediaFrame): void {
    if (this.#closed || typeof frame === 'string') return;
    const remote = this.#remote;
    if (!remote) {
      this.counters.unsent++;
      return;
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += frame.byteLength;
    const address = this.#ipv6 && isIPv4(remote.address) ? `::ffff:${remote.address}` : remote.address;
    this.#rtp.send(frame, remote.port, address, (error) => {
      if (error) {
        this.counters.unsent++;
        log('rtp send failed: %s', error.message);
      }
    });
  }

  onMessage(handler: (frame: MediaFrame) => void): () => void {
    this.#messageHandlers.add(handler);
    return () => this.#messageHandlers.delete(handler);
  }

  onClose(handler: (code?: number, reason?: string) => void): () => void {
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  onError(handler: (error: unknown) => void): () => void {
    this.#errorHandlers.add(handler);
    return () => this.#errorHandlers.delete(handler);
  }

  /**
   * Called for each RTCP packet from the far end (on the RTCP port). RTCP is what a WebSocket's
   * pong is to the transport: the far end is there although no media comes (a caller whose
   * phone suppresses silence still reports every few seconds), so the transport's idle timeout,
   * the endpoint's RTP timeout, hears it. RTCP multiplexed on the RTP port arrives as a frame.
   */
  onPong(handler: () => void): () => void {
    this.#rtcpHandlers.add(handler);
    return () => this.#rtcpHandlers.delete(handler);
  }

  close(code?: number, reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of [this.#rtp, this.#rtcp]) {
      try {
        socket?.close();
      } catch {
        // Already closed.
      }
    }
    for (const handler of [...this.#closeHandlers]) {
      try {
        handler(code, reason);
      } catch (error) {
        log('close handler failed: %s', (error as Error)?.message);
      }
    }
    this.#messageHandlers.clear();
    this.#closeHandlers.clear();
    this.#errorHandlers.clear();
    this.#rtcpHandlers.clear();
  }

  get bufferedAmount(): number {
    return 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Listeners attached (for leak checks). */
  get listenerCount(): number {
    return this.#messageHandlers.size + this.#closeHandlers.size + this.#errorHandlers.size + this.#rtcpHandlers.size;
  }

  #onPacket(data: Buffer, rinfo: RemoteInfo, rtcp: boolean): void {
    if (this.#closed) return;
    const address = unmapped(rinfo.address);
    const remote = this.#remote;
    const expected = remote !== undefined && address === remote.address;
    if (!expected && !this.#trusted.has(address)) {
      this.counters.foreignDropped++;
      return;
    }
    if (rtcp) {
      this.counters.rtcpIn++;
      for (const handler of [...this.#rtcpHandlers]) {
        try {
          handler();
        } catch (error) {
          log('rtcp handler failed: %s', (error as Error)?.message);
        }
      }
      return;
    }
    if (this.#latch && !this.#latched && (!remote || remote.address !== address || remote.port !== rinfo.port)) {
      // Symmetric RTP: answer where the audio comes from.
      log('rtp latched to %s:%d', address, rinfo.port);
      this.#remote = { address, port: rinfo.port };
    }
    this.#latched = true;
    this.counters.packetsIn++;
    this.counters.bytesIn += data.byteLength;
    this.#emit(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  #emit(frame: MediaFrame): void {
    for (const handler of [...this.#messageHandlers]) {
      try {
        handler(frame);
      } catch (error) {
        log('message handler failed: %s', (error as Error)?.message);
      }
    }
  }

  #onError(error: unknown): void {
    log('rtp socket error: %s', (error as Error)?.message);
    for (const handler of [...this.#errorHandlers]) {
      try {
        handler(error);
      } catch {
        // A failing error handler is not the socket's problem.
      }
    }
  }
}
