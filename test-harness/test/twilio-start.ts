/**
 * A Twilio media stream's `start` frame as a trace carries it: μ-law 8 kHz, inbound track, no
 * custom parameters. Shared by the simulated caller's tests.
 */
export function twilioStart(streamSid: string, callSid: string, options: { sequenceNumber?: string } = {}) {
  return {
    event: 'start',
    ...(options.sequenceNumber === undefined ? {} : { sequenceNumber: options.sequenceNumber }),
    streamSid,
    start: {
      accountSid: 'AC1',
      streamSid,
      callSid,
      tracks: ['inbound'],
      customParameters: {},
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  };
}
