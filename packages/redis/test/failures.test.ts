/**
 * When Redis fails: every failure is a RedisStoreError naming the operation, and surfaces as the
 * failure each caller documents (a replay check that rejects, a SIP delivery answered 500), and
 * the process goes on. First against clients that fail on cue, then against a redis-server that
 * is killed in the middle of the test and started again.
 */
import { ReplayGuard, SwitchboardError, WebhookSignatureError } from '@switchboard/core';
import { PlivoReplayGuard, assertPlivoSignatureV3 } from '@switchboard/plivo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisNonceStore, RedisOpenAISipDedupStore, RedisStoreError, type RedisStoreClient } from '../src/index.js';
import { REDIS, RedisServer, connectClient, waitFor, type TestClient } from './redis-server.js';
import { openAICallDelivery, plivoDelivery, sipInstance } from './webhooks.js';

/** A client whose commands answer as `answer` says; every command is recorded. */
function scriptedClient(answer: (command: string, key: string) => Promise<unknown>) {
  const commands: Array<[string, string]> = [];
  const client: RedisStoreClient = {
    set: (key) => (commands.push(['set', key]), answer('set', key)),
    getDel: (key) => (commands.push(['getDel', key]), answer('getDel', key)),
    del: (key) => (commands.push(['del', key]), answer('del', key)),
  };
  return { client, commands };
}

/** A promise settled by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const SECRET_KEY = 'nonce-0123456789.signature-that-must-not-be-logged';

describe('a store whose client fails', () => {
  it('turns an error reply into a RedisStoreError naming the operation, keeping the cause and leaving the key out', async () => {
    const reply = new Error("READONLY You can't write against a read only replica.");
    const { client } = scriptedClient(() => Promise.reject(reply));
    const failure = await new RedisNonceStore({ client }).remember(SECRET_KEY, 1_000).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RedisStoreError);
    expect(failure).toBeInstanceOf(SwitchboardError);
    const error = failure as RedisStoreError;
    expect(error.code).toBe('redis_store_error');
    expect(error.operation).toBe('RedisNonceStore.remember');
    expect(error.message).toMatch(/^RedisNonceStore\.remember: READONLY/);
    expect(error.cause).toBe(reply);
    expect(error.message).not.toContain(SECRET_KEY);

    const dedup = new RedisOpenAISipDedupStore({ client });
    await expect(dedup.claim('call:rtc_1')).rejects.toThrow(/^RedisOpenAISipDedupStore\.claim: READONLY/);
    await expect(dedup.release('call:rtc_1')).rejects.toThrow(/^RedisOpenAISipDedupStore\.release: READONLY/);
    await expect(new RedisNonceStore({ client }).forget('k')).rejects.toThrow(/^RedisNonceStore\.forget: /);
  });

  it('turns a command that throws instead of rejecting into a RedisStoreError', async () => {
    const client: RedisStoreClient = {
      set: () => {
        throw new TypeError('The client is closed');
      },
      getDel: () => Promise.resolve(null),
      del: () => Promise.resolve(0),
    };
    await expect(new RedisNonceStore({ client }).remember('k', 1_000)).rejects.toThrow(
      /RedisNonceStore\.remember: The client is closed/,
    );
  });

  it('refuses an answer SET NX never gives', async () => {
    const { client } = scriptedClient(() => Promise.resolve(42));
    await expect(new RedisNonceStore({ client }).remember('k', 1_000)).rejects.toThrow(/unexpected answer to SET NX/);
    const { client: bytes } = scriptedClient(() => Promise.resolve(new TextEncoder().encode('OK')));
    expect(await new RedisNonceStore({ client: bytes }).remember('k', 1_000)).toBe(true);
  });

  it('gives up on a command after timeoutMs, and undoes the SET if it lands later', async () => {
    const answers: Array<ReturnType<typeof deferred<unknown>>> = [];
    const { client, commands } = scriptedClient((command) => {
      if (command === 'del') return Promise.resolve(1);
      const next = deferred<unknown>();
      answers.push(next);
      return next.promise;
    });
    const store = new RedisNonceStore({ client, timeoutMs: 20, prefix: 't:' });
    await expect(store.remember('late', 60_000)).rejects.toThrow(
      /^RedisNonceStore\.remember: no answer from Redis within 20 ms$/,
    );
    // Redis comes back and runs the queued SET: it was this call's, so the key goes (the retry is new).
    answers[0]!.resolve('OK');
    await waitFor(() => commands.some(([c, k]) => c === 'del' && k === 't:nonce:late'), 'the undoing DEL');

    // A late SET NX that found the key (another instance's) is not undone.
    const dedup = new RedisOpenAISipDedupStore({ client, timeoutMs: 20, prefix: 't:' });
    await expect(dedup.claim('call:x')).rejects.toThrow(/RedisOpenAISipDedupStore\.claim: no answer/);
    answers[1]!.resolve(null);
    // Another command, answered at once, orders this check after the late answer was seen.
    await expect(new RedisNonceStore({ client }).forget('after')).resolves.toBeUndefined();
    expect(commands.filter(([c, k]) => c === 'del' && k === 't:sip-dedup:call:x')).toEqual([]);
  });
});

describe.skipIf(!REDIS)('Redis going away in the middle of the calls', () => {
  const server = new RedisServer();
  const clientErrors: unknown[] = [];
  let client: TestClient;

  beforeAll(async () => {
    await server.start();
    client = await connectClient(server, clientErrors);
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await server.dispose();
  }, 30_000);

  it('fails the replay check and the SIP delivery with a RedisStoreError while Redis is down, and works once it is back', async () => {
    const guard = new PlivoReplayGuard({ store: new RedisNonceStore({ client, timeoutMs: 500 }) });
    const sip = sipInstance({ dedup: new RedisOpenAISipDedupStore({ client, timeoutMs: 500 }) });
    const before = plivoDelivery('10000000000000000001', 'uuid-before');
    await expect(assertPlivoSignatureV3({ ...before, replayGuard: guard })).resolves.toBeUndefined();

    await server.stop(true); // a crash: SIGKILL, no goodbye to the clients

    // The carrier's webhook arrives now: not a signature failure, not a replay, but the store's error.
    const during = plivoDelivery('10000000000000000002', 'uuid-during');
    const check = await assertPlivoSignatureV3({ ...during, replayGuard: guard }).catch((e: unknown) => e);
    expect(check).toBeInstanceOf(RedisStoreError);
    expect(check).not.toBeInstanceOf(WebhookSignatureError);
    expect((check as RedisStoreError).operation).toBe('RedisNonceStore.remember');
    await expect(
      new ReplayGuard({ store: new RedisNonceStore({ client, timeoutMs: 500 }) }).check('k'),
    ).rejects.toBeInstanceOf(RedisStoreError);

    // OpenAI's delivery of a SIP call: answered 500 (OpenAI retries it), the error reported, no call taken.
    const delivery = openAICallDelivery('rtc_during_outage', 'msg_during_outage');
    const result = await sip.handler.handle(delivery.body, delivery.headers);
    expect(result).toMatchObject({ status: 500, outcome: 'failed' });
    expect(sip.calls).toEqual([]);
    expect(sip.errors.some((e) => e instanceof RedisStoreError)).toBe(true);
    // The client saw the connection go (its error listener, as an application must have one).
    await waitFor(() => clientErrors.length > 0, 'the client to report the lost connection');

    // Redis is back on the same port; the client reconnects by itself.
    await server.start(server.port);
    await waitFor(() => client.isReady, 'the client to reconnect');
    // Anything the client had queued has run and been undone: the retried deliveries are new.
    await waitFor(
      async () =>
        (await client.exists([
          'switchboard:sip-dedup:webhook:msg_during_outage',
          'switchboard:sip-dedup:call:rtc_during_outage',
        ])) === 0,
      'queued claims to be undone',
    );
    await waitFor(
      async () => (await client.keys('switchboard:nonce:plivo:10000000000000000002*')).length === 0,
      'queued nonces to be undone',
    );
    await expect(assertPlivoSignatureV3({ ...during, replayGuard: guard })).resolves.toBeUndefined();
    await expect(assertPlivoSignatureV3({ ...during, replayGuard: guard })).rejects.toThrow(/replayed/);
    const retried = await sip.handler.handle(delivery.body, delivery.headers);
    expect(retried).toMatchObject({ status: 200, outcome: 'handled' });
    expect(sip.calls).toEqual(['rtc_during_outage']);
  }, 120_000);
});
