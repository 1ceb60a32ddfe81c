/**
 * OpenAI SIP call control (`POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup`) held
 * against the `openai` SDK's `client.realtime.calls`: the SDK and `OpenAISipCallControl` send the
 * same operation to one local capture server, and the requests are compared field by field
 * (method, path, query, Authorization, Content-Type, Accept, OpenAI-Beta, Idempotency-Key,
 * body). Error answers are compared the same way: what the SDK reads from a non-2xx response,
 * our typed error carries.
 */
import { RealtimeAgent, tool } from '@openai/agents-realtime';
import OpenAI, { APIError, NotFoundError } from 'openai';
import type { CallAcceptParams, CallReferParams, CallRejectParams } from 'openai/resources/realtime/calls';
import type { RealtimeAudioConfig, RealtimeAudioConfigInput } from 'openai/resources/realtime/realtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError } from '@switchboard/core';
import { OpenAISipCallControl, OpenAISipCallControlError, buildOpenAISipAcceptConfig } from '@switchboard/sip';
import { sdkThenOurs, startHttpCapture, type CapturedRequest, type HttpCapture } from './support/http-capture.js';

const API_KEY = 'sk-interop-call-control-0001';
let server: HttpCapture;
let sdk: OpenAI;
let ours: OpenAISipCallControl;

beforeAll(async () => {
  server = await startHttpCapture();
  sdk = new OpenAI({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
  ours = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.clear();
  // OpenAI answers a successful call-control request with 200 and an empty body.
  server.respond({ status: 200, body: '' });
});

/**
 * Headers that differ between two clients for reasons unrelated to the request: the connection,
 * and `x-stainless-timeout`, which the SDK adds when a per-request timeout is set (we set one, 10
 * s by default, so that a hung request cannot hold a webhook reply; the SDK's default is 10 min).
 */
const INCIDENTAL = new Set(['host', 'connection', 'content-length', 'x-stainless-timeout']);

function comparable(request: CapturedRequest) {
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !INCIDENTAL.has(name)));
  return {
    method: request.method,
    path: request.path,
    query: request.query,
    headers,
    body: request.body,
    empty: request.rawBody.length === 0,
  };
}

/** Runs the SDK's request, then ours, and returns what the server received from each. */
async function both(
  sdkCall: () => Promise<unknown>,
  ourCall: () => Promise<unknown>,
): Promise<[CapturedRequest, CapturedRequest]> {
  const pair = await sdkThenOurs(server, sdkCall, ourCall);
  expect(server.requests).toHaveLength(2);
  return pair;
}

function expectSameRequest(theirs: CapturedRequest, mine: CapturedRequest): void {
  expect(comparable(mine)).toEqual(comparable(theirs));
  // What matters, spelled out: bearer auth, no beta header, no idempotency key (neither client sends one).
  expect(mine.headers['authorization']).toBe(`Bearer ${API_KEY}`);
  expect(mine.headers['openai-beta']).toBeUndefined();
  expect(mine.headers['idempotency-key']).toBeUndefined();
  expect(mine.method).toBe('POST');
}

/**
 * CallAcceptParams with `audio.input.noise_reduction` also allowed to be `null`. The SDK's doc
 * comment on that field says "This can be set to `null` to turn off", and the agents SDK sends
 * `null` when no noise reduction is configured, but the declared type leaves `null` out. We
 * keep sending `null` (what the API documents); everything else must be the SDK's type.
 */
type CallAcceptParamsAsDocumented = Omit<CallAcceptParams, 'audio'> & {
  audio?: Omit<RealtimeAudioConfig, 'input'> & {
    input?: Omit<RealtimeAudioConfigInput, 'noise_reduction'> & {
      noise_reduction?: RealtimeAudioConfigInput.NoiseReduction | null;
    };
  };
};
// Only a widening: every CallAcceptParams is one of these.
const widensOnly = (params: CallAcceptParams): CallAcceptParamsAsDocumented => params;

const agent = new RealtimeAgent({
  name: 'Front desk',
  instructions: 'Answer the phone for the clinic and book appointments.',
  tools: [
    tool({
      name: 'book_slot',
      description: 'Book an appointment slot',
      parameters: {
        type: 'object',
        properties: { day: { type: 'string' } },
        required: ['day'],
        additionalProperties: false,
      },
      strict: true,
      execute: async () => 'booked',
    }),
  ],
});

describe('the same call-control request from the openai SDK and from OpenAISipCallControl', () => {
  it("accept: path, headers and JSON body are the SDK's", async () => {
    const config = {
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'You are the front desk.',
      output_modalities: ['audio'],
      audio: {
        input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'semantic_vad', eagerness: 'low' } },
        output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
      },
      tool_choice: 'auto',
      max_output_tokens: 800,
      tracing: 'auto',
    } satisfies CallAcceptParams;
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.accept('rtc_accept_1', config),
      () => ours.accept('rtc_accept_1', config),
    );
    expectSameRequest(theirs, mine);
    expect(mine.path).toBe('/v1/realtime/calls/rtc_accept_1/accept');
    expect(mine.headers['content-type']).toBe('application/json');
    expect(mine.body).toEqual(config);
  });

  it('accept without `type`: we add `type: "realtime"`, which the SDK\'s type requires of the caller', async () => {
    const { type: _type, ...withoutType } = {
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'Hi.',
    } satisfies CallAcceptParams;
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.accept('rtc_accept_2', { type: 'realtime', ...withoutType }),
      () => ours.accept('rtc_accept_2', withoutType),
    );
    expectSameRequest(theirs, mine);
  });

  it("acceptAgent: the body is a CallAcceptParams (checked at compile time, `noise_reduction: null` aside) with the agent's instructions and tools", async () => {
    const sessionOptions = {
      model: 'gpt-realtime',
      config: {
        audio: {
          input: {
            format: { type: 'audio/pcmu' as const },
            turnDetection: { type: 'semantic_vad' as const, eagerness: 'low' as const },
          },
          output: { format: { type: 'audio/pcmu' as const }, voice: 'marin' },
        },
      },
    };
    // What the SDK's type says an accept body is, written out. The agents SDK's builder
    // (OpenAIRealtimeSIP.buildInitialConfig, behind acceptAgent) declares its result only as
    // `{ type: 'realtime' } & Record<string, any>`, so this literal is what ties it to the
    // openai SDK's CallAcceptParams: fields beyond `instructions`, `model`, `tools` and the
    // audio settings given (`output_modalities`, input transcription, `speed`,
    // `noise_reduction: null`) are the agents SDK's session defaults, sent so that the session
    // attached afterwards by call id starts from the same configuration.
    const expected = {
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'Answer the phone for the clinic and book appointments.',
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          noise_reduction: null,
          transcription: { model: 'gpt-4o-mini-transcribe' },
          turn_detection: { type: 'semantic_vad', eagerness: 'low' },
        },
        output: { format: { type: 'audio/pcmu' }, voice: 'marin', speed: 1 },
      },
      tools: [
        {
          type: 'function',
          name: 'book_slot',
          description: 'Book an appointment slot',
          parameters: {
            type: 'object',
            properties: { day: { type: 'string' } },
            required: ['day'],
            additionalProperties: false,
          },
        },
      ],
    } satisfies CallAcceptParamsAsDocumented;
    expect(widensOnly({ type: 'realtime' })).toEqual({ type: 'realtime' });

    const built = await buildOpenAISipAcceptConfig(agent, sessionOptions);
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.accept('rtc_agent_1', built),
      () => ours.acceptAgent('rtc_agent_1', agent, sessionOptions),
    );
    expectSameRequest(theirs, mine);
    expect(mine.body).toEqual(expected);
  });

  it('reject: `{}` without a code (OpenAI answers 603 Decline), `{ status_code }` with one', async () => {
    const [theirsDefault, mineDefault] = await both(
      () => sdk.realtime.calls.reject('rtc_reject_1'),
      () => ours.reject('rtc_reject_1'),
    );
    expectSameRequest(theirsDefault, mineDefault);
    expect(mineDefault.body).toEqual({});
    expect(mineDefault.path).toBe('/v1/realtime/calls/rtc_reject_1/reject');

    server.clear();
    const params = { status_code: 486 } satisfies CallRejectParams;
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.reject('rtc_reject_2', params),
      () => ours.reject('rtc_reject_2', { statusCode: 486 }),
    );
    expectSameRequest(theirs, mine);
    expect(mine.body).toEqual(params);
  });

  it('refer: `{ target_uri }` for tel:, sip: and sips: targets', async () => {
    for (const target of ['tel:+14155550123', 'sip:agent@example.com', 'sips:desk@pbx.example.com;transport=tls']) {
      server.clear();
      const params = { target_uri: target } satisfies CallReferParams;
      const [theirs, mine] = await both(
        () => sdk.realtime.calls.refer('rtc_refer_1', params),
        () => ours.refer('rtc_refer_1', target),
      );
      expectSameRequest(theirs, mine);
      expect(mine.body).toEqual(params);
    }
  });

  it('refer to a bare number: we send it as a tel: URI (on purpose; the SDK sends any string as given)', async () => {
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.refer('rtc_refer_2', { target_uri: 'tel:+14155550123' }),
      () => ours.refer('rtc_refer_2', '+1 (415) 555-0123'),
    );
    expectSameRequest(theirs, mine);
  });

  it('hangup: no body and no Content-Type, like the SDK', async () => {
    const [theirs, mine] = await both(
      () => sdk.realtime.calls.hangup('rtc_hangup_1'),
      () => ours.hangup('rtc_hangup_1'),
    );
    expectSameRequest(theirs, mine);
    expect(mine.rawBody).toBe('');
    expect(mine.headers['content-type']).toBeUndefined();
  });

  it('call ids with reserved characters are percent-encoded into one path segment, the same way', async () => {
    for (const callId of ['rtc_a/b', 'rtc ?#%', 'rtc_..', 'rtc_ü']) {
      server.clear();
      const [theirs, mine] = await both(
        () => sdk.realtime.calls.hangup(callId),
        () => ours.hangup(callId),
      );
      expectSameRequest(theirs, mine);
      expect(mine.path.split('/')).toHaveLength(6);
    }
  });
});

describe('non-2xx answers: what the SDK reads, our typed error carries', () => {
  const errorBody = (code: string, message: string, param: string | null = null) => ({
    error: { message, type: 'invalid_request_error', param, code },
  });

  async function sdkError(call: () => Promise<unknown>): Promise<APIError> {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(APIError);
    return error as APIError;
  }
  async function ourError(call: () => Promise<unknown>): Promise<OpenAISipCallControlError> {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAISipCallControlError);
    expect(error).toBeInstanceOf(CallControlError);
    return error as OpenAISipCallControlError;
  }

  it('400, 401, 409, 429 and 500 with OpenAI error bodies: status, code, type, param, message and request id', async () => {
    const answers = [
      {
        status: 400,
        body: errorBody('invalid_value', "Invalid value for 'audio.output.voice'.", 'audio.output.voice'),
      },
      { status: 401, body: errorBody('invalid_api_key', 'Incorrect API key provided: sk-inter*****0001.') },
      { status: 409, body: errorBody('call_already_accepted', 'The call was already accepted.') },
      {
        status: 429,
        body: { error: { message: 'Rate limit reached.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
      },
      {
        status: 500,
        body: { error: { message: 'The server had an error.', type: 'server_error', param: null, code: null } },
      },
    ];
    for (const [index, answer] of answers.entries()) {
      const requestId = `req_${index}abc`;
      server.respond({ ...answer, headers: { 'x-request-id': requestId } });
      const theirs = await sdkError(() =>
        sdk.realtime.calls.accept('rtc_err', { type: 'realtime', model: 'gpt-realtime' }),
      );
      const mine = await ourError(() => ours.accept('rtc_err', { model: 'gpt-realtime' }));
      const what = `HTTP ${answer.status}`;
      expect.soft(mine.status, what).toBe(theirs.status);
      expect.soft(mine.requestId, what).toBe(theirs.requestID);
      expect.soft(mine.requestId, what).toBe(requestId);
      expect.soft(mine.providerCode ?? null, what).toBe(theirs.code ?? null);
      expect.soft(mine.operation, what).toBe('accept');
      expect.soft(mine.callId, what).toBe('rtc_err');
      expect.soft(mine.timedOut, what).toBe(false);
      expect.soft(mine.code, what).toBe('call_control_error');
      expect.soft(mine.openaiError?.type, what).toBe(theirs.type);
      expect.soft(mine.openaiError?.param ?? null, what).toBe(theirs.param ?? null);
      expect.soft(mine.openaiError?.code ?? null, what).toBe(theirs.code ?? null);
      const theirMessage = (theirs.error as { message?: string }).message!;
      // The body's message, with any key it quotes masked.
      expect.soft(mine.openaiError?.message, what).toBe(theirMessage.replace(/sk-\S+/, 'sk-…'));
      expect.soft(mine.message, what).not.toMatch(/sk-inter/);
    }
  });

  it("a non-JSON error body (a proxy's HTML page): the status, and no OpenAI error object", async () => {
    server.respond({
      status: 502,
      body: '<html><body>Bad gateway</body></html>',
      headers: { 'content-type': 'text/html' },
    });
    const theirs = await sdkError(() => sdk.realtime.calls.hangup('rtc_502'));
    const mine = await ourError(() => ours.hangup('rtc_502'));
    expect(mine.status).toBe(theirs.status);
    expect(mine.status).toBe(502);
    expect(theirs.error).toBeUndefined();
    expect(mine.openaiError).toBeUndefined();
    expect(mine.providerCode).toBeUndefined();
  });

  it('404: the SDK throws NotFoundError; we resolve { alreadyEnded: true } on purpose (the call is gone)', async () => {
    server.respond({ status: 404, body: errorBody('call_not_found', 'Call not found.') });
    await expect(sdk.realtime.calls.hangup('rtc_gone')).rejects.toBeInstanceOf(NotFoundError);
    await expect(ours.hangup('rtc_gone')).resolves.toEqual({ alreadyEnded: true });
    await expect(ours.refer('rtc_gone', 'tel:+14155550123')).resolves.toEqual({ alreadyEnded: true });
  });

  it('retries like the SDK: a 503 then a 200, the same request twice, counted by x-stainless-retry-count', async () => {
    const retrying = new OpenAI({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 1 });
    const retryingOurs = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 1 });
    const failFirstOfEach = () => {
      let seen = 0;
      server.respond(() =>
        seen++ % 2 === 0
          ? {
              status: 503,
              body: { error: { message: 'busy', type: 'server_error', param: null, code: null } },
              headers: { 'retry-after-ms': '1' },
            }
          : { status: 200, body: '' },
      );
    };
    failFirstOfEach();
    await retrying.realtime.calls.reject('rtc_retry', { status_code: 486 });
    failFirstOfEach();
    await expect(retryingOurs.reject('rtc_retry', { statusCode: 486 })).resolves.toEqual({ alreadyEnded: false });
    const requests = await server.waitForRequests(4);
    expect(requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1', '0', '1']);
    expect(comparable(requests[2]!)).toEqual({ ...comparable(requests[0]!) });
    expect(comparable(requests[3]!)).toEqual({ ...comparable(requests[1]!) });
    expect(requests[3]!.body).toEqual({ status_code: 486 });
  });
});
