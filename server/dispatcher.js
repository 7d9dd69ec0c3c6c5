// Sends the messages journeys request: email through SMTP (nodemailer), SMS
// through a webhook. Exactly once per dispatch id: a dispatch is claimed in
// the database before it is sent, so two ticks or two workers never both send
// it, and it is checked again at send time against cancellations, its
// instance's end and the profile's consent on the server. The recipient comes
// from the server's profile data (the identities linked to the profile),
// never from the request. Failures retry with backoff and end dead-lettered.
import nodemailer from 'nodemailer';
import { attributesOf, consentOf } from './fragment.js';
import { renderMessage } from './messages.js';
import { DISPATCH_STATUS as S } from './store/sqlite.js';

const PURPOSE = { email: 'marketing.email', sms: 'marketing.sms', push: 'marketing.push' };

/** The delay before attempt `attempt + 1`: exponential, capped, with full jitter. */
export function backoffMs(attempt, { baseMs, maxMs }, random = Math.random) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class Dispatcher {
  /**
   * `config.delivery`: `{ smtp: {host, port, secure, auth?, from}, sms: {webhookUrl, timeoutMs},
   * maxAttempts, backoff: {baseMs, maxMs}, identities: {email, sms}, siteUrl }`.
   */
  constructor({ store, clock, config, messages, log, random = Math.random }) {
    this.store = store;
    this.clock = clock;
    this.config = config;
    this.messages = messages;
    this.log = log;
    this.random = random;
    this.transport = config.smtp
      ? nodemailer.createTransport({
          host: config.smtp.host, port: config.smtp.port, secure: Boolean(config.smtp.secure),
          auth: config.smtp.auth, ignoreTLS: !config.smtp.secure && config.smtp.requireTLS !== true,
          connectionTimeout: config.smtp.timeoutMs ?? 10_000, greetingTimeout: config.smtp.timeoutMs ?? 10_000,
          socketTimeout: config.smtp.timeoutMs ?? 10_000,
        })
      : null;
    this.stats = { sent: 0, failed: 0, dead: 0, suppressed: 0, cancelled: 0 };
  }

  close() {
    this.transport?.close();
  }

  /** Sends every dispatch due at the server's clock, at most `limit`; returns how many it handled. */
  async sendDue(limit = 50) {
    const now = this.clock.now();
    this.#recoverInterrupted(now);
    const due = this.store.dueDispatches(now, limit);
    for (const row of due) await this.#deliver(row);
    return due.length;
  }

  // A dispatch left 'sending' by a crash may or may not have left: sending it
  // again could send it twice, so it is dead-lettered for a person to decide.
  #recoverInterrupted(now) {
    for (const row of this.store.staleSending(now - (this.config.sendingTimeoutMs ?? 10 * 60_000))) {
      this.store.finishDispatch(row.site, row.id, { status: S.dead, reason: 'interrupted during delivery: outcome unknown' },
        row.attempts, 'interrupted', now);
      this.stats.dead += 1;
    }
  }

  async #deliver(row) {
    const { site, id } = row;
    const now = this.clock.now();
    if (!this.store.claimDispatch(site, id, now)) return; // cancelled meanwhile, or taken by another worker
    const attempt = row.attempts + 1;
    const finish = (status, reason, detail, nextTry = 0) => {
      this.store.finishDispatch(site, id, { status, reason, nextTry }, attempt, detail, this.clock.now());
      const key = status === S.retry ? 'failed' : status;
      this.stats[key] = (this.stats[key] ?? 0) + 1;
    };

    // Checked again at send time: a conversion or a cancellation may have arrived since the dispatch was queued.
    if (this.store.isInstanceEnded(site, row.instance)) return finish(S.cancelled, 'journey ended', 'instance ended before sending');
    // A merge of two profiles replays the moved one's journeys under the surviving id, so the
    // same message can be computed again under another dispatch id: it is sent once.
    const twin = this.store.twinDispatch(site, row);
    if (twin) return finish(S.suppressed, 'duplicate', `the same journey step of this profile was already sent as ${twin}`);
    const profile = this.store.getProfile(site, row.profile_id);
    const fragment = profile?.fragment ?? { fields: {} };
    const purpose = PURPOSE[row.channel];
    const state = consentOf(fragment)[purpose] ?? 'pending';
    if (state !== 'granted') return finish(S.suppressed, `consent:${purpose}:${state}`, 'no consent at send time');

    const identities = this.store.identitiesOf(site, row.profile_id);
    const namespace = this.config.identities?.[row.channel] ?? (row.channel === 'email' ? 'email' : 'phone');
    const recipient = identities[namespace]?.[0];
    if (!recipient) return finish(S.suppressed, `no-recipient:${namespace}`, `the profile has no ${namespace} identity`);

    const message = this.messages.get(row.template, row.channel);
    if (!message) return finish(S.dead, `unknown template ${row.template} for ${row.channel}`, 'no such template');
    const rendered = renderMessage(message, { profile: attributesOf(fragment), site: { url: this.config.siteUrl ?? '' } });

    try {
      let detail;
      if (row.channel === 'email') detail = await this.#sendEmail(row, recipient, rendered);
      else if (row.channel === 'sms') detail = await this.#sendSms(row, recipient, rendered);
      else return finish(S.dead, `no sender for channel ${row.channel}`, 'unsupported channel');
      return finish(S.sent, '', detail);
    } catch (err) {
      const max = this.config.maxAttempts ?? 5;
      const reason = String(err?.message ?? err).slice(0, 500);
      if (attempt >= max) return finish(S.dead, `failed ${attempt} times: ${reason}`, reason);
      const delay = backoffMs(attempt, this.config.backoff ?? { baseMs: 30_000, maxMs: 3_600_000 }, this.random);
      this.log?.warn?.({ site, id, attempt, reason }, 'delivery failed; will retry');
      return finish(S.retry, reason, reason, this.clock.now() + delay);
    }
  }

  async #sendEmail(row, to, rendered) {
    if (!this.transport) throw new Error('no SMTP server is configured (delivery.smtp)');
    const info = await this.transport.sendMail({
      from: this.config.smtp.from, to, subject: rendered.subject, text: rendered.text, html: rendered.html,
      headers: { 'X-Rekindle-Dispatch': row.id, 'X-Rekindle-Journey': row.journey },
    });
    return `smtp ${info.response ?? ''} ${info.messageId ?? ''}`.trim().slice(0, 500);
  }

  async #sendSms(row, to, rendered) {
    const sms = this.config.sms;
    if (!sms?.webhookUrl) throw new Error('no SMS webhook is configured (delivery.sms.webhookUrl)');
    const response = await fetch(sms.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': row.id, ...(sms.headers ?? {}) },
      body: JSON.stringify({ to, text: rendered.text, dispatch: row.id, template: row.template, journey: row.journey }),
      signal: AbortSignal.timeout(sms.timeoutMs ?? 10_000),
    });
    if (!response.ok) throw new Error(`SMS webhook answered ${response.status}`);
    return `webhook ${response.status}`;
  }
}
