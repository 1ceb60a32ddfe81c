/**
 * Zod schemas for the client events of the OpenAI Realtime GA protocol, as the simulator
 * accepts them. The session configuration is in `session-schema.ts`; turning a failed check into
 * the service's error event is in `validate.ts`.
 */
import { z } from 'zod';
import { sessionConfigSchema } from './session-schema.js';

export {
  audioFormatSchema,
  LEGACY_SESSION_KEYS,
  normaliseFormat,
  sessionConfigSchema,
  turnDetectionSchema,
  type SessionConfigInput,
  type SimulatorAudioFormat,
} from './session-schema.js';

const nonNegativeInt = z.number().int().nonnegative();
const eventId = z.string().optional();

const contentPartSchema = z.looseObject({
  type: z.enum([
    'input_text',
    'input_audio',
    'input_image',
    'output_text',
    'output_audio',
    'text',
    'audio',
    'item_reference',
  ]),
});

const conversationItemSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('message'),
    id: z.string().optional(),
    role: z.enum(['user', 'assistant', 'system']),
    status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
    content: z.array(contentPartSchema),
  }),
  z.looseObject({
    type: z.literal('function_call'),
    id: z.string().optional(),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
  }),
  z.looseObject({
    type: z.literal('function_call_output'),
    id: z.string().optional(),
    call_id: z.string(),
    output: z.string(),
  }),
  z.looseObject({
    type: z.literal('mcp_approval_response'),
    id: z.string().optional(),
    approval_request_id: z.string(),
    approve: z.boolean(),
  }),
]);

export const clientEventSchemas = {
  'session.update': z.strictObject({
    type: z.literal('session.update'),
    event_id: eventId,
    session: sessionConfigSchema,
  }),
  'input_audio_buffer.append': z.strictObject({
    type: z.literal('input_audio_buffer.append'),
    event_id: eventId,
    audio: z.string(),
  }),
  'input_audio_buffer.commit': z.strictObject({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  'input_audio_buffer.clear': z.strictObject({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
  'response.create': z.strictObject({
    type: z.literal('response.create'),
    event_id: eventId,
    response: z.looseObject({}).optional(),
  }),
  'response.cancel': z.strictObject({
    type: z.literal('response.cancel'),
    event_id: eventId,
    response_id: z.string().optional(),
  }),
  'conversation.item.create': z.strictObject({
    type: z.literal('conversation.item.create'),
    event_id: eventId,
    previous_item_id: z.string().nullable().optional(),
    item: conversationItemSchema,
  }),
  'conversation.item.truncate': z.strictObject({
    type: z.literal('conversation.item.truncate'),
    event_id: eventId,
    item_id: z.string(),
    content_index: nonNegativeInt,
    audio_end_ms: nonNegativeInt,
  }),
  'conversation.item.retrieve': z.strictObject({
    type: z.literal('conversation.item.retrieve'),
    event_id: eventId,
    item_id: z.string(),
  }),
  'conversation.item.delete': z.strictObject({
    type: z.literal('conversation.item.delete'),
    event_id: eventId,
    item_id: z.string(),
  }),
  'output_audio_buffer.clear': z.strictObject({
    type: z.literal('output_audio_buffer.clear'),
    event_id: eventId,
    response_id: z.string().optional(),
  }),
} as const;

export type ClientEventType = keyof typeof clientEventSchemas;
export type ClientEvent<T extends ClientEventType = ClientEventType> = z.infer<(typeof clientEventSchemas)[T]>;

export function isClientEventType(type: string): type is ClientEventType {
  return Object.prototype.hasOwnProperty.call(clientEventSchemas, type);
}

/** A one-line, human-readable summary of a zod error. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
