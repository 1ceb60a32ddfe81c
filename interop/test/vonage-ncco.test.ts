/**
 * The NCCOs we build, held against `@vonage/voice` (the Voice client of `@vonage/server-sdk`):
 * at compile time against its NCCO types (`satisfies`), at run time against what its builder
 * classes (`NCCOBuilder`, `Connect`, `Talk`) produce for the same call.
 */
import { Connect, ConnectEventType, NCCOBuilder, Talk, WebsocketBitrate } from '@vonage/voice';
import type { Action, ConnectAction, TalkAction, WebsocketEndpoint } from '@vonage/voice';
import {
  connectWebSocketAction,
  connectWebSocketNcco,
  talkAction,
  type NccoAction,
  type VonageSampleRate,
  type VonageTransferTarget,
} from '@switchboard/vonage';
import { describe, expect, it } from 'vitest';

/**
 * The SDK's types as JSON carries them: its string enums (`NCCOActions.CONNECT`,
 * `WebsocketBitrate.RATE_16000`) become the strings they stand for, which is what an NCCO
 * written as plain JSON holds. Without this, no plain object satisfies the SDK's types: a
 * literal "connect" is not assignable to the enum member.
 */
type Wire<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends Array<infer U>
      ? Array<Wire<U>>
      : { [K in keyof T]: Wire<T[K]> };

const URI = 'wss://bridge.example.com/socket';
const HEADERS = { uuid: '63f61863-4a51-4f6b-86e1-46edebcf9356', tenant: 'acme' };

/**
 * The SDK writes the endpoint's content type as `contentType`; Vonage's NCCO reference and WebSocket guide as
 * `content-type`.
 */
function asDocumented(ncco: unknown): unknown {
  return JSON.parse(JSON.stringify(ncco), (_key: string, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && 'contentType' in value) {
      const { contentType, ...rest } = value as Record<string, unknown>;
      return { ...rest, 'content-type': contentType };
    }
    return value;
  });
}

describe('NCCO against @vonage/voice', () => {
  it('compile time: our connect and talk actions satisfy the SDK’s types (as JSON writes them)', () => {
    const connect = connectWebSocketAction({
      uri: URI,
      headers: HEADERS,
      eventUrl: 'https://bridge.example.com/events',
      eventMethod: 'POST',
      eventType: 'synchronous',
    });
    connect satisfies Wire<ConnectAction>;
    connect.endpoint[0]! satisfies Wire<WebsocketEndpoint>;
    // The SDK types talk's `level` and `style` as strings; Vonage's NCCO reference documents
    // numbers (level -1…1, style an integer), which is what we write.
    talkAction({ text: 'Hello.', language: 'en-GB', bargeIn: true, loop: 2, premium: false }) satisfies Wire<
      Omit<TalkAction, 'level' | 'style'>
    >;
    connectWebSocketNcco({ uri: URI, say: 'Hello.' }) satisfies Array<Wire<Action> | NccoAction>;
    // Every content type we write is one of the SDK's WebsocketBitrate values.
    const rates: Record<VonageSampleRate, `${WebsocketBitrate}`> = {
      8000: WebsocketBitrate.RATE_8000,
      16000: WebsocketBitrate.RATE_16000,
      24000: WebsocketBitrate.RATE_24000,
    };
    for (const [rate, contentType] of Object.entries(rates)) {
      expect(
        connectWebSocketAction({ uri: URI, sampleRate: Number(rate) as VonageSampleRate }).endpoint[0]!['content-type'],
      ).toBe(contentType);
    }
  });

  it('compile time: an NCCO built with the SDK is accepted where we take an NCCO (transfer)', () => {
    const built = new NCCOBuilder().addAction(new Talk('Goodbye.')).build();
    const target: VonageTransferTarget = { ncco: built };
    expect(target).toEqual({ ncco: [{ action: 'talk', text: 'Goodbye.' }] });
  });

  it('run time: the SDK’s builder gives the same NCCO, but for the name of the content type', () => {
    const endpoint: WebsocketEndpoint = {
      type: 'websocket',
      uri: URI,
      contentType: WebsocketBitrate.RATE_16000,
      headers: HEADERS,
    };
    const theirs = new NCCOBuilder()
      .addAction(new Talk('Connecting you now.'))
      .addAction(
        new Connect(
          endpoint,
          undefined,
          undefined,
          ConnectEventType.SYNCHRONOUS,
          undefined,
          undefined,
          undefined,
          'https://bridge.example.com/events',
          'POST',
        ),
      )
      .build();
    const ours = connectWebSocketNcco({
      uri: URI,
      headers: HEADERS,
      say: 'Connecting you now.',
      eventUrl: 'https://bridge.example.com/events',
      eventMethod: 'POST',
      eventType: 'synchronous',
    });
    // Different on purpose: `content-type` is the name Vonage's NCCO reference and WebSocket guide
    // give (and the key of the socket's own first frame); the SDK's `contentType` appears in no
    // Vonage document. Renamed, the two NCCOs are the same JSON.
    expect(JSON.stringify(theirs)).toContain('"contentType":"audio/l16;rate=16000"');
    expect(JSON.stringify(ours)).toContain('"content-type":"audio/l16;rate=16000"');
    expect(asDocumented(theirs)).toEqual(JSON.parse(JSON.stringify(ours)));
  });

  it('run time: 8 and 24 kHz endpoints and a headerless endpoint match the SDK’s too', () => {
    for (const [sampleRate, contentType] of [
      [8000, WebsocketBitrate.RATE_8000],
      [24000, WebsocketBitrate.RATE_24000],
    ] as const) {
      const theirs = new NCCOBuilder().addAction(new Connect({ type: 'websocket', uri: URI, contentType })).build();
      expect(asDocumented(theirs)).toEqual([connectWebSocketAction({ uri: URI, sampleRate })]);
    }
  });

  it('run time: a talk action with its options matches the SDK’s Talk, but for level (a number, as documented)', () => {
    const theirs = new Talk('Hello.', true, 2, undefined, 'en-GB', undefined, true).serializeToNCCO();
    const ours = talkAction({ text: 'Hello.', bargeIn: true, loop: 2, language: 'en-GB', premium: true });
    expect(JSON.parse(JSON.stringify(theirs))).toEqual(JSON.parse(JSON.stringify(ours)));
    expect(new Talk('Hello.', undefined, undefined, '0.5').serializeToNCCO().level).toBe('0.5');
    expect(talkAction({ text: 'Hello.', level: 0.5 }).level).toBe(0.5);
  });
});
