// Test peer: a throwaway OpenID Connect provider (panva's oidc-provider 8.x) serving HTTPS.
//
// Configured entirely by environment variables read at start (see peer.py for the Python side):
//   OIDC_ISSUER    https://<hostname>:<port>; the server listens on 0.0.0.0:<port> with HTTPS.
//   OIDC_CLIENTS   JSON list of {client_id, client_secret, redirect_uris: [...]}; any other key is passed
//                  through as client metadata. Defaults: response_types ["code"], grant_types
//                  ["authorization_code", "refresh_token"], token_endpoint_auth_method "client_secret_basic"
//                  (oidc-provider also accepts client_secret_post for such a client: both are fine).
//   OIDC_ACCOUNTS  JSON list of {sub, password, claims: {preferred_username, email, name, groups: [...]}}.
//                  The login form accepts either the sub or the preferred_username as the login name.
//
// At start it makes a throwaway CA and a server certificate for the issuer's hostname (and localhost),
// writes the CA certificate to /certs/ca.pem (the CA key is thrown away) and a fresh RSA signing key.
//
// Interactions (no JavaScript, plain HTML forms, so a non-browser client can drive them):
//   GET  /interaction/:uid        200, login form: <form method="post" action="/interaction/:uid/login">
//                                 with fields `login` and `password`.
//   POST /interaction/:uid/login  right password: 303 to the provider's resume URL (/auth/:uid), which then
//                                 redirects (303) to the client's redirect_uri with code and state.
//                                 Wrong or unknown login: 401, the same form again with an error message.
// Consent is granted automatically for every configured client (loadExistingGrant makes the Grant), so
// there is no consent form; a consent prompt that still reaches GET /interaction/:uid is auto-granted too.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

function fail(message) {
  console.error(`peer-oidc: ${message}`);
  process.exit(2);
}

function jsonEnv(name) {
  const raw = process.env[name];
  if (!raw) fail(`${name} is required`);
  try {
    const value = JSON.parse(raw);
    if (!Array.isArray(value)) throw new Error('not a JSON list');
    return value;
  } catch (err) {
    return fail(`${name} is not a JSON list: ${err.message}`);
  }
}

const ISSUER = process.env.OIDC_ISSUER || fail('OIDC_ISSUER is required');
const issuerUrl = new URL(ISSUER);
if (issuerUrl.protocol !== 'https:') fail('OIDC_ISSUER must be an https URL');
const HOSTNAME = issuerUrl.hostname;
const PORT = Number(issuerUrl.port || 443);
const CERT_DIR = process.env.OIDC_CERT_DIR || '/certs';

const CLIENTS = jsonEnv('OIDC_CLIENTS').map((client) => ({
  response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));
const ACCOUNTS = new Map();
for (const account of jsonEnv('OIDC_ACCOUNTS')) {
  if (!account.sub || typeof account.password !== 'string') fail('every account needs sub and password');
  ACCOUNTS.set(String(account.sub), account);
}

// --- TLS: a throwaway CA and a server certificate, made with openssl -------------------------------
function makeCertificates() {
  fs.mkdirSync(CERT_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-oidc-ca-'));
  const file = (name) => path.join(work, name);
  const openssl = (...args) => {
    try {
      execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      fail(`openssl ${args[0]} failed: ${err.stderr || err.message}`);
    }
  };
  const sans = [...new Set([HOSTNAME, 'localhost'])].map((name, i) => `DNS.${i + 1} = ${name}`);
  fs.writeFileSync(file('ext.cnf'), [
    '[req]',
    'distinguished_name = dn',
    '[dn]',
    '[ca]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    '[server]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
    'subjectAltName = @sans',
    '[sans]',
    ...sans,
    '',
  ].join('\n'));
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl('genpkey', ...ec, '-out', file('ca.key'));
  openssl('req', '-x509', '-new', '-key', file('ca.key'), '-sha256', '-days', '7',
    '-subj', '/CN=peer-oidc throwaway CA', '-config', file('ext.cnf'), '-extensions', 'ca',
    '-out', file('ca.pem'));
  openssl('genpkey', ...ec, '-out', file('server.key'));
  openssl('req', '-new', '-key', file('server.key'), '-subj', `/CN=${HOSTNAME}`, '-config', file('ext.cnf'),
    '-out', file('server.csr'));
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-sha256', '-days', '7', '-extfile', file('ext.cnf'), '-extensions', 'server',
    '-out', file('server.pem'));
  const result = {
    ca: fs.readFileSync(file('ca.pem'), 'utf8'),
    cert: fs.readFileSync(file('server.pem'), 'utf8'),
    key: fs.readFileSync(file('server.key'), 'utf8'),
  };
  fs.rmSync(work, { recursive: true, force: true });
  // Written last and atomically: peer.py reads it once discovery answers.
  fs.writeFileSync(path.join(CERT_DIR, 'ca.pem.tmp'), result.ca, { mode: 0o644 });
  fs.renameSync(path.join(CERT_DIR, 'ca.pem.tmp'), path.join(CERT_DIR, 'ca.pem'));
  return result;
}

// --- accounts and claims --------------------------------------------------------------------------
async function findAccount(ctx, sub) {
  const account = ACCOUNTS.get(String(sub));
  if (!account) return undefined;
  return {
    accountId: String(account.sub),
    // The provider filters these by the granted scopes (see `claims` below).
    async claims() {
      return { ...(account.claims || {}), sub: String(account.sub) };
    },
  };
}

function checkPassword(login, password) {
  const account = ACCOUNTS.get(login)
    || [...ACCOUNTS.values()].find((a) => a.claims && a.claims.preferred_username === login);
  if (!account) return undefined;
  const expected = crypto.createHash('sha256').update(String(account.password)).digest();
  const actual = crypto.createHash('sha256').update(String(password)).digest();
  return crypto.timingSafeEqual(expected, actual) ? String(account.sub) : undefined;
}

// Consent is auto-granted for the configured (first-party) clients: every requested OpenID scope is
// added to the end-user's Grant for the client, so the consent prompt never needs a page.
async function loadExistingGrant(ctx) {
  const { Grant } = ctx.oidc.provider;
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  let grant = grantId ? await Grant.find(grantId) : undefined;
  if (!grant) {
    grant = new Grant({ accountId: ctx.oidc.account.accountId, clientId: ctx.oidc.client.clientId });
  }
  const scopes = [...ctx.oidc.requestParamOIDCScopes];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  await grant.save();
  return grant;
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

const configuration = {
  clients: CLIENTS,
  findAccount,
  loadExistingGrant,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Scope-derived claims go into the ID token as well, not only into the userinfo response.
  conformIdTokenClaims: false,
  // PKCE (S256) is verified when the client sends code_challenge (oauthenticator does, by default) but
  // is not required, so confidential clients without PKCE work too.
  pkce: { methods: ['S256'], required: () => false },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
    RefreshToken: 86400,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>${escape(out.error)}</h1><p class="error">${escape(out.error_description || '')}</p>`);
  },
};

// --- interaction pages ----------------------------------------------------------------------------
function escape(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escape(title)}</title></head>\n`
    + `<body>\n${body}\n</body></html>\n`;
}

function loginPage(uid, clientId, { login = '', error = '' } = {}) {
  return page('Sign in', [
    `<h1>Sign in to ${escape(clientId)}</h1>`,
    error ? `<p class="error" id="error">${escape(error)}</p>` : '',
    `<form id="login-form" method="post" action="/interaction/${escape(uid)}/login">`,
    `  <label>Login <input type="text" name="login" value="${escape(login)}" autofocus></label>`,
    '  <label>Password <input type="password" name="password"></label>',
    '  <button type="submit">Sign in</button>',
    '</form>',
  ].join('\n'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return querystring.parse(Buffer.concat(chunks).toString('utf8'));
}

async function autoConsent(provider, req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, page('Error', `<h1>invalid interaction</h1><p class="error">${escape(err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<h1>invalid interaction</h1><p class="error">interaction mismatch</p>'));
    return;
  }
  const clientId = details.params.client_id;
  const promptName = details.prompt.name;

  if (req.method === 'GET' && action === undefined) {
    if (promptName === 'login') {
      send(res, 200, loginPage(uid, clientId));
    } else if (promptName === 'consent') {
      await autoConsent(provider, req, res, details);
    } else {
      send(res, 400, page('Error', `<h1>unsupported prompt ${escape(promptName)}</h1>`));
    }
    return;
  }

  if (req.method === 'POST' && action === 'login') {
    if (promptName !== 'login') {
      send(res, 400, page('Error', '<h1>no login expected</h1>'));
      return;
    }
    const form = await readForm(req);
    const login = String(form.login ?? '');
    const accountId = checkPassword(login, String(form.password ?? ''));
    if (!accountId) {
      console.log(`peer-oidc: failed login for ${JSON.stringify(login)}`);
      send(res, 401, loginPage(uid, clientId, { login, error: 'Invalid login or password.' }));
      return;
    }
    console.log(`peer-oidc: login ${JSON.stringify(login)} as ${accountId} for ${clientId}`);
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 405, page('Error', '<h1>method not allowed</h1>'));
}

// --- start ----------------------------------------------------------------------------------------
const tls = makeCertificates();
const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('peer-oidc: server_error', err));
provider.on('grant.error', (ctx, err) => console.error('peer-oidc: grant.error', err.message, err.error_description || ''));
provider.on('authorization.error', (ctx, err) => console.error('peer-oidc: authorization.error', err.message, err.error_description || ''));
const providerCallback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?\/?$/;

const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
  const { pathname } = new URL(req.url, ISSUER);
  const match = INTERACTION.exec(pathname);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  interaction(provider, req, res, match[1], match[2]).catch((err) => {
    console.error('peer-oidc: interaction failed', err);
    if (!res.headersSent) send(res, 500, page('Error', '<h1>internal error</h1>'));
    else res.end();
  });
});

server.listen(PORT, '0.0.0.0', () => {
  console.log(`peer-oidc: ${ISSUER} listening on 0.0.0.0:${PORT}, ${CLIENTS.length} client(s), `
    + `${ACCOUNTS.size} account(s), oidc-provider on node ${process.version}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
