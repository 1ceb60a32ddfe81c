// One phone call, written as an application writes it against the installed packages: a
// WebSocket server takes the carrier's media stream, hands it to the carrier's transport and a
// `RealtimeSession` of the public Agents SDK, and the realtime simulator stands in for the OpenAI
// API. The carrier's side is its peer simulator, streaming 20 ms frames in real time as a carrier
// does. The caller speaks, the agent calls a tool and answers, the caller presses a key, and the
// call ends: with Twilio the caller hangs up (`stop`); with Asterisk the agent hangs up on `#`.
//
//   node call.mjs twilio|asterisk
//
// Prints one line `RESULT <json>` with what each side saw, then returns: a handle left open
// (a socket, a timer) keeps the process alive, and the test that runs this file fails on it.
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents/realtime';
import { z } from 'zod';
import { WebSocket, WebSocketServer } from 'ws';
import { RealtimeSimulator } from '@switchboard/conformance';
import { decodeMuLaw, encodeMuLaw } from '@switchboard/core';
import { TWILIO_MAX_PAYLOAD, TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { RAW_WEBSOCKET_MAX_PAYLOAD, RawWebSocketRealtimeTransport } from '@switchboard/websocket';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';

const carrier = process.argv[2];
if (carrier !== 'twilio' && carrier !== 'asterisk') {
  console.error('usage: node call.mjs twilio|asterisk');
  process.exit(2);
}

const MULAW_8K = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const SLIN16 = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const FRAME_MS = 20;
const SPEECH_MS = 800;
const REPLY_MS = 800;
const DEADLINE_MS = 45_000;

/** A sine of `ms` milliseconds at `rate`, 16-bit. */
function tone(ms, rate, hz, amplitude) {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Polls `condition` every 20 ms until it holds; rejects naming `what` after the deadline. */
async function until(what, condition, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The caller: 200 ms of near silence, 800 ms of loud tone (speech to the simulator's energy VAD),
// then near silence (about -60 dBFS, under the VAD's threshold) for as long as the call lasts.
const speech = encodeMuLaw(tone(SPEECH_MS, 8000, 440, 8000));
const quiet = encodeMuLaw(tone(FRAME_MS, 8000, 300, 30));
const callerFrames = [quiet, quiet, quiet, quiet, quiet];
callerFrames.splice(
  callerFrames.length,
  0,
  ...Array.from({ length: SPEECH_MS / FRAME_MS }, (_, i) => speech.subarray(i * 160, (i + 1) * 160)),
);

// The model: a tool call first, then a spoken answer (PCM16 24 kHz).
const simulator = new RealtimeSimulator({
  speed: 2,
  script: [
    { kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } },
    { kind: 'audio', transcript: 'It is sunny in Paris.', audio: tone(REPLY_MS, 24000, 660, 6000) },
  ],
});
await simulator.start({ host: '127.0.0.1', port: 0 });
let model;
simulator.on('session', (session) => (model ??= session));

// The application.
const toolCalls = [];
const weather = tool({
  name: 'weather',
  description: 'The weather in a city.',
  parameters: z.object({ location: z.string() }),
  execute: async ({ location }) => {
    toolCalls.push(location);
    return `Sunny in ${location}.`;
  },
});
const agent = new RealtimeAgent({ name: 'Weather', instructions: 'Tell the caller the weather.', tools: [weather] });
const app = {
  toolCalls,
  callStart: undefined,
  dtmf: [],
  sessionDtmf: [],
  callEnd: undefined,
  transportErrors: [],
  sessionErrors: [],
  toolResults: [],
};
let session;
const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: carrier === 'twilio' ? TWILIO_MAX_PAYLOAD : RAW_WEBSOCKET_MAX_PAYLOAD,
});
server.on('connection', (socket) => {
  const url = `${simulator.url}?model=gpt-realtime`;
  const transport =
    carrier === 'twilio'
      ? new TwilioRealtimeTransport({ twilioWebSocket: socket, url })
      : new RawWebSocketRealtimeTransport({ websocket: socket, preset: 'asterisk', url });
  session = new RealtimeSession(agent, { transport, model: 'gpt-realtime' });
  transport.on('call_start', (call) => (app.callStart = { callId: call.callId, format: call.format }));
  transport.on('dtmf', ({ digit }) => {
    app.dtmf.push(digit);
    if (carrier === 'asterisk' && digit === '#') transport.hangup();
  });
  transport.on('call_end', (event) => {
    app.callEnd = { reason: event.reason };
    session.close();
  });
  transport.on('error', (event) => app.transportErrors.push(String(event.error?.message ?? event.error)));
  session.on('error', (event) => app.sessionErrors.push(String(event.error?.message ?? event.error)));
  session.on('transport_event', (event) => {
    if (event.type === 'dtmf') app.sessionDtmf.push(event.digit);
  });
  session.on('agent_tool_end', (_context, _agent, _tool, result) => app.toolResults.push(String(result)));
  session.connect({ apiKey: 'sk-offline' }).catch((error) => {
    app.sessionErrors.push(`connect: ${error.message}`);
    transport.end('model_connect_failed');
  });
});
await new Promise((resolve) => server.once('listening', resolve));

// The carrier.
const peer =
  carrier === 'twilio'
    ? new TwilioPeerSimulator()
    : new RawWebSocketPeerSimulator({ preset: 'asterisk', json: true, format: SLIN16, inputFormat: MULAW_8K });
const caller = { heardBytes: 0, heardPeak: 0, marks: 0, hangup: false, rejected: [], closed: false };
/** The loudest sample of what the caller hears: μ-law on Twilio, L16 (little-endian) on Asterisk. */
function peakOf(payload) {
  if (carrier === 'twilio') return decodeMuLaw(payload).reduce((peak, s) => Math.max(peak, Math.abs(s)), 0);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let peak = 0;
  for (let i = 0; i + 1 < payload.length; i += 2) peak = Math.max(peak, Math.abs(view.getInt16(i, true)));
  return peak;
}
const gateway = new WebSocket(`ws://127.0.0.1:${server.address().port}/media`);
const send = (event) => {
  for (const frame of peer.encodeInbound(event)) if (gateway.readyState === WebSocket.OPEN) gateway.send(frame);
};
gateway.on('message', (data, isBinary) => {
  let commands;
  try {
    commands = peer.decodeOutbound(isBinary ? new Uint8Array(data) : String(data));
  } catch (error) {
    caller.rejected.push(error.message);
    return;
  }
  for (const command of commands) {
    if (command.type === 'audio') {
      caller.heardBytes += command.payload.length;
      caller.heardPeak = Math.max(caller.heardPeak, peakOf(command.payload));
    } else if (command.type === 'mark') {
      // Twilio plays the audio before the mark, then echoes the mark.
      caller.marks++;
      send({ type: 'playback_ack', name: command.name });
    } else if (command.type === 'hangup') {
      // Asterisk hangs the channel up and closes the socket.
      caller.hangup = true;
      gateway.close();
    }
  }
});
gateway.on('close', () => (caller.closed = true));
await new Promise((resolve, reject) => {
  gateway.once('open', resolve);
  gateway.once('error', reject);
});
send({
  type: 'call_start',
  streamId: '',
  callId: carrier === 'twilio' ? 'CA0123456789abcdef0123456789abcdef' : 'asterisk-channel-1',
  format: carrier === 'twilio' ? MULAW_8K : SLIN16,
  customParameters: { caller: '+15550001111' },
  raw: null,
});
// A carrier streams a frame every 20 ms for as long as the call lasts.
let sent = 0;
const stream = setInterval(() => {
  const payload = callerFrames[sent] ?? quiet;
  send({ type: 'audio', payload, timestampMs: sent * FRAME_MS });
  sent++;
}, FRAME_MS);

const bytesPerMs = carrier === 'twilio' ? 8 : 32;
let failure;
try {
  // The whole answer, give or take the last frame.
  await until('the agent to answer the caller', () => caller.heardBytes >= (REPLY_MS - FRAME_MS) * bytesPerMs);
  send({ type: 'dtmf', digit: '5' });
  await until('the DTMF digit to reach the application', () => app.dtmf.length > 0);
  if (carrier === 'twilio') {
    send({ type: 'call_end' });
    gateway.close();
  } else send({ type: 'dtmf', digit: '#' });
  await until('the call to end', () => app.callEnd !== undefined && caller.closed);
  await until('the model session to close', () => model !== undefined && model.isClosed);
} catch (error) {
  failure = error.message;
} finally {
  clearInterval(stream);
  gateway.terminate();
  await new Promise((resolve) => server.close(resolve));
  await simulator.stop();
}

// What the model received: Twilio's μ-law reaches it as it is; Asterisk's L16 16 kHz as PCM16 24 kHz.
const input = Buffer.concat(model?.inputAudio ?? []);
const spoken = Buffer.concat(callerFrames);
console.log(
  `RESULT ${JSON.stringify({
    carrier,
    failure,
    app,
    caller: { ...caller, heardMs: caller.heardBytes / bytesPerMs, framesSent: sent },
    model: model && {
      inputFormat: model.inputFormat,
      inputAudioMs: model.inputAudioMs,
      inputStartsWithCallerAudio: carrier === 'twilio' ? input.subarray(0, spoken.length).equals(spoken) : null,
      appends: model.events.filter((e) => e.event.type === 'input_audio_buffer.append').length,
      speechEvents: model.speechEvents.map((e) => e.type),
      functionCallOutputs: model.functionCallOutputs.map((o) => o.output),
      responses: model.responses.map((r) => ({ kind: r.kind, status: r.status, audioMsSent: r.audioMsSent })),
      violations: model.violations.map((v) => `${v.code}: ${v.issues}`),
      closed: model.isClosed,
    },
    callerSpeechMs: callerFrames.length * FRAME_MS,
  })}`,
);
