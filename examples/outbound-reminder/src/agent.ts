/**
 * The reminder agent: it calls a patient about tomorrow's appointment. A person gets the reminder
 * and is asked to confirm; an answering machine gets a voicemail after its beep. Either way the
 * agent says goodbye and calls `end_call`, which hangs up once the goodbye has been heard.
 */
import { RealtimeAgent } from '@openai/agents/realtime';
import type { SimulatorTurn } from '@switchboard/conformance';
import { endCallTool } from '@switchboard/core';
import { MODEL_RATE, speechLike } from '@switchboard/example-support';

export type Appointment = {
  /** Your id for it: travels with the call as a `<Stream>` parameter. */
  id: string;
  /** The number to call. */
  to: string;
  patient: string;
  /** When, as the agent should say it. */
  when: string;
  with: string;
};

export function createReminderAgent(appointment: Appointment): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Reminder',
    instructions:
      `You call ${appointment.patient} for Bright Smile Dental to remind them of their appointment with ` +
      `${appointment.with} ${appointment.when}. You speak only once the app tells you who answered. ` +
      'A person: give the reminder and ask whether they can make it; when they answer, thank them, say goodbye ' +
      'and call end_call. An answering machine whose greeting is over: leave a short voicemail with the reminder ' +
      'and a request to call back to reschedule, say goodbye, and call end_call.',
    // Hangs up once everything the agent said has been played to the person (or the machine).
    tools: [endCallTool()],
  });
}

/** What the app tells the model once it knows who answered (a user message, then a response). */
export const ANSWERED_BY_PERSON = '[The call was answered by a person. Give the reminder now.]';
export const GREETING_OVER = '[An answering machine answered and its greeting is over. Leave the voicemail now.]';

/**
 * The simulated model's lines, for the offline demo. The realtime simulator plays them in order,
 * one per response; its voice is synthesized (see @switchboard/example-support).
 */
export const LINES = {
  reminder:
    'Hi, this is Bright Smile Dental with a reminder: you have a cleaning with Doctor Lee tomorrow at three P.M. Can you make it?',
  confirmed: "Wonderful, you're confirmed for tomorrow at three. See you then, goodbye!",
  voicemail:
    'Hello, this is Bright Smile Dental with a reminder of your cleaning with Doctor Lee tomorrow at three P.M. ' +
    'If you need to reschedule, please call us back. Goodbye!',
};

function line(transcript: string, endsCall = false): SimulatorTurn {
  return {
    kind: 'audio',
    transcript,
    audio: speechLike(transcript, MODEL_RATE),
    ...(endsCall ? { call: { name: 'end_call', arguments: {} } } : {}),
  };
}

/** A person answers: the reminder, then (after their answer) the goodbye with `end_call`. */
export function personScript(): SimulatorTurn[] {
  return [line(LINES.reminder), line(LINES.confirmed, true)];
}

/** A machine answers: the voicemail, said after the beep, with `end_call`. */
export function voicemailScript(): SimulatorTurn[] {
  return [line(LINES.voicemail, true)];
}
