import { createHash, createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError, type TransferRequest } from '@switchboard/core';
import { startFakeRest, type FakeRest, type RecordedRequest } from '@switchboard/conformance/testing';
import { AzureCallAutomation, azureMediaStreamingOptions, azureTransfer, signAzureRequest } from '../src/index.js';

const ACCESS_KEY = Buffer.from('an-acs-access-key-of-32-bytes!!!').toString('base64');
const CALL = '18dea47f-b081-4107-9a5c-4300819d2c6c';
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

let api: FakeRest;
let client: AzureCallAutomation;

beforeEach(async () => {
  api = await startFakeRest(() => ({ status: 204 }));
  client = new AzureCallAutomation({ endpoint: api.url, accessKey: ACCESS_KEY, now: () => NOW });
});

afterEach(async () => {
  await api.stop();
});

/** Checks a request's HMAC signature as ACS would: recomputed with node:crypto from what arrived. */
function expectSigned(request: RecordedRequest): void {
  const date = request.headers['x-ms-date'] as string;
  expect(date).toBe(new Date(NOW).toUTCString());
  const hash = createHash('sha256').update(request.body).digest('base64');
  expect(request.headers['x-ms-content-sha256']).toBe(hash);
  const toSign = `${request.method}\n${request.path}\n${date};${request.headers.host};${hash}`;
  const signature = createHmac('sha256', Buffer.from(ACCESS_KEY, 'base64')).update(toSign).digest('base64');
  expect(request.headers.authorization).toBe(
    `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
  );
}

describe('AzureCallAutomation', () => {
  it('answers an incoming call with POST :answer, the stream to open, and resolves with the call connection id', async () => {
    api.reply = () => ({
      status: 200,
      body: { callConnectionId: CALL, mediaStreamingSubscription: { id: 'sub-1', state: 'active' } },
    });
    const mediaStreamingOptions = azureMediaStreamingOptions({ transportUrl: 'wss://agent.example.com/media' });
    await expect(
      client.answerCall('H4sIAAAA-context', {
        callbackUri: 'https://agent.example.com/acs/events',
        mediaStreamingOptions,
      }),
    ).resolves.toMatchObject({ callConnectionId: CALL, mediaStreamingSubscriptionId: 'sub-1' });
    const [request] = api.requests;
    expect(request!.path).toBe('/calling/callConnections:answer?api-version=2025-05-15');
    expect(JSON.parse(request!.body)).toEqual({
      incomingCallContext: 'H4sIAAAA-context',
      callbackUri: 'https://agent.example.com/acs/events',
      mediaStreamingOptions,
    });
    expectSigned(request!);
    api.reply = () => ({ status: 200, body: {} });
    await expect(client.answerCall('ctx', { callbackUri: 'https://a/e' })).rejects.toThrow(CallControlError);
    await expect(client.answerCall('', { callbackUri: 'https://a/e' })).rejects.toThrow(ConfigError);
    await expect(client.answerCall('ctx', { callbackUri: 'ftp://a' })).rejects.toThrow(ConfigError);
  });

  it('terminates the call for everyone with POST :terminate, HMAC-signed over method, path, date, host and body hash', async () => {
    await expect(client.hangUp(CALL)).resolves.toEqual({ alreadyEnded: false });
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/calling/callConnections/${CALL}:terminate?api-version=2025-05-15`);
    expect(request!.body).toBe('');
    expectSigned(request!);
  });

  it('leaves the call with DELETE when not for everyone, and resolves alreadyEnded for a call ACS no longer knows (404)', async () => {
    await client.hangUp(CALL, { forEveryone: false });
    expect(api.requests[0]).toMatchObject({
      method: 'DELETE',
      path: `/calling/callConnections/${CALL}?api-version=2025-05-15`,
    });
    expectSigned(api.requests[0]!);
    api.reply = () => ({ status: 404, body: { error: { code: '8522', message: 'Call not found.' } } });
    await expect(client.hangUp(CALL)).resolves.toEqual({ alreadyEnded: true });
  });

  it('transfers to a phone number with targetParticipant, sourceCallerIdNumber and operationContext, signed over the JSON body', async () => {
    api.reply = () => ({ status: 202, body: { operationContext: 'ctx' } });
    await expect(
      client.transfer(CALL, '+14255550199', { sourceCallerIdNumber: '+18005550100', operationContext: 'ctx' }),
    ).resolves.toEqual({ alreadyEnded: false, operationContext: 'ctx' });
    const [request] = api.requests;
    expect(request!.path).toBe(`/calling/callConnections/${CALL}:transferToParticipant?api-version=2025-05-15`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      targetParticipant: { kind: 'phoneNumber', phoneNumber: { value: '+14255550199' } },
      sourceCallerIdNumber: { value: '+18005550100' },
      operationContext: 'ctx',
    });
    expectSigned(request!);
  });

  it('transfers to an ACS user, or to an identifier given as the REST API takes it', async () => {
    await client.transfer(CALL, '8:acs:resource_user');
    expect(JSON.parse(api.requests[0]!.body).targetParticipant).toEqual({
      kind: 'communicationUser',
      communicationUser: { id: '8:acs:resource_user' },
    });
    // A phone number's raw id (4: and the number, with or without its +) is a phone number too.
    for (const rawId of ['4:14255550199', '4:+14255550199']) {
      await client.transfer(CALL, rawId);
      expect(JSON.parse(api.requests.pop()!.body).targetParticipant).toEqual({
        kind: 'phoneNumber',
        phoneNumber: { value: '+14255550199' },
      });
    }
    const teams = { kind: 'microsoftTeamsUser', microsoftTeamsUser: { userId: 'u1' } };
    await client.transfer(CALL, teams, { extra: { transferee: { rawId: '4:14255550100' } } });
    expect(JSON.parse(api.requests[1]!.body)).toEqual({
      transferee: { rawId: '4:14255550100' },
      targetParticipant: teams,
    });
  });

  it('sends a Bearer token with getToken instead of signing, and reads a connection string', async () => {
    const withToken = new AzureCallAutomation({ endpoint: api.url, getToken: async () => 'entra-token' });
    await withToken.hangUp(CALL);
    expect(api.requests[0]!.headers.authorization).toBe('Bearer entra-token');
    expect(api.requests[0]!.headers['x-ms-date']).toBeUndefined();
    const fromString = new AzureCallAutomation({
      connectionString: `endpoint=${api.url}/;accesskey=${ACCESS_KEY}`,
      apiVersion: '2024-09-15',
      now: () => NOW,
    });
    await fromString.hangUp(CALL);
    expect(api.requests[1]!.path).toBe(`/calling/callConnections/${CALL}:terminate?api-version=2024-09-15`);
    expectSigned(api.requests[1]!);
  });

  it('rejects a refusal with a CallControlError carrying the status and ACS’s error code, never the key', async () => {
    api.reply = () => ({ status: 401, body: { error: { code: 'Unauthorized', message: 'Denied by the resource.' } } });
    const error = (await client.hangUp(CALL).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(401);
    expect(error.providerCode).toBe('Unauthorized');
    expect(error.message).toMatch(/HTTP 401, code Unauthorized\): Denied by the resource/);
    expect(error.message).not.toContain(ACCESS_KEY);
  });

  it('turns a network failure and a timeout into CallControlErrors', async () => {
    const down = new AzureCallAutomation({
      endpoint: 'http://127.0.0.1:1',
      accessKey: ACCESS_KEY,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.hangUp(CALL)).rejects.toThrow(/did not complete/);
    const slow = new AzureCallAutomation({
      endpoint: api.url,
      accessKey: ACCESS_KEY,
      fetch: async (_input, init) => {
        const error = new Error('timed out');
        error.name = 'TimeoutError';
        void init;
        throw error;
      },
    });
    await expect(slow.hangUp(CALL)).rejects.toThrow(/timed out after 10000 ms/);
  });

  it('refuses options and arguments it cannot use with a ConfigError', async () => {
    expect(() => new AzureCallAutomation({ endpoint: api.url })).toThrow(ConfigError);
    expect(() => new AzureCallAutomation({ accessKey: ACCESS_KEY })).toThrow(ConfigError);
    expect(() => new AzureCallAutomation({ endpoint: api.url, accessKey: '%%%' })).toThrow(ConfigError);
    expect(() => new AzureCallAutomation({ connectionString: 'endpoint=x' })).toThrow(ConfigError);
    expect(() => new AzureCallAutomation({ endpoint: 'ftp://x', accessKey: ACCESS_KEY })).toThrow(ConfigError);
    expect(() => new AzureCallAutomation({ endpoint: api.url, accessKey: ACCESS_KEY, apiVersion: 'latest' })).toThrow(
      ConfigError,
    );
    await expect(client.hangUp('')).rejects.toThrow(ConfigError);
    await expect(client.transfer(CALL, 'sip:agent@example.com')).rejects.toThrow(ConfigError);
    await expect(client.transfer(CALL, '+1425', { sourceCallerIdNumber: 'x' })).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });
});

describe('signAzureRequest', () => {
  it('signs the path with its query, and rejects a key that is not base64', async () => {
    const headers = await signAzureRequest({
      method: 'get',
      url: 'https://r.communication.azure.com/calling/callConnections/x?api-version=2025-05-15',
      accessKey: ACCESS_KEY,
      date: NOW,
    });
    const hash = createHash('sha256').update('').digest('base64');
    const date = new Date(NOW).toUTCString();
    const toSign = `GET\n/calling/callConnections/x?api-version=2025-05-15\n${date};r.communication.azure.com;${hash}`;
    const signature = createHmac('sha256', Buffer.from(ACCESS_KEY, 'base64')).update(toSign).digest('base64');
    expect(headers).toEqual({
      'x-ms-date': date,
      'x-ms-content-sha256': hash,
      Authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
    });
    await expect(signAzureRequest({ method: 'GET', url: 'https://x/', accessKey: '%%' })).rejects.toThrow(ConfigError);
  });
});

describe('azureTransfer', () => {
  const request = (callId: string | undefined): TransferRequest =>
    ({ name: 'billing', destination: '+14255550199', reason: 'asked for billing', callId }) as TransferRequest;

  it('transfers the call of callStart.callId to the destination, with the name and reason as operationContext', async () => {
    api.reply = () => ({ status: 202, body: {} });
    const transfer = azureTransfer({ callAutomation: client, sourceCallerIdNumber: '+18005550100' });
    await expect(transfer(request(CALL))).resolves.toEqual({
      transferred: true,
      alreadyEnded: false,
      to: '+14255550199',
    });
    expect(JSON.parse(api.requests[0]!.body)).toMatchObject({
      targetParticipant: { phoneNumber: { value: '+14255550199' } },
      sourceCallerIdNumber: { value: '+18005550100' },
      operationContext: JSON.stringify({ transfer: 'billing', reason: 'asked for billing' }),
    });
  });

  it('needs the call connection id, and a client', async () => {
    await expect(azureTransfer({ callAutomation: client })(request(undefined))).rejects.toThrow(ConfigError);
    expect(() => azureTransfer({} as never)).toThrow(ConfigError);
  });
});
