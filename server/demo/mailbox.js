// The demo's mailbox: a real SMTP server on 127.0.0.1 that keeps the
// messages it receives (parsed with mailparser), and the SMS that reach the
// demo's webhook, in memory, newest first. The dispatcher sends to it exactly
// as it would send to a real mail server, so the demo's emails truly travel
// over SMTP. Nothing is relayed anywhere.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

/** Messages kept; older ones are forgotten. */
const KEEP = 200;
/** Largest email accepted, in bytes. */
const MAX_EMAIL_BYTES = 1024 * 1024;

export class Mailbox {
  constructor({ clock = { now: () => Date.now() } } = {}) {
    this.clock = clock;
    this.items = [];
    this.counter = 0;
    this.smtp = null;
    this.port = null;
  }

  /** Starts the SMTP sink on 127.0.0.1 (`port` 0 picks a free one); resolves to the port. */
  async listen(port = 0) {
    this.smtp = new SMTPServer({
      name: 'rekindle-demo-mailbox',
      banner: 'Rekindle demo mailbox: messages are kept in memory and never relayed',
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      size: MAX_EMAIL_BYTES,
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream, { skipImageLinks: true })
          .then((mail) => {
            if (stream.sizeExceeded) {
              const err = new Error('message too large for the demo mailbox');
              err.responseCode = 552;
              return callback(err);
            }
            this.#addEmail(mail, session);
            return callback();
          })
          .catch((err) => callback(err));
      },
    });
    this.smtp.on('error', () => {}); // a client that hangs up mid-session is not the demo's problem
    await new Promise((resolve, reject) => {
      this.smtp.server.once('error', reject);
      this.smtp.listen(port, '127.0.0.1', resolve);
    });
    this.port = this.smtp.server.address().port;
    return this.port;
  }

  async close() {
    if (!this.smtp) return;
    const smtp = this.smtp;
    this.smtp = null;
    await new Promise((resolve) => smtp.close(resolve));
  }

  #push(item) {
    this.counter += 1;
    this.items.unshift({ id: String(this.counter), at: new Date(this.clock.now()).toISOString(), ...item });
    if (this.items.length > KEEP) this.items.length = KEEP;
  }

  #addEmail(mail, session) {
    const header = (name) => {
      const v = mail.headers.get(name);
      return typeof v === 'string' ? v : '';
    };
    this.#push({
      channel: 'email',
      from: mail.from?.text ?? session.envelope.mailFrom?.address ?? '',
      to: session.envelope.rcptTo.map((r) => r.address),
      subject: mail.subject ?? '',
      text: mail.text ?? '',
      html: typeof mail.html === 'string' ? mail.html : '',
      dispatch: header('x-rekindle-dispatch'),
      journey: header('x-rekindle-journey'),
    });
  }

  /** Keeps an SMS the dispatcher posted to the demo's webhook: `{to, text, dispatch, template, journey}`. */
  addSms(body) {
    const text = (v, max) => (typeof v === 'string' ? v.slice(0, max) : '');
    this.#push({
      channel: 'sms',
      to: [text(body.to, 64)],
      text: text(body.text, 1600),
      dispatch: text(body.dispatch, 64),
      template: text(body.template, 64),
      journey: text(body.journey, 64),
    });
  }

  /** Everything received, newest first. */
  list() {
    return this.items;
  }

  clear() {
    this.items = [];
  }
}
