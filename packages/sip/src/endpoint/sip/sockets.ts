/**
 * SIP over UDP and TCP (RFC 3261 §18): listening sockets, stream framing, where responses go.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import { logger } from '@switchboard/core/protocol';
import {
  SipParseError,
  describeSipParseError,
  frameStreamMessage,
  isKeepAlive,
  parseSipMessage,
  parseVia,
  serializeSipMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.js';

const log = logger('sip:endpoint');

export type SipTransportName = 'udp' | 'tcp';

/** Where a message came from: the transport, the peer's address and, over TCP, the connection. */
export type SipSource = {
  transport: SipTransportName;
  address: string;
  port: number;
  /** The TCP connection it arrived on. */
  connection?: TcpSocket;
};

/** Where a message goes. Over TCP, an open connection to the peer is reused. */
export type SipTarget = SipSource;

export type SipSocketsOptions = {
  host: string;
  port: number;
  transports: SipTransportName[];
  /** A message arrived (parsed); never called for keep-alives. */
  onMessage(message: SipMessage, source: SipSource): void;
  /**
   * A message that could not be parsed. `partial` is set when it was a request readable enough to
   * answer (the caller sends the 400 or 505); otherwise it is dropped.
   */
  onMalformed(error: SipParseError, source: SipSource): void;
  /** Is a source allowed at all? Datagrams and connections from others are dropped unread. */
  allow(address: string): boolean;
  /** Idle TCP connections close after this long, ms. Default 15 minutes. */
  tcpIdleMs?: number;
};

/** Largest TCP receive buffer (one message plus slack) before the connection is dropped. */
const MAX_STREAM_BUFFER = 512 * 1024;

/** The listening sockets of an endpoint. */
/** Tries at an ephemeral port free for both UDP and TCP. */
const EPHEMERAL_ATTEMPTS = 10;

export class SipSockets {
  readonly #options: SipSocketsOptions;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #connections = new Map<string, TcpSocket>();
  /** Datagrams dropped: from sources not allowed, or unparseable. */
  readonly counters = { dropped: 0, malformed: 0, received: 0, sent: 0 };

  constructor(options: SipSocketsOptions) {
    this.#options = options;
  }

  get udpPort(): number | undefined {
    return this.#udp ? this.#udp.address().port : undefined;
  }

  get tcpPort(): number | undefined {
    const address = this.#tcp?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async listen(): Promise<void> {
    // With an ephemeral port, the number UDP got may be taken for TCP by another program: then
    // both start again on a new number, a few times.
    const ephemeral =
      !this.#options.port && this.#options.transports.includes('udp') && this.#options.transports.includes('tcp');
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#listenOnce();
        return;
      } catch (error) {
        const udp = this.#udp;
        this.#udp = undefined;
        if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
        if (!ephemeral || (error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE' || attempt >= EPHEMERAL_ATTEMPTS)
          throw error;
        log('tcp port %s already taken: both transports try another', (error as { port?: number }).port);
      }
    }
  }

  async #listenOnce(): Promise<void> {
    const { host, transports } = this.#options;
    let port = this.#options.port;
    if (transports.includes('udp')) {
      const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      udp.on('message', (data, rinfo) =>
        this.#onDatagram(data, { transport: 'udp', address: rinfo.address, port: rinfo.port }),
      );
      udp.on('error', (error) => log('udp socket error: %s', error.message));
      this.#udp = udp;
      // TCP on the same port number as UDP, as a SIP URI without a transport names one port.
      port = udp.address().port;
    }
    if (transports.includes('tcp')) {
      const server = createServer((socket) => this.#onConnection(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (error) => log('tcp server error: %s', error.message));
      this.#tcp = server;
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const tcp = this.#tcp;
    this.#tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** Sends a message; false when it could not be handed to a socket. */
  send(message: SipMessage, target: SipTarget): boolean {
    const bytes = serializeSipMessage(message);
    return this.sendBytes(bytes, target);
  }

  sendBytes(bytes: Uint8Array, target: SipTarget): boolean {
    try {
      if (target.transport === 'udp') {
        if (!this.#udp) return false;
        this.#udp.send(bytes, target.port, target.address, (error) => {
          if (error) log('udp send to %s:%d failed: %s', target.address, target.port, error.message);
        });
        this.counters.sent++;
        return true;
      }
      let socket =
        target.connection && !target.connection.destroyed
          ? target.connection
          : this.#connections.get(key(target.address, target.port));
      if (!socket || socket.destroyed) socket = this.#connect(target.address, target.port);
      socket.write(bytes);
      this.counters.sent++;
      return true;
    } catch (error) {
      log('send to %s:%d failed: %s', target.address, target.port, (error as Error).message);
      return false;
    }
  }

  /**
   * Where the response to a request goes (RFC 3261 §18.2.2, RFC 3581): over TCP, back on its
   * connection, or once that closed, on a new one to the Via port (5060 by default); over UDP, to
   * the source address, at the `rport` port when the client asked for it, else at the Via port.
   */
  responseTarget(request: SipRequest, source: SipSource): SipTarget {
    const via = parseVia(request.headers.list('via')[0] ?? '');
    // The port a closed connection came from is no place to connect to.
    if (source.transport === 'tcp') return { ...source, port: via?.port ?? 5060 };
    const port = via && 'rport' in via.params ? source.port : (via?.port ?? 5060);
    return { transport: 'udp', address: source.address, port };
  }

  /** Adds `received` and fills `rport` on the top Via of a request, as its responses must carry them. */
  stampVia(request: SipRequest, source: SipSource): void {
    const vias = request.headers.getAll('via');
    if (vias.length === 0) return;
    const first = vias[0]!;
    const parts = splitFirstVia(first);
    const via = parseVia(parts.head);
    if (!via) return;
    let head = parts.head;
    if (via.host.replace(/^\[|\]$/g, '') !== source.address && !('received' in via.params))
      head += `;received=${source.address}`;
    if ('rport' in via.params && via.params['rport'] === null)
      head = head.replace(/;rport(?=;|$|\s)/i, `;rport=${source.port}`);
    if (head === parts.head) return;
    const rest = [head, ...parts.rest].join(', ');
    request.headers.delete('via');
    request.headers.append('Via', rest);
    for (const value of vias.slice(1)) request.headers.append('Via', value);
  }

  #onDatagram(data: Buffer, source: SipSource): void {
    if (!this.#options.allow(source.address)) {
      this.counters.dropped++;
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Keep-alives (CRLF) and STUN (first byte 0 or 1) are not SIP.
    if (isKeepAlive(bytes) || bytes.length === 0 || bytes[0]! < 2) return;
    this.#deliver(bytes, source, 'datagram');
  }

  #deliver(bytes: Uint8Array, source: SipSource, framing: 'datagram' | 'stream'): void {
    this.counters.received++;
    let message: SipMessage;
    try {
      message = parseSipMessage(bytes, { framing });
    } catch (error) {
      this.counters.malformed++;
      const parseError = error instanceof SipParseError ? error : new SipParseError(String(error));
      log('malformed message from %s:%d: %s', source.address, source.port, describeSipParseError(parseError));
      try {
        this.#options.onMalformed(parseError, source);
      } catch (handlerError) {
        log('malformed-message handler failed: %s', (handlerError as Error).message);
      }
      return;
    }
    if (message.type === 'request' && source.transport === 'tcp' && !this.#options.allow(source.address)) {
      // A connection this side opened (to a Contact or a Route) is no way around the allow list:
      // the responses it carries are read, requests from a source not allowed are not.
      this.counters.dropped++;
      return;
    }
    try {
      this.#options.onMessage(message, source);
    } catch (error) {
      log('message handler failed: %s', (error as Error)?.stack ?? String(error));
    }
  }

  #onConnection(socket: TcpSocket): void {
    const address = socket.remoteAddress ?? '';
    if (!this.#options.allow(address)) {
      this.counters.dropped++;
      socket.destroy();
      return;
    }
    this.#track(socket);
  }

  #connect(address: string, port: number): TcpSocket {
    const socket = connect({ host: address, port });
    socket.on('connect', () => log('tcp connected to %s:%d', address, port));
    this.#track(socket, address, port);
    return socket;
  }

  #track(socket: TcpSocket, address = socket.remoteAddress ?? '', port = socket.remotePort ?? 0): void {
    const id = key(address, port);
    this.#connections.set(id, socket);
    socket.setTimeout(this.#options.tcpIdleMs ?? 15 * 60_000, () => socket.destroy());
    let buffer: Uint8Array = new Uint8Array(0);
    socket.on('data', (chunk: Buffer) => {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      if (buffer.length > MAX_STREAM_BUFFER) {
        log('tcp peer %s sent an oversized message: closing', id);
        socket.destroy();
        return;
      }
      const source: SipSource = {
        transport: 'tcp',
        address: socket.remoteAddress ?? address,
        port: socket.remotePort ?? port,
        connection: socket,
      };
      for (;;) {
        // A double CRLF alone is a keep-alive ping (RFC 5626 §3.5.1): answer with one CRLF.
        if (
          buffer.length >= 4 &&
          buffer[0] === 0x0d &&
          buffer[1] === 0x0a &&
          buffer[2] === 0x0d &&
          buffer[3] === 0x0a
        ) {
          socket.write('\r\n');
          buffer = buffer.subarray(4);
          continue;
        }
        let length: number;
        try {
          length = frameStreamMessage(buffer);
        } catch (error) {
          log('tcp peer %s sent an unframeable stream (%s): closing', id, (error as Error).message);
          socket.destroy();
          return;
        }
        if (length === 0) break;
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        this.#deliver(message, source, 'stream');
      }
      if (buffer.length > 0 && isKeepAlive(buffer)) buffer = new Uint8Array(0);
    });
    socket.on('error', (error) => log('tcp %s: %s', id, error.message));
    socket.on('close', () => {
      if (this.#connections.get(id) === socket) this.#connections.delete(id);
    });
  }
}

function key(address: string, port: number): string {
  return `${address.replace(/^::ffff:/, '')}|${port}`;
}

/** The first Via of a header line that may hold several. */
function splitFirstVia(value: string): { head: string; rest: string[] } {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of value) {
    if (quoted) {
      current += ch;
      if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return { head: parts[0]!, rest: parts.slice(1) };
}

export type { SipResponse };
