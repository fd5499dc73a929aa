import type { AttributeValue, Attributes, Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { redactQuery, redactUrl, scrubPersonalData } from '@onboarding/service-kit/personal-data';

/** Attributes that hold a URL or request target, whatever the semantic-convention version of the instrumentation. */
const URL_ATTRIBUTES = new Set(['url.full', 'url.path', 'http.url', 'http.target']);

/**
 * The one place every span passes before it is exported: string attributes, event attributes (the
 * `exception` events of recordException), the status message and the name have addresses and phone numbers
 * masked, and URL attributes have their query values redacted. It runs in `onEnding`, while the span can still
 * be changed, so the export processors after it only ever see the scrubbed span.
 *
 * It cannot recognise a name in free text: names are kept out of spans structurally (statements are masked by
 * the pg hook, event data never goes into attributes).
 */
export class PersonalDataSpanProcessor implements SpanProcessor {
  onStart(_span: Span, _parentContext: Context): void {}

  onEnding(span: Span): void {
    for (const [key, value] of Object.entries(span.attributes)) {
      const scrubbed = scrubAttribute(key, value);
      if (scrubbed !== value && scrubbed !== undefined) span.setAttribute(key, scrubbed);
    }
    // Events are already recorded; the SDK offers no setter, so their attribute maps are rewritten in place.
    for (const event of span.events) if (event.attributes) scrubInPlace(event.attributes);
    const { code, message } = span.status;
    if (message) span.setStatus({ code, message: scrubPersonalData(message) });
    const name = scrubPersonalData(redactUrl(span.name));
    if (name !== span.name) span.updateName(name);
  }

  onEnd(_span: ReadableSpan): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

function scrubInPlace(attributes: Attributes): void {
  for (const [key, value] of Object.entries(attributes)) attributes[key] = scrubAttribute(key, value);
}

function scrubAttribute(key: string, value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return scrubText(key, value);
  if (Array.isArray(value) && value.some((item) => typeof item === 'string')) {
    return (value as (string | null | undefined)[]).map((item) => (typeof item === 'string' ? scrubText(key, item) : item));
  }
  return value;
}

function scrubText(key: string, text: string): string {
  if (key === 'url.query') return scrubPersonalData(redactQuery(text));
  if (URL_ATTRIBUTES.has(key)) return scrubPersonalData(redactUrl(text));
  return scrubPersonalData(text);
}
