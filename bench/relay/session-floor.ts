/**
 * The session floor: the least a relay can do per frame when it runs a `RealtimeSession` on the
 * SDK's own model connection (`OpenAIRealtimeWebSocket`), as every Switchboard transport does.
 * Per Twilio frame it does what the floor (`floor.ts`) does: one parse, its base64 forwarded in a
 * template `input_audio_buffer.append` written straight to the model socket (early frames kept
 * until the session is connected). Each model audio delta reaches it the SDK's way (`_onAudio`,
 * after the SDK's parses of the message) and is cut into 20 ms frames plus one mark in one corked
 * write; `speech_started` sends `clear`. Everything else is the SDK's: its parse, copy and
 * handling of every model event, the session's history, its own interruption and truncation.
 *
 * It is not a product (no ledger, no exact truncation, no error handling, no pacing rules); it
 * shows what the SDK's model connection and a `RealtimeSession` cost on top of the bare floor,
 * below which no transport built on them can go.
 */
import {
  OpenAIRealtimeWebSocket,
  type OpenAIRealtimeWebSocketOptions,
  type TransportLayerAudio,
} from '@openai/agents-realtime';
import { WebSocket } from 'ws';
import { writeAudioAndMark } from './floor.js';

type TwilioFrame = { event: string; media?: { payload: string }; start?: { streamSid: string } };

export class SessionFloorTransport extends OpenAIRealtimeWebSocket {
  readonly #twilio: WebSocket;
  #streamSid = '';
  #marks = 0;
  #early: string[] = [];

  /** `options` go to the SDK's model connection as they are (`createWebSocket`: an in-memory socket). */
  constructor(twilio: WebSocket, url: string, options: Omit<OpenAIRealtimeWebSocketOptions, 'url'> = {}) {
    super({ ...options, url });
    this.#twilio = twilio;
    twilio.on('message', (data) => {
      const frame = JSON.parse(String(data)) as TwilioFrame;
      if (frame.event === 'media' && frame.media) {
        const append = `{"type":"input_audio_buffer.append","audio":"${frame.media.payload}"}`;
        const model = this.connectionState.websocket;
        if (this.status === 'connected' && model && this.#early.length === 0) model.send(append);
        else this.#early.push(append);
      } else if (frame.event === 'start' && frame.start) {
        this.#streamSid = frame.start.streamSid;
      } else if (frame.event === 'stop') {
        this.close();
      }
    });
    twilio.on('close', () => this.close());
    this.on('input_audio_buffer.speech_started', () => {
      if (twilio.readyState === WebSocket.OPEN) twilio.send(`{"event":"clear","streamSid":"${this.#streamSid}"}`);
    });
    this.on('connection_change', (status) => {
      if (status === 'connected') this.#flushEarly();
    });
  }

  #flushEarly(): void {
    const model = this.connectionState.websocket;
    if (!model) return;
    for (const append of this.#early) model.send(append);
    this.#early = [];
  }

  protected override _onAudio(audioEvent: TransportLayerAudio): void {
    super._onAudio(audioEvent);
    const twilio = this.#twilio;
    if (twilio.readyState !== WebSocket.OPEN) return;
    writeAudioAndMark(twilio, Buffer.from(audioEvent.data), this.#streamSid, String(++this.#marks));
  }
}
