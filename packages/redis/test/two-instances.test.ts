/**
 * Two bridge instances behind one load balancer, sharing one redis-server: a webhook delivered to
 * both is accepted once (the replay guard), an OpenAI SIP delivery is handled once (the
 * de-duplication store), and a call warmed on one instance is served by that instance when its
 * media stream lands on the other (the pre-warm registry, with the stream forwarded).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReplayGuard, PrewarmPool, type PrewarmAcceptResult, type TelephonyRealtimeTransport } from '@switchboard/core';
import { RealtimeSimulator } from '@switchboard/conformance';
import { PlivoReplayGuard, assertPlivoSignatureV3 } from '@switchboard/plivo';
import {
  TwilioMediaStreamProtocol,
  TwilioRealtimeTransport,
  assertTwilioSignature,
  computeTwilioSignature,
} from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { RedisNonceStore, RedisOpenAISipDedupStore, RedisPrewarmRegistry } from '../src/index.js';
import { REDIS, useRedisServer, waitFor, type TestClient } from './redis-server.js';
import { openAICallDelivery, plivoDelivery, sipInstance } from './webhooks.js';

const redis = useRedisServer({ beforeAll, afterAll });
/** Each instance's own connection to the shared Redis. */
let clientA: TestClient;
let clientB: TestClient;
let n = 0;
const fresh = (what: string) => `${what}${++n}${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  if (!REDIS) return;
  clientA = await redis.client();
  clientB = await redis.client();
}, 60_000);

describe.skipIf(!REDIS)('two instances sharing the replay guard', () => {
  it('accepts a signed Plivo webhook delivered to both instances once, and refuses it as replayed on the other', async () => {
    const prefix = `${fresh('app')}:`;
    const guardA = new PlivoReplayGuard({ store: new RedisNonceStore({ client: clientA, prefix }) });
    const guardB = new PlivoReplayGuard({ store: new RedisNonceStore({ client: clientB, prefix }) });
    for (let i = 0; i < 10; i++) {
      const delivery = plivoDelivery(`${20_000_000_000_000_000 + i}`, `uuid-${fresh('c')}`);
      const outcomes = await Promise.allSettled([
        assertPlivoSignatureV3({ ...delivery, replayGuard: guardA }),
        assertPlivoSignatureV3({ ...delivery, replayGuard: guardB }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(String(refused.reason)).toMatch(/replayed/);
    }
    // Each instance alone would have taken it: the guards share only Redis.
    const own = plivoDelivery('29999999999999999999', 'uuid-own');
    const separate = new PlivoReplayGuard({
      store: new RedisNonceStore({ client: clientB, prefix: `${fresh('other')}:` }),
    });
    await assertPlivoSignatureV3({ ...own, replayGuard: guardA });
    await expect(assertPlivoSignatureV3({ ...own, replayGuard: separate })).resolves.toBeUndefined();
  });

  it('accepts a signed Twilio webhook delivered to both instances once', async () => {
    const authToken = '12345678901234567890123456789012';
    const url = 'https://voice.example.com/twilio/status';
    const prefix = `${fresh('twilio')}:`;
    const guards = [clientA, clientB].map(
      (client) => new ReplayGuard({ store: new RedisNonceStore({ client, prefix }) }),
    );
    const params = { CallSid: `CA${fresh('x').padEnd(32, '0').slice(0, 32)}`, CallStatus: 'completed' };
    const signature = await computeTwilioSignature(authToken, url, params);
    const outcomes = await Promise.allSettled(
      guards.map((replayGuard) => assertTwilioSignature({ authToken, url, params, signature, replayGuard })),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  });
});

describe.skipIf(!REDIS)('two OpenAI SIP webhook handlers sharing de-duplication', () => {
  it('handles a delivery that reaches both instances once, and its retries and redeliveries on neither', async () => {
    const prefix = `${fresh('sip')}:`;
    const a = sipInstance({ dedup: new RedisOpenAISipDedupStore({ client: clientA, prefix }) });
    const b = sipInstance({ dedup: new RedisOpenAISipDedupStore({ client: clientB, prefix }) });
    const callId = `rtc_${fresh('')}`;
    const delivery = openAICallDelivery(callId, `msg_${fresh('')}`);
    const results = await Promise.all([
      a.handler.handle(delivery.body, delivery.headers),
      b.handler.handle(delivery.body, delivery.headers),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['duplicate', 'handled']);
    expect(results.every((r) => r.status === 200)).toBe(true);
    // OpenAI's retry (same webhook-id), and another event for the same call (another id).
    const retry = openAICallDelivery(callId, delivery.headers['webhook-id']!);
    const another = openAICallDelivery(callId, `msg_${fresh('')}`);
    expect((await b.handler.handle(retry.body, retry.headers)).outcome).toBe('duplicate');
    expect((await a.handler.handle(another.body, another.headers)).outcome).toBe('duplicate');
    expect([...a.calls, ...b.calls]).toEqual([callId]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it("lets the other instance handle OpenAI's retry of a delivery that failed on the first", async () => {
    const prefix = `${fresh('sip')}:`;
    const failing = sipInstance({
      dedup: new RedisOpenAISipDedupStore({ client: clientA, prefix }),
      onIncomingCall: () => {
        throw new Error('the database of callers is down');
      },
    });
    const b = sipInstance({ dedup: new RedisOpenAISipDedupStore({ client: clientB, prefix }) });
    const callId = `rtc_${fresh('')}`;
    const delivery = openAICallDelivery(callId, `msg_${fresh('')}`);
    expect(await failing.handler.handle(delivery.body, delivery.headers)).toMatchObject({
      status: 500,
      outcome: 'failed',
    });
    const retry = openAICallDelivery(callId, delivery.headers['webhook-id']!);
    expect(await b.handler.handle(retry.body, retry.headers)).toMatchObject({ status: 200, outcome: 'handled' });
    expect(b.calls).toEqual([callId]);
  });
});

type WarmCall = { readonly transport: TelephonyRealtimeTransport; readonly instance: string };

/** One bridge instance: a pre-warm pool, and its media route on a WebSocket server of its own. */
class Instance {
  readonly results: Array<PrewarmAcceptResult<WarmCall>> = [];
  readonly coldTransports: TelephonyRealtimeTransport[] = [];
  readonly warmed: WarmCall[] = [];
  readonly errors: unknown[] = [];
  pool!: PrewarmPool<WarmCall>;
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;

  constructor(
    readonly id: string,
    readonly client: TestClient,
    readonly modelUrl: string,
    readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    this.#http = http;
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/media`;
    this.pool = new PrewarmPool<WarmCall>({
      registry: new RedisPrewarmRegistry({ client: this.client, prefix: this.prefix }),
      instance: { id: this.id, url },
      connectTo: (target) => new WebSocket(target),
      claimTimeoutMs: 30_000,
      onError: (error) => this.errors.push(error),
      create: ({ connection }) => {
        const call = { transport: this.#transport(connection), instance: this.id };
        this.warmed.push(call);
        return call;
      },
    });
    const wss = new WebSocketServer({ server: http, path: '/media' });
    this.#wss = wss;
    // The media route, as an application writes it.
    wss.on('connection', (socket) => {
      this.pool.accept(socket, new TwilioMediaStreamProtocol()).then(
        (result) => {
          this.results.push(result);
          if (result.kind === 'cold') this.coldTransports.push(this.#transport(result.connection));
        },
        (error: unknown) => {
          this.errors.push(error);
          socket.close();
        },
      );
    });
  }

  #transport(connection: ConstructorParameters<typeof TwilioRealtimeTransport>[0]['twilioWebSocket']) {
    const transport = new TwilioRealtimeTransport({
      twilioWebSocket: connection,
      url: this.modelUrl,
      inputAudioInactivityTimeoutMs: null,
    });
    transport.connect({ apiKey: 'sk-test' }).catch(() => transport.end('model_connect_failed'));
    return transport;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#http!.address() as AddressInfo).port}/media`;
  }

  async stop(): Promise<void> {
    await this.pool?.close('test_over');
    for (const call of this.warmed) call.transport.close();
    for (const transport of this.coldTransports) transport.close();
    for (const socket of this.#wss?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => (this.#wss ? this.#wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
  }
}

/** Twilio's side of one call: its media stream, opened on `url`, and what the bridge sends back. */
class TwilioCaller {
  readonly peer = new TwilioPeerSimulator();
  readonly received: string[] = [];
  socket!: WebSocket;
  constructor(readonly callSid: string) {}

  async open(url: string): Promise<void> {
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.on('message', (data) => this.received.push(String(data)));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    this.#send({
      type: 'call_start',
      callId: this.callSid,
      streamId: `MZ${this.callSid.slice(2)}`,
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: null,
    });
  }

  speak(frames: number): void {
    for (let i = 0; i < frames; i++)
      this.#send({ type: 'audio', payload: new Uint8Array(160).map((_, j) => (i * 31 + j * 7 + 1) & 0x7f) });
  }

  /** Bytes of agent audio that reached the carrier. */
  get agentAudioBytes(): number {
    let bytes = 0;
    for (const frame of this.received)
      for (const command of this.peer.decodeOutbound(frame))
        if (command.type === 'audio') bytes += command.payload.byteLength;
    return bytes;
  }

  close(): void {
    this.socket?.terminate();
  }

  #send(event: Parameters<TwilioPeerSimulator['encodeInbound']>[0]): void {
    for (const frame of this.peer.encodeInbound(event)) this.socket.send(frame);
  }
}

describe.skipIf(!REDIS)('two instances sharing the pre-warm registry', () => {
  let model: RealtimeSimulator;
  let a: Instance;
  let b: Instance;
  const callers: TwilioCaller[] = [];

  beforeAll(async () => {
    model = new RealtimeSimulator({ speed: 20 });
    await model.start();
  }, 60_000);
  afterEach(async () => {
    for (const caller of callers.splice(0)) caller.close();
    await a?.stop();
    await b?.stop();
  });
  afterAll(async () => {
    await model?.stop();
  });

  async function instances(): Promise<void> {
    const prefix = `${fresh('prewarm')}:`;
    a = new Instance('instance-a', clientA, model.url, prefix);
    b = new Instance('instance-b', clientB, model.url, prefix);
    await a.start();
    await b.start();
  }

  it("serves a call warmed on A whose stream lands on B: B forwards it, A's warmed session takes it, audio flows both ways", async () => {
    await instances();
    const callSid = `CA${fresh('').padEnd(32, '0').slice(0, 32)}`;
    const modelSession = model.nextSession();
    a.pool.warm(callSid); // the voice webhook reached A
    const simulated = await modelSession; // the model is connected before any stream exists
    await waitFor(async () => (await clientB.exists(`${a.prefix}prewarm:${callSid}`)) === 1, 'A to register the call');

    const caller = new TwilioCaller(callSid);
    callers.push(caller);
    await caller.open(b.url); // the load balancer sent the stream to B
    await waitFor(() => a.results.length === 1 && b.results.length === 1, 'both instances to accept the stream');
    expect(b.results[0]).toEqual({ kind: 'forwarded', callId: callSid, owner: { id: 'instance-a', url: a.url } });
    const served = a.results[0]!;
    expect(served.kind).toBe('prewarmed');
    if (served.kind !== 'prewarmed') return;
    expect(served.call).toBe(a.warmed[0]);
    const { transport } = served.call;
    await waitFor(() => transport.callStart !== undefined, 'the call to start on A');
    expect(transport.callStart?.callId).toBe(callSid);

    // The caller's audio reaches the model through B and A, on the one session opened at the webhook.
    caller.speak(10);
    await waitFor(() => simulated.inputAudioMs >= 180, "the caller's audio to reach the model");
    // The agent's audio reaches the caller back through A and B.
    transport.sendEvent({ type: 'response.create' });
    await waitFor(() => caller.agentAudioBytes > 0, "the agent's audio to reach the caller");

    expect(model.sessions.filter((s) => s === simulated)).toHaveLength(1);
    expect(a.warmed).toHaveLength(1);
    expect(b.warmed).toHaveLength(0);
    expect(b.coldTransports).toHaveLength(0);
    expect(a.pool.stats).toMatchObject({ warmed: 1, claimed: 1, forwarded: 0, cold: 0 });
    expect(b.pool.stats).toMatchObject({ warmed: 0, claimed: 0, forwarded: 1, cold: 0 });
    // The registry entry was taken: a second stream for the call would not find it again.
    expect(await clientA.exists(`${a.prefix}prewarm:${callSid}`)).toBe(0);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('runs a stream for a call warmed nowhere cold where it lands, and one warmed on A that lands on A without a forward', async () => {
    await instances();
    const coldSid = `CA${fresh('').padEnd(32, '1').slice(0, 32)}`;
    const cold = new TwilioCaller(coldSid);
    callers.push(cold);
    await cold.open(b.url);
    await waitFor(() => b.results.length === 1, 'B to accept the stream');
    expect(b.results[0]).toMatchObject({ kind: 'cold', callId: coldSid });
    await waitFor(() => b.coldTransports[0]?.callStart !== undefined, 'the cold call to start on B');

    const localSid = `CA${fresh('').padEnd(32, '2').slice(0, 32)}`;
    a.pool.warm(localSid);
    const local = new TwilioCaller(localSid);
    callers.push(local);
    await local.open(a.url);
    await waitFor(() => a.results.length === 1, 'A to accept the stream');
    expect(a.results[0]).toMatchObject({ kind: 'prewarmed', callId: localSid });
    await waitFor(async () => (await clientA.exists(`${a.prefix}prewarm:${localSid}`)) === 0, 'the entry to be taken');
    expect(b.pool.stats).toMatchObject({ forwarded: 0, cold: 1 });
    expect(a.pool.stats).toMatchObject({ warmed: 1, claimed: 1, forwarded: 0 });
  });
});
