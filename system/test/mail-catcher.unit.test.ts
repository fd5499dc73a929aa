import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import { MailCatcher } from '@onboarding/test-infra';

/**
 * The mail catcher is what `npm start` and every end-to-end test send welcome mails to. A sender killed in the
 * middle of a session resets its connection; that used to surface as an uncaught ECONNRESET from the SMTP server,
 * failing a whole test file (restart.e2e) after its assertions had passed.
 */
it('keeps serving after a client resets its connection in the middle of a session', async () => {
  const catcher = new MailCatcher();
  await catcher.start();
  try {
    const port = Number(new URL(catcher.url).port);
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('error', reject);
        // Greeting, EHLO, MAIL FROM: inside a mail transaction (smtp-server ignores a reset outside one), then a
        // reset (RST) rather than a close: what a SIGKILLed sender's kernel does.
        const replies: string[] = [];
        socket.on('data', (chunk: Buffer) => {
          replies.push(chunk.toString('utf8'));
          const text = replies.join('');
          if (/^220 /m.test(text) && !text.includes('250')) socket.write('EHLO reset.test\r\n');
          else if (/^250 /m.test(text) && !text.includes('250 Accepted')) socket.write('MAIL FROM:<sender@example.com>\r\n');
          else if (text.includes('250 Accepted')) {
            socket.resetAndDestroy();
            resolve();
          }
        });
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server has seen the resets by now
    const transport = nodemailer.createTransport({ url: catcher.url, ignoreTLS: true });
    await transport.sendMail({ from: 'sender@example.com', to: 'after.reset@example.com', subject: 'still here', text: 'hello' });
    transport.close();
    expect(catcher.mailsTo('after.reset@example.com').map((mail) => mail.subject)).toEqual(['still here']);
  } finally {
    await catcher.stop();
  }
});
