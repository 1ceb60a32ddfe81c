/**
 * What the call-feature examples run against offline: a fake Twilio (REST API, call legs, signed
 * webhooks, Media Streams) and the synthesized voices of the people and machines it connects.
 */
export { FakeTwilio } from './fake-twilio.js';
export type { FakeTwilioOptions, FakeTwilioEvent, FakeTwilioRequest, FakeCallLeg } from './fake-twilio.js';
export { person, answeringMachine, calleeTrace } from './callee.js';
export type { Callee, CalleeStep, Reply, StepTimes } from './callee.js';
export { parseTwiml, streamOf } from './twiml-reader.js';
export type { TwimlNode } from './twiml-reader.js';
export { MODEL_RATE, PHONE_RATE, speechLike, tone, silence, concat, holdMusic } from './voices.js';
export {
  OFFLINE_API_KEY,
  exampleApiKey,
  readForm,
  reply,
  acceptTwilioMediaStreams,
  closeAppServer,
  agentLine,
} from './app-server.js';
export type { UpgradeAcceptor, HistoryItemLike } from './app-server.js';
