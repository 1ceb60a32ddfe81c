import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '@switchboard/core';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';
import { WavixCallControl } from '../src/index.js';

const API_KEY = 'wavix_test_0123456789abcdef';
const CALL = '5dccb6b0-f35c-488c-867b-86fb012c4415';
const STREAM = '123e4567-e89b-12d3-a456-426614174000';

/** Wavix's answer for an id it does not know (the OpenAPI `NotFoundErrorResponse`). */
const NOT_FOUND = { status: 404, body: { success: false, message: 'Record not found' } };

let api: FakeRest;
let calls: WavixCallControl;

beforeEach(async () => {
  api = await startFakeRest(() => ({ status: 200, body: { success: true } }));
  calls = new WavixCallControl({ apiKey: API_KEY, baseUrl: api.url });
});

afterEach(async () => {
  await api.stop();
});

describe('WavixCallControl', () => {
  it('hangs up with DELETE /v1/calls/{id}, Bearer auth and no body', async () => {
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: false });
    const [request] = api.requests;
    expect(request!.method).toBe('DELETE');
    expect(request!.path).toBe(`/v1/calls/${CALL}`);
    expect(request!.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(request!.body).toBe('');
  });

  it('resolves alreadyEnded when Wavix no longer knows the call, so hanging up twice is harmless', async () => {
    api.reply = () => NOT_FOUND;
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.stopStream(CALL, STREAM)).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.transfer(CALL, { to: '+13125550001', from: '+13125550000' })).resolves.toEqual({
      alreadyEnded: true,
    });
  });

  it('answers with a two-way stream of the inbound channel by default', async () => {
    await expect(calls.answer(CALL, { streamUrl: 'wss://agent.example.com/wavix?x=1' })).resolves.toEqual({
      alreadyEnded: false,
    });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/v1/calls/${CALL}/answer`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      stream_url: 'wss://agent.example.com/wavix?x=1',
      stream_type: 'twoway',
      stream_channel: 'inbound',
    });
    await calls.answer(CALL, { recording: true, transcription: false });
    expect(JSON.parse(api.requests[1]!.body)).toEqual({ call_recording: true, call_transcription: false });
  });

  it('starts a stream and resolves with its stream_id; stops it by id', async () => {
    api.reply = () => ({ status: 200, body: { success: true, stream_id: STREAM } });
    await expect(
      calls.startStream(CALL, {
        streamUrl: new URL('wss://agent.example.com/m'),
        streamChannel: 'both',
        streamType: 'oneway',
      }),
    ).resolves.toEqual({ streamId: STREAM });
    expect(api.requests[0]!.path).toBe(`/v1/calls/${CALL}/streams`);
    expect(JSON.parse(api.requests[0]!.body)).toEqual({
      stream_url: 'wss://agent.example.com/m',
      stream_type: 'oneway',
      stream_channel: 'both',
    });
    api.reply = () => ({ status: 200, body: { success: true } });
    await calls.stopStream(CALL, STREAM);
    expect(api.requests[1]).toMatchObject({ method: 'DELETE', path: `/v1/calls/${CALL}/streams/${STREAM}` });
    await expect(calls.startStream(CALL, { streamUrl: 'wss://agent.example.com/m' })).rejects.toThrow(/stream_id/);
  });

  it('transfers with from, to and extra fields, as Wavix’s Node SDK sends it', async () => {
    await calls.transfer(CALL, { to: '+13125550001', from: '+13125550000', extra: { call_recording: true } });
    const [request] = api.requests;
    expect(request!.path).toBe(`/v1/calls/${CALL}/transfer`);
    expect(JSON.parse(request!.body)).toEqual({ to: '+13125550001', from: '+13125550000', call_recording: true });
  });

  it('turns a refusal into a CallControlError with Wavix’s message and field errors, never the key', async () => {
    api.reply = () => ({
      status: 400,
      body: { success: false, message: 'Validation error', errors: { stream_url: 'is invalid' } },
    });
    const error = (await calls
      .answer(CALL, { streamUrl: 'wss://a.example.com' })
      .catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('Wavix rejected answer (HTTP 400): Validation error; stream_url is invalid');
    expect(error.message).not.toContain(API_KEY);
    // A 404 answering a call is a failure, not an ended call: the call was never there to answer.
    api.reply = () => NOT_FOUND;
    await expect(calls.answer(CALL)).rejects.toThrow(CallControlError);
    api.reply = () => ({ status: 401, body: { success: false, error: true, message: 'Unauthorized' } });
    await expect(calls.hangup(CALL)).rejects.toThrow(/HTTP 401\): Unauthorized/);
  });

  it('refuses bad options before any request', async () => {
    expect(() => new WavixCallControl({ apiKey: '' })).toThrow(ConfigError);
    expect(() => new WavixCallControl({ apiKey: API_KEY, baseUrl: 'ftp://x' })).toThrow(ConfigError);
    await expect(calls.hangup('')).rejects.toThrow(ConfigError);
    await expect(calls.answer(CALL, { streamUrl: 'https://agent.example.com' })).rejects.toThrow(/ws:\/\/ or wss:\/\//);
    await expect(
      calls.answer(CALL, { streamUrl: 'wss://a.example.com', streamType: 'both' as 'twoway' }),
    ).rejects.toThrow(ConfigError);
    await expect(calls.startStream(CALL, {} as { streamUrl: string })).rejects.toThrow(/streamUrl/);
    await expect(calls.transfer(CALL, { to: '+13125550001', from: ' ' })).rejects.toThrow(/from/);
    await expect(calls.transfer(CALL, { to: '', from: '+13125550000' })).rejects.toThrow(/to/);
    expect(api.requests).toHaveLength(0);
  });

  it('percent-encodes ids into the path', async () => {
    await calls.hangup('a/b?c');
    expect(api.requests[0]!.path).toBe('/v1/calls/a%2Fb%3Fc');
  });
});
