import { loadGatewayConfig, signDevToken, ROLES } from '@onboarding/gateway';
import { choiceOption, parseCommandLine } from './args';

const USAGE = `usage: npm run token -- [--role ${ROLES.join('|')}] [--subject NAME] [--expires 12h]

  --role     the token's role (default: admin)
  --subject  the token's subject (default: dev-<role>)
  --expires  lifetime, e.g. 30m, 12h, 7d (default: 12h)

Prints a token signed with the gateway's JWT_SECRET (default: the local development key) as the last line.
Both --name value and --name=value work; an unknown option or an invalid value is an error (exit 2).`;

/** `npm run token -- --role admin|dispatcher [--subject NAME] [--expires 12h]`: prints a dev token as the last line. */
async function main(): Promise<void> {
  const cli = parseCommandLine(USAGE, {
    role: { type: 'string' },
    subject: { type: 'string' },
    expires: { type: 'string' },
  });
  const { subject, expires } = cli.values;
  const role = choiceOption(cli, 'role', cli.values.role, ROLES, 'admin');
  const config = loadGatewayConfig();
  let token: string;
  try {
    token = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role,
      subject,
      expiresIn: expires,
    });
  } catch (err) {
    // jose owns the grammar of time spans ("12h", "30 minutes"); it rejects a bad one with a TypeError.
    if (expires !== undefined && err instanceof TypeError) cli.fail(`--expires: ${err.message} ("${expires}"); e.g. 30m, 12h, 7d`);
    throw err;
  }
  console.log(token);
}

main().catch((err: Error) => {
  console.error(`token: ${err.message}`);
  process.exit(1);
});
