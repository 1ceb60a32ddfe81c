/**
 * `TelnyxCallControl` against the `telnyx` SDK: both clients send the same commands to one local
 * HTTP server, and the requests must agree on what Telnyx reads (method, path, authorization,
 * content type, the JSON body). Headers that only name the client (user agent, the SDK's
 * `x-stainless-*` telemetry) are not compared.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError } from '@switchboard/core';
import { TELNYX_CALL_ENDED_CODE } from '@switchboard/telnyx';
import { useHttpCapture } from './support/http-capture.js';
import { TELNYX_API_KEY, telnyxWire, useTelnyxClients } from './support/telnyx-clients.js';

/** Call control ids as Telnyx issues them (v2 and v3), and one that needs escaping in a path. */
const IDS = [
  'v3:u5OAKGEPT3Dx8SZSSDRWEMdNH2OripQhO',
  'v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ',
  'v3:a/b c?d',
];

const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, { status: 200, body: { data: { result: 'ok' } } });
const telnyx = useTelnyxClients({ beforeAll }, server);

describe('TelnyxCallControl against telnyx (SDK) calls.actions', () => {
  it.each(IDS)('hangup of %s: the same request', async (id) => {
    const { sdk: a, ours: b } = await telnyx.both(
      () => telnyx.sdk.calls.actions.hangup(id, {}),
      () => telnyx.ours.hangup(id),
    );
    expect(b).toEqual(a);
    expect(a).toMatchObject({
      method: 'POST',
      authorization: `Bearer ${TELNYX_API_KEY}`,
      contentType: 'application/json',
      body: {},
    });
  });

  it('transfer: the same request, with and without a caller id and extra fields', async () => {
    const id = IDS[0]!;
    const plain = await telnyx.both(
      () => telnyx.sdk.calls.actions.transfer(id, { to: '+13125550001' }),
      () => telnyx.ours.transfer(id, { to: '+13125550001' }),
    );
    expect(plain.ours).toEqual(plain.sdk);
    expect(plain.sdk.target).toBe(`/v2/calls/${id}/actions/transfer`);
    server.clear();
    const full = await telnyx.both(
      () =>
        telnyx.sdk.calls.actions.transfer(id, {
          to: 'sip:agent@example.com',
          from: '+13125550000',
          timeout_secs: 20,
          client_state: 'c3RhdGU=',
        }),
      () =>
        telnyx.ours.transfer(id, {
          to: 'sip:agent@example.com',
          from: '+13125550000',
          extra: { timeout_secs: 20, client_state: 'c3RhdGU=' },
        }),
    );
    expect(full.ours).toEqual(full.sdk);
  });

  it('send_dtmf: the same request, with and without a digit duration', async () => {
    const id = IDS[1]!;
    const plain = await telnyx.both(
      () => telnyx.sdk.calls.actions.sendDtmf(id, { digits: '1234#' }),
      () => telnyx.ours.sendDtmf(id, '1234#'),
    );
    expect(plain.ours).toEqual(plain.sdk);
    expect(plain.sdk.target).toBe(`/v2/calls/${id}/actions/send_dtmf`);
    server.clear();
    const timed = await telnyx.both(
      () => telnyx.sdk.calls.actions.sendDtmf(id, { digits: '1w2W*#', duration_millis: 250 }),
      () => telnyx.ours.sendDtmf(id, '1w2W*#', { durationMs: 250 }),
    );
    expect(timed.ours).toEqual(timed.sdk);
    expect(timed.sdk.body).toEqual({ digits: '1w2W*#', duration_millis: 250 });
  });

  it('answer and streaming_start with a bidirectional RTP stream (as the README starts one): the same request', async () => {
    const id = IDS[0]!;
    // Both clients are given the same fields.
    const answerFields = {
      stream_url: 'wss://agent.example.com/media',
      stream_track: 'inbound_track',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'PCMU',
    } as const;
    const answer = await telnyx.both(
      () => telnyx.sdk.calls.actions.answer(id, answerFields),
      () => telnyx.ours.action(id, 'answer', answerFields),
    );
    expect(answer.ours).toEqual(answer.sdk);
    server.clear();
    const streamFields = {
      stream_url: 'wss://agent.example.com/media',
      stream_track: 'inbound_track',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'L16',
      stream_bidirectional_sampling_rate: 16000,
      stream_codec: 'L16',
    } as const;
    const stream = await telnyx.both(
      () => telnyx.sdk.calls.actions.startStreaming(id, streamFields),
      () => telnyx.ours.action(id, 'streaming_start', streamFields),
    );
    expect(stream.ours).toEqual(stream.sdk);
    expect(stream.sdk.target).toBe(`/v2/calls/${id}/actions/streaming_start`);
  });

  it('a command to a call that already ended (422, code 90018): the SDK throws, we resolve alreadyEnded — on purpose', async () => {
    // Hanging up a call the caller already left is the normal end of most calls; the SDK reports
    // it as an UnprocessableEntityError. Both read the same error body: the SDK's error carries
    // code 90018, which is what makes ours resolve `{ alreadyEnded: true }` instead of throwing.
    const ended = {
      errors: [
        {
          code: TELNYX_CALL_ENDED_CODE,
          title: 'Call has already ended',
          detail: 'This call is no longer active and can not receive commands.',
        },
      ],
    };
    server.respond({ status: 422, body: ended });
    const id = IDS[0]!;
    const thrown = await telnyx.sdk.calls.actions.hangup(id, {}).then(
      () => undefined,
      (error: unknown) => error as { status?: number; error?: unknown },
    );
    expect(thrown?.status).toBe(422);
    expect(thrown?.error).toEqual(ended);
    await expect(telnyx.ours.hangup(id)).resolves.toEqual({ alreadyEnded: true });
    const [theirs, mine] = await server.waitForRequests(2);
    expect(telnyxWire(mine!)).toEqual(telnyxWire(theirs!));

    // Any other 422 is an error for both.
    server.clear();
    server.respond({
      status: 422,
      body: { errors: [{ code: '90015', title: 'Invalid value', detail: 'to is invalid' }] },
    });
    await expect(telnyx.sdk.calls.actions.transfer(id, { to: 'nowhere' })).rejects.toMatchObject({ status: 422 });
    await expect(telnyx.ours.transfer(id, { to: 'nowhere' })).rejects.toBeInstanceOf(CallControlError);
  });
});
