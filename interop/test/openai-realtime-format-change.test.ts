/**
 * A carrier that restarts its stream with another codec: the transport tells the model the new
 * audio formats, and nothing else. The realtime simulator holds the service's documented rules
 * (openai@7.57 realtime types and the GA OpenAPI description: the voice cannot change once the
 * model has answered with audio), so an update that carried the whole session again, voice
 * included, would be refused, and the new format with it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  base64Decode,
  base64Encode,
  ProtocolError,
  TelephonyRealtimeTransport,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
} from '@switchboard/core';
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import { FakeCarrier } from '@switchboard/conformance/testing';
import { waitUntil } from './support/wait.js';

/** A JSON carrier wire of the test's own: `start` (with a codec), `media`, `stop`. */
class RestartingCarrierProtocol implements MediaStreamProtocol {
  readonly name = 'restarting';
  readonly defaultFormat: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  readonly capabilities = {
    playbackAck: 'none',
    ackOnClear: 'none',
    clear: true,
    dtmfIn: false,
    dtmfOut: false,
  } as const;

  decode(frame: string | Uint8Array): CallEvent[] {
    const message = JSON.parse(String(frame)) as {
      event: string;
      stream?: string;
      codec?: 'pcmu' | 'pcma';
      audio?: string;
    };
    switch (message.event) {
      case 'start':
        return [
          {
            type: 'call_start',
            streamId: message.stream ?? 's',
            format: { encoding: message.codec ?? 'pcmu', sampleRate: 8000, channels: 1 },
            customParameters: {},
            raw: message,
          },
        ];
      case 'media':
        return [{ type: 'audio', payload: base64Decode(message.audio ?? '') }];
      case 'stop':
        return [{ type: 'call_end', reason: 'stop' }];
      default:
        throw new ProtocolError(this.name, `unknown event ${message.event}`);
    }
  }

  encode(command: OutboundCommand): string[] {
    return command.type === 'audio'
      ? [JSON.stringify({ event: 'media', audio: base64Encode(command.payload) })]
      : [JSON.stringify({ event: command.type })];
  }
}

const running: Array<{ stop(): Promise<void> } | { close(): void }> = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) {
    if ('stop' in item) await item.stop();
    else item.close();
  }
});

describe('a carrier format change after the model has spoken', () => {
  it('re-configures the audio formats only, so the voice chosen before the reply is kept', async () => {
    const reply = new Int16Array(24 * 300).map((_, i) => Math.round(6000 * Math.sin(i / 5)));
    const sim = new RealtimeSimulator({ script: [{ kind: 'audio', transcript: 'Hello.', audio: reply }], speed: 4 });
    await sim.start();
    running.push(sim);
    const carrier = new FakeCarrier();
    const transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new RestartingCarrierProtocol(),
      url: sim.url,
      inputAudioInactivityTimeoutMs: null,
    });
    running.push(transport);
    transport.on('error', () => undefined);
    carrier.deliver(JSON.stringify({ event: 'start', stream: 'first', codec: 'pcmu' }));
    const nextSession = sim.nextSession();
    await transport.connect({
      apiKey: 'test',
      initialSessionConfig: { audio: { output: { voice: 'cedar', speed: 1 } } },
    });
    const model: SimulatedSession = await nextSession;
    await waitUntil('the session', () => model.sessionUpdates.some((u) => 'audio' in u));
    expect(model.outputFormat).toEqual({ type: 'audio/pcmu' });

    // The application picks the voice (and pace) for this caller before the greeting.
    transport.sendEvent({
      type: 'session.update',
      session: { type: 'realtime', audio: { output: { voice: 'marin', speed: 1.1 } } },
    });
    await waitUntil(
      'the new voice',
      () => (model.session.audio as { output: { voice: unknown } }).output.voice === 'marin',
    );
    transport.sendEvent({ type: 'response.create' });
    await waitUntil('the greeting', () => model.responses[0]?.status === 'completed');
    const updatesBefore = model.events.filter((e) => e.event.type === 'session.update').length;

    // The carrier restarts the stream in A-law.
    carrier.deliver(JSON.stringify({ event: 'start', stream: 'second', codec: 'pcma' }));
    await waitUntil(
      'the format update',
      () => model.events.filter((e) => e.event.type === 'session.update').length > updatesBefore,
    );
    await waitUntil(
      'the answer to it',
      () => model.serverEvents.some((e) => e.event.type === 'error') || model.outputFormat.type === 'audio/pcma',
    );

    expect(model.violations).toEqual([]);
    expect(model.outputFormat).toEqual({ type: 'audio/pcma' });
    expect(model.inputFormat).toEqual({ type: 'audio/pcma' });
    expect(model.sessionUpdates.at(-1)).toEqual({
      type: 'realtime',
      audio: { input: { format: { type: 'audio/pcma' } }, output: { format: { type: 'audio/pcma' } } },
    });
    expect(model.session.audio).toMatchObject({ output: { voice: 'marin', speed: 1.1 } });
  }, 60_000);
});
