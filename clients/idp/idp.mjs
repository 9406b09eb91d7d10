// A real OpenID provider for tests (node-oidc-provider, in-memory, dev interactions on):
// gumloop-mcp's OIDC sign-in option is tested against it (server/tests/oidc.rs).
//
//   node idp.mjs [PORT]     (or IDP_PORT; default 0 = any free port)
//
// Environment:
//   IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URI  the one confidential client
//                                                      (client_secret_basic)
//   IDP_CLAIMS_IN_ID_TOKEN=1  put the scopes' claims (email, groups) in the ID token too;
//                             by default they come only from the userinfo endpoint, as
//                             OpenID Connect Core §5.4 has it for an access token grant
//
// Accounts: any login and password are accepted (dev interactions); the login is the
// subject. `email` is the login itself when it contains `@`, else `<login>@example.test`;
// `email_verified` is false for logins starting with `unverified-`; `groups` is
// ["engineering"] for logins starting with `eng-`, else [].
//
// Prints `listening <issuer>` on stdout once it accepts connections. Issuer:
// http://127.0.0.1:<port> (loopback only). Test-only: never expose it.
import Provider from 'oidc-provider';

const arg = process.argv[2] ?? process.env.IDP_PORT ?? '0';
const port = Number.parseInt(arg, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`idp: bad port ${JSON.stringify(arg)}`);
  process.exit(2);
}
const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`idp: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const client = {
  client_id: need('IDP_CLIENT_ID'),
  client_secret: need('IDP_CLIENT_SECRET'),
  redirect_uris: [need('IDP_REDIRECT_URI')],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

function account(sub) {
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        email: sub.includes('@') ? sub : `${sub}@example.test`,
        email_verified: !sub.startsWith('unverified-'),
        name: sub,
        preferred_username: sub.split('@')[0],
        groups: sub.startsWith('eng-') ? ['engineering'] : [],
      };
    },
  };
}

// The port must be known before the issuer is: bind first when asked for any port.
const { createServer } = await import('node:http');
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [client],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: process.env.IDP_CLAIMS_IN_ID_TOKEN !== '1',
  findAccount: async (_ctx, sub) => account(sub),
  cookies: { keys: ['test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  // The tests check RFC 9207 `iss` and PKCE S256 (also for this confidential client).
  pkce: { required: () => true },
});
provider.on('server_error', (_ctx, err) => console.error('idp: server_error', err));

// Each request's method and path (no query: it holds codes) on stderr, for the tests.
server.on('request', (req) => process.stderr.write(`idp: ${req.method} ${req.url.split('?')[0]}\n`));
server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);

// Stop with the test: end of stdin (the test holds the pipe) or a signal.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
