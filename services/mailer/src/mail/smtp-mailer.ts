import nodemailer, { type Transporter } from 'nodemailer';
import type { RenderedMail } from './welcome-mail';

export interface OutgoingMail extends RenderedMail {
  to: string;
  /** Stable Message-ID so that a resend after a crash is recognisable as the same mail by receivers. */
  messageId: string;
}

/** Sends mail over SMTP with a pooled connection. */
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
