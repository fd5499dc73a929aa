import { loadGatewayConfig, isRole, signDevToken, ROLES } from '@onboarding/gateway';

/** `npm run token -- --role admin|dispatcher [--subject NAME] [--expires 12h]`: prints a dev token as the last line. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const role = option('role') ?? 'admin';
  if (!isRole(role)) {
    console.error(`--role must be one of: ${ROLES.join(', ')}`);
    process.exit(2);
  }
  const config = loadGatewayConfig();
  const token = await signDevToken({
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    role,
    subject: option('subject'),
    expiresIn: option('expires'),
  });
  console.log(token);
}

void main();
