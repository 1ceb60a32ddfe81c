/**
 * The front-desk agent of the warm transfer example: it helps with a bill, and when the caller
 * asks for a person it says so, then calls `transfer_call`. The transfer is Twilio's warm
 * transfer (`TwilioWarmTransfer`): the caller waits on hold while the billing team is called and
 * told the model's summary, then both are joined and the agent is gone.
 */
import { RealtimeAgent } from '@openai/agents/realtime';
import type { SimulatorTurn } from '@switchboard/conformance';
import { transferCallTool, type TransferHandler } from '@switchboard/core';
import { MODEL_RATE, speechLike } from '@switchboard/example-support';

/** Where the agent may send a caller: the name the model picks → the number Twilio dials. */
export const DESTINATIONS = { billing: '+15550002222' };

export function createFrontDeskAgent(transfer: TransferHandler): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Front desk',
    instructions:
      'You answer calls for Acme Energy. Help with questions about bills. When the caller asks for a person, ' +
      'say that you are connecting them and that they should hold, then call transfer_call with the team and a ' +
      'one-sentence summary of the call for the person who takes it.',
    tools: [
      // Waits until the caller has heard "please hold", then hands the call to `transfer`.
      transferCallTool({ destinations: DESTINATIONS, transfer }),
    ],
  });
}

/** What the simulated model says and does, for the offline demo (one entry per response). */
export const LINES = {
  help: 'Sure, I can help with your bill. What would you like to know?',
  connecting: "Of course. I'm connecting you with our billing team now, please hold.",
};

export const TRANSFER_ARGUMENTS = {
  destination: 'billing',
  reason: 'The caller asked to speak with a person.',
  summary: 'Sam Rivera is calling about a charge on the last bill and would like to speak with someone.',
};

export function frontDeskScript(): SimulatorTurn[] {
  return [
    { kind: 'audio', transcript: LINES.help, audio: speechLike(LINES.help, MODEL_RATE) },
    {
      kind: 'audio',
      transcript: LINES.connecting,
      audio: speechLike(LINES.connecting, MODEL_RATE),
      call: { name: 'transfer_call', arguments: TRANSFER_ARGUMENTS },
    },
  ];
}
