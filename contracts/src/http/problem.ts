import { Type, type Static } from '@sinclair/typebox';

/** RFC 9457 problem details, the one error body every service and the gateway answer with; further members are extensions. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    /** The request id (`x-request-id`), so a client can quote it and an operator find the request's logs and trace. */
    requestId: Type.String(),
  },
  { additionalProperties: true, $id: 'Problem' },
);
export type Problem = Static<typeof Problem>;
