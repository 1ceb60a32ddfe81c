/**
 * The bridge side of a replay: in this process (a loopback WebSocket server whose connection
 * handler builds the adapter's transport and runs a `RealtimeSession` on it), or in another one
 * (`startRemoteCall`), with what it observed of the call.
 */
import { RealtimeSession, type RealtimeTransportLayer } from '@openai/agents-realtime';
import { performance } from 'node:perf_hooks';
import type { Clock } from '@switchboard/core';
import type { BridgeObservation, ConformanceAdapter, RemoteBridgeCall } from '@switchboard/core/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { canEndAfterPlayback, canPlayAudio, conformanceAgent } from './call-features.js';
import type { RecordedEmit, ReplayResult } from './replay.js';
import { turnDetectionConfig, type TurnDetectionMode } from './turn-detection.js';

/** The bridge side of a replay: where the carrier connects, and what the bridge saw. */
export type Bridge = {
  mediaUrl: string;
  /** When the bridge sent its n-th frame to the carrier (stream ms), where known. */
  frameSentAt?: (index: number) => number | undefined;
  /** When the bridge received the carrier's n-th frame (stream ms), where known. */
  frameReceivedAt?: (index: number) => number | undefined;
  /** When the bridge took the carrier's `k`-th `start` (from 0, stream ms), where known; undefined until it has. */
  startTakenAt?: (k: number) => number | undefined;
  /**
   * Whether the call is over on the bridge, as far as can be known before `observe` (true when it
   * cannot be): the transport emitted `call_end` and the carrier socket closed on its side.
   */
  ended(): boolean;
  /** What the bridge observed, times in stream ms. */
  observe(timeoutMs: number): Promise<RemoteObservation>;
  close(): Promise<void>;
  /** The call features of the bridge's transport, where known (see `ReplayResult.transportFeatures`). */
  transportFeatures?: () => NonNullable<ReplayResult['transportFeatures']>;
};

/**
 * The bridge in this process: a loopback WebSocket server whose connection handler builds the
 * adapter's transport and runs a `RealtimeSession` on it.
 */
export async function localBridge(
  adapter: ConformanceAdapter,
  modelUrl: string,
  now: () => number,
  clock: Clock,
  failures: string[],
  turnDetection: TurnDetectionMode,
): Promise<Bridge> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const emitted: RecordedEmit[] = [];
  let transport: (RealtimeTransportLayer & { metrics?: unknown }) | undefined;
  let session: RealtimeSession | undefined;
  let bridgeSocket: WebSocket | undefined;
  let callEndedAt: number | undefined;
  let baselineListeners = 0;
  // When the bridge sent each frame: the carrier reads what the caller heard at the moment the
  // bridge sent its `clear`, so loopback latency does not count against the adapter.
  const sentAt: number[] = [];
  // When the bridge received each of the carrier's frames: an acknowledgement is judged by when
  // the bridge could act on it.
  const receivedAt: number[] = [];
  server.on('connection', (socket) => {
    bridgeSocket = socket;
    socket.on('message', () => receivedAt.push(now()));
    baselineListeners = socketListeners(socket);
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      sentAt.push(now());
      send(...args);
    };
    try {
      if (!adapter.createTransport) throw new Error('the adapter has neither createTransport nor startRemoteCall');
      transport = adapter.createTransport({ connection: socket, url: modelUrl, now, clock });
    } catch (error) {
      failures.push(`createTransport threw: ${(error as Error).message}`);
      socket.close();
      return;
    }
    instrument(transport, emitted, now, () => {
      callEndedAt ??= now();
    });
    // With `server_vad` the bridge, not the model, cancels the reply at a barge-in; in the other
    // modes the model does, as the service does by default, and the bridge must not race it.
    // The call tools (end_call, the slow tool's filler) find the call in the session's context.
    session = new RealtimeSession(conformanceAgent({ clock }), {
      transport,
      context: { transport },
      model: 'gpt-realtime',
      config: { audio: { input: { turnDetection: turnDetectionConfig(turnDetection) } } },
    });
    session.on('error', () => {
      // Recorded through the transport's own `error` events.
    });
    session.connect({ apiKey: 'sk-conformance' }).catch((error: unknown) => {
      failures.push(`session.connect failed: ${(error as Error)?.message ?? String(error)}`);
    });
  });
  return {
    mediaUrl: `ws://127.0.0.1:${port}/media`,
    frameSentAt: (index) => sentAt[index],
    frameReceivedAt: (index) => receivedAt[index],
    startTakenAt: (k) => emitted.filter((e) => e.name === 'call_start')[k]?.at,
    // The carrier socket's close reaches the bridge after the closing handshake: the transport lets
    // go of its last listeners only then.
    ended: () =>
      callEndedAt !== undefined && (bridgeSocket === undefined || bridgeSocket.readyState === bridgeSocket.CLOSED),
    observe: async () => ({
      emitted,
      callEndedAt,
      carrierListenersLeft: bridgeSocket ? socketListeners(bridgeSocket) - baselineListeners : 0,
      transportStatus: (transport as { status?: string } | undefined)?.status ?? 'none',
      metrics: transport?.metrics ? structuredClone(transport.metrics as Record<string, unknown>) : undefined,
      failures: [],
    }),
    transportFeatures: () => ({ playAudio: canPlayAudio(transport), endAfterPlayback: canEndAfterPlayback(transport) }),
    close: async () => {
      session?.close();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What a bridge in another process may report beyond a {@link BridgeObservation}: when it sent
 * each frame to the carrier (wall-clock ms, in the order sent), so that its clears are judged at
 * the moment it sent them, as a local bridge's are, and not when loopback delivered them; and when
 * it received each of the carrier's frames (wall-clock ms, in order), so that an acknowledgement
 * is judged by when the bridge could act on it.
 */
export type RemoteObservation = BridgeObservation & { framesSentAt?: number[]; framesReceivedAt?: number[] };

/**
 * A bridge in another process (a Worker in workerd): the adapter starts the call and reports
 * what its transport emitted, on the wall clock, which is turned into stream time here.
 */
export async function remoteBridge(
  adapter: ConformanceAdapter,
  modelUrl: string,
  speed: number,
  now: () => number,
  turnDetection: TurnDetectionMode,
): Promise<Bridge> {
  // Sub-millisecond wall time: the bridge's own clock may be whole milliseconds (workerd's is), and
  // a whole-millisecond origin here would shift every remote event up to `speed` stream ms later.
  // The bridge's clock and this one are set against each other after the call, on the frames that
  // went each way (see `remoteClockError` in replay.ts).
  const wallOrigin = performance.timeOrigin + performance.now() - now() / speed;
  const toStream = (wall: number) => (wall - wallOrigin) * speed;
  // The mode rides along for a bridge that reads it; the session's own updates say what it ran.
  const start: { modelUrl: string; speed: number; turnDetection: TurnDetectionMode } = {
    modelUrl,
    speed,
    turnDetection,
  };
  const call: RemoteBridgeCall = await adapter.startRemoteCall!(start);
  return {
    mediaUrl: call.mediaUrl,
    // Only `observe` can tell: it waits for the call's end itself.
    ended: () => true,
    observe: async (timeoutMs) => {
      const seen: RemoteObservation = await call.observe(timeoutMs);
      return {
        ...seen,
        ...(seen.framesSentAt ? { framesSentAt: seen.framesSentAt.map(toStream) } : {}),
        ...(seen.framesReceivedAt ? { framesReceivedAt: seen.framesReceivedAt.map(toStream) } : {}),
        emitted: seen.emitted.map((e) => ({ ...e, at: toStream(e.at) })),
        callEndedAt: seen.callEndedAt === undefined ? undefined : toStream(seen.callEndedAt),
      };
    },
    close: async () => undefined,
  };
}

/** Records every event the transport emits, without changing what it emits. */
function instrument(
  transport: RealtimeTransportLayer,
  into: RecordedEmit[],
  now: () => number,
  onCallEnd: () => void,
): void {
  const target = transport as unknown as { emit: (name: string, ...args: unknown[]) => boolean };
  const original = target.emit.bind(transport);
  target.emit = (name: string, ...args: unknown[]) => {
    into.push({ at: now(), name, args });
    if (name === 'call_end') onCallEnd();
    return original(name, ...args);
  };
}

function socketListeners(socket: WebSocket): number {
  return socket.listenerCount('message') + socket.listenerCount('close') + socket.listenerCount('error');
}

/**
 * How far ahead of this process's clock a bridge in another process stamped its times (stream ms):
 * the two clocks are set against each other on the frames that went each way, as NTP does. A frame
 * the bridge sent arrived here no sooner than it was sent, and a frame sent here reached the bridge
 * no sooner either: the quickest frame each way bounds the error from both sides, and with the
 * loopback as quick one way as the other, it is half their difference. Zero when the bridge tells
 * neither (nothing to set by).
 */
export function remoteClockError(
  seen: Pick<RemoteObservation, 'framesSentAt' | 'framesReceivedAt'>,
  wire: ReadonlyArray<{ at: number; dir: 'sent' | 'received' }>,
): number {
  const sentHere = wire.filter((w) => w.dir === 'sent').map((w) => w.at);
  const receivedHere = wire.filter((w) => w.dir === 'received').map((w) => w.at);
  // Bridge → here: arrival less the bridge's stamp (the way, less the error).
  let ahead = Infinity;
  seen.framesSentAt?.forEach((at, i) => {
    if (receivedHere[i] !== undefined) ahead = Math.min(ahead, receivedHere[i] - at);
  });
  // Here → bridge: the bridge's stamp less the send (the way, plus the error).
  let behind = Infinity;
  seen.framesReceivedAt?.forEach((at, i) => {
    if (sentHere[i] !== undefined) behind = Math.min(behind, at - sentHere[i]);
  });
  if (!Number.isFinite(ahead) || !Number.isFinite(behind)) return 0;
  return (behind - ahead) / 2;
}

/** A remote bridge's observation on this process's clock: every time less `errorMs`. */
export function onLocalClock(seen: RemoteObservation, errorMs: number): RemoteObservation {
  if (errorMs === 0) return seen;
  const shift = (at: number) => at - errorMs;
  return {
    ...seen,
    emitted: seen.emitted.map((e) => ({ ...e, at: shift(e.at) })),
    ...(seen.callEndedAt === undefined ? {} : { callEndedAt: shift(seen.callEndedAt) }),
    ...(seen.framesSentAt ? { framesSentAt: seen.framesSentAt.map(shift) } : {}),
    ...(seen.framesReceivedAt ? { framesReceivedAt: seen.framesReceivedAt.map(shift) } : {}),
  };
}
