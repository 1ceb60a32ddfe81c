/**
 * Pre-warming a carrier's calls, end to end: a `PrewarmPool` warms a call at the id the carrier's
 * voice webhook carries, against the realtime simulator, and the carrier's media stream (played by
 * its peer simulator on an in-memory socket) claims it. One suite for every carrier whose webhook
 * comes before its stream; each carrier's test file describes how its webhook names the call and
 * how its stream starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator } from '@switchboard/conformance';
import { FakeCarrier, until } from '@switchboard/conformance/testing';
import {
  PrewarmPool,
  concatBytes,
  type AudioFormat,
  type MediaConnection,
  type MediaFrame,
  type MediaStreamProtocol,
  type PrewarmPoolOptions,
  type TelephonyRealtimeTransport,
} from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';

/** One call of a carrier, from its voice webhook to the first frames of its media stream. */
export type PrewarmCarrierCall = {
  /** The id the application warms at, read from the voice webhook the way the application reads it. */
  callId: string;
  /** The stream's opening frames (up to and including its start), exactly as the carrier sends them. */
  start: MediaFrame[];
  /** The carrier's side of the stream: encodes the caller's audio, decodes what the bridge sent. */
  peer: PeerSimulator;
  /** The stream's audio format: the caller's audio is made in it. */
  format: AudioFormat;
};

/**
 * The call `callId` whose stream `peer` opens: the frames `peer` writes for its `call_start` (in
 * `format`, with `streamId`; none, the default, lets the peer make one up), as `call()` returns it.
 */
export function peerCall(peer: PeerSimulator, callId: string, format: AudioFormat, streamId = ''): PrewarmCarrierCall {
  const start = peer.encodeInbound({ type: 'call_start', callId, streamId, format, customParameters: {}, raw: null });
  return { callId, start, peer, format };
}

export type PrewarmCarrier = {
  /** The carrier, as test names call it. */
  name: string;
  /** A new call: its voice webhook, and the stream the carrier then opens. */
  call(): PrewarmCarrierCall;
  /** A fresh instance of the carrier's stream protocol (what the media route gives `accept`). */
  protocol(): MediaStreamProtocol;
  /** The carrier's transport on `connection`, its model at `url` (input inactivity padding off). */
  transport(connection: MediaConnection, url: string): TelephonyRealtimeTransport;
};

type WarmCall = {
  readonly transport: TelephonyRealtimeTransport;
  readonly ends: string[];
  /** The model connection was opened or failed (the transport's `connect` settled). */
  connectSettled: boolean;
};

/** Bytes of `ms` of audio in `format`. */
function bytesOf(format: AudioFormat, ms: number): number {
  const samples = (format.sampleRate * ms) / 1000;
  return samples * (format.encoding === 'l16' ? 2 : 1);
}

/** `count` frames of 20 ms of caller audio, each different from the others. */
function callerAudio(format: AudioFormat, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, n) =>
    new Uint8Array(bytesOf(format, 20)).map((_, i) => (n * 31 + i * 7 + 1) & 0x7f),
  );
}

/** The audio the bridge sent the carrier, as the carrier reads it. */
function agentAudioBytes(carrier: FakeCarrier, peer: PeerSimulator): number {
  let bytes = 0;
  for (const frame of carrier.sent) {
    for (const command of peer.decodeOutbound(frame)) if (command.type === 'audio') bytes += command.payload.byteLength;
  }
  return bytes;
}

/**
 * Registers the pre-warm suite of `carrier`: the warmed call claimed by its stream (the caller
 * reaches the model and the agent the caller, on the one model session opened at the webhook), a
 * stream that never comes (the warmed call is ended, its model session closed, and counted), and
 * a stream that comes before the model session is ready (the caller's first words are kept and
 * reach the model once it is).
 */
export function describePrewarm(carrier: PrewarmCarrier): void {
  describe(`pre-warm on ${carrier.name}`, () => {
    let simulator: RealtimeSimulator | undefined;
    let pool: PrewarmPool<WarmCall> | undefined;
    afterEach(async () => {
      await pool?.close('test_over');
      pool = undefined;
      await simulator?.stop();
      simulator = undefined;
    });

    /**
     * A simulated model and a pool whose calls connect to it. `connectAfter`: each call connects
     * its model once it resolves; `createAfter`: `create` itself resolves only then.
     */
    async function start(
      options: Partial<PrewarmPoolOptions<WarmCall>> = {},
      gates: { connectAfter?: Promise<void>; createAfter?: Promise<void> } = {},
    ): Promise<{ model: RealtimeSimulator; pool: PrewarmPool<WarmCall>; created: WarmCall[] }> {
      const model = new RealtimeSimulator({ speed: 20 });
      simulator = model;
      await model.start();
      const created: WarmCall[] = [];
      const build = (connection: MediaConnection): WarmCall => {
        const transport = carrier.transport(connection, model.url);
        const ends: string[] = [];
        transport.on('call_end', (event: { reason?: string }) => ends.push(event.reason ?? ''));
        const call: WarmCall = { transport, ends, connectSettled: false };
        const connect = () =>
          transport
            .connect({ apiKey: 'sk-test' })
            .catch(() => transport.end('model_connect_failed'))
            .finally(() => (call.connectSettled = true));
        if (gates.connectAfter) void gates.connectAfter.then(connect);
        else void connect();
        created.push(call);
        return call;
      };
      pool = new PrewarmPool<WarmCall>({
        ...options,
        create: ({ connection }) =>
          gates.createAfter ? gates.createAfter.then(() => build(connection)) : build(connection),
      });
      return { model, pool, created };
    }

    /** Opens the call's stream on a new carrier socket and resolves with what the pool made of it. */
    async function stream(p: PrewarmPool<WarmCall>, call: PrewarmCarrierCall) {
      const socket = new FakeCarrier();
      const accepted = p.accept(socket, carrier.protocol());
      for (const frame of call.start) socket.deliver(frame);
      return { socket, result: await accepted };
    }

    function speak(socket: FakeCarrier, call: PrewarmCarrierCall, audio: Uint8Array[]): void {
      for (const payload of audio)
        for (const frame of call.peer.encodeInbound({ type: 'audio', payload })) socket.deliver(frame);
    }

    it('warms the model at the webhook; the stream for that call id claims it, and caller and agent hear each other on that one session', async () => {
      const { model, pool: p } = await start();
      const call = carrier.call();
      const modelSession = model.nextSession();
      p.warm(call.callId);
      p.warm(call.callId); // a retried webhook warms once
      const simulated = await modelSession; // the model is connected before the stream exists
      expect(p.stats.warmed).toBe(1);

      const { socket, result } = await stream(p, call);
      expect(result.kind).toBe('prewarmed');
      if (result.kind !== 'prewarmed') return;
      expect(result.callId).toBe(call.callId);
      const { transport } = result.call;
      await until(() => transport.callStart !== undefined);
      expect(transport.callStart?.callId).toBe(call.callId);

      const audio = callerAudio(call.format, 10);
      speak(socket, call, audio);
      await until(() => simulated.inputAudioMs >= 180, 10_000);

      transport.sendEvent({ type: 'response.create' });
      await until(() => agentAudioBytes(socket, call.peer) > 0, 15_000);
      expect(model.sessions).toHaveLength(1);
      expect(p.stats).toMatchObject({ warmed: 1, claimed: 1, unclaimed: 0, cold: 0 });
    });

    it('ends a warmed call no stream claims within claimTimeoutMs, closes its model session and counts it; a stream that comes later is cold', async () => {
      const { model, pool: p, created } = await start({ claimTimeoutMs: 300 });
      const call = carrier.call();
      p.warm(call.callId);

      await until(() => p.stats.unclaimed === 1, 10_000);
      expect(created).toHaveLength(1);
      const warmed = created[0]!;
      expect(warmed.ends).toEqual(['prewarm_unclaimed']);
      // Whether the model was still connecting or already connected when the call ended, its
      // connection ends too: no model session stays open for a call no one will take.
      await until(() => warmed.connectSettled, 10_000);
      await until(() => model.sessions.every((session) => session.isClosed), 10_000);

      const late = await stream(p, call);
      expect(late.result.kind).toBe('cold');
      if (late.result.kind !== 'cold') return;
      expect(late.result.callId).toBe(call.callId);
      // The cold connection replays the frames read so far: a transport made on it starts the call.
      const cold = carrier.transport(late.result.connection, model.url);
      try {
        await until(() => cold.callStart !== undefined);
        expect(cold.callStart?.callId).toBe(call.callId);
      } finally {
        cold.close();
      }
      expect(p.stats).toMatchObject({ warmed: 1, claimed: 0, unclaimed: 1, cold: 1 });
    });

    it('keeps the caller audio of a stream that comes before the model session is ready, and gives it to the model in order once it is', async () => {
      let release!: () => void;
      const ready = new Promise<void>((resolve) => (release = resolve));
      const { model, pool: p } = await start({}, { connectAfter: ready });
      const call = carrier.call();
      p.warm(call.callId);

      const { socket, result } = await stream(p, call);
      expect(result.kind).toBe('prewarmed');
      const audio = callerAudio(call.format, 15);
      speak(socket, call, audio);
      expect(model.sessions).toHaveLength(0); // the caller spoke before the model was there

      const modelSession = model.nextSession();
      release();
      const simulated = await modelSession;
      const sentMs = audio.length * 20;
      await until(() => simulated.inputAudioMs >= sentMs - 20, 10_000);
      if (call.format.encoding !== 'l16') {
        // G.711 reaches the model as it is: byte for byte, in order, nothing before it.
        const heard = concatBytes(simulated.inputAudio);
        expect(heard.subarray(0, bytesOf(call.format, sentMs))).toEqual(concatBytes(audio));
      }
      expect(p.stats).toMatchObject({ warmed: 1, claimed: 1 });
    });

    it('gives a stream that comes while create is still building its call to that call, with every frame it sent meanwhile', async () => {
      let release!: () => void;
      const built = new Promise<void>((resolve) => (release = resolve));
      const { model, pool: p, created } = await start({}, { createAfter: built });
      const call = carrier.call();
      p.warm(call.callId);

      const socket = new FakeCarrier();
      const accepted = p.accept(socket, carrier.protocol());
      for (const frame of call.start) socket.deliver(frame);
      const audio = callerAudio(call.format, 10);
      speak(socket, call, audio);
      expect(created).toHaveLength(0); // no transport yet: the stream and the caller's words wait

      const modelSession = model.nextSession();
      release();
      const result = await accepted;
      expect(result.kind).toBe('prewarmed');
      if (result.kind !== 'prewarmed') return;
      const simulated = await modelSession;
      await until(() => simulated.inputAudioMs >= audio.length * 20 - 20, 10_000);
      expect(result.call.transport.callStart?.callId).toBe(call.callId);
      expect(model.sessions).toHaveLength(1);
    });
  });
}
