import { ConfigError, ProtocolError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { GenesysAudioHookProtocol } from '../src/index.js';

const ID = 'e160e428-53e2-487c-977d-96989bf5c99d';
const PCMU = { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 };
const L16 = { type: 'audio', format: 'L16', channels: ['external'], rate: 8000 };
const STEREO_PCMU = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };

/** A client message as Genesys writes it; `seq` counts from 1 per test via `next`. */
function client(type: string, seq: number, parameters: Record<string, unknown> = {}, extra: object = {}): string {
  return JSON.stringify({ version: '2', id: ID, type, seq, serverseq: 0, position: 'PT0S', parameters, ...extra });
}

function open(media: unknown[] = [PCMU], extra: Record<string, unknown> = {}): string {
  return client('open', 1, {
    organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
    conversationId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
    participant: {
      id: '883efee8-3d6c-4537-b500-6d7ca4b92fa0',
      ani: '+13175551234',
      aniName: 'Jane',
      dnis: '+18005550199',
    },
    media,
    language: 'en-US',
    customConfig: { region: 'eu' },
    inputVariables: { intent: 'billing', attempts: '2' },
    ...extra,
  });
}

function opened(media: unknown[] = [PCMU]): GenesysAudioHookProtocol {
  const protocol = new GenesysAudioHookProtocol();
  protocol.decode(open(media));
  protocol.takeReplies();
  return protocol;
}

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

const parse = (frame: string | Uint8Array | undefined) => JSON.parse(String(frame)) as Record<string, any>;

describe('GenesysAudioHookProtocol', () => {
  it('starts the call on open and answers opened with the media it chose', () => {
    const protocol = new GenesysAudioHookProtocol();
    const events = protocol.decode(open([L16, PCMU]));
    expect(events).toEqual([
      {
        type: 'call_start',
        streamId: ID,
        callId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
        from: '+13175551234',
        to: '+18005550199',
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: { intent: 'billing', attempts: '2' },
        raw: expect.objectContaining({ type: 'open', id: ID }),
      },
    ]);
    const [reply, ...rest] = protocol.takeReplies();
    expect(rest).toEqual([]);
    expect(parse(reply)).toEqual({
      version: '2',
      type: 'opened',
      seq: 1,
      clientseq: 1,
      id: ID,
      parameters: { media: [PCMU], startPaused: false },
    });
    expect(protocol.openParameters).toMatchObject({ customConfig: { region: 'eu' }, language: 'en-US' });
    expect(protocol.sessionOpen).toBe(true);
  });

  it('takes L16 when it is preferred, and mono over both channels', () => {
    const l16 = new GenesysAudioHookProtocol({ formats: ['L16', 'PCMU'] });
    expect(l16.decode(open([PCMU, L16]))[0]).toMatchObject({ format: { encoding: 'l16', sampleRate: 8000 } });
    const mono = new GenesysAudioHookProtocol();
    mono.decode(open([STEREO_PCMU, PCMU]));
    expect(mono.media).toEqual(PCMU);
  });

  it('reads the caller’s channel out of a stereo stream', () => {
    const protocol = opened([STEREO_PCMU]);
    const [audio] = protocol.decode(Uint8Array.of(1, 101, 2, 102, 3, 103));
    expect(audio).toEqual({ type: 'audio', payload: Uint8Array.of(1, 2, 3) });
  });

  it('refuses an open that offers nothing it can take, and asks Genesys to disconnect', () => {
    const protocol = new GenesysAudioHookProtocol();
    const error = refusal(() =>
      protocol.decode(
        open([
          { ...PCMU, rate: 16000 },
          { ...PCMU, channels: ['internal'] },
        ]),
      ),
    );
    expect(error.code).toBe('genesys_unsupported_media');
    expect(parse(protocol.takeReplies()[0])).toMatchObject({ type: 'disconnect', parameters: { reason: 'error' } });
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(1600) })).toEqual([]);
  });

  it('answers a connection probe (no media) without starting a call', () => {
    const protocol = new GenesysAudioHookProtocol();
    expect(protocol.decode(open([]))).toEqual([]);
    expect(parse(protocol.takeReplies()[0])).toMatchObject({ type: 'opened', parameters: { media: [] } });
    expect(protocol.decode(client('close', 2, { reason: 'end' }))).toEqual([{ type: 'call_end', reason: 'end' }]);
    expect(parse(protocol.takeReplies()[0])).toMatchObject({ type: 'closed', seq: 2, clientseq: 2 });
  });

  it('answers ping with pong, and close with closed and the end of the call', () => {
    const protocol = opened();
    expect(protocol.decode(client('ping', 2, { rtt: 'PT0.05S' }))).toEqual([]);
    expect(parse(protocol.takeReplies()[0])).toEqual({
      version: '2',
      type: 'pong',
      seq: 2,
      clientseq: 2,
      id: ID,
      parameters: {},
    });
    expect(protocol.decode(client('close', 3, { reason: 'disconnect' }))).toEqual([
      { type: 'call_end', reason: 'disconnect' },
    ]);
    expect(parse(protocol.takeReplies()[0])).toMatchObject({ type: 'closed', seq: 3, clientseq: 3 });
    expect(protocol.sessionOpen).toBe(false);
    expect(refusal(() => protocol.decode(new Uint8Array(160))).code).toBe('genesys_audio_after_close');
  });

  it('reports DTMF, and tracks pause and resume', () => {
    const protocol = opened();
    expect(protocol.decode(client('dtmf', 2, { digit: '#' }))).toEqual([{ type: 'dtmf', digit: '#' }]);
    protocol.decode(client('paused', 3));
    expect(protocol.paused).toBe(true);
    protocol.decode(client('resumed', 4, { start: 'PT3.2S', discarded: 'PT1.5S' }));
    expect(protocol.paused).toBe(false);
    expect(protocol.decode(client('playback_completed', 5))).toEqual([]);
    expect(protocol.decode(client('some_future_message', 6))).toEqual([]);
  });

  it('refuses audio before open, and audio that is not whole samples or too large', () => {
    expect(refusal(() => new GenesysAudioHookProtocol().decode(new Uint8Array(160))).code).toBe(
      'genesys_audio_before_open',
    );
    const l16 = new GenesysAudioHookProtocol({ formats: ['L16'] });
    l16.decode(open([L16]));
    expect(refusal(() => l16.decode(new Uint8Array(321))).message).toMatch(/whole samples/);
    expect(refusal(() => l16.decode(new Uint8Array(64_002))).message).toMatch(/64000-byte limit/);
    expect(l16.decode(new Uint8Array(320))).toHaveLength(1);
    expect(l16.positionMs).toBe(20);
  });

  it('refuses malformed messages and goes on with the next', () => {
    const protocol = opened();
    const bad = [
      'not json',
      '[1]',
      client('ping', 2, {}, { version: '1' }),
      client('ping', 2, {}, { seq: 'two' }),
      client('ping', 2, {}, { serverseq: -1 }),
      client('ping', 2, {}, { position: '3 seconds' }),
      client('ping', 2, {}, { id: 7 }),
      client('ping', 2, {}, { parameters: [] }),
      client('ping', 1),
      client('ping', 2, {}, { serverseq: 5 }),
      client('ping', 2, {}, { id: '00000000-0000-0000-0000-000000000001' }),
      client('dtmf', 2, { digit: 'x' }),
      client('error', 3, { code: 429, message: 'Too many requests', retryAfter: 'PT2S' }),
    ];
    const errors = bad.map((frame) => refusal(() => protocol.decode(frame)));
    expect(errors.at(-3)!.code).toBe('genesys_session_mismatch');
    expect(errors.at(-1)!.code).toBe('genesys_client_error');
    expect(errors.at(-1)!.message).toMatch(/429: Too many requests/);
    expect(protocol.decode(client('dtmf', 4, { digit: '5' }))).toEqual([{ type: 'dtmf', digit: '5' }]);
  });

  it('refuses an open whose id is not the upgrade request’s session', () => {
    const protocol = new GenesysAudioHookProtocol({ sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0' });
    expect(refusal(() => protocol.decode(open())).code).toBe('genesys_session_mismatch');
  });

  it('refuses an open whose organization is not the upgrade request’s', () => {
    const protocol = new GenesysAudioHookProtocol({ organizationId: '00000000-0000-4000-8000-000000000001' });
    expect(refusal(() => protocol.decode(open())).code).toBe('genesys_organization_mismatch');
    const same = new GenesysAudioHookProtocol({ organizationId: 'd7934305-0972-4844-938e-9060eef73d05' });
    expect(same.decode(open())).toHaveLength(1);
  });

  it('starts over for an open with another session id', () => {
    const protocol = opened();
    const second = open().replaceAll(ID, '0f6a1d5e-2b3c-4d5e-8f90-a1b2c3d4e5f6');
    expect(protocol.decode(second)).toMatchObject([
      { type: 'call_start', streamId: '0f6a1d5e-2b3c-4d5e-8f90-a1b2c3d4e5f6' },
    ]);
    expect(parse(protocol.takeReplies()[0])).toMatchObject({ type: 'opened', seq: 1, clientseq: 1 });
    expect(refusal(() => protocol.decode(second)).message).toMatch(/repeats/);
  });

  it('sends audio as binary frames, after any answer still queued', () => {
    const protocol = new GenesysAudioHookProtocol();
    protocol.decode(open());
    const frames = protocol.encode({ type: 'audio', payload: new Uint8Array(1600) });
    expect(frames).toHaveLength(2);
    expect(parse(frames[0])).toMatchObject({ type: 'opened' });
    expect(frames[1]).toEqual(new Uint8Array(1600));
    expect(protocol.encode({ type: 'mark', name: 'm1' })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
  });

  it('clears with a barge_in event, and hangs up with disconnect and the output variables', () => {
    const protocol = opened();
    expect(parse(protocol.encode({ type: 'clear' })[0])).toEqual({
      version: '2',
      type: 'event',
      seq: 2,
      clientseq: 1,
      id: ID,
      parameters: { entities: [{ type: 'barge_in', data: {} }] },
    });
    protocol.setDisconnect({ outputVariables: { outcome: 'resolved' } });
    protocol.setDisconnect({ info: 'done', outputVariables: { transfer: 'billing' } });
    expect(parse(protocol.encode({ type: 'hangup' })[0])).toMatchObject({
      type: 'disconnect',
      seq: 3,
      parameters: { reason: 'completed', info: 'done', outputVariables: { outcome: 'resolved', transfer: 'billing' } },
    });
    expect(protocol.encode({ type: 'hangup' })).toEqual([]);
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(1600) })).toEqual([]);
  });

  it('sends the output variables with closed only when asked to', () => {
    for (const closedOutputVariables of [false, true]) {
      const protocol = new GenesysAudioHookProtocol({ closedOutputVariables });
      protocol.decode(open());
      protocol.setDisconnect({ outputVariables: { outcome: 'caller_left' } });
      protocol.decode(client('close', 2, { reason: 'end' }));
      const closed = parse(protocol.takeReplies().at(-1));
      expect(closed.parameters).toEqual(closedOutputVariables ? { outputVariables: { outcome: 'caller_left' } } : {});
    }
  });

  it('asks Genesys to pause and resume the audio', () => {
    const protocol = opened();
    expect(parse(protocol.requestPause(true)[0])).toMatchObject({ type: 'pause', seq: 2 });
    expect(parse(protocol.requestPause(false)[0])).toMatchObject({ type: 'resume', seq: 3 });
  });

  it('declares no acks, a clear, DTMF in, and paced frames', () => {
    expect(new GenesysAudioHookProtocol().capabilities).toEqual({
      playbackAck: 'none',
      ackOnClear: 'none',
      clear: true,
      dtmfIn: true,
      dtmfOut: false,
      frame: { ms: 200, maxBytes: 64_000 },
      pacing: { leadMs: 1000 },
    });
    expect(new GenesysAudioHookProtocol({ leadMs: null, frameMs: 100 }).capabilities).toMatchObject({
      frame: { ms: 100 },
    });
    expect(new GenesysAudioHookProtocol({ leadMs: null }).capabilities.pacing).toBeUndefined();
  });

  it('refuses bad options and bad disconnect values with a ConfigError', () => {
    expect(() => new GenesysAudioHookProtocol({ formats: ['OPUS' as 'PCMU'] })).toThrow(ConfigError);
    expect(() => new GenesysAudioHookProtocol({ frameMs: 0 })).toThrow(ConfigError);
    expect(() => new GenesysAudioHookProtocol({ frameMs: 5000 })).toThrow(ConfigError);
    const protocol = opened();
    expect(() => protocol.setDisconnect({ reason: 'bye' as 'error' })).toThrow(ConfigError);
    expect(() => protocol.setDisconnect({ outputVariables: { n: 1 as unknown as string } })).toThrow(ConfigError);
  });
});
