import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { PersonalDataSpanProcessor, maskSqlLiterals } from '../src';

describe('SQL statements in spans', () => {
  it('keeps the shape of a statement MikroORM inlined values into, without the values', () => {
    const sql =
      `insert into "identity"."directory_user" ("object_id", "given_name", "surname", "email", "mobile_phone", "attempts", "ratio") ` +
      `values ('b342939b-0f1d-4e2a-9c3d-123456789012', 'Zebulon', 'O''Quill', 'zeb@example.org', '+44 7700 900123', 3, 1.5e3) returning "created_at"`;
    expect(maskSqlLiterals(sql)).toBe(
      `insert into "identity"."directory_user" ("object_id", "given_name", "surname", "email", "mobile_phone", "attempts", "ratio") ` +
        `values (?, ?, ?, ?, ?, ?, ?) returning "created_at"`,
    );
  });

  it('keeps identifiers with digits, casts and positional parameters; masks escape, dollar-quoted and unterminated strings', () => {
    expect(maskSqlLiterals(`select "col1", t2.x from t2 where a = $1 and b = E'it\\'s Zeb' and c = $tag$Zeb$tag$::text limit 21`)).toBe(
      `select "col1", t2.x from t2 where a = $1 and b = ? and c = ?::text limit ?`,
    );
    expect(maskSqlLiterals(`update x set id = any('{a,b}'::uuid[]), at = now() - interval '5 minutes'`)).toBe(
      `update x set id = any(?::uuid[]), at = now() - interval ?`,
    );
    expect(maskSqlLiterals(`select 1 from x where name = 'Zebulon Quillf`)).toBe(`select ? from x where name = ?`);
  });
});

describe('the personal-data span processor', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new PersonalDataSpanProcessor(), new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('test');

  afterAll(() => provider.shutdown());

  it('scrubs attributes, exception events, status messages and URLs before the exporter sees them', () => {
    const span = tracer.startSpan('GET /v1/notifications?recipient=zeb@example.org', {
      attributes: {
        'url.full': 'http://notification:8084/v1/notifications?recipient=zeb%40example.org&limit=5',
        'url.query': 'recipient=zeb%40example.org&q=Zebulon&cursor=abc',
        'url.path': '/v1/notifications?recipient=zeb%40example.org',
        'error.detail': 'Key (email)=(zeb@example.org) already exists; call +44 7700 900123',
        'messaging.message.id': 'b342939b-0f1d-4e2a-9c3d-123456789012',
        'http.request.header.x-numbers': ['+44 7700 900123', 'plain'],
        'messaging.message.body.size': 42,
      },
    });
    span.recordException(new Error('mailbox zeb@example.org (+44 7700 900123) unavailable'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'mailbox zeb@example.org unavailable' });
    span.end();

    const [exported] = exporter.getFinishedSpans();
    expect(exported).toBeDefined();
    const text = JSON.stringify({ name: exported!.name, attributes: exported!.attributes, events: exported!.events, status: exported!.status });
    expect(text).not.toMatch(/zeb@example|zeb%40example|Zebulon|7700/);
    expect(exported!.attributes).toMatchObject({
      'url.full': 'http://notification:8084/v1/notifications?recipient=REDACTED&limit=5',
      'url.query': 'recipient=REDACTED&q=REDACTED&cursor=abc',
      'url.path': '/v1/notifications?recipient=REDACTED',
      'error.detail': 'Key (email)=(…) already exists; call [phone]',
      'messaging.message.id': 'b342939b-0f1d-4e2a-9c3d-123456789012', // ids are not phone numbers
      'http.request.header.x-numbers': ['[phone]', 'plain'],
      'messaging.message.body.size': 42,
    });
    expect(exported!.events[0]?.attributes?.['exception.message']).toBe('mailbox [email] ([phone]) unavailable');
    expect(exported!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'mailbox [email] unavailable' });
    expect(exported!.name).toBe('GET /v1/notifications?recipient=REDACTED');
  });
});
