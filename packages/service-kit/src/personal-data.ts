/**
 * Masks email addresses and phone numbers in free text (error messages quoting SQL values, parked-message
 * reasons) before it reaches a log.
 */
const EMAIL_PATTERN = /[^\s@'"<>(),;:]+@[^\s@'"<>(),;:]+\.[a-z]{2,}/gi;
const PHONE_PATTERN = /\+?\d[\d ()-]{5,}\d/g;

export function scrubPersonalData(text: string): string {
  return text.replace(EMAIL_PATTERN, '[email]').replace(PHONE_PATTERN, (digits) =>
    // keep timestamps and ids readable: only mask runs that look like a phone number (7 to 15 digits)
    /^\d{4}-\d{2}-\d{2}/.test(digits) || digits.replace(/\D/g, '').length > 15 ? digits : '[phone]',
  );
}
