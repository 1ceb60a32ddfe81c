/**
 * The floor: the least a Twilio ↔ Realtime relay can do per frame, with no RealtimeSession and no
 * transport class. Each Twilio media frame is parsed once and its base64 forwarded in a template
 * `input_audio_buffer.append`; each model audio delta is parsed once, cut into 20 ms Twilio frames
 * plus one mark and written in one corked burst; `speech_started` sends `clear`. Nothing else:
 * no early-media ordering guarantees, no truncation, no error handling. It is not a product; it
 * shows what the runtime and the sockets cost on this machine, below which no implementation can go.
 */
import { WebSocket } from 'ws';

const SESSION_UPDATE = JSON.stringify({
  type: 'session.update',
  session: {
    type: 'realtime',
    audio: {
      input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad' } },
      output: { format: { type: 'audio/pcmu' } },
    },
  },
});
const FRAME_BYTES = 160;

type TwilioFrame = { event: string; media?: { payload: string }; start?: { streamSid: string } };
type ModelEvent = { type: string; delta?: string };

/** The part of a `ws` client socket the floor uses (the in-process harness passes one in memory). */
export type FloorModelSocket = {
  readonly readyState: number;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  send(data: string): void;
  close(): void;
};

/** The floor relay between a Twilio socket and a model socket opened for it (`modelSocket`). */
export function floorRelay(twilio: WebSocket, model: FloorModelSocket): void {
  const early: string[] = [];
  let streamSid = '';
  let marks = 0;
  model.on('open', () => {
    model.send(SESSION_UPDATE);
    for (const message of early) model.send(message);
    early.length = 0;
  });
  twilio.on('message', (data) => {
    const frame = JSON.parse(String(data)) as TwilioFrame;
    if (frame.event === 'media' && frame.media) {
      const append = `{"type":"input_audio_buffer.append","audio":"${frame.media.payload}"}`;
      if (model.readyState === WebSocket.OPEN) model.send(append);
      else early.push(append);
    } else if (frame.event === 'start' && frame.start) {
      streamSid = frame.start.streamSid;
    } else if (frame.event === 'stop') {
      model.close();
    }
  });
  model.on('message', (data) => {
    const event = JSON.parse(String(data)) as ModelEvent;
    if (event.type === 'response.output_audio.delta' && event.delta) {
      writeAudioAndMark(twilio, Buffer.from(event.delta, 'base64'), streamSid, String(++marks));
    } else if (event.type === 'input_audio_buffer.speech_started') {
      twilio.send(`{"event":"clear","streamSid":"${streamSid}"}`);
    }
  });
  twilio.on('close', () => model.close());
  model.on('error', () => twilio.close());
}

/** The model socket the whole-process bench's floor opens. */
export function modelSocket(url: string): FloorModelSocket {
  return new WebSocket(url, { headers: { Authorization: 'Bearer sk-bench' } });
}

/** Model audio to Twilio as the floors send it: 20 ms media frames and one mark, in one corked write. */
export function writeAudioAndMark(twilio: WebSocket, audio: Buffer, streamSid: string, mark: string): void {
  const socket = (twilio as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
  socket.cork();
  for (let at = 0; at < audio.length; at += FRAME_BYTES) {
    const payload = audio.subarray(at, at + FRAME_BYTES).toString('base64');
    twilio.send(`{"event":"media","streamSid":"${streamSid}","media":{"payload":"${payload}"}}`);
  }
  twilio.send(`{"event":"mark","streamSid":"${streamSid}","mark":{"name":"${mark}"}}`);
  socket.uncork();
}
