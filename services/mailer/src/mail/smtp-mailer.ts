import { connect, type Socket } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { RenderedMail } from './welcome-mail';

export interface OutgoingMail extends RenderedMail {
  to: string;
  /** Stable Message-ID so that a resend after a crash is recognisable as the same mail by receivers. */
  messageId: string;
}

/**
 * Sends mail over SMTP with pooled connections, each with TCP_NODELAY. Without it, the message's last
 * packet (the final `.`) can wait for the server's delayed ACK of the one before (Nagle's algorithm): up to
 * 40 ms per mail on Linux. nodemailer has no option for it; its `getSocket` hook may hand it a connected
 * socket (`connection`), on which it then speaks SMTP as usual (TLS and STARTTLS included).
 */
export class SmtpMailer {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: 4,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      getSocket: connectWithoutDelay,
    } as nodemailer.TransportOptions);
  }

  async send(mail: OutgoingMail): Promise<string> {
    const info = (await this.transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
    })) as { messageId: string };
    return info.messageId;
  }

  async verify(): Promise<boolean> {
    return this.transport.verify().then(
      () => true,
      () => false,
    );
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * What an SMTP failure is about, which decides both what happens to the message and whether the SMTP circuit breaker
 * counts it:
 * - `recipient`: the server refused this mail's recipient at RCPT TO (nodemailer `EENVELOPE`), for good (5xx: no such
 *   mailbox) or for now (4xx: mailbox full, greylisting), or nodemailer refused the address itself before sending.
 *   The server is answering normally, so the breaker must not count it: a few bad addresses used to open it and
 *   hold every other driver's welcome mail for the breaker's reset time.
 * - `message`: the server refused this mail's content for good after DATA (5xx). Not counted either.
 * - `server`: everything else: no connection, a timeout, a greeting, login or MAIL FROM refused (a 5xx there says the
 *   relay or our account with it is wrong, the same for every mail), any other 4xx. Counted; retried later.
 */
export type SmtpFailureSubject = 'recipient' | 'message' | 'server';

export interface SmtpFailure {
  about: SmtpFailureSubject;
  /** Retrying cannot help: the message is parked. */
  permanent: boolean;
  /**
   * Says what failed without the server's reply text, which names the address (`550 5.1.1 <mary@…>: unknown`): the
   * command, the reply code and the enhanced status code only. Server failures keep nodemailer's own message
   * (connection errors name hosts and ports, not people), scrubbed by the consumer where it leaves the process.
   */
  description: string;
}

interface NodemailerError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

export function smtpFailureOf(err: unknown): SmtpFailure {
  const { code, command, responseCode, response, message } = (err ?? {}) as NodemailerError;
  const enhanced = typeof response === 'string' ? /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] : undefined;
  const reply = [responseCode, enhanced].filter((part) => part !== undefined).join(' ');
  if (code === 'EENVELOPE' && command === 'RCPT TO') {
    const permanent = responseCode === undefined || responseCode >= 500;
    return {
      about: 'recipient',
      permanent,
      description: `SMTP ${permanent ? 'refused' : 'deferred'} the recipient at RCPT TO (${reply || 'no reply code'})`,
    };
  }
  if (code === 'EENVELOPE' && command === 'API') {
    // nodemailer refused the envelope before sending anything (an address it cannot send to); the server never saw it.
    return { about: 'recipient', permanent: true, description: 'SMTP client refused the envelope (an address it cannot send to)' };
  }
  if (command === 'DATA' && responseCode !== undefined && responseCode >= 500) {
    return { about: 'message', permanent: true, description: `SMTP refused the message after DATA (${reply})` };
  }
  return { about: 'server', permanent: false, description: `SMTP unavailable: ${message ?? String(err)}` };
}

/** For the breaker: failures that say nothing about the relay's health (see SmtpFailure). */
export function isAboutThisMail(err: unknown): boolean {
  return smtpFailureOf(err).about !== 'server';
}

const CONNECT_TIMEOUT_MS = 10_000;

/** nodemailer's `getSocket`: a TCP connection to the SMTP server with TCP_NODELAY, or the error that prevented it. */
function connectWithoutDelay(
  options: { host?: string; port?: number | string; secure?: boolean },
  callback: (err: Error | null, socketOptions?: { connection: Socket }) => void,
): void {
  const socket = connect({ host: options.host ?? 'localhost', port: Number(options.port) || (options.secure ? 465 : 587), noDelay: true });
  const fail = (err: Error) => {
    clearTimeout(timer);
    socket.destroy();
    callback(err);
  };
  const timer = setTimeout(() => fail(new Error(`SMTP connection timed out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  socket.once('error', fail);
  socket.once('connect', () => {
    clearTimeout(timer);
    // From here on the socket's errors are nodemailer's to handle.
    socket.off('error', fail);
    callback(null, { connection: socket });
  });
}
