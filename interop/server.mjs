// An OAuth 2.0 authorization server built on panva's oidc-provider, for
// tollgate's interop tests (interop/*_test.go, build tag "interop"). It is a
// test fixture, not a deployment: secrets come from the environment, storage
// is in memory, and it listens on 127.0.0.1 only.
//
// Environment:
//   INTEROP_PORT         port to listen on; 0 or unset picks a free one.
//   INTEROP_SECRETS      JSON object client_id -> client secret for the clients
//                        below; unset means random secrets (printed nowhere:
//                        set them to use the server by hand).
//   INTEROP_ADMIN_TOKEN  enables POST /admin/rotate, which must carry
//                        "Authorization: Bearer <token>"; unset disables it.
//   INTEROP_STDIN_EOF    "stop" makes the server stop when its stdin closes,
//                        so that it dies with a test process that was killed
//                        before it could stop it.
//
// When it listens it prints one JSON line on stdout:
//   {"ready":true,"port":N,"issuer":"http://127.0.0.1:N","kids":{"RS256":...}}
// and it stops on SIGTERM or SIGINT, closing every connection.
//
// Tokens: client credentials only. Without a "resource" parameter a token is
// opaque (introspectable, revocable); with one of the resources below it is
// an RFC 9068 JWT (typ at+jwt) signed with that resource's algorithm.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

// The resource server that tollgate plays: every JWT resource below has this
// audience, so one validator accepts tokens signed with any of the algorithms.
const AUDIENCE = 'https://api.tollgate.test';

// Resource indicator -> how tokens for it are made. The path picks the
// signing algorithm (oidc-provider chooses the JWS algorithm per resource).
const RESOURCES = {
  [`${AUDIENCE}/rs256`]: { alg: 'RS256' },
  [`${AUDIENCE}/ps256`]: { alg: 'PS256' },
  [`${AUDIENCE}/es256`]: { alg: 'ES256' },
  [`${AUDIENCE}/eddsa`]: { alg: 'EdDSA' },
  // Expires almost at once, for the expiry test.
  [`${AUDIENCE}/short`]: { alg: 'ES256', ttl: 1 },
  // An opaque token that names its audience (introspection then returns aud).
  [`${AUDIENCE}/opaque`]: { format: 'opaque' },
  // Someone else's API: a valid JWT that tollgate must refuse (wrong aud).
  'https://other.tollgate.test': { alg: 'ES256', audience: 'https://other.tollgate.test' },
};

const SCOPES = ['read', 'write'];
const DEFAULT_TTL = 300; // seconds

// The resource server's own client, the only one allowed to introspect tokens
// issued to other clients.
const INTROSPECTOR = 'tollgate-rs';

const CLIENTS = [
  { client_id: 'basic-client', token_endpoint_auth_method: 'client_secret_basic', scope: 'read write' },
  { client_id: 'post-client', token_endpoint_auth_method: 'client_secret_post', scope: 'read write' },
  { client_id: 'read-client', token_endpoint_auth_method: 'client_secret_basic', scope: 'read' },
  { client_id: INTROSPECTOR, token_endpoint_auth_method: 'client_secret_basic' },
];

// Enough for every token the suite issues, with room to spare (the default
// in-memory adapter keeps about 1,000 entries).
const MAX_ENTRIES = 100_000;

function fail(message) {
  process.stderr.write(`interop server: ${message}\n`);
  process.exit(2);
}

function readSecrets() {
  const raw = process.env.INTEROP_SECRETS;
  const secrets = {};
  let given = {};
  if (raw) {
    try {
      given = JSON.parse(raw);
    } catch {
      fail('INTEROP_SECRETS is not JSON');
    }
  }
  for (const { client_id: id } of CLIENTS) {
    const s = given[id] ?? crypto.randomBytes(24).toString('base64url');
    if (typeof s !== 'string' || s.length < 16) {
      fail(`INTEROP_SECRETS: the secret of ${id} must be a string of at least 16 characters`);
    }
    secrets[id] = s;
  }
  return secrets;
}

function readPort() {
  const raw = process.env.INTEROP_PORT ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail('INTEROP_PORT must be a port number');
  }
  return port;
}

// One signing key per algorithm. The RSA key for RS256 has no "alg" member
// (like most published keys, it could serve PS256 too); the PS256 key names
// its algorithm, so both shapes of JWK reach tollgate.
let generation = 0;
function newKeys() {
  generation += 1;
  const g = generation;
  const jwk = (kp) => kp.privateKey.export({ format: 'jwk' });
  const rsa = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    RS256: { ...jwk(rsa()), kid: `rsa-${g}`, use: 'sig' },
    PS256: { ...jwk(rsa()), kid: `pss-${g}`, use: 'sig', alg: 'PS256' },
    ES256: { ...jwk(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })), kid: `ec-${g}`, use: 'sig' },
    EdDSA: { ...jwk(crypto.generateKeyPairSync('ed25519')), kid: `ed-${g}`, use: 'sig' },
  };
}

// A small in-memory adapter shared by every Provider instance of this process,
// so that opaque tokens survive a key rotation (which builds a new Provider).
// Entries expire on their own; past MAX_ENTRIES the oldest are dropped.
const store = new Map();

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.delete(key);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, expiresAt });
    while (store.size > MAX_ENTRIES) {
      store.delete(store.keys().next().value);
    }
  }

  async find(id) {
    const key = this.key(id);
    const entry = store.get(key);
    if (!entry) {
      return undefined;
    }
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) {
        return this.find(key.slice(this.model.length + 1));
      }
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.userCode === userCode) {
        return this.find(key.slice(this.model.length + 1));
      }
    }
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) {
      entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      if (entry.payload.grantId === grantId) {
        store.delete(key);
      }
    }
  }
}

function newProvider(issuer, secrets, keys) {
  // The newest keys sign; older ones stay published so that tokens they
  // signed still verify, as in a real rotation.
  const active = keys[0];
  const jwks = { keys: keys.flatMap((set) => Object.values(set)) };

  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: CLIENTS.map((c) => ({
      ...c,
      client_secret: secrets[c.client_id],
      grant_types: c.client_id === INTROSPECTOR ? [] : ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
    jwks,
    scopes: SCOPES,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // The resource server may introspect any token; a client only its own.
        allowedPolicy: async (ctx, client, token) => client.clientId === INTROSPECTOR
          || token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // No resource parameter means no resource, hence an opaque token.
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          const r = RESOURCES[resourceIndicator];
          if (!r) {
            throw new errors.InvalidTarget();
          }
          const info = {
            audience: r.audience ?? AUDIENCE,
            scope: SCOPES.join(' '),
            accessTokenTTL: r.ttl ?? DEFAULT_TTL,
          };
          if (r.format === 'opaque') {
            return { ...info, accessTokenFormat: 'opaque' };
          }
          return {
            ...info,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: r.alg, kid: active[r.alg].kid } },
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
    },
  });
  // Errors are answered to the client; keep them out of the test output
  // unless they are the server's own (500).
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`interop server: server_error: ${err?.stack ?? err}\n`);
  });
  return provider;
}

function activeKids(keys) {
  return Object.fromEntries(Object.entries(keys[0]).map(([alg, k]) => [alg, k.kid]));
}

function sameSecret(a, b) {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function main() {
  const secrets = readSecrets();
  const port = readPort();
  const adminToken = process.env.INTEROP_ADMIN_TOKEN ?? '';

  let keys = [newKeys()];
  let handle; // the current Provider's request handler

  const server = http.createServer((req, res) => {
    if (req.url === '/admin/rotate') {
      rotate(req, res);
      return;
    }
    handle(req, res);
  });

  // POST /admin/rotate: publish a new key for each algorithm and sign with it
  // from now on. The old keys stay published.
  function rotate(req, res) {
    req.resume();
    const auth = req.headers.authorization ?? '';
    if (!adminToken) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (!auth.startsWith('Bearer ') || !sameSecret(auth.slice(7), adminToken)) {
      res.writeHead(401).end();
      return;
    }
    keys = [newKeys(), ...keys];
    handle = newProvider(issuer, secrets, keys).callback();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kids: activeKids(keys) }));
  }

  let issuer;
  server.listen(port, '127.0.0.1', () => {
    const actual = server.address().port;
    issuer = `http://127.0.0.1:${actual}`;
    try {
      handle = newProvider(issuer, secrets, keys).callback();
    } catch (err) {
      fail(`cannot configure oidc-provider: ${err?.stack ?? err}`);
    }
    process.stdout.write(`${JSON.stringify({
      ready: true, port: actual, issuer, kids: activeKids(keys),
    })}\n`);
  });
  server.on('error', (err) => fail(`cannot listen: ${err.message}`));

  let stopping = false;
  const stop = () => {
    if (stopping) {
      return;
    }
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.INTEROP_STDIN_EOF === 'stop') {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main();
