// The server's configuration: defaults, then a JSON file (`--config FILE` or
// REKINDLE_CONFIG), then environment variables, then what the caller passes
// (tests). Relative paths in a file are relative to that file.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export class ConfigError extends Error {}

export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  // In the directory the server is started from: never inside an installed package
  // (node_modules/rekindle/), which an npm install replaces.
  database: resolve('data/rekindle.db'),
  adminToken: null,
  // A site: its write keys (public, in the page), the origins whose pages may send, its
  // artifact file (loaded at start when the database holds none for the site), and which
  // identities its pages may link (server/identity-proof.js): with a proof under
  // identitySecret, or any when trustPageIdentities is set.
  sites: [{ id: 'default', writeKeys: [], origins: ['*'], artifact: null, identitySecret: null, trustPageIdentities: false }],
  limits: { bodyBytes: 1024 * 1024, records: 500, importBytes: 64 * 1024 * 1024 },
  // Requests per site and client address in each window: `max` on /v1/collect, `profiles.max` on
  // each of /v1/identify and /v1/profiles/{deviceId}/fragment.
  rateLimit: { max: 600, windowMs: 60_000, profiles: { max: 300, windowMs: 60_000 } },
  // Behind a reverse proxy or load balancer: which proxies' X-Forwarded-For to believe (their
  // addresses or CIDR ranges, or true for any), so each visitor has a rate-limit bucket.
  trustProxy: false,
  scheduler: { enabled: true, intervalMs: 1000, batch: 100 },
  messages: resolve(root, 'examples/messages.json'),
  delivery: {
    smtp: null,
    sms: null,
    maxAttempts: 5,
    backoff: { baseMs: 30_000, maxMs: 3_600_000 },
    identities: { email: 'email', sms: 'phone' },
    siteUrl: '',
  },
});

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function merge(base, over) {
  const out = { ...base };
  for (const [key, value] of Object.entries(over ?? {})) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = isObject(value) && isObject(base[key]) ? merge(base[key], value) : value;
  }
  return out;
}

function fromEnv(env) {
  const out = {};
  if (env.PORT) out.port = Number(env.PORT);
  if (env.HOST) out.host = env.HOST;
  if (env.REKINDLE_DB) out.database = env.REKINDLE_DB;
  if (env.REKINDLE_ADMIN_TOKEN) out.adminToken = env.REKINDLE_ADMIN_TOKEN;
  if (env.REKINDLE_MESSAGES) out.messages = env.REKINDLE_MESSAGES;
  if (env.REKINDLE_WRITE_KEY || env.REKINDLE_ORIGINS || env.REKINDLE_ARTIFACT || env.REKINDLE_IDENTITY_SECRET) {
    out.siteOverride = {
      ...(env.REKINDLE_WRITE_KEY ? { writeKeys: env.REKINDLE_WRITE_KEY.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(env.REKINDLE_ORIGINS ? { origins: env.REKINDLE_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(env.REKINDLE_ARTIFACT ? { artifact: env.REKINDLE_ARTIFACT } : {}),
      ...(env.REKINDLE_IDENTITY_SECRET ? { identitySecret: env.REKINDLE_IDENTITY_SECRET } : {}),
    };
  }
  if (env.REKINDLE_SMTP_URL) {
    const url = new URL(env.REKINDLE_SMTP_URL);
    out.delivery = { smtp: { host: url.hostname, port: Number(url.port || 25), secure: url.protocol === 'smtps:',
      from: env.REKINDLE_MAIL_FROM ?? 'Rekindle <noreply@localhost>' } };
  }
  if (env.REKINDLE_SMS_WEBHOOK) out.delivery = { ...(out.delivery ?? {}), sms: { webhookUrl: env.REKINDLE_SMS_WEBHOOK } };
  return out;
}

function resolvePaths(config, base) {
  const at = (p) => (p && !isAbsolute(p) && p !== ':memory:' ? resolve(base, p) : p);
  return {
    ...config,
    database: at(config.database),
    messages: at(config.messages),
    sites: config.sites.map((s) => ({ ...s, artifact: at(s.artifact) })),
  };
}

function validate(config) {
  const problems = [];
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) problems.push('port: must be 0..65535');
  if (!Array.isArray(config.sites) || config.sites.length === 0) problems.push('sites: must list at least one site');
  const keys = new Set();
  for (const [i, site] of (config.sites ?? []).entries()) {
    if (typeof site.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(site.id)) problems.push(`sites[${i}].id: letters, digits, . _ - (1..64)`);
    if (!Array.isArray(site.writeKeys)) problems.push(`sites[${i}].writeKeys: must be an array of strings`);
    for (const key of site.writeKeys ?? []) {
      if (keys.has(key)) problems.push(`sites[${i}].writeKeys: "${key}" is used by two sites`);
      keys.add(key);
    }
    if (!Array.isArray(site.origins)) problems.push(`sites[${i}].origins: must be an array of origins or ["*"]`);
    if (site.identitySecret != null && (typeof site.identitySecret !== 'string' || site.identitySecret.length < 32)) {
      problems.push(`sites[${i}].identitySecret: must be a string of at least 32 characters, or null`);
    }
    if (site.trustPageIdentities !== undefined && typeof site.trustPageIdentities !== 'boolean') {
      problems.push(`sites[${i}].trustPageIdentities: must be true or false`);
    }
  }
  const proxy = config.trustProxy;
  const addresses = (v) => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string' && a !== ''));
  if (!(typeof proxy === 'boolean' || (addresses(proxy) && proxy !== ''))) {
    problems.push('trustProxy: must be true, false, or the proxies\' addresses (a string or an array of addresses or CIDR ranges)');
  }
  if (config.adminToken !== null && (typeof config.adminToken !== 'string' || config.adminToken.length < 16)) {
    problems.push('adminToken: must be a string of at least 16 characters');
  }
  if (problems.length > 0) throw new ConfigError(`invalid server configuration:\n  ${problems.join('\n  ')}`);
  return config;
}

/** Loads the configuration; an admin token is generated when none is set (`generatedToken` says so). */
export function loadConfig({ file = null, env = process.env, overrides = {} } = {}) {
  let config = { ...DEFAULTS };
  let base = root;
  const path = file ?? env.REKINDLE_CONFIG ?? null;
  if (path) {
    let text;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the configuration file ${path}: ${err.message}`);
    }
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`the configuration file ${path} is not valid JSON: ${err.message}`);
    }
    if (!isObject(parsed)) throw new ConfigError(`the configuration file ${path} must hold a JSON object`);
    base = dirname(resolve(path));
    config = resolvePaths(merge(config, parsed), base);
  }
  const { siteOverride, ...envConfig } = fromEnv(env);
  config = merge(config, envConfig);
  if (siteOverride) config.sites = [{ ...config.sites[0], ...siteOverride }, ...config.sites.slice(1)];
  config = merge(config, overrides);
  if (overrides.sites) config.sites = overrides.sites;
  let generatedToken = false;
  if (!config.adminToken) {
    config.adminToken = randomBytes(18).toString('base64url');
    generatedToken = true;
  }
  return { config: validate(config), generatedToken };
}
