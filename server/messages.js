// Message templates for email and SMS: a JSON file a marketer edits, keyed by
// the template id a journey's action names, then by channel:
//   { "cart-reminder": { "email": { "subject", "text", "html" }, "sms": { "text" } } }
// Placeholders are the offers' syntax (docs/journeys.md, Templates):
// `{{profile.firstName|there}}` (a profile attribute with a fallback) and
// `{{site.url}}`. In `html` every inserted value is HTML-escaped; in the
// subject, line breaks are removed so a value cannot add a header.
import { readFileSync } from 'node:fs';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_$-]+)*)\s*(?:\|([^}]*))?\}\}/g;
const CHANNEL_FIELDS = { email: ['subject', 'text', 'html'], sms: ['text'], push: ['title', 'text'] };

/** Thrown for a messages file a marketer must fix; names the file and the place. */
export class MessagesError extends Error {}

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function lookup(context, path) {
  let node = context;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node === null || typeof node === 'object' ? undefined : String(node);
}

function fill(template, context, escape) {
  return template.replace(PLACEHOLDER, (_, path, fallback) => {
    const value = lookup(context, path) ?? fallback ?? '';
    return escape(value);
  });
}

/** Renders one channel's message with `{profile, site}`. */
export function renderMessage(message, context) {
  const out = {};
  for (const [field, template] of Object.entries(message)) {
    if (field === 'html') out.html = fill(template, context, escapeHtml);
    else if (field === 'subject') out.subject = fill(template, context, (v) => v.replace(/[\r\n]+/g, ' '));
    else out[field] = fill(template, context, (v) => v);
  }
  return out;
}

/** Checks a parsed messages document; returns every problem as `{path, reason}`. */
export function checkMessages(doc) {
  const errors = [];
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [{ path: '$', reason: 'must be an object of template id: channels' }];
  for (const [id, channels] of Object.entries(doc)) {
    const at = `$[${JSON.stringify(id)}]`;
    if (channels === null || typeof channels !== 'object' || Array.isArray(channels)) {
      errors.push({ path: at, reason: 'must be an object of channel: message' });
      continue;
    }
    for (const [channel, message] of Object.entries(channels)) {
      const where = `${at}.${channel}`;
      const allowed = CHANNEL_FIELDS[channel];
      if (!allowed) {
        errors.push({ path: where, reason: `is not a channel (email, sms, push)` });
        continue;
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) {
        errors.push({ path: where, reason: `must be an object with ${allowed.join(', ')}` });
        continue;
      }
      for (const [field, value] of Object.entries(message)) {
        if (!allowed.includes(field)) errors.push({ path: `${where}.${field}`, reason: `is not a field of a ${channel} message (${allowed.join(', ')})` });
        else if (typeof value !== 'string') errors.push({ path: `${where}.${field}`, reason: 'must be a string' });
      }
      if (typeof message.text !== 'string') errors.push({ path: `${where}.text`, reason: 'is required' });
      if (channel === 'email' && typeof message.subject !== 'string') errors.push({ path: `${where}.subject`, reason: 'is required' });
    }
  }
  return errors;
}

export class Messages {
  constructor(doc = {}) {
    this.doc = doc;
  }

  static fromFile(path) {
    let doc;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new MessagesError(`messages file ${path}: ${err.message}`);
    }
    const errors = checkMessages(doc);
    if (errors.length > 0) {
      throw new MessagesError(`messages file ${path} is invalid:\n${errors.map((e) => `  ${e.path}: ${e.reason}`).join('\n')}`);
    }
    return new Messages(doc);
  }

  get(template, channel) {
    const channels = Object.hasOwn(this.doc, template) ? this.doc[template] : undefined;
    return channels && Object.hasOwn(channels, channel) ? channels[channel] : null;
  }

  /**
   * The journey actions of an (engine-validated) artifact that name a template
   * this file lacks for their channel, as `{path, reason}`: each would be
   * dead-lettered at send time. A channel with no template here is not
   * checked (nothing of it can be sent yet, whatever the name).
   */
  missingTemplates(artifact) {
    const errors = [];
    const walk = (steps, path) => (Array.isArray(steps) ? steps : []).forEach((step, i) => {
      const at = `${path}[${i}]`;
      const { channel, template } = step?.action ?? {};
      if (typeof template === 'string' && !this.get(template, channel)) {
        const known = Object.keys(this.doc).filter((id) => this.get(id, channel));
        if (known.length > 0) {
          errors.push({ path: `${at}.action.template`,
            reason: `names the ${channel} template "${template}", which the messages file does not have (${channel} templates: ${known.join(', ')})` });
        }
      }
      if (Array.isArray(step?.split)) step.split.forEach((arm, k) => walk(arm?.steps, `${at}.split[${k}].steps`));
      if (step?.branch) {
        walk(step.branch.then, `${at}.branch.then`);
        walk(step.branch.else, `${at}.branch.else`);
      }
    });
    (Array.isArray(artifact?.journeys) ? artifact.journeys : []).forEach((journey, i) => walk(journey?.steps, `$.journeys[${i}].steps`));
    return errors;
  }
}
