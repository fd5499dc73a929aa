import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  messageId: string;
  receivedAt: Date;
}

export interface MailCatcherOptions {
  host?: string;
  port?: number;
  /** When set, every mail is also written there as an .eml file. */
  directory?: string;
  /** Called for each mail as it is accepted (benchmarks time registrations by it). */
  onMail?: (mail: CaughtMail) => void;
  /**
   * Answers RCPT TO for an address with this SMTP reply instead of accepting it, as a relay refuses an unknown
   * mailbox (`550`) or a full one (`452`): for tests of what a sender does with a refused recipient.
   */
  refuseRecipient?: (address: string) => { code: number; message: string } | undefined;
}

/** A real SMTP server that accepts every mail (unless told to refuse a recipient), keeps it in memory and optionally writes it to a folder. */
export class MailCatcher {
  readonly mails: CaughtMail[] = [];
  private server?: SMTPServer;
  private boundPort = 0;

  constructor(private readonly options: MailCatcherOptions = {}) {}

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `smtp://${this.options.host ?? '127.0.0.1'}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    if (this.options.directory) await mkdir(this.options.directory, { recursive: true });
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const refusal = this.options.refuseRecipient?.(address.address);
        if (!refusal) return callback();
        callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';
          const mail: CaughtMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw,
            subject: header('Subject'),
            messageId: header('Message-ID'),
            receivedAt: new Date(),
          };
          this.mails.push(mail);
          this.options.onMail?.(mail);
          const save = this.options.directory
            ? writeFile(join(this.options.directory, `${mail.receivedAt.getTime()}-${this.mails.length}.eml`), raw)
            : Promise.resolve();
          save.then(
            () => callback(),
            (err: Error) => callback(err),
          );
        });
      },
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // smtp-server reports a client's failed connection (a sender killed mid-session resets it: ECONNRESET) as an
    // 'error' of the server; unheard, that is an uncaught exception, which took the whole test process (or npm start)
    // down with it. A client's broken connection is that client's business: the server keeps serving the others.
    server.on('error', () => undefined);
    const address = (server as unknown as { server: { address(): { port: number } } }).server.address();
    this.boundPort = address.port;
  }

  /**
   * Mails to `address`, one per Message-ID. SMTP has no idempotency of its own; the mailer gives each mail a
   * stable Message-ID, which is how receivers recognise the rare resend after a crash between the server's
   * acceptance and the mailer's record of it.
   */
  distinctMailsTo(address: string): CaughtMail[] {
    const seen = new Set<string>();
    return this.mailsTo(address).filter((mail) => {
      const key = mail.messageId || mail.raw;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  mailsTo(address: string): CaughtMail[] {
    const wanted = address.toLowerCase();
    return this.mails.filter((mail) => mail.to.some((to) => to.toLowerCase() === wanted));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
